#include "daemon/metrics.h"

#include <cstdio>

namespace oauthdemo::daemon {

std::string_view to_label(Route route) {
  switch (route) {
    case Route::Hello: return "/hello";
    case Route::Admin: return "/admin";
    case Route::Healthz: return "/healthz";
    case Route::Readyz: return "/readyz";
    case Route::Metrics: return "/metrics";
    case Route::ResourceMetadata: return "/.well-known/oauth-protected-resource";
    case Route::Other:
    case Route::kCount: break;
  }
  return "other";
}

Route route_for_path(std::string_view path) {
  if (path == "/hello") return Route::Hello;
  if (path == "/admin") return Route::Admin;
  if (path == "/healthz") return Route::Healthz;
  if (path == "/readyz") return Route::Readyz;
  if (path == "/metrics") return Route::Metrics;
  if (path == "/.well-known/oauth-protected-resource") return Route::ResourceMetadata;
  return Route::Other;
}

std::string_view to_label(FetchResult result) {
  switch (result) {
    case FetchResult::Ok: return "ok";
    case FetchResult::NotModified: return "not_modified";
    case FetchResult::Error: return "error";
    case FetchResult::Invalid: return "invalid";
    case FetchResult::kCount: break;
  }
  return "error";
}

std::size_t Metrics::status_index(int status) {
  for (std::size_t i = 0; i < kStatuses.size(); ++i)
    if (kStatuses[i] == status) return i;
  return kStatuses.size();
}

void Metrics::record_request(Route route, int status, std::chrono::nanoseconds latency) {
  requests_[static_cast<std::size_t>(route)][status_index(status)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(latency).count();
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  duration_buckets_[b].fetch_add(1, std::memory_order_relaxed);
  duration_sum_ns_.fetch_add(static_cast<std::uint64_t>(latency.count() > 0 ? latency.count() : 0),
                             std::memory_order_relaxed);
  duration_count_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::record_auth_failure(Reason reason) {
  auth_failures_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}
void Metrics::record_jwks_fetch(FetchResult result) {
  jwks_fetches_[static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
}
std::string_view to_label(FetchOutcome outcome) {
  switch (outcome) {
    case FetchOutcome::Ok: return "ok";
    case FetchOutcome::Timeout: return "timeout";
    case FetchOutcome::HttpStatus: return "http_status";
    case FetchOutcome::BadJson: return "bad_json";
    case FetchOutcome::TooLarge: return "too_large";
    case FetchOutcome::Tls: return "tls";
    case FetchOutcome::Refused: return "refused";
    case FetchOutcome::Other: return "other";
    case FetchOutcome::kCount: break;
  }
  return "other";
}

FetchOutcome fetch_outcome_for(Errc code) {
  switch (code) {
    case Errc::HttpTimeout:
    case Errc::HttpDeadlineExceeded: return FetchOutcome::Timeout;
    case Errc::HttpBadStatus: return FetchOutcome::HttpStatus;
    case Errc::JwksMalformed:
    case Errc::JwksNoUsableKeys: return FetchOutcome::BadJson;
    case Errc::HttpBodyTooLarge: return FetchOutcome::TooLarge;
    case Errc::HttpTlsFailure: return FetchOutcome::Tls;
    case Errc::HttpConnectFailed: return FetchOutcome::Refused;
    default: return FetchOutcome::Other;
  }
}

void Metrics::record_fetch_outcome(FetchOutcome outcome) {
  fetch_outcomes_[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
}
std::uint64_t Metrics::fetch_outcomes(FetchOutcome outcome) const {
  return fetch_outcomes_[static_cast<std::size_t>(outcome)].load(std::memory_order_relaxed);
}

void Metrics::record_refetch_suppressed() { refetch_suppressed_.fetch_add(1, std::memory_order_relaxed); }
void Metrics::record_token_cache(bool hit) { (hit ? cache_hits_ : cache_misses_).fetch_add(1, std::memory_order_relaxed); }

std::uint64_t Metrics::auth_failures(Reason reason) const {
  return auth_failures_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
}
std::uint64_t Metrics::jwks_fetches(FetchResult result) const {
  return jwks_fetches_[static_cast<std::size_t>(result)].load(std::memory_order_relaxed);
}
std::uint64_t Metrics::requests(Route route, int status) const {
  return requests_[static_cast<std::size_t>(route)][status_index(status)].load(std::memory_order_relaxed);
}

namespace {

void append_number(std::string& out, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  out += buf;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

std::string Metrics::render(const JwksGauges& jwks, std::size_t open_connections) const {
  std::string out;
  out.reserve(8192);
  header(out, "apid_requests_total", "counter", "HTTP requests by route and status.");
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    for (std::size_t s = 0; s <= kStatuses.size(); ++s) {
      auto n = requests_[r][s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "apid_requests_total{route=\"";
      out += to_label(static_cast<Route>(r));
      out += "\",status=\"";
      out += s < kStatuses.size() ? std::to_string(kStatuses[s]) : std::string("other");
      out += "\"} ";
      out += std::to_string(n);
      out += '\n';
    }
  }
  header(out, "apid_auth_failures_total", "counter", "Rejected requests by reason.");
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    out += "apid_auth_failures_total{reason=\"";
    out += to_label(static_cast<Reason>(i));
    out += "\"} ";
    out += std::to_string(auth_failures_[i].load(std::memory_order_relaxed));
    out += '\n';
  }
  header(out, "apid_jwks_fetches_total", "counter", "JWKS fetch attempts by result.");
  for (std::size_t i = 0; i < kFetchResultCount; ++i) {
    out += "apid_jwks_fetches_total{result=\"";
    out += to_label(static_cast<FetchResult>(i));
    out += "\"} ";
    out += std::to_string(jwks_fetches_[i].load(std::memory_order_relaxed));
    out += '\n';
  }
  header(out, "apid_jwks_fetch_outcomes_total", "counter", "JWKS fetches by how they ended.");
  for (std::size_t i = 0; i < kFetchOutcomeCount; ++i) {
    out += "apid_jwks_fetch_outcomes_total{outcome=\"";
    out += to_label(static_cast<FetchOutcome>(i));
    out += "\"} " + std::to_string(fetch_outcomes_[i].load(std::memory_order_relaxed)) + "\n";
  }
  header(out, "apid_jwks_refetch_suppressed_total", "counter",
         "Unknown-kid refetches refused by the cooldown or the rate limit.");
  out += "apid_jwks_refetch_suppressed_total " + std::to_string(refetch_suppressed_.load()) + "\n";
  header(out, "apid_jwks_age_seconds", "gauge", "Seconds since the key set was last fetched or revalidated.");
  out += "apid_jwks_age_seconds ";
  append_number(out, jwks.has_keys ? jwks.age_seconds : -1);
  out += '\n';
  header(out, "apid_jwks_keys", "gauge", "Usable keys in the current key set.");
  out += "apid_jwks_keys " + std::to_string(jwks.keys) + "\n";
  header(out, "apid_jwks_generation", "gauge", "Number of distinct key sets installed since start.");
  out += "apid_jwks_generation " + std::to_string(jwks.generation) + "\n";
  header(out, "apid_ready", "gauge", "1 when a usable key set exists.");
  out += std::string("apid_ready ") + (jwks.ready ? "1" : "0") + "\n";
  header(out, "apid_token_cache_hits_total", "counter", "Verified-token cache hits.");
  out += "apid_token_cache_hits_total " + std::to_string(cache_hits_.load()) + "\n";
  header(out, "apid_token_cache_misses_total", "counter", "Verified-token cache misses.");
  out += "apid_token_cache_misses_total " + std::to_string(cache_misses_.load()) + "\n";
  header(out, "apid_request_duration_seconds", "histogram", "Request latency from routing to response.");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
    cumulative += duration_buckets_[b].load(std::memory_order_relaxed);
    out += "apid_request_duration_seconds_bucket{le=\"";
    if (b < kBuckets.size()) {
      append_number(out, kBuckets[b]);
    } else {
      out += "+Inf";
    }
    out += "\"} " + std::to_string(cumulative) + "\n";
  }
  out += "apid_request_duration_seconds_sum ";
  append_number(out, static_cast<double>(duration_sum_ns_.load()) / 1e9);
  out += "\napid_request_duration_seconds_count " + std::to_string(duration_count_.load()) + "\n";
  header(out, "apid_open_connections", "gauge", "Client connections open now (plain HTTP).");
  out += "apid_open_connections " + std::to_string(open_connections) + "\n";
  return out;
}

}  // namespace oauthdemo::daemon
