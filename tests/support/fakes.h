#pragma once
// Fakes for the seams production code takes by reference: Clock, RandomSource, HttpClient.
// Each records what it was asked so tests can say "exactly one JWKS fetch".
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/random.h"
#include "common/http/http_client.h"

namespace oauthdemo::testing {

// A fixed instant used across tests: 2026-01-01T00:00:00Z.
inline const SystemTime kSomeInstant = from_unix(1767225600);

class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime start = kSomeInstant) : now_(start) {}
  SystemTime now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    std::lock_guard lock(mu_);
    return std::chrono::steady_clock::time_point{} + (now_ - kSomeInstant) + std::chrono::hours(1);
  }
  void advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    now_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
  void set(SystemTime t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  SystemTime now_;
};

// Returns bytes 0x00, 0x01, 0x02, ... (continuing across calls), so values are predictable.
class FixedRandom final : public RandomSource {
 public:
  Result<std::string> bytes(std::size_t count) override {
    std::string out(count, '\0');
    for (auto& c : out) c = static_cast<char>(next_++);
    return out;
  }

 private:
  unsigned char next_ = 0;
};

// Answers requests from a table keyed by "METHOD URL"; unknown requests fail with
// Errc::HttpConnectFailed. Records every request.
class FakeHttpClient final : public http::HttpClient {
 public:
  void respond(const std::string& url, int status, std::string body, http::Headers headers = {},
               const std::string& method = "GET") {
    std::lock_guard lock(mu_);
    routes_[method + " " + url] = Route{status, std::move(body), std::move(headers), false};
  }
  void fail_with(const std::string& url, Errc code, const std::string& method = "GET") {
    std::lock_guard lock(mu_);
    routes_[method + " " + url] = Route{0, {}, {}, true, code};
  }
  Result<http::HttpResponse> send(const http::HttpRequest& request) override {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    auto it = routes_.find(request.method + " " + request.url);
    if (it == routes_.end() || it->second.failing)
      return fail(it == routes_.end() ? Errc::HttpConnectFailed : it->second.error, "fake: no route for " + request.url);
    return http::HttpResponse{it->second.status, it->second.headers, it->second.body};
  }
  std::size_t requests_to(const std::string& url) const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& r : requests_) n += r.url == url ? 1 : 0;
    return n;
  }
  std::vector<http::HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  struct Route {
    int status = 200;
    std::string body;
    http::Headers headers;
    bool failing = false;
    Errc error = Errc::HttpConnectFailed;
  };
  mutable std::mutex mu_;
  std::map<std::string, Route> routes_;
  std::vector<http::HttpRequest> requests_;
};

}  // namespace oauthdemo::testing
