#include "common/oauth/discovery.h"

#include <doctest/doctest.h>

#include "support/fakes.h"

namespace oauthdemo::oauth {
namespace {

const std::string kDoc = R"({"issuer":"https://t.auth0.com/","authorization_endpoint":"https://t.auth0.com/authorize",
  "token_endpoint":"https://t.auth0.com/oauth/token","jwks_uri":"https://t.auth0.com/.well-known/jwks.json",
  "device_authorization_endpoint":"https://t.auth0.com/oauth/device/code",
  "code_challenge_methods_supported":["S256","plain"],"id_token_signing_alg_values_supported":["RS256"]})";

TEST_SUITE("oauth::discovery") {
  TEST_CASE("issuer_from_auth0_domain normalises to https://DOMAIN/") {
    CHECK(issuer_from_auth0_domain("tenant.us.auth0.com").value() == "https://tenant.us.auth0.com/");
    CHECK(issuer_from_auth0_domain("https://tenant.us.auth0.com").value() == "https://tenant.us.auth0.com/");
    CHECK(issuer_from_auth0_domain("https://tenant.us.auth0.com/").value() == "https://tenant.us.auth0.com/");
    CHECK(issuer_from_auth0_domain("tenant.us.auth0.com/path").error().code == Errc::ConfigInvalid);
    CHECK(issuer_from_auth0_domain("http://tenant.us.auth0.com").error().code == Errc::ConfigInvalid);
    CHECK(issuer_from_auth0_domain("").error().code == Errc::ConfigInvalid);
  }

  TEST_CASE("discovery_url drops one trailing slash") {
    CHECK(discovery_url("https://t.auth0.com/") == "https://t.auth0.com/.well-known/openid-configuration");
    CHECK(discovery_url("https://okta.example/oauth2/default") ==
          "https://okta.example/oauth2/default/.well-known/openid-configuration");
  }

  TEST_CASE("parse_discovery reads the endpoints") {
    auto m = parse_discovery(kDoc, "https://t.auth0.com/");
    REQUIRE(m);
    CHECK(m->token_endpoint == "https://t.auth0.com/oauth/token");
    CHECK(m->jwks_uri == "https://t.auth0.com/.well-known/jwks.json");
    CHECK(m->device_authorization_endpoint == "https://t.auth0.com/oauth/device/code");
    CHECK(m->revocation_endpoint.empty());
    CHECK(m->code_challenge_methods_supported == std::vector<std::string>{"S256", "plain"});
  }

  TEST_CASE("issuer mismatches, with a pointed message for the trailing slash") {
    auto slash = parse_discovery(kDoc, "https://t.auth0.com");
    REQUIRE_FALSE(slash);
    CHECK(slash.error().code == Errc::OAuthIssuerMismatch);
    CHECK(slash.error().detail == "discovery says issuer \"https://t.auth0.com/\" but ISSUER_BASE_URL is "
                                  "\"https://t.auth0.com\" \xE2\x80\x94 Auth0 issuers end with \"/\"");
    auto other = parse_discovery(kDoc, "https://evil.example/");
    REQUIRE_FALSE(other);
    CHECK(other.error().detail ==
          "discovery says issuer \"https://t.auth0.com/\" but the configured issuer is \"https://evil.example/\"");
  }

  TEST_CASE("rejects bad documents") {
    CHECK(parse_discovery("[]", "x").error().code == Errc::OAuthDiscoveryFailed);
    CHECK(parse_discovery(R"({"issuer":"https://a/","issuer":"https://a/"})", "https://a/").error().code ==
          Errc::OAuthDiscoveryFailed);
    CHECK(parse_discovery(R"({"issuer":"https://a/"})", "https://a/").error().detail ==
          "discovery document has no jwks_uri");
    CHECK(parse_discovery(R"({"issuer":"https://a/","jwks_uri":"http://a/jwks"})", "https://a/").error().detail ==
          "discovery jwks_uri \"http://a/jwks\" is not https");
    CHECK(parse_discovery(R"({"issuer":"https://a/","jwks_uri":7})", "https://a/").error().code ==
          Errc::OAuthDiscoveryFailed);
  }

  TEST_CASE("a loopback issuer may use plain http") {
    auto m = parse_discovery(R"({"issuer":"http://127.0.0.1:5000/","jwks_uri":"http://127.0.0.1:5000/jwks"})",
                             "http://127.0.0.1:5000/");
    REQUIRE(m);
    CHECK(m->jwks_uri == "http://127.0.0.1:5000/jwks");
  }

  TEST_CASE("fetch_discovery GETs the well-known URL") {
    oauthdemo::testing::FakeHttpClient http;
    http.respond("https://t.auth0.com/.well-known/openid-configuration", 200, kDoc);
    auto m = fetch_discovery(http, "https://t.auth0.com/");
    REQUIRE(m);
    CHECK(http.requests_to("https://t.auth0.com/.well-known/openid-configuration") == 1);
    http.respond("https://t.auth0.com/.well-known/openid-configuration", 404, "");
    auto e = fetch_discovery(http, "https://t.auth0.com/");
    REQUIRE_FALSE(e);
    CHECK(e.error().detail == "https://t.auth0.com/.well-known/openid-configuration answered HTTP 404");
  }

  TEST_CASE("auth0_default_metadata uses Auth0's fixed paths") {
    auto m = auth0_default_metadata("https://t.auth0.com/");
    CHECK(m.jwks_uri == "https://t.auth0.com/.well-known/jwks.json");
    CHECK(m.token_endpoint == "https://t.auth0.com/oauth/token");
  }
}

}  // namespace
}  // namespace oauthdemo::oauth
