// HttplibClient's total deadline against real loopback servers that misbehave.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <string>

#include "common/http/http_client.h"
#include "support/faulty_server.h"
#include "support/loopback_server.h"

namespace oauthdemo {
namespace {

using namespace std::chrono_literals;
using testing::FaultyServer;
using Steady = std::chrono::steady_clock;

struct Outcome {
  Result<http::HttpResponse> result;
  std::chrono::milliseconds took;
};

Outcome get(const std::string& url, std::chrono::milliseconds timeout, std::chrono::milliseconds deadline,
            std::chrono::milliseconds client_deadline = 30s) {
  http::HttpClientOptions options;
  options.deadline = client_deadline;
  http::HttplibClient client(options);
  http::HttpRequest request;
  request.url = url;
  request.timeout = timeout;
  request.deadline = deadline;
  const auto started = Steady::now();
  auto result = client.send(request);
  return {std::move(result), std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started)};
}

// As in the three programs' main(): a write on a socket the watchdog shut down (OpenSSL's
// close_notify) must give EPIPE, not end the process.
const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

std::string peer(const FaultyServer& s) { return "127.0.0.1:" + std::to_string(s.port()); }

}  // namespace

TEST_SUITE("http::deadline") {
  TEST_CASE("a peer that drips its headers is cut off at the deadline") {
    FaultyServer server(FaultyServer::Mode::DripHeaders);
    auto o = get(server.base_url() + "/jwks", 10s, 1s);
    REQUIRE_FALSE(o.result);
    CHECK(o.result.error().code == Errc::HttpDeadlineExceeded);
    CHECK(o.result.error().detail ==
          "GET " + server.base_url() + "/jwks failed: no complete answer from " + peer(server) + " within 1 s");
    CHECK(o.took < 4s);  // the peer drips for 20 s
  }

  TEST_CASE("a peer that drips its body is cut off at the deadline") {
    FaultyServer server(FaultyServer::Mode::DripBody);
    auto o = get(server.base_url() + "/jwks", 10s, 1s);
    REQUIRE_FALSE(o.result);
    CHECK(o.result.error().code == Errc::HttpDeadlineExceeded);
    CHECK(o.result.error().detail ==
          "GET " + server.base_url() + "/jwks failed: no complete answer from " + peer(server) + " within 1 s");
    CHECK(o.took < 4s);
  }

  TEST_CASE("the client's deadline applies when the request names none, the smaller one otherwise") {
    FaultyServer server(FaultyServer::Mode::DripBody);
    SUBCASE("the client's") {
      auto o = get(server.base_url() + "/", 10s, 0ms, 1s);
      REQUIRE_FALSE(o.result);
      CHECK(o.result.error().code == Errc::HttpDeadlineExceeded);
      CHECK(o.took < 4s);
    }
    SUBCASE("the request's, smaller") {
      auto o = get(server.base_url() + "/", 10s, 1s, 20s);
      REQUIRE_FALSE(o.result);
      CHECK(o.result.error().code == Errc::HttpDeadlineExceeded);
      CHECK(o.took < 4s);
    }
  }

  TEST_CASE("a peer that accepts and never answers ends at the deadline") {
    FaultyServer server(FaultyServer::Mode::Silent);
    SUBCASE("plain http") {
      auto o = get(server.base_url() + "/", 10s, 1s);
      REQUIRE_FALSE(o.result);
      CHECK(o.result.error().code == Errc::HttpDeadlineExceeded);
      CHECK(o.took < 4s);
    }
    SUBCASE("a TLS handshake that never completes") {
      auto o = get("https://127.0.0.1:" + std::to_string(server.port()) + "/", 10s, 1s);
      REQUIRE_FALSE(o.result);
      CHECK(o.result.error().code == Errc::HttpDeadlineExceeded);
      CHECK(o.result.error().detail == "GET https://127.0.0.1:" + std::to_string(server.port()) +
                                           "/ failed: no complete answer from " + peer(server) + " within 1 s");
      CHECK(o.took < 4s);
    }
    SUBCASE("a shorter per-read timeout keeps its own message") {
      auto o = get(server.base_url() + "/", 1s, 20s);
      REQUIRE_FALSE(o.result);
      CHECK(o.result.error().code == Errc::HttpTimeout);
      CHECK(o.result.error().detail == "GET " + server.base_url() + "/ failed: no answer from " + peer(server) + " within 1 s");
    }
  }

  TEST_CASE("a healthy server answers within the deadline, many times over") {
    testing::LoopbackServer server([](httplib::Server& s) {
      s.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("{\"keys\":[]}", "application/json"); });
    });
    for (int i = 0; i < 50; ++i) {
      auto o = get(server.base_url() + "/ok", 5s, 5s);
      REQUIRE(o.result);
      CHECK(o.result->status == 200);
      CHECK(o.result->body == "{\"keys\":[]}");
    }
  }
}

}  // namespace oauthdemo
