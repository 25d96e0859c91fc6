#include "cli/redact.h"

#include <doctest/doctest.h>

#include "support/fakes.h"

using namespace oauthdemo;
using namespace oauthdemo::cli;

TEST_SUITE("cli::redact") {
  TEST_CASE("masks secrets in a token request body word for word") {
    CHECK(redact_form("grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback"
                      "&code_verifier=xyz&client_id=cli") ==
          "grant_type=authorization_code&code=[redacted]&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback"
          "&code_verifier=[redacted]&client_id=cli");
    CHECK(redact_form("grant_type=client_credentials&client_id=ci&client_secret=s3cret&audience=x") ==
          "grant_type=client_credentials&client_id=ci&client_secret=[redacted]&audience=x");
    CHECK(redact_form("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc&client_id=c") ==
          "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=[redacted]&client_id=c");
    CHECK(redact_form("token=rt&token_type_hint=refresh_token") == "token=[redacted]&token_type_hint=refresh_token");
  }

  TEST_CASE("a JWT keeps header and payload but loses its signature") {
    CHECK(mask_value("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl") ==
          "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.[signature removed]");
    CHECK(mask_value("opaque-refresh-token") == "[redacted]");
    CHECK(mask_value("") == "");
  }

  TEST_CASE("masks the Authorization and cookie headers") {
    CHECK(redact_header_value("Authorization", "Bearer h.p.sig") == "Bearer h.p.[signature removed]");
    CHECK(redact_header_value("authorization", "Bearer opaque") == "Bearer [redacted]");
    CHECK(redact_header_value("Authorization", "Basic dXNlcjpwYXNz") == "[redacted]");
    CHECK(redact_header_value("Set-Cookie", "devidp_csrf=abc") == "[redacted]");
    CHECK(redact_header_value("Content-Type", "application/json") == "application/json");
  }

  TEST_CASE("masks tokens in JSON at any depth") {
    CHECK(redact_json(R"({"access_token":"h.p.s","refresh_token":"rt","expires_in":3600,"nested":{"id_token":"a.b.c"}})") ==
          R"({"access_token":"h.p.[signature removed]","expires_in":3600,"nested":{"id_token":"a.b.[signature removed]"},"refresh_token":"[redacted]"})");
    CHECK(redact_json(R"({"device_code":"dc","user_code":"ABCD-EFGH"})") ==
          R"({"device_code":"[redacted]","user_code":"ABCD-EFGH"})");
    CHECK(redact_json("not json") == "[unparsed body, 8 bytes]");
  }

  TEST_CASE("masks the code in a callback URL, keeps other query parameters") {
    CHECK(redact_url("http://127.0.0.1:8400/callback?code=abc&state=xyz") ==
          "http://127.0.0.1:8400/callback?code=[redacted]&state=xyz");
    CHECK(redact_url("https://idp/authorize?client_id=cli&scope=openid") == "https://idp/authorize?client_id=cli&scope=openid");
  }

  TEST_CASE("the logging client never writes a secret") {
    testing::FakeHttpClient fake;
    fake.respond("https://idp/oauth/token", 200, R"({"access_token":"hh.pp.SIGNATURE","refresh_token":"RTSECRET"})",
                 {{"Content-Type", "application/json"}}, "POST");
    std::string logged;
    LoggingHttpClient client(fake, [&](const std::string& block) { logged += block; });
    http::HttpRequest request;
    request.method = "POST";
    request.url = "https://idp/oauth/token";
    request.content_type = "application/x-www-form-urlencoded";
    request.body = "grant_type=refresh_token&refresh_token=OLDSECRET&client_id=cli";
    request.headers.emplace_back("Authorization", "Bearer AAA.BBB.CCC");
    auto response = client.send(request);
    REQUIRE(response);
    CHECK(response->body.find("SIGNATURE") != std::string::npos);  // the caller still gets the real answer
    CHECK(logged.find("SIGNATURE") == std::string::npos);
    CHECK(logged.find("RTSECRET") == std::string::npos);
    CHECK(logged.find("OLDSECRET") == std::string::npos);
    CHECK(logged.find("CCC") == std::string::npos);
    CHECK(logged.find("> POST https://idp/oauth/token\n") != std::string::npos);
    CHECK(logged.find("< HTTP 200\n") != std::string::npos);
    CHECK(logged.find("hh.pp.[signature removed]") != std::string::npos);
  }
}
