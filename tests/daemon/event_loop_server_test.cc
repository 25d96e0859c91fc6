// The plain-HTTP front end: the head scanner alone, then a real ApiServer on a random loopback
// port driven with raw sockets, for what an HTTP client library would not send (trickled heads,
// oversized lines, pipelined requests, connections that never speak).
#include "daemon/event_loop_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "daemon/server.h"
#include "daemon_test_support.h"
#include "support/fakes.h"
#include "support/raw_http_client.h"

namespace oauthdemo::daemon {
namespace {

using namespace std::chrono_literals;
using oauthdemo::testing::FakeClock;

HeadResult scan_all(std::string_view data, const EventLoopLimits& limits = {}) {
  HeadScan scan;
  return scan_head(data, scan, limits);
}

using RawClient = oauthdemo::testing::RawHttpClient;

std::size_t count_of(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// A real ApiServer with no key source: the front end and the routes that need no key.
struct Front {
  explicit Front(ServerLimits limits = {}) : clock(std::chrono::system_clock::now()) {
    JwksCacheOptions o;
    o.jwks_uri = "http://127.0.0.1:9/unused";
    cache = std::make_unique<JwksCache>(o, http, clock, nullptr, &metrics);
    auth = std::make_unique<Authenticator>(*cache, clock, &metrics);
    AuthPolicy p;
    p.verify.issuer = "https://issuer.example/";
    p.verify.audiences = {test::kAudience};
    auth->set_policy(p);
    api = std::make_unique<ApiServer>(*auth, *cache, metrics);
    RouteConfig rc;
    rc.access_log = false;
    api->set_config(rc);
    auto bound = api->bind("127.0.0.1", 0, limits, TlsFiles{});
    REQUIRE(bound);
    port = *bound;
    thread = std::thread([this] { api->listen(); });
    REQUIRE(test::eventually([this] { return api->is_running(); }));
  }
  ~Front() {
    api->stop();
    if (thread.joinable()) thread.join();
  }

  FakeClock clock;
  Metrics metrics;
  http::HttplibClient http;
  std::unique_ptr<JwksCache> cache;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<ApiServer> api;
  std::thread thread;
  int port = 0;
};

ServerLimits one_loop() {
  ServerLimits limits;
  limits.events.loops = 1;
  return limits;
}

constexpr std::string_view kHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// Answers every request "ok", and holds a request for /hold inside the router until released:
// a handler waiting for a key fetch, without a key server.
class HoldingRouter final : public RequestRouter {
 public:
  bool route(httplib::Stream& stream, bool, const LiftedAuthorization&) override {
    std::string head;
    char ch = 0;
    while (!head.ends_with("\r\n\r\n") && stream.read(&ch, 1) == 1) head += ch;
    if (head.starts_with("GET /hold ")) {
      std::unique_lock lock(mu_);
      ++held_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
    }
    constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    stream.write(kOk.data(), kOk.size());
    return true;
  }
  std::string refuse(HeadProblem, std::string_view) override {
    return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  }
  bool wait_until_held() {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, 10s, [this] { return held_ > 0; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int held_ = 0;
  bool released_ = false;
};

// A listening loopback socket on a free port.
int listen_on_loopback(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  port = ntohs(addr.sin_port);
  return fd;
}

// An EventLoopServer on a free loopback port with a HoldingRouter, stopped at the end.
struct LoopFront {
  explicit LoopFront(std::size_t loops) {
    const int listen_fd = listen_on_loopback(port);
    REQUIRE(listen_fd >= 0);
    EventLoopLimits limits;
    limits.loops = loops;
    server = std::make_unique<EventLoopServer>(listen_fd, limits, router);
    thread = std::thread([this] { server->run(); });
    REQUIRE(test::eventually([this] { return server->running(); }));
  }
  ~LoopFront() {
    router.release();  // a test that ended early leaves no handler holding a loop
    server->stop();
    thread.join();
  }

  HoldingRouter router;
  int port = 0;
  std::unique_ptr<EventLoopServer> server;
  std::thread thread;
};

TEST_SUITE("daemon::event_loop_server") {
  TEST_CASE("scan_head finds the end of a head, whatever the chunks") {
    const std::string head = "GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n";
    auto r = scan_all(head + "GET /next");
    CHECK(r.status == HeadStatus::Complete);
    CHECK(r.end == head.size());
    HeadScan scan;
    EventLoopLimits limits;
    for (std::size_t i = 1; i < head.size(); ++i)
      REQUIRE(scan_head(std::string_view(head).substr(0, i), scan, limits).status == HeadStatus::Incomplete);
    r = scan_head(head, scan, limits);
    CHECK(r.status == HeadStatus::Complete);
    CHECK(r.end == head.size());
    CHECK(scan_all("GET / HTTP/1.0\n\n").end == 16);  // bare LF lines too
  }

  TEST_CASE("scan_head refuses each limit with its own reason") {
    EventLoopLimits limits;
    const std::string long_value(8200, 'a');
    CHECK(scan_all("GET /" + long_value + " HTTP/1.1\r\n\r\n").problem == HeadProblem::RequestLineTooLong);
    CHECK(scan_all("GET /" + long_value).problem == HeadProblem::RequestLineTooLong);  // before its end arrives
    CHECK(scan_all("GET / HTTP/1.1\r\nAuthorization: Bearer " + long_value + "\r\n\r\n").problem ==
          HeadProblem::AuthorizationTooLarge);
    CHECK(scan_all("GET / HTTP/1.1\r\naUtHoRiZaTiOn: Bearer " + long_value).problem ==
          HeadProblem::AuthorizationTooLarge);
    CHECK(scan_all("GET / HTTP/1.1\r\nCookie: " + long_value + "\r\n\r\n").problem == HeadProblem::HeaderLineTooLong);
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 100; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    CHECK(scan_all(many + "\r\n").status == HeadStatus::Complete);  // exactly 100 headers
    CHECK(scan_all(many + "X-last: v\r\n\r\n").problem == HeadProblem::TooManyHeaders);
    std::string big = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 3; ++i) big += "X-" + std::to_string(i) + ": " + std::string(6000, 'b') + "\r\n";
    CHECK(scan_all(big + "\r\n").problem == HeadProblem::HeadTooLarge);
    // A line of exactly the limit (CRLF included) passes.
    const std::string exact = "X: " + std::string(limits.max_line_bytes - 5, 'c') + "\r\n";
    REQUIRE(exact.size() == limits.max_line_bytes);
    CHECK(scan_all("GET / HTTP/1.1\r\n" + exact + "\r\n").status == HeadStatus::Complete);
  }

  TEST_CASE("scan_head marks the Authorization lines the front end lifts out of the head") {
    const std::string head =
        "GET /hello HTTP/1.1\r\nHost: x\r\nauthorization:  Bearer a.b.c \t\r\nX-Y: z\r\nAuthorization: Basic q\r\n\r\n";
    HeadScan scan;
    const auto r = scan_head(head, scan, EventLoopLimits{});
    REQUIRE(r.status == HeadStatus::Complete);
    REQUIRE(scan.lifted_count == 2);
    CHECK_FALSE(scan.folded);
    const auto line = [&](std::size_t i) {
      return std::string_view(head).substr(scan.lifted[i][0], scan.lifted[i][1] - scan.lifted[i][0]);
    };
    CHECK(line(0) == "authorization:  Bearer a.b.c \t\r\n");
    CHECK(authorization_value(line(0)) == "Bearer a.b.c");
    CHECK(authorization_value(line(1)) == "Basic q");
    CHECK(authorization_value("Authorization:\r\n").empty());
    HeadScan folded;
    REQUIRE(scan_head("GET / HTTP/1.1\r\nAuthorization: Bearer a\r\n b\r\n\r\n", folded, EventLoopLimits{}).status ==
            HeadStatus::Complete);
    CHECK(folded.folded);
  }

  TEST_CASE("a trickled head holds no thread: with one loop, others are served meanwhile") {
    Front front(one_loop());
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 50; ++i) {
      slow.push_back(std::make_unique<RawClient>(front.port));
      REQUIRE(slow.back()->send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
    }
    RawClient probe(front.port);
    REQUIRE(probe.send(kHealthz));
    CHECK(probe.read_answers(1).starts_with("HTTP/1.1 200 OK"));
    // The slow heads complete later and are answered too.
    for (auto& c : slow) REQUIRE(c->send("1\r\n\r\n"));
    for (auto& c : slow) CHECK(c->read_answers(1).starts_with("HTTP/1.1 200 OK"));
  }

  TEST_CASE("a head not complete within the header timeout gets 408 and the connection closes") {
    ServerLimits limits = one_loop();
    limits.events.header_timeout = 1s;
    Front front(limits);
    RawClient partial(front.port);
    REQUIRE(partial.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    RawClient silent(front.port);  // connects and never speaks: closed without an answer
    REQUIRE(partial.read_until_eof());
    CHECK(partial.data().starts_with("HTTP/1.1 408 Request Timeout"));
    CHECK(partial.data().find("request_timeout") != std::string::npos);
    REQUIRE(silent.read_until_eof());
    CHECK(silent.data().empty());
    CHECK(front.metrics.requests(Route::Other, 408) == 1);
  }

  TEST_CASE("oversized heads: 414, 431, and 401 too_large for an Authorization line") {
    Front front;
    const std::string long_value(9000, 'a');
    RawClient uri(front.port);
    REQUIRE(uri.send("GET /" + long_value + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(uri.read_until_eof());
    CHECK(uri.data().starts_with("HTTP/1.1 414 URI Too Long"));

    RawClient token(front.port);
    REQUIRE(token.send("GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + long_value + "\r\n\r\n"));
    REQUIRE(token.read_until_eof());
    CHECK(token.data().starts_with("HTTP/1.1 401 Unauthorized"));
    CHECK(token.data().find("WWW-Authenticate: Bearer realm=\"oauthdemo-apid\"") != std::string::npos);
    CHECK(token.data().find("error=\"invalid_token\", error_description=\"The token is too large") != std::string::npos);
    CHECK(token.data().find(long_value.substr(0, 64)) == std::string::npos);
    CHECK(front.metrics.auth_failures(Reason::TooLarge) == 1);

    std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 200; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    RawClient headers(front.port);
    REQUIRE(headers.send(many + "\r\n"));
    REQUIRE(headers.read_until_eof());
    CHECK(headers.data().starts_with("HTTP/1.1 431 Request Header Fields Too Large"));

    // The server still serves.
    RawClient after(front.port);
    REQUIRE(after.send(kHealthz));
    CHECK(after.read_answers(1).starts_with("HTTP/1.1 200 OK"));
  }

  TEST_CASE("a request announcing a body is answered before the body is sent, then closed") {
    Front front;
    RawClient post(front.port);
    REQUIRE(post.send("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n"));
    // The old behaviour waited for the body until the 5 s read timeout.
    REQUIRE(post.read_until_eof(3000ms));
    CHECK(post.data().starts_with("HTTP/1.1 413"));

    RawClient get(front.port);
    REQUIRE(get.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
    REQUIRE(get.read_until_eof(3000ms));
    CHECK(get.data().starts_with("HTTP/1.1 400"));
    CHECK(get.data().find("This API takes no request body") != std::string::npos);

    RawClient del(front.port);
    REQUIRE(del.send("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(del.read_answers(1).starts_with("HTTP/1.1 405"));
    CHECK(del.data().find("Allow: GET, HEAD, OPTIONS") != std::string::npos);
  }

  TEST_CASE("pipelined requests are answered in order on one connection") {
    Front front;
    RawClient c(front.port);
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto answers = c.read_answers(3);
    CHECK(count_of(answers, "HTTP/1.1 ") == 3);
    const auto first = answers.find("HTTP/1.1 200");
    const auto second = answers.find("HTTP/1.1 404");
    const auto third = answers.find("HTTP/1.1 200", first + 1);
    CHECK(first < second);
    CHECK(second < third);
    CHECK(third != std::string::npos);
  }

  TEST_CASE("beyond MAX_CONNECTIONS a new connection gets 503") {
    ServerLimits limits;
    limits.events.max_connections = 2;
    Front front(limits);
    RawClient a(front.port), b(front.port);
    REQUIRE(a.send(kHealthz));
    REQUIRE(b.send(kHealthz));
    REQUIRE(a.read_answers(1).starts_with("HTTP/1.1 200"));
    REQUIRE(b.read_answers(1).starts_with("HTTP/1.1 200"));
    RawClient c(front.port);
    REQUIRE(c.read_until_eof());
    CHECK(c.data().starts_with("HTTP/1.1 503"));
    CHECK(c.data().find("Retry-After: 1") != std::string::npos);
  }

  TEST_CASE("draining: /readyz 503, answers close their connection, requests still served") {
    Front front;
    RawClient idle(front.port);
    REQUIRE(idle.send(kHealthz));
    REQUIRE(idle.read_answers(1).starts_with("HTTP/1.1 200"));
    front.api->drain();
    CHECK(idle.read_until_eof());  // an idle keep-alive connection is closed
    RawClient ready(front.port);
    REQUIRE(ready.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(ready.read_answers(1).starts_with("HTTP/1.1 503"));
    CHECK(ready.data().find("\"draining\"") != std::string::npos);
    RawClient served(front.port);
    REQUIRE(served.send(kHealthz));
    CHECK(served.read_answers(1).starts_with("HTTP/1.1 200"));
    CHECK(served.data().find("Connection: close") != std::string::npos);
    CHECK(served.read_until_eof());
  }

  TEST_CASE("stop answers connections already accepted or queued, then refuses new ones") {
    ServerLimits limits = one_loop();
    Front front(limits);
    std::vector<std::unique_ptr<RawClient>> queued;
    for (int i = 0; i < 20; ++i) {
      queued.push_back(std::make_unique<RawClient>(front.port));
      REQUIRE(queued.back()->connected());
    }
    front.api->stop();
    for (auto& c : queued) REQUIRE(c->send(kHealthz));
    for (auto& c : queued) {
      CHECK(c->read_answers(1).starts_with("HTTP/1.1 200"));
      CHECK(c->data().find("Connection: close") != std::string::npos);
    }
    front.thread.join();
    RawClient late(front.port);
    CHECK_FALSE(late.connected());
  }

  TEST_CASE("a request held in a handler holds no other connection: the other loop serves them all") {
    LoopFront front(2);
    auto& router = front.router;
    const int port = front.port;
    // Connections opened and served first: with loops that own their connections, some of these
    // (in practice all: the old design failed for all 15) belong to the loop about to be held.
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 16; ++i) {
      clients.push_back(std::make_unique<RawClient>(port));
      REQUIRE(clients.back()->get_status_line("/") == "HTTP/1.1 200 OK");
    }
    REQUIRE(clients[0]->send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(router.wait_until_held());
    for (std::size_t i = 1; i < clients.size(); ++i) {
      CAPTURE(i);
      CHECK(clients[i]->get_status_line("/again") == "HTTP/1.1 200 OK");
    }
    router.release();
    CHECK(clients[0]->read_answers(2).ends_with("ok"));
  }

  TEST_CASE("connections opened and closed at a high rate by many clients, descriptors reused: all answered") {
    LoopFront front(4);
    auto& server = *front.server;
    const int port = front.port;
    // Every second client leaves without reading its answer: the server closes that connection
    // while its descriptor number is handed to the next one (the generation tells them apart).
    std::atomic<int> answered{0}, wrong{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&, t] {
        for (int i = 0; i < 250; ++i) {
          RawClient c(port);
          if ((i + t) % 2 == 0) {
            if (c.get_status_line("/") == "HTTP/1.1 200 OK") {
              ++answered;
            } else {
              ++wrong;
            }
          } else {
            c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
          }
        }
      });
    }
    for (auto& t : clients) t.join();
    CHECK(answered.load() == 500);
    CHECK(wrong.load() == 0);
    CHECK(test::eventually([&] { return server.open_connections() == 0; }));
  }

  TEST_CASE("out of descriptors: accepting pauses, and resumes once descriptors are free again") {
    LoopFront front(2);
    const int port = front.port;
    RawClient first(port);
    REQUIRE(first.get_status_line("/") == "HTTP/1.1 200 OK");

    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    const int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(lowest_free >= 0);
    ::close(lowest_free);
    // Room for the client's socket only: the server's accept() fails with EMFILE.
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(lowest_free) + 1;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
    RawClient late(port);
    const bool connected = late.connected();
    const bool sent = connected && late.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string while_short = late.read_answers(1, 300ms);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    REQUIRE(connected);
    REQUIRE(sent);
    CHECK(while_short.empty());  // not accepted while there was no descriptor for it
    // The next sweep (every 250 ms) arms the listener again.
    CHECK(late.read_answers(1).starts_with("HTTP/1.1 200 OK"));
    CHECK(first.get_status_line("/again") == "HTTP/1.1 200 OK");
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
