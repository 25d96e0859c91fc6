#include "common/oauth/token_client.h"

#include <doctest/doctest.h>

#include "common/http/url.h"
#include "support/fakes.h"

using namespace oauthdemo;
using namespace oauthdemo::oauth;

namespace {
http::HttpResponse answer(int status, std::string body) { return http::HttpResponse{status, {}, std::move(body)}; }
std::string form_value(const http::HttpRequest& request, const char* name) {
  auto params = http::parse_form(request.body);
  REQUIRE(params);
  return http::param(*params, name).value_or("<absent>");
}
}  // namespace

TEST_SUITE("oauth::token_client") {
  TEST_CASE("authorization_code request carries the verifier and no secret for a public client") {
    auto request = authorization_code_request("https://idp/oauth/token", {"cli", ""}, "the-code",
                                              "http://127.0.0.1:8400/callback", "v" + std::string(42, 'x'));
    CHECK(request.method == "POST");
    CHECK(request.url == "https://idp/oauth/token");
    CHECK(request.content_type == "application/x-www-form-urlencoded");
    CHECK(form_value(request, "grant_type") == "authorization_code");
    CHECK(form_value(request, "code") == "the-code");
    CHECK(form_value(request, "redirect_uri") == "http://127.0.0.1:8400/callback");
    CHECK(form_value(request, "code_verifier") == "v" + std::string(42, 'x'));
    CHECK(form_value(request, "client_id") == "cli");
    CHECK(form_value(request, "client_secret") == "<absent>");
  }

  TEST_CASE("client_credentials request sends the secret and the audience") {
    auto request = client_credentials_request("https://idp/oauth/token", {"ci", "s3cret"}, "https://api", "");
    CHECK(form_value(request, "grant_type") == "client_credentials");
    CHECK(form_value(request, "client_secret") == "s3cret");
    CHECK(form_value(request, "audience") == "https://api");
    CHECK(form_value(request, "scope") == "<absent>");
  }

  TEST_CASE("refresh and device_code requests use their grant types") {
    CHECK(form_value(refresh_token_request("https://t", {"cli", ""}, "rt"), "grant_type") == "refresh_token");
    CHECK(form_value(refresh_token_request("https://t", {"cli", ""}, "rt"), "refresh_token") == "rt");
    CHECK(form_value(device_code_token_request("https://t", {"cli", ""}, "dc"), "grant_type") ==
          "urn:ietf:params:oauth:grant-type:device_code");
    CHECK(form_value(revocation_request("https://r", {"cli", ""}, "rt", "refresh_token"), "token_type_hint") ==
          "refresh_token");
  }

  TEST_CASE("parses a full token answer") {
    auto parsed = parse_token_response(answer(
        200, R"({"access_token":"at","token_type":"Bearer","refresh_token":"rt","id_token":"a.b.c","scope":"openid","expires_in":3600})"));
    REQUIRE(parsed);
    CHECK(parsed->access_token == "at");
    CHECK(parsed->refresh_token == "rt");
    CHECK(parsed->id_token == "a.b.c");
    CHECK(parsed->scope == "openid");
    REQUIRE(parsed->expires_in);
    CHECK(*parsed->expires_in == 3600);
  }

  TEST_CASE("rejects malformed token answers") {
    SUBCASE("no access_token") {
      auto r = parse_token_response(answer(200, R"({"token_type":"Bearer"})"));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::OAuthBadResponse);
      CHECK(r.error().detail == "token answer has no \"access_token\"");
    }
    SUBCASE("expires_in a string") {
      auto r = parse_token_response(answer(200, R"({"access_token":"at","token_type":"Bearer","expires_in":"3600"})"));
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "\"expires_in\" is not an integer");
    }
    SUBCASE("not JSON") {
      auto r = parse_token_response(answer(200, "<html>"));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::OAuthBadResponse);
    }
    SUBCASE("unknown token type") {
      auto r = parse_token_response(answer(200, R"({"access_token":"at","token_type":"mac"})"));
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "unsupported token_type \"mac\"");
    }
  }

  TEST_CASE("maps RFC 6749 and RFC 8628 errors") {
    auto r = parse_token_response(answer(400, R"({"error":"invalid_grant","error_description":"Unknown or invalid refresh token."})"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::OAuthInvalidGrant);
    CHECK(r.error().detail == "invalid_grant: Unknown or invalid refresh token.");
    CHECK(errc_from_oauth_error("authorization_pending") == Errc::OAuthAuthorizationPending);
    CHECK(errc_from_oauth_error("slow_down") == Errc::OAuthSlowDown);
    CHECK(errc_from_oauth_error("expired_token") == Errc::OAuthExpiredToken);
    CHECK(errc_from_oauth_error("access_denied") == Errc::OAuthAccessDenied);
    CHECK(errc_from_oauth_error("invalid_client") == Errc::OAuthInvalidClient);
    CHECK(errc_from_oauth_error("something_else") == Errc::OAuthBadResponse);
    auto html = parse_token_response(answer(502, "<html>bad gateway</html>"));
    REQUIRE_FALSE(html);
    CHECK(html.error().detail == "HTTP 502 without an OAuth error body");
  }

  TEST_CASE("strips control characters from provider descriptions") {
    auto e = parse_oauth_error(answer(400, R"({"error":"invalid_request","error_description":"bad\u001b[31m\nthing"})"));
    CHECK(e.detail == "invalid_request: bad[31mthing");
  }

  TEST_CASE("request_token returns transport errors unchanged") {
    testing::FakeHttpClient http;
    auto r = request_token(http, refresh_token_request("https://idp/oauth/token", {"cli", ""}, "rt"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::HttpConnectFailed);
    http.respond("https://idp/oauth/token", 200, R"({"access_token":"x","token_type":"bearer"})", {}, "POST");
    CHECK(request_token(http, refresh_token_request("https://idp/oauth/token", {"cli", ""}, "rt")));
  }

  TEST_CASE("looks_like_jwt") {
    CHECK(looks_like_jwt("a.b.c"));
    CHECK_FALSE(looks_like_jwt("a.b"));
    CHECK_FALSE(looks_like_jwt("a..c"));
    CHECK_FALSE(looks_like_jwt("a.b.c.d.e"));
    CHECK_FALSE(looks_like_jwt("opaque-token"));
  }
}
