#pragma once
// JWS compact serialization (RFC 7515 §7.1): strict decoding and signature checks. Pure, no I/O.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/error.h"
#include "common/jose/alg.h"
#include "common/jose/jwk.h"
#include "common/jose/json.h"

namespace oauthdemo::jose {

inline constexpr std::size_t kDefaultMaxTokenBytes = 16 * 1024;

struct DecodedJws {
  nlohmann::json header;      // object, strictly parsed
  std::string payload_bytes;  // decoded payload (for a JWT: JSON text)
  std::string signing_input;  // ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
  std::string signature;      // decoded raw signature bytes
  std::string alg_name;       // header "alg" as sent
  std::string kid;            // header "kid" (empty if absent)
  bool has_kid = false;
};

// Splits and decodes without checking the signature or the alg. Order of checks (cheap first):
// size <= max_bytes (Errc::TokenTooLarge, before any allocation), exactly two dots and no empty
// segment (Errc::TokenMalformed; five segments = JWE, also malformed), strict base64url
// (Errc::TokenBadBase64), header strict JSON object (TokenBadJson / TokenDuplicateMember /
// TokenTooDeep), "alg" a string and "kid" a string if present (TokenMalformed).
Result<DecodedJws> decode_jws(std::string_view compact, std::size_t max_bytes = kDefaultMaxTokenBytes,
                              const JsonLimits& json_limits = {});

// Checks `signature` over `signing_input` with `key` for `alg` via EVP_DigestVerify. ECDSA
// signatures must be raw R||S of exactly 2*field bytes (converted to DER internally; zero or
// out-of-range values reject); RSA-PSS uses salt length = digest length and MGF1 with the same
// hash. Errc::TokenKeyMismatch if !key.accepts(alg), Errc::TokenBadSignature otherwise.
Result<void> verify_signature(std::string_view signing_input, std::string_view signature, const PublicKey& key,
                              Alg alg);

}  // namespace oauthdemo::jose
