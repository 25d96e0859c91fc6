#pragma once
// What several commands share: provider discovery, reading the current tokens (store or
// OAUTHDEMO_ACCESS_TOKEN), rotation-safe refresh (cli-anchors §4.5) and ID token verification.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/token_store.h"
#include "common/base/error.h"
#include "common/oauth/discovery.h"
#include "common/oauth/token_client.h"

namespace oauthdemo::cli {

inline constexpr Seconds kRefreshMargin{60};
inline constexpr Seconds kIdTokenLeeway{60};

// Discovery for `issuer`; for Auth0 issuers a failed discovery falls back to Auth0's fixed paths
// (logged). Errors from fetch_discovery otherwise.
Result<oauth::ProviderMetadata> discover(Context& ctx, const std::string& issuer, bool auth0);

enum class TokenSource { Store, Environment };
struct CurrentTokens {
  StoredTokens tokens;
  TokenSource source = TokenSource::Store;
};

// OAUTHDEMO_ACCESS_TOKEN if set, else the store. Errc::LoginRequired (with the remedy) when
// nothing is stored; store errors otherwise.
Result<CurrentTokens> load_current(Context& ctx);

// True when the access token expires within kRefreshMargin (unknown expiry: false).
bool needs_refresh(const StoredTokens& tokens, SystemTime now);

enum class RefreshMode { IfNeeded, Force };
// Under the store lock: re-read; with IfNeeded return the stored tokens if another process
// already replaced `seen_access_token` or they are still fresh; otherwise spend the refresh token,
// save the rotated tokens atomically and return them. On invalid_grant re-read once more: if
// another process rotated meanwhile, use its tokens; else Errc::LoginRequired (session over).
Result<StoredTokens> refresh_tokens(Context& ctx, RefreshMode mode, const std::string& seen_access_token);

// load_current + refresh when needed (only for stored tokens with a refresh token). Errc::
// LoginRequired when expired without a way to refresh.
Result<CurrentTokens> current_fresh_tokens(Context& ctx);

// Verifies an ID token (OIDC Core §3.1.3.7): signature with the provider's JWKS, iss, aud =
// client_id, azp, exp/iat with kIdTokenLeeway, nonce when given. Time failures mention the
// clock. Returns the claims.
Result<nlohmann::json> verify_id_token(Context& ctx, const oauth::ProviderMetadata& metadata,
                                       const std::string& client_id, const std::string& id_token,
                                       const std::optional<std::string>& nonce);

// An IMF-fixdate (RFC 9110 §5.6.7) such as "Wed, 25 Nov 2026 09:21:09 GMT", or nullopt.
std::optional<SystemTime> parse_http_date(const std::string& value);

// Builds what the store keeps from a token answer.
StoredTokens tokens_from_response(const oauth::TokenResponse& response, const std::string& issuer,
                                  const std::string& client_id, const std::string& audience,
                                  const std::string& requested_scope, const std::string& grant, SystemTime now);

// Claims of a JWT without verification, or an empty object (display only).
nlohmann::json peek_claims(const std::string& jwt);

// "2026-01-01 00:59:59 UTC (in 59m 59s)".
std::string describe_expiry(int64_t expires_at, SystemTime now);

}  // namespace oauthdemo::cli
