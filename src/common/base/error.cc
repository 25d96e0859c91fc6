#include "common/base/error.h"

namespace oauthdemo {

std::string_view to_string(Errc code) {
  // No default: the compiler warns when a new code has no name.
  switch (code) {
    case Errc::TokenMalformed:
      return "token_malformed";
    case Errc::TokenTooLarge:
      return "token_too_large";
    case Errc::TokenBadBase64:
      return "token_bad_base64";
    case Errc::TokenBadJson:
      return "token_bad_json";
    case Errc::TokenDuplicateMember:
      return "token_duplicate_member";
    case Errc::TokenTooDeep:
      return "token_too_deep";
    case Errc::TokenUnsupportedAlg:
      return "token_unsupported_alg";
    case Errc::TokenCritUnsupported:
      return "token_crit_unsupported";
    case Errc::TokenEmbeddedKey:
      return "token_embedded_key";
    case Errc::TokenUnknownKid:
      return "token_unknown_kid";
    case Errc::TokenKidMissing:
      return "token_kid_missing";
    case Errc::TokenKeyMismatch:
      return "token_key_mismatch";
    case Errc::TokenBadSignature:
      return "token_bad_signature";
    case Errc::TokenExpired:
      return "token_expired";
    case Errc::TokenNotYetValid:
      return "token_not_yet_valid";
    case Errc::TokenIssuedInFuture:
      return "token_issued_in_future";
    case Errc::TokenWrongIssuer:
      return "token_wrong_issuer";
    case Errc::TokenWrongAudience:
      return "token_wrong_audience";
    case Errc::TokenMissingClaim:
      return "token_missing_claim";
    case Errc::TokenClaimType:
      return "token_claim_type";
    case Errc::TokenWrongType:
      return "token_wrong_type";
    case Errc::TokenNonceMismatch:
      return "token_nonce_mismatch";
    case Errc::JwksMalformed:
      return "jwks_malformed";
    case Errc::JwksNoUsableKeys:
      return "jwks_no_usable_keys";
    case Errc::JwksKeyRejected:
      return "jwks_key_rejected";
    case Errc::JwksUnavailable:
      return "jwks_unavailable";
    case Errc::CryptoFailure:
      return "crypto_failure";
    case Errc::HttpConnectFailed:
      return "http_connect_failed";
    case Errc::HttpTimeout:
      return "http_timeout";
    case Errc::HttpTlsFailure:
      return "http_tls_failure";
    case Errc::HttpBadStatus:
      return "http_bad_status";
    case Errc::HttpBodyTooLarge:
      return "http_body_too_large";
    case Errc::HttpBadUrl:
      return "http_bad_url";
    case Errc::HttpPortInUse:
      return "http_port_in_use";
    case Errc::OAuthInvalidRequest:
      return "o_auth_invalid_request";
    case Errc::OAuthInvalidClient:
      return "o_auth_invalid_client";
    case Errc::OAuthInvalidGrant:
      return "o_auth_invalid_grant";
    case Errc::OAuthUnauthorizedClient:
      return "o_auth_unauthorized_client";
    case Errc::OAuthUnsupportedGrantType:
      return "o_auth_unsupported_grant_type";
    case Errc::OAuthInvalidScope:
      return "o_auth_invalid_scope";
    case Errc::OAuthAccessDenied:
      return "o_auth_access_denied";
    case Errc::OAuthExpiredToken:
      return "o_auth_expired_token";
    case Errc::OAuthAuthorizationPending:
      return "o_auth_authorization_pending";
    case Errc::OAuthSlowDown:
      return "o_auth_slow_down";
    case Errc::OAuthServerError:
      return "o_auth_server_error";
    case Errc::OAuthStateMismatch:
      return "o_auth_state_mismatch";
    case Errc::OAuthBadResponse:
      return "o_auth_bad_response";
    case Errc::OAuthDiscoveryFailed:
      return "o_auth_discovery_failed";
    case Errc::OAuthIssuerMismatch:
      return "o_auth_issuer_mismatch";
    case Errc::OAuthTimeout:
      return "o_auth_timeout";
    case Errc::OAuthInterrupted:
      return "o_auth_interrupted";
    case Errc::ConfigMissing:
      return "config_missing";
    case Errc::ConfigInvalid:
      return "config_invalid";
    case Errc::ConfigFileUnreadable:
      return "config_file_unreadable";
    case Errc::StoreNotFound:
      return "store_not_found";
    case Errc::StoreCorrupt:
      return "store_corrupt";
    case Errc::StoreInsecurePermissions:
      return "store_insecure_permissions";
    case Errc::StoreIoError:
      return "store_io_error";
    case Errc::StoreLockFailed:
      return "store_lock_failed";
    case Errc::LoginRequired:
      return "login_required";
    case Errc::InvalidArgument:
      return "invalid_argument";
    case Errc::IoError:
      return "io_error";
    case Errc::HttpDeadlineExceeded:
      return "http_deadline_exceeded";
  }
  return "unknown";
}

std::string Error::message() const {
  std::string out(to_string(code));
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

}  // namespace oauthdemo
