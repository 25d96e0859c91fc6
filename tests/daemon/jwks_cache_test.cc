#include "daemon/jwks_cache.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include <doctest/doctest.h>

#include "daemon_test_support.h"
#include "support/fakes.h"

namespace oauthdemo::daemon {
namespace {

using namespace std::chrono_literals;
using oauthdemo::testing::FakeClock;
using oauthdemo::testing::FakeHttpClient;
using test::key_for;

const std::string kUri = "https://tenant.example.com/.well-known/jwks.json";

std::string jwks_body(const std::vector<std::string>& kids) {
  std::vector<nlohmann::json> keys;
  for (const auto& kid : kids) keys.push_back(key_for(jose::Alg::RS256, kid).public_jwk());
  return jose::make_jwks(keys).dump();
}

JwksCacheOptions options() {
  JwksCacheOptions o;
  o.jwks_uri = kUri;
  return o;
}

struct Fixture {
  FakeClock clock;
  FakeHttpClient http;
  Metrics metrics;
  double jitter = 0;
  JitterSource jitter_source() {
    return [this] { return jitter; };
  }
};

TEST_SUITE("daemon::jwks_cache") {
  TEST_CASE("loads keys, then serves them without refetching until 80% of max-age") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}), {{"Cache-Control", "public, max-age=1000"}});
    JwksCache cache(options(), f.http, f.clock, f.jitter_source(), &f.metrics);
    CHECK(cache.usable_snapshot() == nullptr);
    REQUIRE(cache.refresh());
    auto snap = cache.usable_snapshot();
    REQUIRE(snap);
    CHECK(snap->jwks->find("k1") != nullptr);
    CHECK(snap->max_age == Seconds{1000});
    CHECK(f.http.requests_to(kUri) == 1);
    f.clock.advance(799s);
    cache.run_due_work();
    CHECK(f.http.requests_to(kUri) == 1);
    f.clock.advance(1s);
    cache.run_due_work();
    CHECK(f.http.requests_to(kUri) == 2);
    CHECK(f.metrics.jwks_fetches(FetchResult::Ok) == 2);
  }

  TEST_CASE("jitter moves the refresh by up to 10%") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}), {{"Cache-Control", "max-age=1000"}});
    f.jitter = 1.0;  // +10%: 800 s * 1.1 = 880 s
    JwksCache cache(options(), f.http, f.clock, f.jitter_source());
    REQUIRE(cache.refresh());
    f.clock.advance(879s);
    cache.run_due_work();
    CHECK(f.http.requests_to(kUri) == 1);
    f.clock.advance(1s);
    cache.run_due_work();
    CHECK(f.http.requests_to(kUri) == 2);
  }

  TEST_CASE("clamps Cache-Control max-age to the configured bounds") {
    Fixture f;
    JwksCache cache(options(), f.http, f.clock, f.jitter_source());
    SUBCASE("too small") {
      f.http.respond(kUri, 200, jwks_body({"k1"}), {{"Cache-Control", "max-age=5"}});
      REQUIRE(cache.refresh());
      CHECK(cache.snapshot()->max_age == Seconds{60});
    }
    SUBCASE("too large") {
      f.http.respond(kUri, 200, jwks_body({"k1"}), {{"Cache-Control", "max-age=9999999"}});
      REQUIRE(cache.refresh());
      CHECK(cache.snapshot()->max_age == Seconds{86400});
    }
    SUBCASE("absent: the default") {
      f.http.respond(kUri, 200, jwks_body({"k1"}));
      REQUIRE(cache.refresh());
      CHECK(cache.snapshot()->max_age == Seconds{600});
    }
    SUBCASE("no-cache: the minimum") {
      f.http.respond(kUri, 200, jwks_body({"k1"}), {{"Cache-Control", "no-cache"}});
      REQUIRE(cache.refresh());
      CHECK(cache.snapshot()->max_age == Seconds{60});
    }
  }

  TEST_CASE("parse_max_age reads the directive and rejects junk") {
    CHECK(parse_max_age("max-age=42") == Seconds{42});
    CHECK(parse_max_age("public, Max-Age=7, must-revalidate") == Seconds{7});
    CHECK(parse_max_age("no-store") == Seconds{0});
    CHECK_FALSE(parse_max_age("max-age=-1").has_value());
    CHECK_FALSE(parse_max_age("max-age=12x").has_value());
    CHECK_FALSE(parse_max_age("public").has_value());
  }

  TEST_CASE("backs off exponentially while the provider is down at start") {
    Fixture f;
    f.http.fail_with(kUri, Errc::HttpConnectFailed);
    JwksCache cache(options(), f.http, f.clock, f.jitter_source(), &f.metrics);
    cache.run_due_work();  // attempt 1 -> retry after 1 s
    CHECK(f.http.requests_to(kUri) == 1);
    f.clock.advance(999ms);
    cache.run_due_work();
    CHECK(f.http.requests_to(kUri) == 1);
    f.clock.advance(1ms);
    cache.run_due_work();  // attempt 2 -> retry after 2 s
    CHECK(f.http.requests_to(kUri) == 2);
    f.clock.advance(1999ms);
    cache.run_due_work();
    CHECK(f.http.requests_to(kUri) == 2);
    f.clock.advance(1ms);
    cache.run_due_work();  // attempt 3 -> 4 s
    CHECK(f.http.requests_to(kUri) == 3);
    CHECK(cache.status().consecutive_failures == 3);
    CHECK(f.metrics.jwks_fetches(FetchResult::Error) == 3);
    for (int i = 0; i < 20; ++i) {
      f.clock.advance(60s);
      cache.run_due_work();
    }
    // Capped at 60 s: one attempt per minute.
    CHECK(f.http.requests_to(kUri) == 23);
    f.http.respond(kUri, 200, jwks_body({"k1"}));
    f.clock.advance(60s);
    cache.run_due_work();
    CHECK(cache.usable_snapshot() != nullptr);
    CHECK(cache.status().consecutive_failures == 0);
  }

  TEST_CASE("keeps serving stale keys while the provider is down, up to the maximum stale age") {
    Fixture f;
    auto o = options();
    o.max_stale_age = Seconds{3600};
    f.http.respond(kUri, 200, jwks_body({"k1"}), {{"Cache-Control", "max-age=600"}});
    JwksCache cache(o, f.http, f.clock, f.jitter_source());
    REQUIRE(cache.refresh());
    f.http.fail_with(kUri, Errc::HttpTimeout);
    f.clock.advance(3600s);
    cache.run_due_work();
    CHECK(cache.usable_snapshot() != nullptr);
    CHECK(cache.status().age_seconds == doctest::Approx(3600));
    CHECK(cache.status().last_error.find("http_timeout") != std::string::npos);
    f.clock.advance(1s);
    CHECK(cache.usable_snapshot() == nullptr);
    CHECK(cache.snapshot() != nullptr);
    CHECK_FALSE(cache.status().usable);
  }

  TEST_CASE("a failed or junk fetch keeps the old set") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}));
    JwksCache cache(options(), f.http, f.clock, f.jitter_source(), &f.metrics);
    REQUIRE(cache.refresh());
    const auto generation = cache.snapshot()->generation;
    SUBCASE("junk body") {
      f.http.respond(kUri, 200, R"({"keys":"x"})");
      CHECK_FALSE(cache.refresh());
      CHECK(f.metrics.jwks_fetches(FetchResult::Invalid) == 1);
    }
    SUBCASE("server error") {
      f.http.respond(kUri, 500, "oops");
      auto r = cache.refresh();
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::HttpBadStatus);
    }
    SUBCASE("redirect is not followed") {
      f.http.respond(kUri, 302, "", {{"Location", "https://evil.example/jwks.json"}});
      CHECK_FALSE(cache.refresh());
      CHECK(f.http.requests().size() == 2);
    }
    CHECK(cache.snapshot()->generation == generation);
    CHECK(cache.usable_snapshot()->jwks->find("k1") != nullptr);
  }

  TEST_CASE("asks for at most 256 KiB") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}));
    JwksCache cache(options(), f.http, f.clock, f.jitter_source());
    REQUIRE(cache.refresh());
    CHECK(f.http.requests().back().max_response_bytes == 256 * 1024);
  }

  TEST_CASE("unknown kid: one refetch, then a cooldown") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}));
    JwksCache cache(options(), f.http, f.clock, f.jitter_source(), &f.metrics);
    REQUIRE(cache.refresh());
    const auto gen1 = cache.snapshot()->generation;
    f.http.respond(kUri, 200, jwks_body({"k1", "k2"}));
    auto newer = cache.refetch_for_unknown_kid(gen1);
    REQUIRE(newer);
    CHECK(newer->jwks->find("k2") != nullptr);
    CHECK(newer->generation != gen1);
    CHECK(f.http.requests_to(kUri) == 2);
    // Within the cooldown: no fetch, whatever the kid.
    for (int i = 0; i < 100; ++i) CHECK(cache.refetch_for_unknown_kid(newer->generation) == nullptr);
    CHECK(f.http.requests_to(kUri) == 2);
    CHECK(f.metrics.jwks_fetches(FetchResult::Ok) == 2);
    f.clock.advance(29s);
    CHECK(cache.refetch_for_unknown_kid(newer->generation) == nullptr);
    CHECK(f.http.requests_to(kUri) == 2);
    f.clock.advance(1s);
    CHECK(cache.refetch_for_unknown_kid(newer->generation) == nullptr);  // fetched, nothing new
    CHECK(f.http.requests_to(kUri) == 3);
  }

  TEST_CASE("a caller holding an old generation gets the newer set without a fetch") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}));
    JwksCache cache(options(), f.http, f.clock, f.jitter_source());
    REQUIRE(cache.refresh());
    const auto gen1 = cache.snapshot()->generation;
    f.http.respond(kUri, 200, jwks_body({"k2"}));
    REQUIRE(cache.refresh());
    auto snap = cache.refetch_for_unknown_kid(gen1);
    REQUIRE(snap);
    CHECK(snap->jwks->find("k2") != nullptr);
    CHECK(f.http.requests_to(kUri) == 2);
  }

  TEST_CASE("the global token bucket limits refetches even with no cooldown") {
    Fixture f;
    auto o = options();
    o.kid_refetch_cooldown = Seconds{0};
    o.refetch_per_minute = 6;  // one token every 10 s
    o.refetch_burst = 2;
    f.http.respond(kUri, 200, jwks_body({"k1"}));
    JwksCache cache(o, f.http, f.clock, f.jitter_source(), &f.metrics);
    REQUIRE(cache.refresh());
    const auto gen = cache.snapshot()->generation;
    for (int i = 0; i < 50; ++i) (void)cache.refetch_for_unknown_kid(gen);
    CHECK(f.http.requests_to(kUri) == 1 + 2);
    f.clock.advance(10s);
    for (int i = 0; i < 50; ++i) (void)cache.refetch_for_unknown_kid(gen);
    CHECK(f.http.requests_to(kUri) == 1 + 3);
  }

  TEST_CASE("same keys again keep the generation; new keys bump it") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}));
    JwksCache cache(options(), f.http, f.clock, f.jitter_source());
    REQUIRE(cache.refresh());
    const auto g1 = cache.snapshot()->generation;
    REQUIRE(cache.refresh());
    CHECK(cache.snapshot()->generation == g1);
    f.http.respond(kUri, 200, jwks_body({"k1", "k2"}));
    REQUIRE(cache.refresh());
    CHECK(cache.snapshot()->generation == g1 + 1);
  }

  TEST_CASE("revalidates with If-None-Match and treats 304 as fresh") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}), {{"ETag", "\"abc\""}, {"Cache-Control", "max-age=100"}});
    JwksCache cache(options(), f.http, f.clock, f.jitter_source(), &f.metrics);
    REQUIRE(cache.refresh());
    CHECK(f.http.requests().back().headers.size() == 1);  // Accept only
    const auto gen = cache.snapshot()->generation;
    f.http.respond(kUri, 304, "", {{"ETag", "\"abc\""}, {"Cache-Control", "max-age=200"}});
    f.clock.advance(90s);
    REQUIRE(cache.refresh());
    const auto req = f.http.requests().back();
    bool sent = false;
    for (const auto& [n, v] : req.headers) sent = sent || (n == "If-None-Match" && v == "\"abc\"");
    CHECK(sent);
    CHECK(cache.snapshot()->generation == gen);
    CHECK(cache.snapshot()->max_age == Seconds{200});
    CHECK(cache.status().age_seconds == doctest::Approx(0));
    CHECK(cache.usable_snapshot()->jwks->find("k1") != nullptr);
    CHECK(f.metrics.jwks_fetches(FetchResult::NotModified) == 1);
  }

  TEST_CASE("concurrent refreshes share one fetch (single-flight)") {
    // A client that blocks until released, so the callers overlap for certain.
    class GateClient final : public http::HttpClient {
     public:
      Result<http::HttpResponse> send(const http::HttpRequest&) override {
        calls.fetch_add(1);
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return open; });
        return http::HttpResponse{200, {}, body};
      }
      std::atomic<int> calls{0};
      std::mutex mu;
      std::condition_variable cv;
      bool open = false;
      std::string body = jwks_body({"k1"});
    } gate;
    FakeClock clock;
    JwksCache cache(options(), gate, clock, nullptr);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) threads.emplace_back([&] { (void)cache.refresh(); });
    REQUIRE(test::eventually([&] { return gate.calls.load() >= 1 && cache.fetch_waiters() == 7; }));
    {
      std::lock_guard lock(gate.mu);
      gate.open = true;
    }
    gate.cv.notify_all();
    for (auto& t : threads) t.join();
    CHECK(gate.calls.load() == 1);
    CHECK(cache.usable_snapshot() != nullptr);
  }

  TEST_CASE("persists the set atomically and loads it at start while the provider is down") {
    const std::string path =
        (std::filesystem::temp_directory_path() / ("apid-jwks-" + std::to_string(::getpid()) + ".json")).string();
    std::filesystem::remove(path);
    auto o = options();
    o.snapshot_file = path;
    o.max_stale_age = Seconds{7200};
    {
      Fixture f;
      f.http.respond(kUri, 200, jwks_body({"k1"}), {{"ETag", "\"e1\""}});
      JwksCache cache(o, f.http, f.clock, f.jitter_source());
      REQUIRE(cache.refresh());
      REQUIRE(std::filesystem::exists(path));
      CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_read) ==
            std::filesystem::perms::none);
    }
    SUBCASE("young enough: used") {
      Fixture f;
      f.clock.advance(3600s);
      f.http.fail_with(kUri, Errc::HttpConnectFailed);
      JwksCache cache(o, f.http, f.clock, f.jitter_source());
      REQUIRE(cache.load_snapshot_file());
      auto snap = cache.usable_snapshot();
      REQUIRE(snap);
      CHECK(snap->jwks->find("k1") != nullptr);
      CHECK(snap->etag == "\"e1\"");
      CHECK(cache.status().age_seconds == doctest::Approx(3600));
    }
    SUBCASE("too old: refused") {
      Fixture f;
      f.clock.advance(7201s);
      JwksCache cache(o, f.http, f.clock, f.jitter_source());
      auto r = cache.load_snapshot_file();
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == path + " is older than the maximum stale age");
      CHECK(cache.snapshot() == nullptr);
    }
    SUBCASE("the recorded JWKS URI, for the same issuer only") {
      CHECK(snapshot_jwks_uri(path, "").value() == kUri);
      auto other = snapshot_jwks_uri(path, "https://other.example.com/");
      REQUIRE_FALSE(other);
      CHECK(other.error().detail == path + " was written for another issuer");
    }
    SUBCASE("another JWKS URI: refused") {
      Fixture f;
      auto other = o;
      other.jwks_uri = "https://other.example.com/jwks.json";
      JwksCache cache(other, f.http, f.clock, f.jitter_source());
      auto r = cache.load_snapshot_file();
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == path + " holds keys for another JWKS URI");
    }
    std::filesystem::remove(path);
  }

  TEST_CASE("a new JWKS URI on reconfigure drops the old set") {
    Fixture f;
    f.http.respond(kUri, 200, jwks_body({"k1"}));
    JwksCache cache(options(), f.http, f.clock, f.jitter_source());
    REQUIRE(cache.refresh());
    auto o = options();
    o.jwks_uri = "https://other.example.com/jwks.json";
    cache.reconfigure(o);
    CHECK(cache.snapshot() == nullptr);
    CHECK(cache.next_refresh_due() <= f.clock.steady_now());
  }

  TEST_CASE("a 429 or 503 with Retry-After holds back both the schedule and unknown-kid refetches") {
    for (int status : {429, 503}) {
      CAPTURE(status);
      Fixture f;
      auto o = options();
      o.kid_refetch_cooldown = Seconds{0};
      f.http.respond(kUri, 200, jwks_body({"k1"}));
      JwksCache cache(o, f.http, f.clock, f.jitter_source(), &f.metrics);
      REQUIRE(cache.refresh());
      const auto gen = cache.snapshot()->generation;
      f.http.respond(kUri, status, "busy", {{"Retry-After", "40"}});
      auto failed = cache.refresh();
      REQUIRE_FALSE(failed);
      CHECK(failed.error().detail ==
            "JWKS endpoint " + kUri + " answered HTTP " + std::to_string(status) + " (Retry-After 40 s)");
      CHECK(f.metrics.fetch_outcomes(FetchOutcome::HttpStatus) == 1);
      CHECK(cache.next_refresh_due() >= f.clock.steady_now() + 40s);
      CHECK(cache.refetch_for_unknown_kid(gen) == nullptr);
      CHECK(f.http.requests_to(kUri) == 2);  // refused: no fetch before Retry-After passes
      f.clock.advance(39s);
      CHECK(cache.refetch_for_unknown_kid(gen) == nullptr);
      CHECK(f.http.requests_to(kUri) == 2);
      f.clock.advance(1s);
      f.http.respond(kUri, 200, jwks_body({"k1", "k2"}));
      auto newer = cache.refetch_for_unknown_kid(gen);
      REQUIRE(newer);
      CHECK(newer->jwks->find("k2") != nullptr);
      CHECK(f.http.requests_to(kUri) == 3);
    }
  }

  TEST_CASE("parse_retry_after takes delta-seconds only") {
    CHECK(parse_retry_after("120") == Seconds{120});
    CHECK(parse_retry_after(" 5 ") == Seconds{5});
    CHECK_FALSE(parse_retry_after("Fri, 04 Dec 2026 22:00:00 GMT"));
    CHECK_FALSE(parse_retry_after("-1"));
    CHECK_FALSE(parse_retry_after(""));
    CHECK_FALSE(parse_retry_after("1234567890"));
  }

  TEST_CASE("failed fetches are counted by outcome") {
    const std::pair<Errc, FetchOutcome> cases[] = {{Errc::HttpTimeout, FetchOutcome::Timeout},
                                                   {Errc::HttpDeadlineExceeded, FetchOutcome::Timeout},
                                                   {Errc::HttpBodyTooLarge, FetchOutcome::TooLarge},
                                                   {Errc::HttpTlsFailure, FetchOutcome::Tls},
                                                   {Errc::HttpConnectFailed, FetchOutcome::Refused}};
    for (const auto& [code, outcome] : cases) {
      Fixture f;
      f.http.fail_with(kUri, code);
      JwksCache cache(options(), f.http, f.clock, f.jitter_source(), &f.metrics);
      CHECK_FALSE(cache.refresh());
      CHECK(f.metrics.fetch_outcomes(outcome) == 1);
    }
    Fixture f;
    f.http.respond(kUri, 200, "{not json");
    JwksCache cache(options(), f.http, f.clock, f.jitter_source(), &f.metrics);
    CHECK_FALSE(cache.refresh());
    CHECK(f.metrics.fetch_outcomes(FetchOutcome::BadJson) == 1);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
