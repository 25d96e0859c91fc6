#include "daemon/errors.h"

#include <array>

namespace oauthdemo::daemon {

std::string_view to_label(Reason reason) {
  switch (reason) {
    case Reason::TokenMissing: return "token_missing";
    case Reason::InvalidRequest: return "invalid_request";
    case Reason::Malformed: return "malformed";
    case Reason::TooLarge: return "too_large";
    case Reason::BadBase64: return "bad_base64";
    case Reason::BadJson: return "bad_json";
    case Reason::DupMember: return "dup_member";
    case Reason::TooDeep: return "too_deep";
    case Reason::AlgNotAllowed: return "alg_not_allowed";
    case Reason::CritUnsupported: return "crit_unsupported";
    case Reason::EmbeddedKey: return "embedded_key";
    case Reason::KidUnknown: return "kid_unknown";
    case Reason::KidMissing: return "kid_missing";
    case Reason::KeyMismatch: return "key_mismatch";
    case Reason::SigInvalid: return "sig_invalid";
    case Reason::Expired: return "expired";
    case Reason::NotYetValid: return "not_yet_valid";
    case Reason::IatFuture: return "iat_future";
    case Reason::IssMismatch: return "iss_mismatch";
    case Reason::AudMismatch: return "aud_mismatch";
    case Reason::ClaimMissing: return "claim_missing";
    case Reason::ClaimType: return "claim_type";
    case Reason::TypMismatch: return "typ_mismatch";
    case Reason::InsufficientScope: return "insufficient_scope";
    case Reason::JwksUnavailable: return "jwks_unavailable";
    case Reason::Internal: return "internal";
    case Reason::kCount: break;
  }
  return "internal";
}

namespace {

constexpr std::string_view kInvalidToken = "invalid_token";

HttpError token(std::string_view description, Reason reason) { return {401, kInvalidToken, description, reason}; }

}  // namespace

HttpError http_error_for(Errc code) {
  switch (code) {
    case Errc::LoginRequired: return {401, "", "An access token is required", Reason::TokenMissing};
    case Errc::OAuthInvalidRequest: return {400, "invalid_request", "Malformed request", Reason::InvalidRequest};
    case Errc::OAuthInvalidScope:
      return {403, "insufficient_scope", "The token lacks the required permission", Reason::InsufficientScope};
    case Errc::TokenMalformed: return token("The token is malformed", Reason::Malformed);
    case Errc::TokenTooLarge: return token("The token is too large", Reason::TooLarge);
    case Errc::TokenBadBase64: return token("The token is not valid base64url", Reason::BadBase64);
    case Errc::TokenBadJson: return token("The token is not valid JSON", Reason::BadJson);
    case Errc::TokenDuplicateMember: return token("The token repeats a JSON member", Reason::DupMember);
    case Errc::TokenTooDeep: return token("The token's JSON is nested too deeply", Reason::TooDeep);
    case Errc::TokenUnsupportedAlg: return token("The token's algorithm is not allowed", Reason::AlgNotAllowed);
    case Errc::TokenCritUnsupported: return token("The token has a crit header", Reason::CritUnsupported);
    case Errc::TokenEmbeddedKey: return token("The token embeds or references a key", Reason::EmbeddedKey);
    case Errc::TokenUnknownKid: return token("The token was signed with an unknown key", Reason::KidUnknown);
    case Errc::TokenKidMissing: return token("The token has no kid", Reason::KidMissing);
    case Errc::TokenKeyMismatch: return token("The token's algorithm does not fit its key", Reason::KeyMismatch);
    case Errc::TokenBadSignature: return token("The token's signature is invalid", Reason::SigInvalid);
    case Errc::TokenExpired: return token("The token has expired", Reason::Expired);
    case Errc::TokenNotYetValid: return token("The token is not valid yet", Reason::NotYetValid);
    case Errc::TokenIssuedInFuture: return token("The token was issued in the future", Reason::IatFuture);
    case Errc::TokenWrongIssuer: return token("The token has the wrong issuer", Reason::IssMismatch);
    case Errc::TokenWrongAudience: return token("The token has the wrong audience", Reason::AudMismatch);
    case Errc::TokenMissingClaim: return token("The token lacks a required claim", Reason::ClaimMissing);
    case Errc::TokenClaimType: return token("The token has a claim of the wrong type", Reason::ClaimType);
    case Errc::TokenWrongType: return token("The token has the wrong typ", Reason::TypMismatch);
    case Errc::TokenNonceMismatch: return token("The token has an unexpected nonce", Reason::ClaimType);
    case Errc::JwksMalformed:
    case Errc::JwksNoUsableKeys:
    case Errc::JwksKeyRejected:
    case Errc::JwksUnavailable:
      return {503, "temporarily_unavailable", "No signing keys are available; retry later", Reason::JwksUnavailable};
    case Errc::CryptoFailure:
    case Errc::HttpConnectFailed:
    case Errc::HttpTimeout:
    case Errc::HttpDeadlineExceeded:
    case Errc::HttpTlsFailure:
    case Errc::HttpBadStatus:
    case Errc::HttpBodyTooLarge:
    case Errc::HttpBadUrl:
    case Errc::HttpPortInUse:
    case Errc::OAuthInvalidClient:
    case Errc::OAuthInvalidGrant:
    case Errc::OAuthUnauthorizedClient:
    case Errc::OAuthUnsupportedGrantType:
    case Errc::OAuthAccessDenied:
    case Errc::OAuthExpiredToken:
    case Errc::OAuthAuthorizationPending:
    case Errc::OAuthSlowDown:
    case Errc::OAuthServerError:
    case Errc::OAuthStateMismatch:
    case Errc::OAuthBadResponse:
    case Errc::OAuthDiscoveryFailed:
    case Errc::OAuthIssuerMismatch:
    case Errc::OAuthTimeout:
    case Errc::OAuthInterrupted:
    case Errc::ConfigMissing:
    case Errc::ConfigInvalid:
    case Errc::ConfigFileUnreadable:
    case Errc::StoreNotFound:
    case Errc::StoreCorrupt:
    case Errc::StoreInsecurePermissions:
    case Errc::StoreIoError:
    case Errc::StoreLockFailed:
    case Errc::InvalidArgument:
    case Errc::IoError:
      break;
  }
  return {500, "server_error", "Internal error", Reason::Internal};
}

std::string sanitize_header_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  for (char ch : text) {
    if (out.size() >= max_bytes) break;
    auto c = static_cast<unsigned char>(ch);
    // RFC 6750 §3: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )
    if (c == '"' || c == '\\') {
      out.push_back('\'');
    } else if (c < 0x20 || c > 0x7e) {
      out.push_back('?');
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

namespace {

void erase_all(std::string& text, std::string_view needle) {
  if (needle.size() < 8) return;  // short pieces are not secrets and match too much
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos))
    text.replace(pos, needle.size(), "[redacted]");
}

}  // namespace

std::string describe(const Error& error, std::string_view token) {
  const HttpError mapped = http_error_for(error.code);
  std::string text(mapped.description);
  if (!error.detail.empty() && mapped.status != 500) {
    std::string detail = error.detail;
    if (!token.empty()) {
      erase_all(detail, token);
      std::size_t start = 0;
      while (start <= token.size()) {
        auto dot = token.find('.', start);
        auto end = dot == std::string_view::npos ? token.size() : dot;
        erase_all(detail, token.substr(start, end - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
      }
    }
    text += ": ";
    text += detail;
  }
  return sanitize_header_text(text, 200);
}

}  // namespace oauthdemo::daemon
