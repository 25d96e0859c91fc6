#pragma once
// Hashes through OpenSSL's EVP (never hand-rolled).
#include <string>
#include <string_view>

namespace oauthdemo::base {

// Raw 32-byte SHA-256 digest.
std::string sha256(std::string_view data);

// Lower-case hex of the bytes; used for short token fingerprints in logs (first 12 chars).
std::string to_hex(std::string_view bytes);

// A log-safe fingerprint of a secret: the first 12 hex characters of its SHA-256.
std::string fingerprint(std::string_view secret);

// Constant-time equality for secrets (state, codes, client secrets): CRYPTO_memcmp.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace oauthdemo::base
