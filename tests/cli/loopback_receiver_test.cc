#include "cli/loopback_receiver.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <string>

#include "support/foreign_listener.h"

using namespace oauthdemo;
using namespace oauthdemo::cli;
using namespace std::chrono_literals;

namespace {

std::string self_name() {
  // argv[0]'s file name, as describe_port_holder names a process.
  std::ifstream in("/proc/self/cmdline");
  std::string name;
  std::getline(in, name, '\0');
  name.erase(0, name.rfind('/') + 1);
  return name;
}

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Sends one raw request and reads the whole answer (the receiver closes every connection).
std::string raw_request(uint16_t port, const std::string& request) {
  const int fd = connect_to(port);
  if (fd < 0) return "<connect failed>";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[4096];
  while (true) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

std::string get(uint16_t port, const std::string& target, const std::string& host_header) {
  return raw_request(port, "GET " + target + " HTTP/1.1\r\nHost: " + host_header + "\r\nConnection: close\r\n\r\n");
}

std::string status_line(const std::string& answer) { return answer.substr(0, answer.find("\r\n")); }

struct Running {
  std::unique_ptr<LoopbackReceiver> receiver;
  std::future<Result<CallbackResult>> result;
  uint16_t port = 0;
  std::string host;
};

Running start(WaitOptions options) {
  auto bound = LoopbackReceiver::bind(ReceiverConfig{});
  REQUIRE(bound);
  Running r;
  r.receiver = std::move(*bound);
  r.port = r.receiver->port();
  r.host = "127.0.0.1:" + std::to_string(r.port);
  auto* receiver = r.receiver.get();
  r.result = std::async(std::launch::async, [receiver, options] { return receiver->wait(options); });
  return r;
}

WaitOptions options_with_state(const std::string& state) {
  WaitOptions w;
  w.expected_state = state;
  w.timeout = 20s;
  return w;
}

}  // namespace

TEST_SUITE("cli::loopback_receiver") {
  TEST_CASE("accepts the callback with the right state and sends no-store, no-referrer pages") {
    auto r = start(options_with_state("S1"));
    auto answer = get(r.port, "/callback?code=the-code&state=S1", r.host);
    CHECK(status_line(answer) == "HTTP/1.1 200 OK");
    CHECK(answer.find("Cache-Control: no-store\r\n") != std::string::npos);
    CHECK(answer.find("Referrer-Policy: no-referrer\r\n") != std::string::npos);
    CHECK(answer.find("<h1>Login complete</h1>") != std::string::npos);
    auto result = r.result.get();
    REQUIRE(result);
    CHECK(result->code == "the-code");
    CHECK(result->source == CallbackResult::Source::Browser);
    CHECK(r.receiver->redirect_uri() == "http://127.0.0.1:" + std::to_string(r.port) + "/callback");
  }

  TEST_CASE("stray requests get 404 and the wait goes on") {
    auto r = start(options_with_state("S1"));
    CHECK(status_line(get(r.port, "/favicon.ico", r.host)) == "HTTP/1.1 404 Not Found");
    CHECK(status_line(get(r.port, "/callback/extra?code=x&state=S1", r.host)) == "HTTP/1.1 404 Not Found");
    CHECK(status_line(raw_request(r.port, "POST /callback?code=x&state=S1 HTTP/1.1\r\nHost: " + r.host +
                                              "\r\nContent-Length: 0\r\n\r\n")) == "HTTP/1.1 405 Method Not Allowed");
    // A preconnect that never sends anything does not block the real callback.
    const int idle = connect_to(r.port);
    CHECK(idle >= 0);
    CHECK(status_line(get(r.port, "/callback?code=c2&state=S1", r.host)) == "HTTP/1.1 200 OK");
    ::close(idle);
    auto result = r.result.get();
    REQUIRE(result);
    CHECK(result->code == "c2");
  }

  TEST_CASE("a wrong or missing state gets 400 and the wait goes on") {
    auto r = start(options_with_state("S1"));
    auto wrong = get(r.port, "/callback?code=evil&state=S2", r.host);
    CHECK(status_line(wrong) == "HTTP/1.1 400 Bad Request");
    CHECK(wrong.find("state mismatch") != std::string::npos);
    CHECK(status_line(get(r.port, "/callback?code=evil", r.host)) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(get(r.port, "/callback?code=good&state=S1", r.host)) == "HTTP/1.1 200 OK");
    auto result = r.result.get();
    REQUIRE(result);
    CHECK(result->code == "good");
  }

  TEST_CASE("gives up after the maximum number of bad states") {
    auto options = options_with_state("S1");
    options.max_bad_requests = 3;
    auto r = start(options);
    for (int i = 0; i < 3; ++i) CHECK(status_line(get(r.port, "/callback?code=x&state=bad", r.host)) == "HTTP/1.1 400 Bad Request");
    auto result = r.result.get();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::OAuthStateMismatch);
    CHECK(result.error().detail == "3 callbacks arrived with a wrong or missing state; giving up");
  }

  TEST_CASE("a wrong Host header is refused (DNS rebinding) and the wait goes on") {
    auto r = start(options_with_state("S1"));
    CHECK(status_line(get(r.port, "/callback?code=x&state=S1", "evil.example:" + std::to_string(r.port))) ==
          "HTTP/1.1 400 Bad Request");
    CHECK(status_line(raw_request(r.port, "GET /callback?code=x&state=S1 HTTP/1.1\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(get(r.port, "/callback?code=ok&state=S1", "localhost:" + std::to_string(r.port))) ==
          "HTTP/1.1 200 OK");
    auto result = r.result.get();
    REQUIRE(result);
    CHECK(result->code == "ok");
  }

  TEST_CASE("the provider's error ends the login and is HTML-escaped on the page") {
    auto r = start(options_with_state("S1"));
    auto answer = get(r.port, "/callback?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=S1",
                      r.host);
    CHECK(status_line(answer) == "HTTP/1.1 200 OK");
    CHECK(answer.find("<script>") == std::string::npos);
    CHECK(answer.find("access_denied: &lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    auto result = r.result.get();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::OAuthAccessDenied);
    CHECK(result.error().detail == "the authorization server answered access_denied: <script>alert(1)</script>");
  }

  TEST_CASE("an error with a wrong state does not end the login") {
    auto r = start(options_with_state("S1"));
    CHECK(status_line(get(r.port, "/callback?error=access_denied&state=forged", r.host)) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(get(r.port, "/callback?code=c&state=S1", r.host)) == "HTTP/1.1 200 OK");
    CHECK(r.result.get());
  }

  TEST_CASE("times out and frees the port") {
    auto options = options_with_state("S1");
    options.timeout = 300ms;
    auto r = start(options);
    auto result = r.result.get();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::OAuthTimeout);
    ReceiverConfig again;
    again.ports = {r.port};
    CHECK(LoopbackReceiver::bind(again));
  }

  TEST_CASE("a second callback after success finds the port closed") {
    auto r = start(options_with_state("S1"));
    CHECK(status_line(get(r.port, "/callback?code=c&state=S1", r.host)) == "HTTP/1.1 200 OK");
    REQUIRE(r.result.get());
    CHECK(connect_to(r.port) == -1);
  }

  TEST_CASE("a port in use is named with what to do") {
    auto first = LoopbackReceiver::bind(ReceiverConfig{});
    REQUIRE(first);
    ReceiverConfig config;
    config.ports = {(*first)->port()};
    auto second = LoopbackReceiver::bind(config);
    REQUIRE_FALSE(second);
    CHECK(second.error().code == Errc::HttpPortInUse);
    CHECK(second.error().detail ==
          "callback port " + std::to_string((*first)->port()) + " on 127.0.0.1 is in use by pid " +
              std::to_string(::getpid()) + " (" + self_name() +
              "); stop the program using it, or pass --port-list with other ports that are "
              "registered as http://127.0.0.1:PORT/callback at your provider (0 = any port, if the provider allows it)");
    SUBCASE("the next port of the list is used") {
      config.ports = {(*first)->port(), 0};
      auto third = LoopbackReceiver::bind(config);
      REQUIRE(third);
      CHECK((*third)->port() != (*first)->port());
    }
  }

  TEST_CASE("a port another process holds with SO_REUSEPORT (cpp-httplib's default) is refused") {
    testing::ForeignListener other;
    ReceiverConfig config;
    config.ports = {other.port()};
    auto bound = LoopbackReceiver::bind(config);
    REQUIRE_FALSE(bound);
    CHECK(bound.error().code == Errc::HttpPortInUse);
    CHECK(bound.error().detail ==
          "callback port " + std::to_string(other.port()) + " on 127.0.0.1 is in use by " + other.description() +
              "; stop the program using it, or pass --port-list with other ports that are "
              "registered as http://127.0.0.1:PORT/callback at your provider (0 = any port, if the provider allows it)");
  }

  TEST_CASE("never listens on a non-loopback host") {
    ReceiverConfig config;
    config.host = "0.0.0.0";
    auto bound = LoopbackReceiver::bind(config);
    REQUIRE_FALSE(bound);
    CHECK(bound.error().code == Errc::InvalidArgument);
  }

  TEST_CASE("Ctrl-C (the cancel pipe) ends the wait and frees the port") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    auto options = options_with_state("S1");
    options.cancel_fd = fds[0];
    auto r = start(options);
    REQUIRE(::write(fds[1], "x", 1) == 1);
    auto result = r.result.get();
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::OAuthInterrupted);
    CHECK(connect_to(r.port) == -1);
    ::close(fds[0]);
    ::close(fds[1]);
  }

  TEST_CASE("accepts a pasted redirect URL, checking its state") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    auto options = options_with_state("S1");
    options.paste_fd = fds[0];
    std::vector<std::string> notices;
    std::mutex mu;
    options.notice = [&](const std::string& text) {
      std::lock_guard lock(mu);
      notices.push_back(text);
    };
    auto r = start(options);
    const std::string lines = "http://127.0.0.1:1/callback?code=bad&state=nope\n"
                              "http://127.0.0.1:1/callback?code=pasted&state=S1\n";
    REQUIRE(::write(fds[1], lines.data(), lines.size()) == static_cast<ssize_t>(lines.size()));
    auto result = r.result.get();
    REQUIRE(result);
    CHECK(result->code == "pasted");
    CHECK(result->source == CallbackResult::Source::Paste);
    std::lock_guard lock(mu);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0] == "This response does not belong to the login in progress (state mismatch). Use the link the "
                        "terminal printed for this login; the terminal is still waiting.");
    ::close(fds[0]);
    ::close(fds[1]);
  }

  TEST_CASE("render_page escapes its text") {
    CHECK(render_page("a<b", "x&y") ==
          "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>a&lt;b</title><style>body{font-family:"
          "system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}</style></head><body><h1>a&lt;b</h1><p>"
          "x&amp;y</p></body></html>\n");
  }

  TEST_CASE("localhost listens on 127.0.0.1 (and ::1 when available) and names localhost in the redirect") {
    ReceiverConfig config;
    config.host = "localhost";
    config.path = "/cb";
    auto bound = LoopbackReceiver::bind(config);
    REQUIRE(bound);
    auto* receiver = bound->get();
    const auto port = receiver->port();
    CHECK(receiver->redirect_uri() == "http://localhost:" + std::to_string(port) + "/cb");
    auto options = options_with_state("S1");
    auto result = std::async(std::launch::async, [receiver, options] { return receiver->wait(options); });
    CHECK(status_line(get(port, "/cb?code=c&state=S1", "localhost:" + std::to_string(port))) == "HTTP/1.1 200 OK");
    REQUIRE(result.get());
  }

  TEST_CASE("oversized and malformed requests are refused and the wait goes on") {
    auto r = start(options_with_state("S1"));
    CHECK(status_line(raw_request(r.port, "GET /callback?" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n")) ==
          "HTTP/1.1 431 Request Header Fields Too Large");
    CHECK(status_line(raw_request(r.port, "NONSENSE\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(get(r.port, "/callback?code=%zz&state=S1", r.host)) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(get(r.port, "/callback?code=ok&state=S1", r.host)) == "HTTP/1.1 200 OK");
    auto result = r.result.get();
    REQUIRE(result);
    CHECK(result->code == "ok");
  }
}
