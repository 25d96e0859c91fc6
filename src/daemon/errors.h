#pragma once
// The ONE table from Errc to the daemon's HTTP answer: status, RFC 6750 error code, a fixed
// human description, and the metrics/log reason label. Nothing else in the daemon decides these.
#include <cstddef>
#include <string>
#include <string_view>

#include "common/base/error.h"

namespace oauthdemo::daemon {

// Stable reason labels (metrics `reason`, access log). Index order is the metrics array order.
enum class Reason : std::size_t {
  TokenMissing,       // no Authorization header or another scheme (RFC 6750 §3.1: no error code)
  InvalidRequest,     // two credentials, malformed header, access_token in the query
  Malformed,
  TooLarge,
  BadBase64,
  BadJson,
  DupMember,
  TooDeep,
  AlgNotAllowed,
  CritUnsupported,
  EmbeddedKey,
  KidUnknown,
  KidMissing,
  KeyMismatch,
  SigInvalid,
  Expired,
  NotYetValid,
  IatFuture,
  IssMismatch,
  AudMismatch,
  ClaimMissing,
  ClaimType,
  TypMismatch,
  InsufficientScope,
  JwksUnavailable,
  Internal,
  kCount
};
inline constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::kCount);

std::string_view to_label(Reason reason);

struct HttpError {
  int status;                     // 400, 401, 403, 500, 503
  std::string_view error;         // RFC 6750 §3.1 code, "" for a bare challenge (missing token)
  std::string_view description;   // fixed text; the Errc detail is appended by describe()
  Reason reason;
};

// Errc -> answer. Token* -> 401 invalid_token; LoginRequired -> 401 without error (no token);
// OAuthInvalidRequest -> 400 invalid_request; OAuthInvalidScope -> 403 insufficient_scope;
// JwksUnavailable (and other Jwks*) -> 503 temporarily_unavailable; anything else -> 500.
HttpError http_error_for(Errc code);

// error_description for `error`: the table text plus the detail, restricted to the characters
// RFC 6750 §3 allows (%x20-21 / %x23-5B / %x5D-7E), capped at 200 bytes, and with `token` (and
// each of its segments) removed should the detail ever contain it.
std::string describe(const Error& error, std::string_view token);

// Quotes-safe form of arbitrary text for a WWW-Authenticate parameter (same character set).
std::string sanitize_header_text(std::string_view text, std::size_t max_bytes);

}  // namespace oauthdemo::daemon
