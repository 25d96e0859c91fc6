#include "cli/session.h"

#include <ctime>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "common/jose/alg.h"
#include "common/jose/jwks.h"
#include "common/jose/verify.h"

namespace oauthdemo::cli {

Result<oauth::ProviderMetadata> discover(Context& ctx, const std::string& issuer, bool auth0) {
  auto metadata = oauth::fetch_discovery(*ctx.http, issuer);
  if (metadata) return metadata;
  if (auth0 && metadata.error().code == Errc::OAuthDiscoveryFailed) {
    spdlog::warn("discovery at {} failed ({}); using Auth0's standard endpoints", oauth::discovery_url(issuer),
                 metadata.error().detail);
    return oauth::auth0_default_metadata(issuer);
  }
  return metadata;
}

Result<CurrentTokens> load_current(Context& ctx) {
  if (const char* env = std::getenv("OAUTHDEMO_ACCESS_TOKEN"); env != nullptr && *env != '\0') {
    CurrentTokens current;
    current.source = TokenSource::Environment;
    current.tokens.access_token = env;
    current.tokens.grant = "environment";
    auto claims = peek_claims(current.tokens.access_token);
    if (claims.contains("exp") && claims["exp"].is_number_integer()) current.tokens.expires_at = claims["exp"].get<int64_t>();
    if (claims.contains("iss") && claims["iss"].is_string()) current.tokens.issuer = claims["iss"].get<std::string>();
    return current;
  }
  auto stored = ctx.store->load();
  if (!stored) {
    if (stored.error().code == Errc::StoreNotFound)
      return fail(Errc::LoginRequired, "not logged in (profile " + ctx.settings->profile() + "); run: oauthdemo" +
                                           (ctx.settings->profile() == "default" ? "" : " --profile " + ctx.settings->profile()) +
                                           " login");
    return tl::unexpected(stored.error());
  }
  return CurrentTokens{std::move(*stored), TokenSource::Store};
}

bool needs_refresh(const StoredTokens& tokens, SystemTime now) {
  return tokens.expires_at != 0 && tokens.expires_at - kRefreshMargin.count() <= to_unix(now);
}

namespace {

std::string login_hint(Context& ctx) {
  return "run: oauthdemo" + (ctx.settings->profile() == "default" ? std::string() : " --profile " + ctx.settings->profile()) +
         " login";
}

Result<oauth::TokenResponse> spend_refresh_token(Context& ctx, const StoredTokens& stored) {
  auto metadata = discover(ctx, stored.issuer, ctx.settings->is_auth0());
  if (!metadata) return tl::unexpected(metadata.error());
  return oauth::request_token(*ctx.http, oauth::refresh_token_request(metadata->token_endpoint,
                                                                      {stored.client_id, ""}, stored.refresh_token));
}

StoredTokens merge_refreshed(const StoredTokens& old, const oauth::TokenResponse& r, SystemTime now) {
  StoredTokens next = old;
  next.access_token = r.access_token;
  next.token_type = r.token_type;
  // Rotation (RFC 9700 §4.14.2): keep the new refresh token; without one the old stays valid.
  if (!r.refresh_token.empty()) next.refresh_token = r.refresh_token;
  if (!r.id_token.empty()) next.id_token = r.id_token;
  if (!r.scope.empty()) next.scope = r.scope;
  next.obtained_at = to_unix(now);
  next.expires_at = r.expires_in ? to_unix(now) + *r.expires_in : 0;
  return next;
}

}  // namespace

Result<StoredTokens> refresh_tokens(Context& ctx, RefreshMode mode, const std::string& seen_access_token) {
  auto lock = ctx.store->lock();
  if (!lock) return tl::unexpected(lock.error());
  auto stored = ctx.store->load();
  if (!stored) {
    if (stored.error().code == Errc::StoreNotFound)
      return fail(Errc::LoginRequired, "not logged in (profile " + ctx.settings->profile() + "); " + login_hint(ctx));
    return tl::unexpected(stored.error());
  }
  const auto now = ctx.clock->now();
  if (mode == RefreshMode::IfNeeded &&
      (stored->access_token != seen_access_token || !needs_refresh(*stored, now))) {
    spdlog::debug("another process already refreshed the tokens; using them");
    return stored;
  }
  if (stored->refresh_token.empty()) {
    if (stored->grant == "client_credentials")
      return fail(Errc::LoginRequired, "the access token has expired; run: oauthdemo login --client-credentials");
    return fail(Errc::LoginRequired, "the access token has expired and no refresh token is stored (request the "
                                     "offline_access scope to get one); " +
                                         login_hint(ctx));
  }
  auto answer = spend_refresh_token(ctx, *stored);
  if (!answer && answer.error().code == Errc::OAuthInvalidGrant) {
    // Rotation across processes: someone may have written a newer refresh token meanwhile.
    auto again = ctx.store->load();
    if (again && again->refresh_token != stored->refresh_token) {
      stored = std::move(again);
      answer = spend_refresh_token(ctx, *stored);
    }
    if (!answer && answer.error().code == Errc::OAuthInvalidGrant)
      return fail(Errc::LoginRequired, "the session has ended: the provider rejected the refresh token (" +
                                           answer.error().detail + "); " + login_hint(ctx));
  }
  if (!answer) return tl::unexpected(answer.error());
  auto next = merge_refreshed(*stored, *answer, now);
  auto saved = ctx.store->save(next, *lock);
  if (!saved) return tl::unexpected(saved.error());
  spdlog::info("refreshed the access token (profile {})", ctx.settings->profile());
  return next;
}

Result<CurrentTokens> current_fresh_tokens(Context& ctx) {
  auto current = load_current(ctx);
  if (!current) return current;
  const auto now = ctx.clock->now();
  if (!needs_refresh(current->tokens, now)) return current;
  if (current->source == TokenSource::Environment) {
    if (current->tokens.expires_at <= to_unix(now))
      return fail(Errc::LoginRequired, "OAUTHDEMO_ACCESS_TOKEN holds an expired token; set a fresh one");
    return current;
  }
  auto refreshed = refresh_tokens(ctx, RefreshMode::IfNeeded, current->tokens.access_token);
  if (!refreshed) return tl::unexpected(refreshed.error());
  current->tokens = std::move(*refreshed);
  return current;
}

std::optional<SystemTime> parse_http_date(const std::string& value) {
  if (value.empty() || value.size() > 64) return std::nullopt;
  std::tm tm{};
  const char* end = ::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return from_unix(static_cast<int64_t>(::timegm(&tm)));
}

Result<nlohmann::json> verify_id_token(Context& ctx, const oauth::ProviderMetadata& metadata,
                                       const std::string& client_id, const std::string& id_token,
                                       const std::optional<std::string>& nonce) {
  http::HttpRequest request;
  request.url = metadata.jwks_uri;
  request.headers.emplace_back("Accept", "application/json");
  request.max_response_bytes = 256 * 1024;
  auto response = ctx.http->send(request);
  if (!response) return tl::unexpected(response.error());
  if (response->status != 200)
    return fail(Errc::JwksUnavailable, "the provider's JWKS at " + metadata.jwks_uri + " answered HTTP " +
                                           std::to_string(response->status));
  auto jwks = jose::Jwks::parse(response->body);
  if (!jwks) return tl::unexpected(jwks.error());

  jose::VerifyPolicy policy;
  policy.issuer = metadata.issuer;
  policy.audiences = {client_id};
  policy.leeway = kIdTokenLeeway;
  policy.required_claims = {"sub", "iat"};
  policy.nonce = nonce;
  std::vector<jose::Alg> algs;
  for (const auto& name : metadata.id_token_signing_alg_values_supported) {
    if (auto alg = jose::alg_from_string(name)) algs.push_back(*alg);
  }
  if (!algs.empty()) policy.allowed_algs = algs;
  auto verified = jose::verify_jwt(id_token, *jwks, policy, ctx.clock->now());
  if (!verified) {
    const auto code = verified.error().code;
    if (code == Errc::TokenExpired || code == Errc::TokenNotYetValid || code == Errc::TokenIssuedInFuture) {
      std::string skew;
      if (auto server = parse_http_date(response->header("Date"))) {
        const auto diff = to_unix(*server) - to_unix(ctx.clock->now());
        skew = " (the provider's clock is " + std::to_string(diff < 0 ? -diff : diff) + " s " +
               (diff < 0 ? "behind" : "ahead of") + " this machine's)";
      }
      return fail(code, "the ID token failed its time check (" + verified.error().detail +
                            "); this machine's clock is probably off by more than 60 s — check it (e.g. timedatectl)" +
                            skew);
    }
    return fail(code, "the ID token did not verify: " + verified.error().detail);
  }
  const auto& claims = verified->claims;
  // OIDC Core §3.1.3.7 items 4-5: several audiences need azp; azp must be us when present.
  const bool multi_aud = claims.contains("aud") && claims["aud"].is_array() && claims["aud"].size() > 1;
  if (claims.contains("azp") || multi_aud) {
    if (!claims.contains("azp") || !claims["azp"].is_string() || claims["azp"].get<std::string>() != client_id)
      return fail(Errc::TokenWrongAudience, "the ID token's azp is not this client (" + client_id + ")");
  }
  return claims;
}

StoredTokens tokens_from_response(const oauth::TokenResponse& response, const std::string& issuer,
                                  const std::string& client_id, const std::string& audience,
                                  const std::string& requested_scope, const std::string& grant, SystemTime now) {
  StoredTokens t;
  t.issuer = issuer;
  t.client_id = client_id;
  t.audience = audience;
  t.scope = response.scope.empty() ? requested_scope : response.scope;
  t.grant = grant;
  t.token_type = response.token_type;
  t.access_token = response.access_token;
  t.refresh_token = response.refresh_token;
  t.id_token = response.id_token;
  t.obtained_at = to_unix(now);
  t.expires_at = response.expires_in ? to_unix(now) + *response.expires_in : 0;
  if (t.expires_at == 0) {
    auto claims = peek_claims(response.access_token);
    if (claims.contains("exp") && claims["exp"].is_number_integer()) t.expires_at = claims["exp"].get<int64_t>();
  }
  return t;
}

nlohmann::json peek_claims(const std::string& jwt) {
  if (!oauth::looks_like_jwt(jwt)) return nlohmann::json::object();
  auto decoded = jose::decode_unverified(jwt);
  if (!decoded) return nlohmann::json::object();
  return decoded->claims;
}

std::string describe_expiry(int64_t expires_at, SystemTime now) {
  if (expires_at == 0) return "unknown expiry";
  const std::time_t t = static_cast<std::time_t>(expires_at);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(buf) + " (" + format_relative(Seconds{expires_at - to_unix(now)}) + ")";
}

}  // namespace oauthdemo::cli
