#include "daemon/metrics.h"

#include <doctest/doctest.h>

namespace oauthdemo::daemon {
namespace {

TEST_SUITE("daemon::metrics") {
  TEST_CASE("renders counters, gauges and a cumulative histogram") {
    Metrics m;
    m.record_request(Route::Hello, 200, std::chrono::microseconds(300));
    m.record_request(Route::Hello, 401, std::chrono::milliseconds(3));
    m.record_request(Route::Other, 418, std::chrono::seconds(5));
    m.record_auth_failure(Reason::Expired);
    m.record_jwks_fetch(FetchResult::Ok);
    m.record_token_cache(true);
    m.record_token_cache(false);
    m.record_token_cache(false);
    const auto text = m.render(JwksGauges{true, 12.5, 3, 2, true});
    CHECK(text.find("apid_requests_total{route=\"/hello\",status=\"200\"} 1\n") != std::string::npos);
    CHECK(text.find("apid_requests_total{route=\"/hello\",status=\"401\"} 1\n") != std::string::npos);
    CHECK(text.find("apid_requests_total{route=\"other\",status=\"other\"} 1\n") != std::string::npos);
    CHECK(text.find("apid_auth_failures_total{reason=\"expired\"} 1\n") != std::string::npos);
    CHECK(text.find("apid_auth_failures_total{reason=\"kid_unknown\"} 0\n") != std::string::npos);
    CHECK(text.find("apid_jwks_fetches_total{result=\"ok\"} 1\n") != std::string::npos);
    CHECK(text.find("apid_jwks_age_seconds 12.5\n") != std::string::npos);
    CHECK(text.find("apid_jwks_keys 3\n") != std::string::npos);
    CHECK(text.find("apid_ready 1\n") != std::string::npos);
    CHECK(text.find("apid_token_cache_hits_total 1\n") != std::string::npos);
    CHECK(text.find("apid_token_cache_misses_total 2\n") != std::string::npos);
    CHECK(text.find("apid_request_duration_seconds_bucket{le=\"0.0005\"} 1\n") != std::string::npos);
    CHECK(text.find("apid_request_duration_seconds_bucket{le=\"0.005\"} 2\n") != std::string::npos);
    CHECK(text.find("apid_request_duration_seconds_bucket{le=\"2.5\"} 2\n") != std::string::npos);
    CHECK(text.find("apid_request_duration_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("apid_request_duration_seconds_count 3\n") != std::string::npos);
    CHECK(text.find("# TYPE apid_request_duration_seconds histogram\n") != std::string::npos);
  }

  TEST_CASE("routes are a closed set") {
    CHECK(route_for_path("/hello") == Route::Hello);
    CHECK(route_for_path("/hello/") == Route::Other);
    CHECK(route_for_path("/.well-known/oauth-protected-resource") == Route::ResourceMetadata);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
