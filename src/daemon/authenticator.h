#pragma once
// Bearer token extraction (RFC 6750 §2.1) and verification against the cached key set, with a
// bounded cache of verified tokens.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/jose/verify.h"
#include "daemon/jwks_cache.h"
#include "daemon/metrics.h"

namespace oauthdemo::daemon {

enum class TokenCacheMode { On, Off };

struct AuthPolicy {
  jose::VerifyPolicy verify;
  std::size_t max_token_bytes = 8 * 1024;  // checked before any decoding
  TokenCacheMode token_cache = TokenCacheMode::On;
  std::size_t token_cache_entries = 10000;
};

// What a verified token grants, shared between requests through the cache.
struct Principal {
  nlohmann::json claims;     // verified claims object
  std::string claims_json;   // the claims' JSON text as verified, for /hello
  std::string sub;           // "" if absent
  std::int64_t exp = 0;      // 0 if absent
  std::string kid;
};
using PrincipalPtr = std::shared_ptr<const Principal>;

// The parts of a request that carry credentials.
struct Credentials {
  std::size_t authorization_count = 0;  // how many Authorization headers
  std::string_view authorization;       // the first one
  bool token_in_query = false;          // access_token in the query string
  bool token_in_body = false;           // access_token in a form body
};

// The token from `Authorization: Bearer <token>`: scheme case-insensitive, exactly one space,
// b64token characters (RFC 6750 §2.1). Errc::LoginRequired when there is no Authorization header
// or it uses another scheme; Errc::OAuthInvalidRequest for two Authorization headers, a token in
// the query or body (we accept the header only), or a malformed Bearer credential.
Result<std::string_view> extract_bearer(const Credentials& credentials);

// True if the claims grant `permission` through Auth0's "permissions" array or the
// space-separated "scope" string.
bool has_permission(const nlohmann::json& claims, std::string_view permission);

class Authenticator {
 public:
  Authenticator(JwksCache& keys, const Clock& clock, Metrics* metrics);

  // New policy (start, SIGHUP): flushes the token cache.
  void set_policy(AuthPolicy policy);
  std::shared_ptr<const AuthPolicy> policy() const;

  // Extracts and verifies. Errors as extract_bearer, Errc::JwksUnavailable when no usable key
  // set exists, Errc::TokenTooLarge, and any Token* from jose::verify_jwt. An unknown kid leads
  // to one refetch through the cache (cooldown and rate limit apply) and a second attempt.
  Result<PrincipalPtr> authenticate(const Credentials& credentials);

  std::size_t cache_size() const;

 private:
  struct Entry {
    std::string token;
    PrincipalPtr principal;
    std::uint64_t generation;
  };
  // Keyed by a 64-bit hash of the token, the entry holding the token: only verified tokens are
  // ever stored, so an attacker cannot fill a chain, and a lookup costs one non-cryptographic
  // hash (a SHA-256 per request was most of the cached path's cost). The tokens are compared
  // only when all 64 bits of their hashes match, i.e. in practice only for the very token, so
  // the comparison's timing tells a probe nothing about a stored token it does not already
  // hold (a constant-time comparison of every probe was 2 % of a cached /hello).
  static std::size_t token_hash(std::string_view token) { return std::hash<std::string_view>{}(token); }
  Result<PrincipalPtr> verify(std::string_view token, const AuthPolicy& policy, SnapshotPtr snap);
  PrincipalPtr cache_lookup(std::string_view token, std::uint64_t generation, const AuthPolicy& policy);
  void cache_store(std::string key, PrincipalPtr principal, std::uint64_t generation, const AuthPolicy& policy);

  JwksCache& keys_;
  const Clock& clock_;
  Metrics* metrics_;

  mutable std::mutex policy_mu_;
  std::shared_ptr<const AuthPolicy> policy_;

  mutable std::shared_mutex cache_mu_;
  std::unordered_map<std::size_t, Entry> cache_;  // at most
  // token_cache_entries x max_token_bytes of keys (80 MiB at the limits, ~10 MiB for 1 KB tokens)
  std::uint64_t cache_generation_ = 0;
  unsigned evict_slice_ = 0;  // the eighth of the hash space evicted next (cache_mu_)
};

}  // namespace oauthdemo::daemon
