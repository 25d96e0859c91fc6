#pragma once
// One error type for the whole project: a reason code plus a human-readable detail.
// `detail` is for people and never holds a token, code, verifier or secret.
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace oauthdemo {

// Append-only; grouped by prefix. The daemon maps Token*/Jwks* to HTTP answers and the CLI maps
// everything to exit codes, each in one table.
enum class Errc {
  // Token* : a JWT/JWS that was rejected (RFC 7515, 7519).
  TokenMalformed,         // not three non-empty base64url segments, bad header fields
  TokenTooLarge,          // over the configured size cap; checked before any parsing
  TokenBadBase64,         // padding, bad characters or non-canonical trailing bits
  TokenBadJson,           // not a JSON object, invalid UTF-8, trailing garbage
  TokenDuplicateMember,   // a JSON object repeats a member name (also via escapes)
  TokenTooDeep,           // JSON nesting over the cap
  TokenUnsupportedAlg,    // alg not in the allow-list, "none", or HMAC against public keys
  TokenCritUnsupported,   // a "crit" header: we understand no extensions
  TokenEmbeddedKey,       // jwk / jku / x5u / x5c header present
  TokenUnknownKid,        // no usable key with that kid
  TokenKidMissing,        // no kid while the key set holds several keys
  TokenKeyMismatch,       // alg does not fit the key's type, curve or declared alg
  TokenBadSignature,      // signature check failed (includes wrong length / encoding)
  TokenExpired,           // now >= exp + leeway
  TokenNotYetValid,       // nbf > now + leeway
  TokenIssuedInFuture,    // iat > now + leeway
  TokenWrongIssuer,       // iss differs from the expected issuer
  TokenWrongAudience,     // aud missing or does not contain ours
  TokenMissingClaim,      // a required claim (exp, sub, ...) is absent
  TokenClaimType,         // a claim has the wrong JSON type or range
  TokenWrongType,         // typ header differs from the required one (RFC 9068 at+jwt)
  TokenNonceMismatch,     // OIDC ID token nonce differs
  // Jwks* : key sets and keys (RFC 7517).
  JwksMalformed,          // not a JSON object with a "keys" array, too big
  JwksNoUsableKeys,       // every key was skipped
  JwksKeyRejected,        // one key was unusable (weak, wrong curve, private, ...)
  JwksUnavailable,        // no key set could be obtained (provider down)
  // Crypto* : OpenSSL failures that are not the input's fault.
  CryptoFailure,
  // Http* : transport.
  HttpConnectFailed,
  HttpTimeout,
  HttpTlsFailure,
  HttpBadStatus,
  HttpBodyTooLarge,
  HttpBadUrl,
  HttpPortInUse,
  // OAuth* : protocol answers (RFC 6749 §5.2, RFC 8628 §3.5).
  OAuthInvalidRequest,
  OAuthInvalidClient,
  OAuthInvalidGrant,
  OAuthUnauthorizedClient,
  OAuthUnsupportedGrantType,
  OAuthInvalidScope,
  OAuthAccessDenied,
  OAuthExpiredToken,
  OAuthAuthorizationPending,
  OAuthSlowDown,
  OAuthServerError,
  OAuthStateMismatch,
  OAuthBadResponse,
  OAuthDiscoveryFailed,
  OAuthIssuerMismatch,
  OAuthTimeout,
  OAuthInterrupted,
  // Config* : settings.
  ConfigMissing,
  ConfigInvalid,
  ConfigFileUnreadable,
  // Store* : the CLI's token store.
  StoreNotFound,
  StoreCorrupt,
  StoreInsecurePermissions,
  StoreIoError,
  StoreLockFailed,
  // Login / generic.
  LoginRequired,
  InvalidArgument,
  IoError,
  // Appended (the enum is append-only).
  HttpDeadlineExceeded,   // no complete answer within the request's total wall-clock deadline
};

// A stable snake_case name for the code, used in logs, metrics labels and JSON output.
std::string_view to_string(Errc code);

struct Error {
  Errc code;
  std::string detail;

  // "<code>: <detail>" for logs and CLI messages.
  std::string message() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Shorthand: `return fail(Errc::TokenExpired, "token expired 12s ago");`
inline tl::unexpected<Error> fail(Errc code, std::string detail) {
  return tl::unexpected<Error>(Error{code, std::move(detail)});
}

}  // namespace oauthdemo
