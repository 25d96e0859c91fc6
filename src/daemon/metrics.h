#pragma once
// Prometheus text-format metrics (exposition format 0.0.4). Counters are fixed arrays of
// atomics indexed by enums, so recording on the request path takes no lock and no allocation.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/errors.h"

namespace oauthdemo::daemon {

enum class Route : std::size_t { Hello, Admin, Healthz, Readyz, Metrics, ResourceMetadata, Other, kCount };
inline constexpr std::size_t kRouteCount = static_cast<std::size_t>(Route::kCount);
std::string_view to_label(Route route);
// Exact path -> route ("other" for anything else, so labels stay bounded).
Route route_for_path(std::string_view path);

enum class FetchResult : std::size_t { Ok, NotModified, Error, Invalid, kCount };
inline constexpr std::size_t kFetchResultCount = static_cast<std::size_t>(FetchResult::kCount);
std::string_view to_label(FetchResult result);

// Why a JWKS fetch ended, for apid_jwks_fetch_outcomes_total (a 304 counts as ok).
enum class FetchOutcome : std::size_t { Ok, Timeout, HttpStatus, BadJson, TooLarge, Tls, Refused, Other, kCount };
inline constexpr std::size_t kFetchOutcomeCount = static_cast<std::size_t>(FetchOutcome::kCount);
std::string_view to_label(FetchOutcome outcome);
// The outcome a failed fetch's Errc stands for.
FetchOutcome fetch_outcome_for(Errc code);

// Key-set state sampled when /metrics is scraped.
struct JwksGauges {
  bool has_keys = false;
  double age_seconds = 0;   // since the last successful fetch or 304 revalidation
  std::size_t keys = 0;
  std::uint64_t generation = 0;
  bool ready = false;
};

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  static constexpr std::array<int, 15> kStatuses{200, 204, 304, 400, 401, 403, 404, 405,
                                                 408, 413, 414, 429, 431, 500, 503};

  void record_request(Route route, int status, std::chrono::nanoseconds latency);
  void record_auth_failure(Reason reason);
  void record_jwks_fetch(FetchResult result);
  void record_refetch_suppressed();
  void record_fetch_outcome(FetchOutcome outcome);
  std::uint64_t fetch_outcomes(FetchOutcome outcome) const;
  void record_token_cache(bool hit);

  std::uint64_t auth_failures(Reason reason) const;
  std::uint64_t jwks_fetches(FetchResult result) const;
  std::uint64_t requests(Route route, int status) const;

  // The whole exposition text.
  std::string render(const JwksGauges& jwks, std::size_t open_connections = 0) const;

 private:
  static std::size_t status_index(int status);
  using Counter = std::atomic<std::uint64_t>;
  std::array<std::array<Counter, kStatuses.size() + 1>, kRouteCount> requests_{};
  std::array<Counter, kReasonCount> auth_failures_{};
  std::array<Counter, kFetchResultCount> jwks_fetches_{};
  Counter refetch_suppressed_{0};
  std::array<Counter, kFetchOutcomeCount> fetch_outcomes_{};
  Counter cache_hits_{0};
  Counter cache_misses_{0};
  std::array<Counter, kBuckets.size() + 1> duration_buckets_{};  // non-cumulative; +Inf last
  Counter duration_sum_ns_{0};
  Counter duration_count_{0};
};

}  // namespace oauthdemo::daemon
