#include <doctest/doctest.h>

#include "common/base/base64url.h"
#include "common/base/digest.h"
#include "common/base/error.h"

using namespace oauthdemo;

TEST_SUITE("base::base64url") {
  TEST_CASE("round-trips every length from 0 to 64 bytes") {
    std::string bytes;
    for (int n = 0; n <= 64; ++n) {
      auto decoded = base::base64url_decode(base::base64url_encode(bytes));
      REQUIRE(decoded);
      CHECK(*decoded == bytes);
      bytes += static_cast<char>(n * 37 + 11);
    }
  }

  TEST_CASE("encodes the RFC 4648 test vectors without padding") {
    CHECK(base::base64url_encode("") == "");
    CHECK(base::base64url_encode("f") == "Zg");
    CHECK(base::base64url_encode("fo") == "Zm8");
    CHECK(base::base64url_encode("foo") == "Zm9v");
    CHECK(base::base64url_encode("foob") == "Zm9vYg");
    CHECK(base::base64url_encode("\xfb\xff") == "-_8");
  }

  TEST_CASE("rejects padding") {
    auto r = base::base64url_decode("Zg==");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::TokenBadBase64);
    CHECK(r.error().detail == "base64url text must not be padded");
  }

  TEST_CASE("rejects characters of the standard alphabet and whitespace") {
    for (const char* bad : {"+_8", "-/8", "Zm 9", "Zm9\n", "Zm9%"}) {
      auto r = base::base64url_decode(bad);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::TokenBadBase64);
    }
  }

  TEST_CASE("rejects non-canonical trailing bits") {
    CHECK(base::base64url_decode("Zg"));
    auto r = base::base64url_decode("Zh");  // same byte, non-zero spare bits
    REQUIRE_FALSE(r);
    CHECK(r.error().detail == "base64url text has non-zero trailing bits");
  }

  TEST_CASE("rejects a length of 1 mod 4") {
    auto r = base::base64url_decode("Zm9vY");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::TokenBadBase64);
  }
}

TEST_SUITE("base::error") {
  TEST_CASE("names codes in snake case and joins the detail") {
    CHECK(to_string(Errc::TokenExpired) == "token_expired");
    CHECK(to_string(Errc::TokenBadBase64) == "token_bad_base64");
    CHECK(Error{Errc::ConfigMissing, "AUTH0_DOMAIN is not set"}.message() == "config_missing: AUTH0_DOMAIN is not set");
  }
}

TEST_SUITE("base::digest") {
  TEST_CASE("sha256 of 'abc' is the FIPS 180-2 vector") {
    CHECK(base::to_hex(base::sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }
  TEST_CASE("constant_time_equal compares content and length") {
    CHECK(base::constant_time_equal("abc", "abc"));
    CHECK_FALSE(base::constant_time_equal("abc", "abd"));
    CHECK_FALSE(base::constant_time_equal("abc", "abcd"));
  }
}
