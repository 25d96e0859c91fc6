#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "devidp/sessions.h"
#include "support/fakes.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp;
using oauthdemo::testing::FakeClock;

namespace {

const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const std::string kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Fixture {
  FakeClock clock;
  OpenSslRandom random;
  SessionStore store{clock, random, SessionLimits{}};
  AuthRequest request{"cli", "http://127.0.0.1:5000/callback", "openid offline_access", "aud", "st", "nn", kChallenge};
  Grant grant{"cli", "alice", "openid offline_access", "aud", "nn", oauthdemo::testing::kSomeInstant};
};

}  // namespace

TEST_SUITE("devidp::sessions") {
  TEST_CASE("a code redeems once with the right client, redirect_uri and verifier") {
    Fixture f;
    auto code = f.store.issue_code(f.request, f.grant);
    REQUIRE(code);
    auto grant = f.store.redeem_code(*code, "cli", f.request.redirect_uri, kVerifier);
    REQUIRE(grant);
    CHECK(grant->username == "alice");
    CHECK(grant->nonce == "nn");
    auto again = f.store.redeem_code(*code, "cli", f.request.redirect_uri, kVerifier);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::OAuthInvalidGrant);
    CHECK(again.error().detail == "authorization code has already been used");
  }

  TEST_CASE("concurrent redemptions of one code: exactly one succeeds") {
    Fixture f;
    auto code = f.store.issue_code(f.request, f.grant);
    REQUIRE(code);
    std::atomic<int> successes{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
      threads.emplace_back([&] {
        if (f.store.redeem_code(*code, "cli", f.request.redirect_uri, kVerifier)) ++successes;
      });
    for (auto& t : threads) t.join();
    CHECK(successes.load() == 1);
  }

  TEST_CASE("a code expires after code_ttl") {
    Fixture f;
    auto code = f.store.issue_code(f.request, f.grant);
    REQUIRE(code);
    SUBCASE("just before") {
      f.clock.advance(std::chrono::seconds(59));
      CHECK(f.store.redeem_code(*code, "cli", f.request.redirect_uri, kVerifier));
    }
    SUBCASE("at expiry") {
      f.clock.advance(std::chrono::seconds(60));
      auto r = f.store.redeem_code(*code, "cli", f.request.redirect_uri, kVerifier);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::OAuthInvalidGrant);
    }
  }

  TEST_CASE("a code is refused for another client, redirect_uri or verifier") {
    Fixture f;
    auto code = f.store.issue_code(f.request, f.grant);
    REQUIRE(code);
    SUBCASE("client") {
      auto r = f.store.redeem_code(*code, "other", f.request.redirect_uri, kVerifier);
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "authorization code was issued to another client");
    }
    SUBCASE("redirect_uri") {
      auto r = f.store.redeem_code(*code, "cli", "http://127.0.0.1:5001/callback", kVerifier);
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "redirect_uri does not match the one used in /authorize");
    }
    SUBCASE("verifier") {
      auto r = f.store.redeem_code(*code, "cli", f.request.redirect_uri, std::string(43, 'a'));
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "code_verifier does not match the code_challenge");
      // One guess per code.
      CHECK_FALSE(f.store.redeem_code(*code, "cli", f.request.redirect_uri, kVerifier));
    }
  }

  TEST_CASE("replaying a code revokes the refresh family issued from it") {
    Fixture f;
    auto code = f.store.issue_code(f.request, f.grant);
    REQUIRE(f.store.redeem_code(*code, "cli", f.request.redirect_uri, kVerifier));
    std::string family;
    auto rt = f.store.issue_refresh(f.grant, &family);
    REQUIRE(rt);
    f.store.link_code_family(*code, family);
    CHECK_FALSE(f.store.redeem_code(*code, "cli", f.request.redirect_uri, kVerifier));
    auto r = f.store.rotate_refresh(*rt, "cli");
    REQUIRE_FALSE(r);
    CHECK(r.error().detail == "refresh token has been revoked");
  }

  TEST_CASE("refresh tokens rotate, and reuse of a rotated token revokes the family") {
    Fixture f;
    auto first = f.store.issue_refresh(f.grant);
    REQUIRE(first);
    auto second = f.store.rotate_refresh(*first, "cli");
    REQUIRE(second);
    CHECK(second->refresh_token != *first);
    auto reuse = f.store.rotate_refresh(*first, "cli");
    REQUIRE_FALSE(reuse);
    CHECK(reuse.error().code == Errc::OAuthInvalidGrant);
    CHECK(reuse.error().detail == "refresh token reuse detected; the token family has been revoked");
    auto after = f.store.rotate_refresh(second->refresh_token, "cli");
    REQUIRE_FALSE(after);
    CHECK(after.error().detail == "refresh token has been revoked");
  }

  TEST_CASE("refresh tokens expire with their family and belong to one client") {
    Fixture f;
    auto rt = f.store.issue_refresh(f.grant);
    REQUIRE(rt);
    SUBCASE("other client") {
      auto r = f.store.rotate_refresh(*rt, "other");
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "refresh token was issued to another client");
      CHECK(f.store.rotate_refresh(*rt, "cli"));
    }
    SUBCASE("expired") {
      f.clock.advance(std::chrono::seconds(86400));
      auto r = f.store.rotate_refresh(*rt, "cli");
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "unknown or expired refresh token");
    }
  }

  TEST_CASE("revocation only applies to the owning client") {
    Fixture f;
    auto rt = f.store.issue_refresh(f.grant);
    f.store.revoke_refresh(*rt, "other");
    CHECK(f.store.rotate_refresh(*rt, "cli"));
    auto rt2 = f.store.issue_refresh(f.grant);
    f.store.revoke_refresh(*rt2, "cli");
    CHECK_FALSE(f.store.rotate_refresh(*rt2, "cli"));
  }

  TEST_CASE("user codes use the unambiguous alphabet in XXXX-XXXX form") {
    Fixture f;
    std::set<std::string> seen;
    for (int i = 0; i < 20; ++i) {
      auto start = f.store.start_device({"cli", "openid", ""});
      REQUIRE(start);
      REQUIRE(start->user_code.size() == 9);
      CHECK(start->user_code[4] == '-');
      for (std::size_t j = 0; j < 9; ++j)
        if (j != 4) CHECK(kUserCodeAlphabet.find(start->user_code[j]) != std::string_view::npos);
      seen.insert(start->user_code);
    }
    CHECK(seen.size() == 20);
    CHECK(normalize_user_code("bcdf-ghjk") == std::optional<std::string>("BCDFGHJK"));
    CHECK_FALSE(normalize_user_code("BCDF-GHJA"));  // vowel
    CHECK_FALSE(normalize_user_code("BCDF-GHJ"));   // short
  }

  TEST_CASE("device polling: pending, slow_down with a growing interval, approval once") {
    Fixture f;
    auto start = f.store.start_device({"cli", "openid", "aud"});
    REQUIRE(start);
    auto r = f.store.poll_device(start->device_code, "cli");
    CHECK(r.error().code == Errc::OAuthAuthorizationPending);
    f.clock.advance(std::chrono::seconds(2));
    r = f.store.poll_device(start->device_code, "cli");
    CHECK(r.error().code == Errc::OAuthSlowDown);
    CHECK(r.error().detail == "polling too fast; wait 10 seconds");
    f.clock.advance(std::chrono::seconds(6));  // 6 < 10: still too fast
    CHECK(f.store.poll_device(start->device_code, "cli").error().code == Errc::OAuthSlowDown);
    f.clock.advance(std::chrono::seconds(15));
    CHECK(f.store.poll_device(start->device_code, "cli").error().code == Errc::OAuthAuthorizationPending);
    REQUIRE(f.store.approve_device(start->user_code, "alice", f.clock.now()));
    f.clock.advance(std::chrono::seconds(15));
    auto grant = f.store.poll_device(start->device_code, "cli");
    REQUIRE(grant);
    CHECK(grant->username == "alice");
    CHECK(grant->audience == "aud");
    f.clock.advance(std::chrono::seconds(20));
    auto again = f.store.poll_device(start->device_code, "cli");
    CHECK(again.error().code == Errc::OAuthInvalidGrant);
  }

  TEST_CASE("device polling: denied, expired, other client") {
    Fixture f;
    auto start = f.store.start_device({"cli", "openid", ""});
    REQUIRE(start);
    SUBCASE("denied") {
      REQUIRE(f.store.deny_device(start->user_code));
      CHECK(f.store.poll_device(start->device_code, "cli").error().code == Errc::OAuthAccessDenied);
      CHECK_FALSE(f.store.approve_device(start->user_code, "alice", f.clock.now()));
    }
    SUBCASE("expired") {
      f.clock.advance(std::chrono::seconds(600));
      CHECK(f.store.poll_device(start->device_code, "cli").error().code == Errc::OAuthExpiredToken);
      CHECK_FALSE(f.store.find_device(start->user_code));
      CHECK_FALSE(f.store.approve_device(start->user_code, "alice", f.clock.now()));
    }
    SUBCASE("other client") {
      CHECK(f.store.poll_device(start->device_code, "ci").error().code == Errc::OAuthInvalidGrant);
    }
  }

  TEST_CASE("login transactions expire and die after too many failures") {
    Fixture f;
    auto id = f.store.create_txn(LoginTxn{TxnKind::Authorize, f.request, {}, 0});
    REQUIRE(id);
    CHECK(f.store.find_txn(*id));
    SUBCASE("failures") {
      for (int i = 0; i < 4; ++i) CHECK(f.store.record_failed_login(*id));
      CHECK_FALSE(f.store.record_failed_login(*id));
      CHECK_FALSE(f.store.find_txn(*id));
    }
    SUBCASE("expiry") {
      f.clock.advance(std::chrono::seconds(600));
      CHECK_FALSE(f.store.find_txn(*id));
    }
  }
}
