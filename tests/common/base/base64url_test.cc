#include <doctest/doctest.h>

#include <cstdint>
#include <string>

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

  TEST_CASE("matches a bit-at-a-time reference decoder on random near-valid text") {
    // The reference is the obvious RFC 4648 algorithm (the previous implementation): six bits
    // per character, a byte out whenever eight are available, spare bits must be zero.
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    auto reference = [&](const std::string& text, std::string& out) {
      out.clear();
      if (text.size() % 4 == 1) return false;
      uint32_t acc = 0;
      int bits = 0;
      for (char c : text) {
        const auto pos = alphabet.find(c);
        if (pos == std::string::npos) return false;
        acc = (acc << 6) | static_cast<uint32_t>(pos);
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          out += static_cast<char>((acc >> bits) & 0xFF);
        }
      }
      return bits == 0 || (acc & ((1u << bits) - 1)) == 0;
    };
    const std::string chars = alphabet + "=+/ .\x80";
    uint32_t seed = 12345;
    auto next = [&] {
      seed = seed * 1103515245u + 12345u;
      return seed >> 8;
    };
    int accepted = 0;
    for (int n = 0; n < 20000; ++n) {
      std::string text(next() % 12, 'A');
      // Mostly valid characters, so both acceptance and each rejection reason are common.
      for (auto& c : text) c = chars[next() % 100 < 97 ? next() % 64 : 64 + next() % (chars.size() - 64)];
      std::string expected;
      const bool ok = reference(text, expected);
      auto decoded = base::base64url_decode(text);
      CAPTURE(text);
      REQUIRE(ok == static_cast<bool>(decoded));
      if (ok) {
        REQUIRE(*decoded == expected);
        ++accepted;
      } else {
        REQUIRE(decoded.error().code == Errc::TokenBadBase64);
        // The first byte outside the alphabet decides the wording ('=' = padding).
        const auto bad = text.find_first_not_of(alphabet);
        if (text.size() % 4 != 1 && bad != std::string::npos)
          CHECK(decoded.error().detail == (text[bad] == '=' ? "base64url text must not be padded"
                                                            : "base64url text has a character outside [A-Za-z0-9_-]"));
      }
    }
    CHECK(accepted > 1000);
    CHECK(accepted < 19000);
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
