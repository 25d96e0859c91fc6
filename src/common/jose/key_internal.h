#pragma once
// Private to src/common/jose: the alg/key table and key inspection shared by jwk, jws and sign.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/error.h"
#include "common/jose/alg.h"
#include "common/jose/jwk.h"

namespace oauthdemo::jose::internal {

struct KeyInfo {
  KeyType type = KeyType::RSA;
  Curve curve = Curve::None;
  int bits = 0;
};

// RS*/PS* for RSA, ES256/P-256, ES384/P-384, ES512/P-521, EdDSA/Ed25519 (RFC 7518 §3.1, 8037 §3.1).
bool alg_fits(Alg alg, KeyType type, Curve curve);
// Coordinate (and raw R or S) length in bytes: 32, 48, 66; Ed25519 32.
std::size_t field_bytes(Curve curve);
const char* curve_jwk_name(Curve curve);
const char* curve_ossl_name(Curve curve);
// Type, curve and size of an OpenSSL key; JwksKeyRejected for unsupported or weak keys.
Result<KeyInfo> inspect(EVP_PKEY* pkey);

// Digest name for EVP_DigestVerifyInit_ex / EVP_DigestSignInit_ex; nullptr for EdDSA.
const char* digest_name(Alg alg);
bool is_pss(Alg alg);
bool is_ecdsa(Alg alg);

// The fast path of parse_strict_json (json.cc): true when `text` is in its conservative subset
// and was parsed into `out` exactly as the strict parser would; false = "let the strict parser
// decide" (`out` is then unspecified). Exposed for the differential test.
bool fast_parse_json(std::string_view text, std::size_t max_depth, nlohmann::json& out);

// Verify-template cache owned by PublicKey (key_verify.cc).
VerifyCache* create_verify_cache();
void destroy_verify_cache(VerifyCache* cache);

}  // namespace oauthdemo::jose::internal
