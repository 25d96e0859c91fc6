#pragma once
// The daemon's key-set cache (RFC 7517 sets fetched over HTTPS). One immutable snapshot of the
// whole set, shared by every worker and swapped atomically. It refreshes at ~80% of the
// Cache-Control max-age (clamped) with ±10% jitter, backs off exponentially on failure, keeps
// serving the last good set up to max_stale_age, refetches once (single-flight) for an unknown
// kid behind a cooldown and a global token bucket, revalidates with ETag/If-None-Match and can
// persist the last good set to a file so a restart works while the provider is down.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/http/http_client.h"
#include "common/jose/jwks.h"
#include "daemon/metrics.h"

namespace oauthdemo::daemon {

struct JwksCacheOptions {
  std::string jwks_uri;
  std::string issuer;                     // stored in the snapshot file, for matching at start
  Seconds default_max_age{600};           // when the answer carries no max-age
  Seconds min_max_age{60};                // Cache-Control max-age is clamped to [min, max]
  Seconds max_max_age{86400};
  Seconds max_stale_age{86400};           // a set older than this (since fetched) is unusable
  Seconds kid_refetch_cooldown{30};       // between two unknown-kid refetches
  double refetch_per_minute = 10;         // global token bucket for unknown-kid refetches
  double refetch_burst = 3;
  Seconds initial_backoff{1};             // retry after a failed fetch, doubling up to max
  Seconds max_backoff{60};
  std::chrono::milliseconds fetch_timeout{5000};  // total deadline of one fetch (PROVIDER_TIMEOUT)
  std::size_t max_body_bytes = 256 * 1024;
  std::string snapshot_file;              // "" = no persistence
};

// A value in [-1, 1]; refresh times and backoffs are scaled by (1 + 0.1 * jitter()).
using JitterSource = std::function<double()>;
// A seeded pseudo-random jitter source (thread-safe).
JitterSource make_seeded_jitter(std::uint64_t seed);

struct KeySnapshot {
  std::shared_ptr<const jose::Jwks> jwks;
  std::uint64_t generation = 0;  // bumps only when the set's content changes
  SystemTime fetched_at{};       // last 200 or 304 (wall clock: comparable across restarts)
  Seconds max_age{0};            // clamped freshness lifetime
  std::string etag;
  std::string body_digest;       // SHA-256 of the JWKS document
  std::string body;              // the document itself (for the snapshot file)
};
using SnapshotPtr = std::shared_ptr<const KeySnapshot>;

struct JwksStatus {
  bool has_keys = false;
  bool usable = false;
  double age_seconds = 0;
  std::size_t keys = 0;
  std::uint64_t generation = 0;
  int consecutive_failures = 0;
  std::string last_error;  // "" after a success
};

class JwksCache {
 public:
  // `metrics` may be null. References must outlive the cache. One cache per issuer; each has
  // at most one fetch in flight.
  JwksCache(JwksCacheOptions options, http::HttpClient& http, const Clock& clock, JitterSource jitter,
            Metrics* metrics = nullptr);

  // Loads options.snapshot_file if it names the same JWKS URI and is younger than max_stale_age.
  // Errc::IoError / JwksMalformed / JwksUnavailable (too old, other URI) say why it was not used.
  Result<void> load_snapshot_file();

  // Fetches now (single-flight: joins a fetch already in flight). Used at start, by the refresh
  // schedule and on SIGHUP. Errc::Http* / JwksMalformed / JwksNoUsableKeys; the old set stays.
  Result<void> refresh();

  // For a token whose kid is not in `seen_generation`'s set: returns a newer usable snapshot if
  // one exists or can be fetched now; nullptr when the cooldown or rate limit refuses a fetch or
  // the fetch brought nothing new.
  SnapshotPtr refetch_for_unknown_kid(std::uint64_t seen_generation);

  // The current set if it is usable (exists and age <= max_stale_age), else nullptr.
  SnapshotPtr usable_snapshot() const;
  // The current set regardless of age (may be nullptr).
  SnapshotPtr snapshot() const;

  // Runs a scheduled refresh if one is due; returns when the next one is due.
  std::chrono::steady_clock::time_point run_due_work();
  std::chrono::steady_clock::time_point next_refresh_due() const;

  // New options (SIGHUP). A different JWKS URI drops the current set and its ETag.
  void reconfigure(JwksCacheOptions options);
  // Makes the next run_due_work() refresh immediately.
  void schedule_now();

  JwksStatus status() const;
  JwksGauges gauges() const;
  // Threads currently waiting for a fetch in flight (single-flight joiners).
  int fetch_waiters() const;

 private:
  Result<void> fetch_once();
  void install(SnapshotPtr snapshot);
  void schedule_after_success(Seconds max_age);
  void schedule_after_failure();
  bool take_refetch_permit();
  void persist(const KeySnapshot& snapshot);

  JwksCacheOptions options_;
  http::HttpClient& http_;
  const Clock& clock_;
  JitterSource jitter_;
  Metrics* metrics_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable fetch_done_;
  SnapshotPtr current_;
  bool fetching_ = false;
  std::uint64_t fetch_seq_ = 0;
  int waiters_ = 0;
  Result<void> last_fetch_result_;
  std::uint64_t next_generation_ = 1;
  int consecutive_failures_ = 0;
  std::string last_error_;
  std::chrono::steady_clock::time_point next_due_{};
  bool have_kid_refetch_ = false;
  std::chrono::steady_clock::time_point last_kid_refetch_{};
  double bucket_tokens_ = 0;
  std::chrono::steady_clock::time_point bucket_refilled_{};
  std::chrono::steady_clock::time_point retry_after_until_{};  // a 429/503 Retry-After from the provider
};

// The JWKS URI recorded in a snapshot file written for `issuer`, so a daemon configured by
// discovery can start from the snapshot while the provider is down. Errc::IoError,
// Errc::JwksMalformed, Errc::JwksUnavailable (written for another issuer).
Result<std::string> snapshot_jwks_uri(const std::string& path, const std::string& issuer);

// Parses a Retry-After value in delta-seconds (RFC 9110 §10.2.3); nullopt for anything else
// (an HTTP-date is ignored: the provider's clock is not ours).
std::optional<Seconds> parse_retry_after(std::string_view value);

// Parses the max-age directive of a Cache-Control value (RFC 9111 §5.2.2.1); no-store/no-cache
// give 0; nullopt when absent or malformed.
std::optional<Seconds> parse_max_age(std::string_view cache_control);

}  // namespace oauthdemo::daemon
