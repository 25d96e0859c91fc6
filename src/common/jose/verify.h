#pragma once
// JWT verification (RFC 7519 §7.2, RFC 8725 best practices, RFC 9068 access tokens). Pure: the
// key set and `now` are parameters; no I/O, no logging.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/jose/alg.h"
#include "common/jose/jwks.h"
#include "common/jose/jws.h"

namespace oauthdemo::jose {

enum class ExpPolicy { Required, Optional };

struct VerifyPolicy {
  std::string issuer;                    // "iss" must equal this byte for byte
  std::vector<std::string> audiences;    // "aud" (string or array) must contain one of these
  std::vector<Alg> allowed_algs{Alg::RS256};
  Seconds leeway{30};
  std::size_t max_token_bytes = kDefaultMaxTokenBytes;
  JsonLimits json_limits{};
  ExpPolicy exp = ExpPolicy::Required;
  // If set, the "typ" header must match case-insensitively, with or without "application/"
  // (RFC 9068 §4: "at+jwt"). Unset: any typ, or none, is fine (Auth0 sends "JWT").
  std::optional<std::string> required_typ;
  std::vector<std::string> required_claims;  // e.g. {"sub"}
  // OIDC ID tokens: the "nonce" claim must equal this (Errc::TokenNonceMismatch).
  std::optional<std::string> nonce;
};

struct VerifiedJwt {
  nlohmann::json header;  // object
  nlohmann::json claims;  // object
  Alg alg;
  std::string kid;
  // The claims as the token carried them: the JSON text of `claims`, strictly parsed (valid UTF-8,
  // no duplicate members), so it can be echoed without serialising `claims` again.
  std::string claims_json;
};

// Verifies `compact` against `keys`: decode_jws's checks, then header rules (alg in allowed_algs,
// never "none"/HS* -> TokenUnsupportedAlg; "crit" -> TokenCritUnsupported; jwk/jku/x5u/x5c ->
// TokenEmbeddedKey), key by kid (TokenUnknownKid; no kid with several keys -> TokenKidMissing;
// key type/curve/declared alg -> TokenKeyMismatch), signature (TokenBadSignature), payload strict
// JSON object, then check_claims. The first failed check is the result.
// Details: "crit" and RFC 7797 "b64" in any form -> TokenCritUnsupported; required_typ is checked
// right after the embedded-key rule (TokenWrongType); a kid shared by two different JWKS keys ->
// TokenUnknownKid ("ambiguous"). A 1e400 NumericDate does not parse at all -> TokenBadJson.
// Thread-safe: many threads may verify against one Jwks.
Result<VerifiedJwt> verify_jwt(std::string_view compact, const Jwks& keys, const VerifyPolicy& policy, SystemTime now);

// Claim checks alone, in this order: types (exp/nbf/iat numbers in (0, 2^53) -> TokenClaimType),
// iss (TokenWrongIssuer, missing -> TokenWrongIssuer), aud (TokenWrongAudience), exp present if
// required (TokenMissingClaim), now >= exp + leeway -> TokenExpired, nbf > now + leeway ->
// TokenNotYetValid, iat > now + leeway -> TokenIssuedInFuture, required_claims (TokenMissingClaim),
// nonce (TokenNonceMismatch). Details say by how much a time check failed (clock-skew hints).
// An empty policy.issuer or audiences list matches nothing (fail closed).
Result<void> check_claims(const nlohmann::json& claims, const VerifyPolicy& policy, SystemTime now);

// Decodes a JWT's header and claims WITHOUT verifying anything, for display (`token show`).
// Same size/format/JSON strictness as decode_jws. The alg must be one we know (else TokenUnsupportedAlg).
Result<VerifiedJwt> decode_unverified(std::string_view compact, std::size_t max_bytes = kDefaultMaxTokenBytes);

}  // namespace oauthdemo::jose
