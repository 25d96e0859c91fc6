#include "daemon/authenticator.h"

#include <algorithm>
#include <array>


namespace oauthdemo::daemon {
namespace {

// ASCII only, independent of the C locale (and inlined: std::isalnum/std::tolower are calls into
// libc, which showed up in the /hello profile for a ~700-character token).
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
constexpr std::array<bool, 256> make_b64token_table() {
  std::array<bool, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : {'-', '.', '_', '~', '+', '/'}) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kB64TokenChar = make_b64token_table();

bool is_b64token(std::string_view t) {
  std::size_t i = 0;
  while (i < t.size() && kB64TokenChar[static_cast<unsigned char>(t[i])]) ++i;
  if (i == 0) return false;
  while (i < t.size() && t[i] == '=') ++i;
  return i == t.size();
}

// Everything extract_bearer checks but the token's characters.
Result<std::string_view> bearer_value(const Credentials& c) {
  if (c.authorization_count > 1) return fail(Errc::OAuthInvalidRequest, "more than one Authorization header");
  if (c.token_in_query)
    return fail(Errc::OAuthInvalidRequest, "access tokens are accepted in the Authorization header only, not the URI");
  if (c.token_in_body)
    return fail(Errc::OAuthInvalidRequest, "access tokens are accepted in the Authorization header only, not the body");
  if (c.authorization_count == 0) return fail(Errc::LoginRequired, "no Authorization header");
  const std::string_view value = c.authorization;
  const auto space = value.find(' ');
  const std::string_view scheme = value.substr(0, space);
  if (!iequals(scheme, "Bearer")) return fail(Errc::LoginRequired, "the Authorization header does not use the Bearer scheme");
  if (space == std::string_view::npos) return fail(Errc::OAuthInvalidRequest, "the Bearer credential is empty");
  const std::string_view token = value.substr(space + 1);
  if (token.empty()) return fail(Errc::OAuthInvalidRequest, "the Bearer credential is empty");
  return token;
}

}  // namespace

Result<std::string_view> extract_bearer(const Credentials& c) {
  auto token = bearer_value(c);
  if (token && !is_b64token(*token))
    return fail(Errc::OAuthInvalidRequest, "the Bearer credential is not a single b64token (one space, no extra spaces)");
  return token;
}

bool has_permission(const nlohmann::json& claims, std::string_view permission) {
  if (!claims.is_object()) return false;
  if (auto it = claims.find("permissions"); it != claims.end() && it->is_array()) {
    for (const auto& p : *it)
      if (p.is_string() && p.get_ref<const std::string&>() == permission) return true;
  }
  if (auto it = claims.find("scope"); it != claims.end() && it->is_string()) {
    std::string_view scope = it->get_ref<const std::string&>();
    std::size_t pos = 0;
    while (pos <= scope.size()) {
      auto sp = scope.find(' ', pos);
      if (scope.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos) == permission) return true;
      if (sp == std::string_view::npos) break;
      pos = sp + 1;
    }
  }
  return false;
}

Authenticator::Authenticator(JwksCache& keys, const Clock& clock, Metrics* metrics)
    : keys_(keys), clock_(clock), metrics_(metrics), policy_(std::make_shared<const AuthPolicy>()) {}

void Authenticator::set_policy(AuthPolicy policy) {
  {
    std::lock_guard lock(policy_mu_);
    policy_ = std::make_shared<const AuthPolicy>(std::move(policy));
  }
  std::unique_lock lock(cache_mu_);
  cache_.clear();
}

std::shared_ptr<const AuthPolicy> Authenticator::policy() const {
  std::lock_guard lock(policy_mu_);
  return policy_;
}

std::size_t Authenticator::cache_size() const {
  std::shared_lock lock(cache_mu_);
  return cache_.size();
}

Result<PrincipalPtr> Authenticator::authenticate(const Credentials& credentials) {
  const auto policy = this->policy();
  const bool caching = policy->token_cache == TokenCacheMode::On;
  auto snap = keys_.usable_snapshot();
  if (caching && snap) {
    // A cached token passed every check when it was stored (its characters, its size, its
    // signature and claims), so a hit skips them; the credential's shape is still checked.
    if (auto token = bearer_value(credentials); token && token->size() <= policy->max_token_bytes) {
      if (auto hit = cache_lookup(*token, snap->generation, *policy)) {
        if (metrics_) metrics_->record_token_cache(true);
        return hit;
      }
    }
  }
  auto token = extract_bearer(credentials);
  if (!token) return tl::unexpected(token.error());
  if (token->size() > policy->max_token_bytes)
    return fail(Errc::TokenTooLarge, "the token is larger than " + std::to_string(policy->max_token_bytes) + " bytes");
  if (!snap) return fail(Errc::JwksUnavailable, "no usable signing key set");
  if (caching && metrics_) metrics_->record_token_cache(false);
  return verify(*token, *policy, std::move(snap));
}

Result<PrincipalPtr> Authenticator::verify(std::string_view token, const AuthPolicy& policy, SnapshotPtr snap) {
  auto verified = jose::verify_jwt(token, *snap->jwks, policy.verify, clock_.now());
  if (!verified && verified.error().code == Errc::TokenUnknownKid) {
    // Possibly a rotation: one refetch (single-flight, cooldown, rate limit) and a second try.
    // An absurd kid cannot be a real key and must not cost a fetch (R30).
    auto decoded = jose::decode_jws(token, policy.max_token_bytes, policy.verify.json_limits);
    if (decoded && decoded->kid.size() <= 256) {
      if (auto newer = keys_.refetch_for_unknown_kid(snap->generation)) {
        snap = std::move(newer);
        verified = jose::verify_jwt(token, *snap->jwks, policy.verify, clock_.now());
      }
    }
  }
  if (!verified) return tl::unexpected(verified.error());

  auto principal = std::make_shared<Principal>();
  principal->claims = std::move(verified->claims);
  // The verified payload text itself: serialising the claims again cost ~1 µs per uncached request.
  principal->claims_json = std::move(verified->claims_json);
  if (auto it = principal->claims.find("sub"); it != principal->claims.end() && it->is_string())
    principal->sub = it->get<std::string>();
  if (auto it = principal->claims.find("exp"); it != principal->claims.end() && it->is_number())
    principal->exp = it->get<std::int64_t>();
  principal->kid = std::move(verified->kid);
  PrincipalPtr result = principal;
  if (policy.token_cache == TokenCacheMode::On && principal->exp > 0)
    cache_store(std::string(token), result, snap->generation, policy);
  return result;
}

PrincipalPtr Authenticator::cache_lookup(std::string_view token, std::uint64_t generation, const AuthPolicy& policy) {
  std::shared_lock lock(cache_mu_);
  auto it = cache_.find(token_hash(token));
  if (it == cache_.end() || it->second.token != token || it->second.generation != generation) return nullptr;
  // Same rule as jose::check_claims: reject when now >= exp + leeway.
  if (to_unix(clock_.now()) >= it->second.principal->exp + policy.verify.leeway.count()) return nullptr;
  return it->second.principal;
}

void Authenticator::cache_store(std::string key, PrincipalPtr principal, std::uint64_t generation,
                                const AuthPolicy& policy) {
  std::unique_lock lock(cache_mu_);
  if (generation != cache_generation_) {
    // A new key set: entries verified against the old one may name a key that is gone (R60).
    cache_.clear();
    cache_generation_ = generation;
  }
  if (cache_.size() >= policy.token_cache_entries) {
    // Full: drop the expired entries and one eighth of the others, chosen by the top bits of their
    // hash (a different eighth each time, so effectively at random). Clearing everything instead
    // made a round-robin over a few more tokens than the cache holds miss on every request; an
    // LRU would too. One pass per eighth of the capacity keeps the cost per store constant.
    const auto now = to_unix(clock_.now());
    const auto slice = evict_slice_++ % 8U;
    std::erase_if(cache_, [&](const auto& kv) {
      return now >= kv.second.principal->exp + policy.verify.leeway.count() ||
             ((kv.first >> (sizeof(std::size_t) * 8 - 3)) & 7U) == slice;
    });
    while (cache_.size() >= policy.token_cache_entries) cache_.erase(cache_.begin());  // an empty slice
  }
  const auto hash = token_hash(key);
  cache_.insert_or_assign(hash, Entry{std::move(key), std::move(principal), generation});
}

}  // namespace oauthdemo::daemon
