#include "daemon/authenticator.h"

#include <doctest/doctest.h>

#include "daemon_test_support.h"
#include "support/fakes.h"

namespace oauthdemo::daemon {
namespace {

using namespace std::chrono_literals;
using oauthdemo::testing::FakeClock;
using oauthdemo::testing::FakeHttpClient;
using test::key_for;

const std::string kIssuer = "https://tenant.example.com/";
const std::string kUri = kIssuer + ".well-known/jwks.json";

std::string jwks_body(const std::vector<std::string>& kids) {
  std::vector<nlohmann::json> keys;
  for (const auto& kid : kids) keys.push_back(key_for(jose::Alg::RS256, kid).public_jwk());
  return jose::make_jwks(keys).dump();
}

Credentials bearer(std::string_view header) {
  Credentials c;
  c.authorization_count = 1;
  c.authorization = header;
  return c;
}

struct Fixture {
  FakeClock clock;
  FakeHttpClient http;
  Metrics metrics;
  JwksCache cache{JwksCacheOptions{.jwks_uri = kUri}, http, clock, nullptr, &metrics};
  Authenticator auth{cache, clock, &metrics};
  Fixture() {
    http.respond(kUri, 200, jwks_body({"k1"}));
    REQUIRE(cache.refresh());
    AuthPolicy p;
    p.verify.issuer = kIssuer;
    p.verify.audiences = {test::kAudience};
    auth.set_policy(p);
  }
  std::string token(const std::string& kid = "k1", std::int64_t exp_in = 3600) {
    auto claims = test::claims_for(kIssuer, to_unix(clock.now()));
    claims["exp"] = to_unix(clock.now()) + exp_in;
    return test::mint(key_for(jose::Alg::RS256, kid), claims);
  }
};

TEST_SUITE("daemon::authenticator") {
  TEST_CASE("extract_bearer accepts one Bearer credential, scheme in any case") {
    for (const char* h : {"Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER abc.def.ghi"}) {
      auto t = extract_bearer(bearer(h));
      REQUIRE(t);
      CHECK(*t == "abc.def.ghi");
    }
  }

  TEST_CASE("extract_bearer: no credential is LoginRequired, a bad one is invalid_request") {
    CHECK(extract_bearer(Credentials{}).error().code == Errc::LoginRequired);
    CHECK(extract_bearer(bearer("Basic dXNlcjpwYXNz")).error().code == Errc::LoginRequired);
    CHECK(extract_bearer(bearer("Bearer")).error().code == Errc::OAuthInvalidRequest);
    CHECK(extract_bearer(bearer("Bearer ")).error().code == Errc::OAuthInvalidRequest);
    CHECK(extract_bearer(bearer("Bearer  abc")).error().code == Errc::OAuthInvalidRequest);
    CHECK(extract_bearer(bearer("Bearer abc def")).error().code == Errc::OAuthInvalidRequest);
    auto two = bearer("Bearer abc");
    two.authorization_count = 2;
    CHECK(extract_bearer(two).error().detail == "more than one Authorization header");
    auto query = bearer("Bearer abc");
    query.token_in_query = true;
    CHECK(extract_bearer(query).error().code == Errc::OAuthInvalidRequest);
  }

  TEST_CASE("has_permission reads Auth0 permissions and scope") {
    using nlohmann::json;
    CHECK(has_permission(json{{"permissions", {"read:admin"}}}, "read:admin"));
    CHECK(has_permission(json{{"scope", "openid read:admin profile"}}, "read:admin"));
    CHECK_FALSE(has_permission(json{{"scope", "openid read:administrator"}}, "read:admin"));
    CHECK_FALSE(has_permission(json{{"permissions", "read:admin"}}, "read:admin"));
    CHECK_FALSE(has_permission(json{{"permissions", json::array()}}, "read:admin"));
    CHECK_FALSE(has_permission(json::object(), "read:admin"));
  }

  TEST_CASE("verifies a token and caches the result by hash") {
    Fixture f;
    const auto t = f.token();
    auto p1 = f.auth.authenticate(bearer("Bearer " + t));
    REQUIRE(p1);
    CHECK((*p1)->sub == "auth0|alice");
    CHECK((*p1)->claims_json.find("\"sub\":\"auth0|alice\"") != std::string::npos);
    auto p2 = f.auth.authenticate(bearer("Bearer " + t));
    REQUIRE(p2);
    CHECK(p1->get() == p2->get());
    CHECK(f.metrics.render({}).find("apid_token_cache_hits_total 1\n") != std::string::npos);
    CHECK(f.auth.cache_size() == 1);
  }

  TEST_CASE("a cached token is still refused in a malformed or doubled credential") {
    Fixture f;
    const auto t = f.token();
    const std::string header = "Bearer " + t;
    REQUIRE(f.auth.authenticate(bearer(header)));  // now cached

    Credentials two = bearer(header);
    two.authorization_count = 2;
    CHECK(f.auth.authenticate(two).error().code == Errc::OAuthInvalidRequest);
    Credentials query = bearer(header);
    query.token_in_query = true;
    CHECK(f.auth.authenticate(query).error().code == Errc::OAuthInvalidRequest);
    Credentials body = bearer(header);
    body.token_in_body = true;
    CHECK(f.auth.authenticate(body).error().code == Errc::OAuthInvalidRequest);
    const std::string basic = "Basic " + t;
    CHECK(f.auth.authenticate(bearer(basic)).error().code == Errc::LoginRequired);
    const std::string two_spaces = "Bearer  " + t;
    CHECK(f.auth.authenticate(bearer(two_spaces)).error().code == Errc::OAuthInvalidRequest);
    CHECK(f.metrics.render({}).find("apid_token_cache_hits_total 0\n") != std::string::npos);
    REQUIRE(f.auth.authenticate(bearer(header)));
    CHECK(f.metrics.render({}).find("apid_token_cache_hits_total 1\n") != std::string::npos);
  }

  TEST_CASE("a cached token still expires") {
    Fixture f;
    const auto t = f.token("k1", 60);
    REQUIRE(f.auth.authenticate(bearer("Bearer " + t)));
    f.clock.advance(60s + 30s);  // exp + leeway
    auto r = f.auth.authenticate(bearer("Bearer " + t));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::TokenExpired);
  }

  TEST_CASE("the cache is flushed when the key set changes, so a removed key stops working") {
    Fixture f;
    const auto t = f.token();
    REQUIRE(f.auth.authenticate(bearer("Bearer " + t)));
    f.http.respond(kUri, 200, jwks_body({"k2"}));
    REQUIRE(f.cache.refresh());
    auto r = f.auth.authenticate(bearer("Bearer " + t));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::TokenUnknownKid);
  }

  TEST_CASE("token cache off: every request verifies") {
    Fixture f;
    auto p = *f.auth.policy();
    p.token_cache = TokenCacheMode::Off;
    f.auth.set_policy(p);
    const auto t = f.token();
    auto p1 = f.auth.authenticate(bearer("Bearer " + t));
    auto p2 = f.auth.authenticate(bearer("Bearer " + t));
    REQUIRE(p1);
    REQUIRE(p2);
    CHECK(p1->get() != p2->get());
    CHECK(f.auth.cache_size() == 0);
  }

  TEST_CASE("the cache is bounded") {
    Fixture f;
    auto p = *f.auth.policy();
    p.token_cache_entries = 3;
    f.auth.set_policy(p);
    for (int i = 0; i < 10; ++i) {
      auto claims = test::claims_for(kIssuer, to_unix(f.clock.now()));
      claims["jti"] = std::to_string(i);
      REQUIRE(f.auth.authenticate(bearer("Bearer " + test::mint(key_for(jose::Alg::RS256, "k1"), claims))));
      CHECK(f.auth.cache_size() <= 3);
    }
  }

  TEST_CASE("a full cache evicts a part, so a round-robin over a few more tokens than it holds still hits") {
    // Clearing the whole cache when full made every request of such a round-robin a miss.
    Fixture f;
    auto p = *f.auth.policy();
    p.token_cache_entries = 40;
    f.auth.set_policy(p);
    std::vector<std::string> tokens;
    for (int i = 0; i < 50; ++i) {
      auto claims = test::claims_for(kIssuer, to_unix(f.clock.now()));
      claims["jti"] = std::to_string(i);
      tokens.push_back(test::mint(key_for(jose::Alg::RS256, "k1"), claims));
    }
    std::vector<PrincipalPtr> last(tokens.size());
    int hits = 0;
    for (int pass = 0; pass < 3; ++pass) {
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        auto r = f.auth.authenticate(bearer("Bearer " + tokens[i]));
        REQUIRE(r);
        if (pass > 0 && r->get() == last[i].get()) ++hits;
        last[i] = *r;
        CHECK(f.auth.cache_size() <= 40);
      }
    }
    CHECK(hits >= 40);  // of 100 lookups in passes 2 and 3; at most 80 could hit
  }

  TEST_CASE("an unknown kid triggers one refetch and then succeeds") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1", "k2"}));
    auto r = f.auth.authenticate(bearer("Bearer " + f.token("k2")));
    REQUIRE(r);
    CHECK(f.http.requests_to(kUri) == 2);
  }

  TEST_CASE("a token over 8 KiB is refused before any parsing") {
    Fixture f;
    auto r = f.auth.authenticate(bearer("Bearer " + std::string(8193, 'a')));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::TokenTooLarge);
  }

  TEST_CASE("no usable keys: JwksUnavailable, not a token error") {
    FakeClock clock;
    FakeHttpClient http;
    JwksCache cache(JwksCacheOptions{.jwks_uri = kUri}, http, clock, nullptr);
    Authenticator auth(cache, clock, nullptr);
    auto r = auth.authenticate(bearer("Bearer abc.def.ghi"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::JwksUnavailable);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
