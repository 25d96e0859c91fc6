// End-to-end on a pseudo-terminal: the real `oauthdemo login` as a user at a terminal sees it
// (issue #5): the spinner with the time left, the pasted redirect URL, the device code with its
// QR code, the SSH hint, and REDIRECT_URI=http://localhost:PORT/callback answered on ::1 and
// 127.0.0.1. The servers are the real oauthdemo-devidp and oauthdemo-apid on random loopback
// ports; the browser is scripts/devidp-browser.sh.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <qrencode.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "e2e_servers.h"
#include "pty_process.h"

using namespace oauthdemo;
using namespace oauthdemo::testing;
using namespace std::chrono_literals;

namespace {

// The terminal's environment: the Machine's (NO_COLOR, so lines compare word for word; no CI,
// DISPLAY or SSH_* unless a test adds them, so no browser opens by itself) plus TERM.
std::unique_ptr<PtyProcess> on_terminal(Machine& m, std::vector<std::string> args, const Env& extra = {},
                                        const std::string& stderr_path = "") {
  args.insert(args.begin(), kCli);
  PtyOptions options;
  options.cwd = m.dir();
  options.env = m.env();
  options.env["TERM"] = "xterm-256color";
  for (const auto& [k, v] : extra) options.env[k] = v;
  options.stderr_path = stderr_path;
  return std::make_unique<PtyProcess>(args, options);
}

// Holds a --browser-command back until the test opens the gate: the command blocks reading a
// FIFO, so the test decides when the scripted browser runs, without sleeping.
class Gate {
 public:
  explicit Gate(const std::string& dir) : path_(dir + "/gate") { REQUIRE(::mkfifo(path_.c_str(), 0600) == 0); }
  // `command` (which the CLI completes with the URL) once the gate opens; nothing if the reader
  // sees end of file instead (the test failed and killed the session).
  std::string hold(const std::string& command) const { return "read line < '" + path_ + "' && " + command; }
  void open() {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    int fd;
    // ENXIO: the held command has not opened its end yet.
    while ((fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 && errno == ENXIO &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);  // polling the FIFO's reader with a deadline
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "go\n", 3) == 3);
    ::close(fd);
  }

 private:
  std::string path_;
};

// The authorization URL the CLI printed ("Open this URL in a browser to log in:\n\n  URL\n").
std::string authorization_url(PtyProcess& p) {
  const std::string intro = "Open this URL in a browser to log in:\r\n\r\n  ";
  const auto at = p.wait_for(intro);
  REQUIRE_MESSAGE(at, "no authorization URL; the terminal showed:\n" << p.text());
  const auto start = *at + intro.size();
  const auto end = p.wait_for("\r\n", start);
  REQUIRE(end);
  return p.raw().substr(start, *end - start);
}

// Logs alice in with the scripted browser but stops at the final redirect, as a browser that
// cannot reach the loopback listener does; returns the URL it was sent to (the one a user pastes).
std::string scripted_redirect(Machine& m, const std::string& url) {
  auto r = m.finish(spawn({kBrowser, "--user", "alice", "--print-redirect", url}, m.env(), m.dir(), "redirect"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.size() > 1);
  return r.out.substr(0, r.out.size() - 1);
}

// The port of the redirect_uri the authorization URL carries (form-encoded).
int redirect_port(const std::string& url, const std::string& host) {
  std::smatch match;
  const std::regex pattern("redirect_uri=http%3A%2F%2F" + host + "%3A([0-9]+)%2Fcallback&");
  REQUIRE_MESSAGE(std::regex_search(url, match, pattern), url);
  return std::stoi(match[1].str());
}

std::string replace_state(const std::string& url) {
  const auto at = url.find("state=");
  REQUIRE(at != std::string::npos);
  auto end = url.find('&', at);
  if (end == std::string::npos) end = url.size();
  std::string out = url;
  // One character changed, still base64url: the URL differs from the valid one only in its state.
  out[end - 1] = out[end - 1] == 'A' ? 'B' : 'A';
  return out;
}

bool has_half_blocks(const std::string& text) {
  return contains(text, "\u2588") || contains(text, "\u2580") || contains(text, "\u2584");
}

// The QR modules drawn on the terminal ('#' dark, '.' light, quiet zone included): lines made of
// the four half-block cells, each cell two modules one above the other (terminal.cc: light is
// drawn, dark is blank).
std::vector<std::string> modules_on_screen(const std::string& text) {
  std::vector<std::string> grid;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    std::string top, bottom;
    bool qr_line = !line.empty() && has_half_blocks(line);
    for (std::size_t i = 0; qr_line && i < line.size();) {
      if (line.compare(i, 3, "\u2588") == 0) top += '.', bottom += '.', i += 3;
      else if (line.compare(i, 3, "\u2584") == 0) top += '#', bottom += '.', i += 3;
      else if (line.compare(i, 3, "\u2580") == 0) top += '.', bottom += '#', i += 3;
      else if (line[i] == ' ') top += '#', bottom += '#', i += 1;
      else qr_line = false;
    }
    if (!qr_line) {
      if (!grid.empty()) break;  // the code is one block of lines
      continue;
    }
    grid.push_back(top);
    grid.push_back(bottom);
  }
  return grid;
}

// The modules of `text` encoded independently with libqrencode (level L, automatic version, as
// issue #5 asks), with a quiet zone of 2 and padded to an even number of rows with light modules.
std::vector<std::string> expected_modules(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(QRcode_encodeString8bit(text.c_str(), 0, QR_ECLEVEL_L),
                                                       &QRcode_free);
  REQUIRE(code);
  const int width = code->width;
  const int side = width + 4;
  std::vector<std::string> grid(static_cast<std::size_t>(side + side % 2), std::string(static_cast<std::size_t>(side), '.'));
  for (int y = 0; y < width; ++y)
    for (int x = 0; x < width; ++x)
      if ((code->data[y * width + x] & 1) != 0) grid[static_cast<std::size_t>(y + 2)][static_cast<std::size_t>(x + 2)] = '#';
  return grid;
}

// Binding [::1] tells whether this machine has an IPv6 loopback at all.
bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A listening socket on 127.0.0.1 or ::1 at `port` (0 = any); -1 if it cannot bind.
int listen_on(int family, int port) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc;
  if (family == AF_INET6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(static_cast<uint16_t>(port));
    addr.sin6_addr = in6addr_loopback;
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (rc != 0 || ::listen(fd, 1) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A port the kernel reports free on 127.0.0.1 (and ::1 when present), released again for the
// CLI to bind. REDIRECT_URI needs the port in advance (the provider registers localhost URIs
// exactly, with their port); the window between release and the CLI's bind is the only race.
int free_localhost_port(bool ipv6) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int v4 = listen_on(AF_INET, 0);
    REQUIRE(v4 >= 0);
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    ::getsockname(v4, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    const int v6 = ipv6 ? listen_on(AF_INET6, port) : -1;
    ::close(v4);
    if (!ipv6) return port;
    if (v6 >= 0) {
      ::close(v6);
      return port;
    }
  }
  FAIL("no port free on both 127.0.0.1 and ::1");
  return 0;
}

// GET `target` from 127.0.0.1 or ::1 at `port` with a Host header, as a browser does for
// http://localhost:PORT after resolving localhost to that address; the whole answer.
std::string get_over(int family, int port, const std::string& target, const std::string& host) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  int rc;
  if (family == AF_INET6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(static_cast<uint16_t>(port));
    addr.sin6_addr = in6addr_loopback;
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (rc != 0) {
    ::close(fd);
    return "<connect failed>";
  }
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

// The built-in demo registry with the CLI's localhost redirect URI on `port` (devidp matches
// localhost URIs exactly, port included; only IP literals match any port, RFC 8252 §7.3).
std::string devidp_config(int port) {
  const std::string p = std::to_string(port);
  return R"({
  "apis": [{"identifier": "https://api.example.com", "name": "oauthdemo API",
            "permissions": ["read:messages", "read:admin"]}],
  "roles": {"admin": {"https://api.example.com": ["read:messages", "read:admin"]}},
  "clients": [
    {"client_id": "oauthdemo-cli", "name": "oauthdemo CLI", "type": "public",
     "grant_types": ["authorization_code", "refresh_token"],
     "redirect_uris": ["http://localhost:)" +
         p + R"(/callback"]}
  ],
  "users": [
    {"username": "alice", "password": "alice-password", "password_env": "DEVIDP_ALICE_PASSWORD",
     "user_id": "auth0|alice", "name": "Alice Example", "email": "alice@example.com", "roles": ["admin"]}
  ]
})";
}

// $BROWSER stands for the system browser: it records that it ran, then logs alice in.
std::string recording_browser(Machine& m) {
  const std::string path = m.dir() + "/browser.sh";
  {
    std::ofstream out(path);
    out << "#!/bin/sh\n: > '" << m.dir() << "/browser-opened'\nexec '" << kBrowser << "' --user alice \"$@\"\n";
  }
  ::chmod(path.c_str(), 0700);
  return path;
}

}  // namespace

TEST_SUITE("cli::terminal") {
  TEST_CASE("a terminal shows a one-line spinner with the time left while the browser is out") {
    Machine m;
    Gate gate(m.dir());
    auto p = on_terminal(m, {"login", "--port-list", "0", "--timeout", "120", "--browser-command",
                             gate.hold(kBrowser + " --user alice")});
    // terminal.cc draws "\r", erase-line, then "<frame> <message> (M:SS left)", four times a second.
    const std::string redraw = "\r\033[K";
    const auto first = p->wait_for(redraw + "| Waiting for the browser (");
    REQUIRE_MESSAGE(first, p->text());
    // The countdown moves: wait (on the output) until a frame shows 1:58.
    const auto later = p->wait_for(" Waiting for the browser (1:58 left)", *first);
    REQUIRE_MESSAGE(later, p->text());
    const std::string frames = p->raw().substr(*first, *later - *first);
    // Every redraw stays on one line: nothing between the frames moves the cursor down.
    CHECK(frames.find('\n') == std::string::npos);
    const std::regex frame("\r\033\\[K([|/\\\\-]) Waiting for the browser \\(([0-9]+:[0-9]{2}) left\\)");
    std::vector<std::string> shown, left;
    for (std::sregex_iterator it(frames.begin(), frames.end(), frame), end; it != end; ++it) {
      shown.push_back((*it)[1].str());
      left.push_back((*it)[2].str());
    }
    REQUIRE(shown.size() >= 2);
    CHECK(shown[0] == "|");
    CHECK(shown[1] == "/");  // the frames turn
    CHECK(left[0] == "1:59");  // --timeout 120, less the moment before the first frame

    gate.open();
    CHECK(p->finish() == 0);
    const auto text = p->text();
    INFO(text);
    const auto done = text.find("Logged in as Alice Example <alice@example.com>");
    REQUIRE(done != std::string::npos);
    // The spinner stops (and erased its line) before the summary.
    CHECK(text.find("Waiting for the browser", done) == std::string::npos);
    CHECK(m.stored().access_token.size() > 0);
  }

  TEST_CASE("without a terminal on stderr there is no spinner") {
    Machine m;
    const std::string err = m.dir() + "/stderr.txt";
    // stdin and stdout are still the terminal: only stderr decides. The receiver ticks once as
    // soon as it starts waiting, so an enabled spinner would always draw at least one frame.
    auto p = on_terminal(m, {"login", "--port-list", "0", "--browser-command", kBrowser + " --user alice"}, {}, err);
    CHECK(p->finish() == 0);
    const auto log = read_file(err);
    INFO(log);
    CHECK(contains(log, "Logged in as Alice Example <alice@example.com>"));
    CHECK_FALSE(contains(log, "Waiting for the browser"));
    CHECK_FALSE(contains(log, "\r"));
    CHECK_FALSE(contains(log, "\033["));
    CHECK(p->raw().empty());  // login writes nothing to stdout
  }

  TEST_CASE("on a terminal the redirected URL can be pasted to finish the login") {
    Machine m;
    auto p = on_terminal(m, {"login", "--port-list", "0", "--no-browser", "--timeout", "120"});
    const auto url = authorization_url(*p);
    REQUIRE(p->wait_for("If the browser cannot reach this machine, paste the address it was redirected to here and "
                        "press Enter.\r\n"));
    const auto redirect = scripted_redirect(m, url);
    CHECK(redirect.rfind("http://127.0.0.1:" + std::to_string(redirect_port(url, "127.0.0.1")) + "/callback?", 0) == 0);
    p->type_line(redirect);
    CHECK(p->finish() == 0);
    INFO(p->text());
    CHECK(contains(p->text(), "Logged in as Alice Example <alice@example.com>"));
    auto raw = m.run({"token", "show", "--raw"});
    CHECK(raw.code == 0);
    CHECK((raw.out == m.stored().access_token + "\n"));
  }

  TEST_CASE("a pasted URL with a wrong state is refused and the wait goes on") {
    Machine m;
    auto p = on_terminal(m, {"login", "--port-list", "0", "--no-browser", "--timeout", "120"});
    const auto url = authorization_url(*p);
    const auto redirect = scripted_redirect(m, url);
    const auto wrong = replace_state(redirect);
    REQUIRE(wrong != redirect);
    const auto typed = p->raw().size();
    p->type_line(wrong);
    const auto refused = p->wait_for(
        "This response does not belong to the login in progress (state mismatch). Use the link the terminal printed "
        "for this login; the terminal is still waiting.\r\n",
        typed);
    REQUIRE_MESSAGE(refused, p->text());
    // Still waiting: the spinner comes back after the message, and the right URL is accepted.
    REQUIRE(p->wait_for("\r\033[K", *refused));
    p->type_line(redirect);
    CHECK(p->finish() == 0);
    INFO(p->text());
    CHECK(contains(p->text(), "Logged in as Alice Example <alice@example.com>"));
    CHECK(m.run({"token", "show", "--raw"}).code == 0);
  }

  TEST_CASE("device login on a terminal shows the code, the URL and a QR code of the complete URL") {
    Machine m;
    Gate gate(m.dir());
    auto p = on_terminal(m, {"login", "--device", "--browser-command", gate.hold(kBrowser + " --user alice")});
    REQUIRE_MESSAGE(p->wait_for("\r\033[K| Waiting for approval ("), p->text());
    const auto text = p->text();
    INFO(text);
    std::smatch match;
    const std::regex intro("To log in, open (\\S+) on any device and enter the code:\n\n    ([A-Z]{4}-[A-Z]{4})\n\n");
    REQUIRE(std::regex_search(text, match, intro));
    const std::string verification = match[1].str();
    const std::string code = match[2].str();
    CHECK(verification == servers().idp->issuer() + "activate");
    const std::string complete = verification + "?user_code=" + code;
    CHECK(contains(text, "Or open this URL directly: " + complete + "\n"));
    const auto drawn = modules_on_screen(text);
    CHECK(drawn == expected_modules(complete));

    gate.open();
    CHECK(p->finish() == 0);
    CHECK(contains(p->text(), "Logged in as Alice Example <alice@example.com>"));
    CHECK(m.run({"call-api", "/hello"}).code == 0);
  }

  TEST_CASE("device login without a terminal on stderr prints the code but no QR code") {
    Machine m;
    const std::string err = m.dir() + "/stderr.txt";
    auto p = on_terminal(m, {"login", "--device", "--browser-command", kBrowser + " --user alice"}, {}, err);
    CHECK(p->finish() == 0);
    const auto log = read_file(err);
    INFO(log);
    CHECK(std::regex_search(log, std::regex("on any device and enter the code:\n\n    [A-Z]{4}-[A-Z]{4}\n\n")));
    CHECK(contains(log, "Or open this URL directly: " + servers().idp->issuer() + "activate?user_code="));
    CHECK_FALSE(has_half_blocks(log));
    CHECK_FALSE(contains(log, "Waiting for approval"));
    CHECK(contains(log, "Logged in as Alice Example <alice@example.com>"));
  }

  TEST_CASE("over SSH no browser opens and the ssh -L hint names the callback port") {
    Machine m;
    Env env{{"DISPLAY", ":0"}, {"BROWSER", recording_browser(m)}};
    SUBCASE("SSH_CONNECTION") { env["SSH_CONNECTION"] = "127.0.0.1 50000 127.0.0.1 22"; }
    SUBCASE("SSH_TTY") { env["SSH_TTY"] = "/dev/pts/9"; }
    auto p = on_terminal(m, {"login", "--port-list", "0", "--timeout", "120"}, env);
    const auto url = authorization_url(*p);
    const auto port = std::to_string(redirect_port(url, "127.0.0.1"));
    REQUIRE_MESSAGE(p->wait_for("You are connected over SSH: forward the callback port first (ssh -L " + port +
                                ":127.0.0.1:" + port +
                                " <this host>), or paste the address the browser was sent to here.\r\n"),
                    p->text());
    // What the SSH user does without a forward: paste the address the browser ended on.
    p->type_line(scripted_redirect(m, url));
    CHECK(p->finish() == 0);
    INFO(p->text());
    CHECK(contains(p->text(), "Logged in as Alice Example <alice@example.com>"));
    CHECK_FALSE(std::filesystem::exists(m.dir() + "/browser-opened"));
  }

  TEST_CASE("with a display and no SSH the same login opens $BROWSER by itself (the SSH test's control)") {
    Machine m;
    Env env{{"DISPLAY", ":0"}, {"BROWSER", recording_browser(m)}};
    auto p = on_terminal(m, {"login", "--port-list", "0", "--timeout", "120"}, env);
    CHECK(p->finish() == 0);
    INFO(p->text());
    CHECK(std::filesystem::exists(m.dir() + "/browser-opened"));
    CHECK(contains(p->text(), "Logged in as Alice Example <alice@example.com>"));
    CHECK_FALSE(contains(p->text(), "ssh -L"));
  }

  TEST_CASE("REDIRECT_URI http://localhost:PORT/callback takes the callback on ::1 and on 127.0.0.1") {
    const bool ipv6 = ipv6_loopback_available();
    if (!ipv6)
      WARN_MESSAGE(false, "THIS MACHINE HAS NO IPv6 LOOPBACK (::1 cannot be bound): the ::1 half of REDIRECT_URI="
                          "http://localhost:PORT/callback is NOT tested here; only 127.0.0.1 is.");
    int family = AF_INET;
    SUBCASE("::1") { family = ipv6 ? AF_INET6 : AF_INET; }
    SUBCASE("127.0.0.1") { family = AF_INET; }

    Machine m;
    const int port = free_localhost_port(ipv6);
    const std::string config = m.dir() + "/devidp.json";
    { std::ofstream(config) << devidp_config(port); }
    Server idp("devidp-localhost", {kDevidp, "--config", config, "--log-level", "warn"}, base_env());
    m.env()["ISSUER_BASE_URL"] = idp.issuer();
    m.env()["REDIRECT_URI"] = "http://localhost:" + std::to_string(port) + "/callback";

    auto p = on_terminal(m, {"login", "--no-browser", "--timeout", "120"});
    const auto url = authorization_url(*p);
    CHECK(redirect_port(url, "localhost") == port);
    const auto redirect = scripted_redirect(m, url);
    const std::string prefix = "http://localhost:" + std::to_string(port);
    REQUIRE(redirect.rfind(prefix + "/callback?", 0) == 0);
    // The browser's request, sent to the address family under test.
    const auto answer = get_over(family, port, redirect.substr(prefix.size()), "localhost:" + std::to_string(port));
    // REQUIRE: without an answer the CLI would wait out its --timeout; ending here kills it.
    REQUIRE_MESSAGE(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, answer);
    CHECK(contains(answer, "<h1>Login complete</h1>"));
    CHECK(p->finish() == 0);
    INFO(p->text());
    CHECK(contains(p->text(), "Logged in as Alice Example <alice@example.com> (auth0|alice) at " + idp.issuer() + "."));
    CHECK(m.run({"token", "show", "--raw"}).code == 0);
  }
}
