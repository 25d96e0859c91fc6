#pragma once
// Randomness as a seam: OpenSSL's CSPRNG in production, a fixed source in tests.
#include <cstddef>
#include <string>

#include "common/base/error.h"

namespace oauthdemo {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `count` random bytes. Errc::CryptoFailure if the generator fails.
  virtual Result<std::string> bytes(std::size_t count) = 0;
};

// RAND_bytes from OpenSSL 3's default DRBG; thread-safe.
class OpenSslRandom final : public RandomSource {
 public:
  Result<std::string> bytes(std::size_t count) override;
};

// `byte_count` random bytes as base64url: 16 bytes -> 22 characters (128 bits), for state, nonce,
// user codes' backing values and opaque tokens.
Result<std::string> random_token(RandomSource& random, std::size_t byte_count = 32);

}  // namespace oauthdemo
