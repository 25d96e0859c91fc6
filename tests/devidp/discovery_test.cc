#include <doctest/doctest.h>

#include <string>

#include "idp_fixture.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp;
using namespace oauthdemo::devidp::testing;

TEST_SUITE("devidp::discovery") {
  TEST_CASE("the discovery document lists every endpoint under the issuer") {
    TestIdp idp;
    auto c = idp.client();
    auto res = c.Get("/.well-known/openid-configuration");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    auto doc = json_of(res);
    const std::string iss = idp.issuer();
    CHECK(iss == "http://127.0.0.1:" + std::to_string(idp.port()) + "/");
    CHECK(doc["issuer"] == iss);
    CHECK(doc["authorization_endpoint"] == iss + "authorize");
    CHECK(doc["token_endpoint"] == iss + "oauth/token");
    CHECK(doc["device_authorization_endpoint"] == iss + "oauth/device/code");
    CHECK(doc["userinfo_endpoint"] == iss + "userinfo");
    CHECK(doc["revocation_endpoint"] == iss + "oauth/revoke");
    CHECK(doc["end_session_endpoint"] == iss + "oidc/logout");
    CHECK(doc["jwks_uri"] == iss + ".well-known/jwks.json");
    CHECK(doc["code_challenge_methods_supported"] == nlohmann::json::array({"S256"}));
    CHECK(doc["response_types_supported"] == nlohmann::json::array({"code"}));
    CHECK(doc["id_token_signing_alg_values_supported"] == nlohmann::json::array({"RS256"}));
    CHECK(doc["authorization_response_iss_parameter_supported"] == true);
  }

  TEST_CASE("the JWKS has an ETag, honours If-None-Match and changes on rotation") {
    TestIdp idp;
    auto c = idp.client();
    auto first = c.Get("/.well-known/jwks.json");
    REQUIRE(first);
    REQUIRE(first->status == 200);
    CHECK(first->get_header_value("Cache-Control") == "public, max-age=300");
    const std::string etag = first->get_header_value("ETag");
    REQUIRE(etag.size() > 2);
    auto keys = json_of(first)["keys"];
    REQUIRE(keys.size() == 1);
    CHECK(keys[0]["kty"] == "RSA");
    CHECK(keys[0]["use"] == "sig");
    CHECK(keys[0]["alg"] == "RS256");
    CHECK_FALSE(keys[0].contains("d"));
    const std::string old_kid = keys[0]["kid"];
    auto cached = c.Get("/.well-known/jwks.json", {{"If-None-Match", etag}});
    REQUIRE(cached);
    CHECK(cached->status == 304);
    CHECK(cached->body.empty());

    auto rotate = c.Post("/admin/rotate-keys", "", "application/x-www-form-urlencoded");
    REQUIRE(rotate);
    REQUIRE(rotate->status == 200);
    const std::string new_kid = json_of(rotate)["kid"];
    CHECK(new_kid != old_kid);
    auto after = c.Get("/.well-known/jwks.json", {{"If-None-Match", etag}});
    REQUIRE(after);
    CHECK(after->status == 200);
    CHECK(after->get_header_value("ETag") != etag);
    auto rotated = json_of(after)["keys"];
    REQUIRE(rotated.size() == 2);
    CHECK(rotated[0]["kid"] == new_kid);
    CHECK(rotated[1]["kid"] == old_kid);
    CHECK(idp.server().keys().current()->kid() == new_kid);
  }

  TEST_CASE("tokens issued after rotation use the new kid") {
    TestIdp idp;
    REQUIRE(idp.server().rotate_keys());
    auto location = authorize_and_login(idp);
    auto body = json_of(exchange_code(idp, qparam(location, "code")));
    CHECK(jwt_header(body["access_token"])["kid"] == idp.server().keys().current()->kid());
  }

  TEST_CASE("logout redirects only to allowed return URLs") {
    TestIdp idp;
    auto c = idp.client();
    auto ok = c.Get(("/v2/logout?" + http::form_encode({{"client_id", kCliClient}, {"returnTo", "http://127.0.0.1:8400/"}})).c_str());
    REQUIRE(ok);
    CHECK(ok->status == 302);
    CHECK(ok->get_header_value("Location") == "http://127.0.0.1:8400/");
    auto refused = c.Get(("/v2/logout?" + http::form_encode({{"client_id", kCliClient}, {"returnTo", "http://evil.example/"}})).c_str());
    REQUIRE(refused);
    CHECK(refused->status == 400);
    CHECK_FALSE(refused->has_header("Location"));
    CHECK(refused->body.find("is not in the allowed logout URLs of oauthdemo-cli") != std::string::npos);
    auto no_client = c.Get(("/v2/logout?" + http::form_encode({{"returnTo", "http://127.0.0.1:8400/"}})).c_str());
    REQUIRE(no_client);
    CHECK(no_client->status == 400);
    auto plain = c.Get("/v2/logout");
    REQUIRE(plain);
    CHECK(plain->status == 200);
    CHECK(plain->body.find("You are logged out.") != std::string::npos);
    auto oidc = c.Get(("/oidc/logout?" + http::form_encode({{"client_id", kCliClient},
                                                            {"post_logout_redirect_uri", "http://127.0.0.1:8400/"},
                                                            {"state", "s1"}})).c_str());
    REQUIRE(oidc);
    CHECK(oidc->status == 302);
    CHECK(oidc->get_header_value("Location") == "http://127.0.0.1:8400/?state=s1");
  }

  TEST_CASE("bodies over 64 KiB are refused with 413") {
    TestIdp idp;
    auto c = idp.client();
    auto res = c.Post("/oauth/token", std::string(65 * 1024, 'a'), "application/x-www-form-urlencoded");
    REQUIRE(res);
    CHECK(res->status == 413);
  }

  TEST_CASE("unknown paths answer 404 JSON") {
    TestIdp idp;
    auto c = idp.client();
    auto res = c.Get("/nope");
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(json_of(res)["error"] == "not_found");
  }
}
