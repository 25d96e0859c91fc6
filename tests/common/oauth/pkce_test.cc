#include <doctest/doctest.h>

#include <set>

#include "common/oauth/pkce.h"
#include "support/fakes.h"

using namespace oauthdemo;

TEST_SUITE("oauth::pkce") {
  TEST_CASE("derives the RFC 7636 Appendix B challenge") {
    auto challenge = oauth::s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    REQUIRE(challenge);
    CHECK(*challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  }

  TEST_CASE("a fresh verifier is 43 unreserved characters from 32 random bytes") {
    OpenSslRandom random;
    auto pair = oauth::make_pkce(random);
    REQUIRE(pair);
    CHECK(pair->verifier.size() == 43);
    CHECK(oauth::is_valid_verifier(pair->verifier));
    CHECK(*oauth::s256_challenge(pair->verifier) == pair->challenge);
  }

  TEST_CASE("verifiers, states and nonces differ on every call") {
    OpenSslRandom random;
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
      seen.insert(oauth::make_pkce(random)->verifier);
      seen.insert(*oauth::make_state(random));
      seen.insert(*oauth::make_nonce(random));
    }
    CHECK(seen.size() == 150);
  }

  TEST_CASE("state and nonce carry at least 128 bits") {
    testing::FixedRandom random;
    CHECK(oauth::make_state(random)->size() >= 22);
  }

  TEST_CASE("rejects verifiers that are too short, too long or not unreserved") {
    CHECK_FALSE(oauth::s256_challenge(std::string(42, 'a')));
    CHECK(oauth::s256_challenge(std::string(43, 'a')));
    CHECK(oauth::s256_challenge(std::string(128, 'a')));
    CHECK_FALSE(oauth::s256_challenge(std::string(129, 'a')));
    auto r = oauth::s256_challenge(std::string(42, 'a') + "+");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::OAuthInvalidRequest);
  }
}
