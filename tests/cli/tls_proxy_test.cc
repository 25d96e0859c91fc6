// End-to-end network behaviour of `oauthdemo call-api` (issue #5: TLS verified with the system CAs
// or --cacert, HTTPS_PROXY/NO_PROXY honoured, timeouts), with the real binary against:
// - an HTTPS server in this process whose certificates come from a throwaway CA made on every run;
// - tests/npm/forward-proxy.mjs, a forward proxy that maps every host name to 127.0.0.1, so
//   api.example.test is reachable through it without any DNS lookup;
// - raw sockets that never answer, close at once, or refuse connections.
// Nothing here connects anywhere but 127.0.0.1.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/faulty_server.h"
#include "support/child_process.h"
#include "support/loopback_server.h"
#include "support/test_tls.h"
#include "support/temp_dir.h"

using namespace oauthdemo;
using testing::Env;

namespace {

const std::string kCli = OAUTHDEMO_CLI_BIN;
const std::string kNode = OAUTHDEMO_NODE_BIN;
const std::string kProxyScript = OAUTHDEMO_FORWARD_PROXY_SCRIPT;
const std::string kToken = "tls-test.access-token.0123456789";
const std::string kApiName = "api.example.test";  // only the forward proxy "resolves" it

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Certificates for this test binary, written once to a private directory.
struct Pki {
  testing::TempDir dir;
  testing::TestCa ca{"oauthdemo test CA"};
  testing::TestCa other_ca{"oauthdemo other test CA"};
  std::string ca_file = dir.path() + "/ca.pem";
  std::string other_ca_file = dir.path() + "/other-ca.pem";
  std::string not_pem_file = dir.path() + "/not-pem.pem";

  Pki() {
    testing::write_text_file(ca_file, ca.cert_pem());
    testing::write_text_file(other_ca_file, other_ca.cert_pem());
    testing::write_text_file(not_pem_file, "this file holds no certificate\n");
  }
  // Writes a server certificate and key issued by `ca`; returns {cert path, key path}.
  std::pair<std::string, std::string> server_files(const std::string& tag, const testing::ServerCertOptions& options) {
    auto pair = ca.issue(options);
    const std::string cert = dir.path() + "/" + tag + ".crt";
    const std::string key = dir.path() + "/" + tag + ".key";
    testing::write_text_file(cert, pair.cert_pem);
    testing::write_text_file(key, pair.key_pem);
    return {cert, key};
  }
};
Pki& pki() {
  static Pki p;
  return p;
}

testing::ServerCertOptions good_names() {
  return {.subject_alt_names = {"DNS:" + kApiName, "DNS:localhost", "IP:127.0.0.1"}};
}

// An HTTPS API on 127.0.0.1: GET /hello answers JSON saying whether a bearer token came, and
// records every Authorization header it saw.
class TlsApi {
 public:
  explicit TlsApi(const testing::ServerCertOptions& options = good_names()) {
    static int counter = 0;
    auto [cert, key] = pki().server_files("server" + std::to_string(counter++), options);
    auto server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    server_ = std::make_unique<testing::LoopbackServer>(std::move(server), [this](httplib::Server& s) {
      s.Get("/hello", [this](const httplib::Request& req, httplib::Response& res) {
        const std::string authorization = req.get_header_value("Authorization");
        {
          std::lock_guard lock(mutex_);
          authorizations_.push_back(authorization);
        }
        nlohmann::json body{{"message", "hello over TLS"}, {"bearer", authorization.starts_with("Bearer ")}};
        res.set_content(body.dump(), "application/json");
      });
    });
  }
  int port() const { return server_->port(); }
  std::string url(const std::string& host) const { return "https://" + host + ":" + std::to_string(port()); }
  std::vector<std::string> authorizations() {
    std::lock_guard lock(mutex_);
    return authorizations_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> authorizations_;
  std::unique_ptr<testing::LoopbackServer> server_;
};

// tests/npm/forward-proxy.mjs on a free port, stopped by PID.
class ForwardProxy {
 public:
  explicit ForwardProxy(const std::string& credentials = "") {
    REQUIRE_MESSAGE(::access(kNode.c_str(), X_OK) == 0,
                    "node is needed for the forward-proxy test peer (scripts/bootstrap.sh installs it); looked for '"
                        << kNode << "'");
    std::vector<std::string> args{kNode,        kProxyScript, "--ready-file", dir_.path() + "/ready.json",
                                  "--log-file", log_path()};
    if (!credentials.empty()) {
      args.push_back("--credentials");
      args.push_back(credentials);
    }
    child_ = testing::spawn(args, testing::base_env(), dir_.path(), "proxy");
    port_ = testing::wait_ready_file(dir_.path() + "/ready.json", child_, "forward-proxy").value("port", 0);
  }
  ~ForwardProxy() {
    if (child_.pid > 0) {
      ::kill(child_.pid, SIGTERM);
      int status = 0;
      ::waitpid(child_.pid, &status, 0);
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // One JSON object per request the proxy received (it logs before answering).
  std::vector<nlohmann::json> entries() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(testing::read_file(log_path()));
    for (std::string line; std::getline(in, line);) {
      auto json = nlohmann::json::parse(line, nullptr, false);
      REQUIRE_MESSAGE(!json.is_discarded(), "bad proxy log line: " << line);
      out.push_back(std::move(json));
    }
    return out;
  }

 private:
  std::string log_path() const { return dir_.path() + "/requests.jsonl"; }
  testing::TempDir dir_;
  testing::Child child_;
  int port_ = 0;
};

// A TCP socket on 127.0.0.1 and a free port. Bound: connections are refused, and the port stays
// ours. Listening: the kernel completes handshakes into the backlog and nobody ever answers.
// CloseAtOnce: reads the request head, then closes without answering.
class RawPort {
 public:
  enum class Mode { RefuseConnections, NeverAnswer, CloseAtOnce };
  explicit RawPort(Mode mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    if (mode == Mode::RefuseConnections) return;
    REQUIRE(::listen(fd_, 16) == 0);
    if (mode == Mode::CloseAtOnce) thread_ = std::thread([this] { close_each(); });
  }
  ~RawPort() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept() (Linux)
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  void close_each() {
    while (true) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      // Read the whole request head first, so the client is waiting for the answer when the
      // connection closes (not still writing).
      std::string head;
      char buf[1024];
      while (!contains(head, "\r\n\r\n")) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};

struct CallOptions {
  std::vector<std::string> global;   // before the command, e.g. --cacert FILE
  Env env;                           // added to the child's environment
  std::vector<std::string> command;  // after "call-api", e.g. --timeout 1
};

// The environment of a CLI run in its own HOME, built from scratch, non-interactive, no colour.
Env cli_env(const testing::TempDir& home) {
  Env env = testing::base_env();
  env["HOME"] = home.path();
  env["XDG_CONFIG_HOME"] = home.path() + "/config";
  env["NO_COLOR"] = "1";
  env["CI"] = "true";
  return env;
}

// `oauthdemo [global] call-api [command] /hello` with its own HOME and OAUTHDEMO_ACCESS_TOKEN set.
// The child environment is built from scratch, so no proxy variable of the test runner leaks in.
RunResult call_api(const std::string& api_url, const CallOptions& options = {}) {
  testing::TempDir home;
  Env env = cli_env(home);
  env["OAUTHDEMO_ACCESS_TOKEN"] = kToken;
  env["API_BASE_URL"] = api_url;
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> args{kCli};
  args.insert(args.end(), options.global.begin(), options.global.end());
  args.push_back("call-api");
  args.insert(args.end(), options.command.begin(), options.command.end());
  args.push_back("/hello");
  auto child = testing::spawn(args, env, home.path(), "cli");
  RunResult r;
  r.code = testing::wait_exit(child.pid);
  r.out = testing::read_file(child.out_path);
  r.err = testing::read_file(child.err_path);
  return r;
}

// --cacert FILE, plus proxy variables.
CallOptions cacert(const std::string& file, const Env& env = {}) { return {{"--cacert", file}, env, {}}; }

std::string hello_failed(const std::string& origin) { return "oauthdemo: error: GET " + origin + "/hello failed: "; }

const std::string kPrivateCaHint =
    "oauthdemo: hint: if the server's certificate comes from a private CA, pass --cacert FILE (PEM)\n";

void check_hello_body(const RunResult& r) {
  auto body = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_MESSAGE(!body.is_discarded(), r.out);
  CHECK(body["message"] == "hello over TLS");
  CHECK(body["bearer"] == true);
}

// The proxy log holds exactly one CONNECT to api.example.test:port, without the bearer token.
void check_one_tunnel(const ForwardProxy& proxy, int port, const std::string& proxy_auth = "none") {
  const auto entries = proxy.entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["method"] == "CONNECT");
  CHECK(entries[0]["host"] == kApiName);
  CHECK(entries[0]["port"] == port);
  CHECK(entries[0]["authorization"] == false);
  CHECK(entries[0]["proxy_auth"] == proxy_auth);
  CHECK(entries[0]["status"] == 200);
}

}  // namespace

TEST_SUITE("cli::tls") {
  TEST_CASE("with --cacert the server is verified and the bearer token is sent") {
    TlsApi api;
    for (const std::string host : {"localhost", "127.0.0.1"}) {
      CAPTURE(host);
      auto r = call_api(api.url(host), cacert(pki().ca_file));
      INFO(r.err);
      CHECK(r.code == 0);
      check_hello_body(r);
      CHECK(r.err.empty());
    }
    CHECK(api.authorizations() == std::vector<std::string>{"Bearer " + kToken, "Bearer " + kToken});
  }

  TEST_CASE("without --cacert the system CAs do not know the test CA: exit 7, nothing sent") {
    TlsApi api;
    auto r = call_api(api.url("localhost"));
    CHECK(r.code == 7);
    CHECK(r.out.empty());
    const std::string peer = "localhost:" + std::to_string(api.port());
    CHECK(r.err == hello_failed(api.url("localhost")) + "the TLS certificate of " + peer +
                       " could not be verified: unable to get local issuer certificate\n" + kPrivateCaHint);
    CHECK(api.authorizations().empty());
  }

  TEST_CASE("a --cacert of another CA: exit 7, nothing sent") {
    TlsApi api;
    auto r = call_api(api.url("127.0.0.1"), cacert(pki().other_ca_file));
    CHECK(r.code == 7);
    CHECK(r.err == hello_failed(api.url("127.0.0.1")) + "the TLS certificate of 127.0.0.1:" +
                       std::to_string(api.port()) + " could not be verified: unable to get local issuer certificate\n");
    CHECK(api.authorizations().empty());
  }

  TEST_CASE("a certificate that does not name the host: exit 7, nothing sent") {
    testing::ServerCertOptions options{.subject_alt_names = {"DNS:other.test"}};
    SUBCASE("SAN names another host") {}
    // RFC 6125 §6.4.4: with DNS names in subjectAltName the subject CN is not consulted.
    SUBCASE("SAN names another host, the subject CN names this one") { options.common_name = "localhost"; }
    TlsApi api(options);
    for (const std::string host : {"localhost", "127.0.0.1"}) {
      CAPTURE(host);
      auto r = call_api(api.url(host), cacert(pki().ca_file));
      CHECK(r.code == 7);
      CHECK(r.err == hello_failed(api.url(host)) + "the TLS certificate of " + host + ":" + std::to_string(api.port()) +
                         " could not be verified: it is not valid for the name " + host + "\n");
    }
    CHECK(api.authorizations().empty());
  }

  TEST_CASE("an expired certificate: exit 7") {
    auto options = good_names();
    options.valid_from_seconds = -2 * 24 * 3600;
    options.valid_until_seconds = -24 * 3600;
    TlsApi api(options);
    auto r = call_api(api.url("localhost"), cacert(pki().ca_file));
    CHECK(r.code == 7);
    CHECK(r.err == hello_failed(api.url("localhost")) + "the TLS certificate of localhost:" +
                       std::to_string(api.port()) + " could not be verified: certificate has expired\n");
    CHECK(api.authorizations().empty());
  }

  TEST_CASE("a --cacert without certificates: exit 7 naming the file; a missing one is a usage error") {
    TlsApi api;
    auto r = call_api(api.url("localhost"), cacert(pki().not_pem_file));
    CHECK(r.code == 7);
    CHECK(r.err ==
          hello_failed(api.url("localhost")) + "could not load CA certificates from " + pki().not_pem_file + "\n");
    auto missing = call_api(api.url("localhost"), cacert(pki().dir.path() + "/no-such-ca.pem"));
    CHECK(missing.code == 2);
    CHECK(contains(missing.err, "--cacert: File does not exist: " + pki().dir.path() + "/no-such-ca.pem"));
    CHECK(api.authorizations().empty());
  }
}

TEST_SUITE("cli::proxy") {
  TEST_CASE("plain http to a non-loopback name is refused before any proxy is asked") {
    ForwardProxy proxy;
    RawPort target(RawPort::Mode::NeverAnswer);
    auto r = call_api("http://" + kApiName + ":" + std::to_string(target.port()),
                      {.env = {{"HTTP_PROXY", proxy.url()}, {"http_proxy", proxy.url()}}});
    CHECK(r.code == 1);
    CHECK(r.err == "oauthdemo: error: refusing plain http to a non-loopback host " + kApiName + "; use https\n");
    CHECK(proxy.entries().empty());
  }

  TEST_CASE("HTTPS_PROXY or https_proxy: one CONNECT to the named host, the token only inside TLS") {
    ForwardProxy proxy;
    TlsApi api;
    std::string variable;
    std::string value;
    SUBCASE("HTTPS_PROXY") {
      variable = "HTTPS_PROXY";
      value = proxy.url();
    }
    SUBCASE("https_proxy") {
      variable = "https_proxy";
      value = proxy.url();
    }
    SUBCASE("HTTPS_PROXY without a scheme") {
      variable = "HTTPS_PROXY";
      value = "127.0.0.1:" + std::to_string(proxy.port());
    }
    auto r = call_api(api.url(kApiName), cacert(pki().ca_file, {{variable, value}}));
    INFO(r.err);
    CHECK(r.code == 0);
    check_hello_body(r);
    check_one_tunnel(proxy, api.port());
    CHECK(api.authorizations() == std::vector<std::string>{"Bearer " + kToken});
  }

  TEST_CASE("NO_PROXY entries that do not match the host leave the proxy in use") {
    ForwardProxy proxy;
    TlsApi api;
    auto r = call_api(api.url(kApiName),
                      cacert(pki().ca_file, {{"HTTPS_PROXY", proxy.url()},
                                             {"NO_PROXY", "other.test, .example.org,example.test:1,10.0.0.1"}}));
    INFO(r.err);
    CHECK(r.code == 0);
    check_one_tunnel(proxy, api.port());
  }

  TEST_CASE("loopback targets bypass the proxy whatever the environment says") {
    ForwardProxy proxy;
    TlsApi api;
    const Env env{{"HTTPS_PROXY", proxy.url()}, {"https_proxy", proxy.url()}};
    for (const std::string host : {"localhost", "127.0.0.1"}) {
      CAPTURE(host);
      auto r = call_api(api.url(host), cacert(pki().ca_file, env));
      INFO(r.err);
      CHECK(r.code == 0);
      check_hello_body(r);
    }
    CHECK(proxy.entries().empty());
    CHECK(api.authorizations().size() == 2);
  }

  TEST_CASE("credentials in the proxy URL are sent as Proxy-Authorization; without them the proxy answers 407") {
    ForwardProxy proxy("tunnel-user:s3cret@pw");
    TlsApi api;
    const std::string proxy_host = "127.0.0.1:" + std::to_string(proxy.port());
    SUBCASE("right credentials") {
      auto r = call_api(api.url(kApiName),
                        cacert(pki().ca_file, {{"HTTPS_PROXY", "http://tunnel-user:s3cret%40pw@" + proxy_host}}));
      INFO(r.err);
      CHECK(r.code == 0);
      check_hello_body(r);
      check_one_tunnel(proxy, api.port(), "ok");
      CHECK(api.authorizations().size() == 1);
    }
    SUBCASE("no or wrong credentials") {
      const std::string refused = hello_failed(api.url(kApiName)) + "the proxy " + proxy.url() +
                                  " (from HTTPS_PROXY) refused the tunnel to " + kApiName + ":" +
                                  std::to_string(api.port()) + " with HTTP 407 (proxy authentication required)\n";
      auto none = call_api(api.url(kApiName), cacert(pki().ca_file, {{"HTTPS_PROXY", proxy.url()}}));
      CHECK(none.code == 7);
      CHECK(none.err == refused);
      auto wrong = call_api(api.url(kApiName),
                            cacert(pki().ca_file, {{"HTTPS_PROXY", "http://tunnel-user:not-the-pw@" + proxy_host}}));
      CHECK(wrong.code == 7);
      CHECK(wrong.err == refused);
      const auto entries = proxy.entries();
      REQUIRE(entries.size() == 2);
      CHECK(entries[0]["proxy_auth"] == "missing");
      CHECK(entries[1]["proxy_auth"] == "wrong");
      CHECK(entries[1]["status"] == 407);
      CHECK(api.authorizations().empty());
    }
  }

  TEST_CASE("a proxy URL that is not a valid URL: exit 1 naming the variable") {
    TlsApi api;
    auto r = call_api(api.url(kApiName), cacert(pki().ca_file, {{"HTTPS_PROXY", "http://127.0.0.1:notaport"}}));
    CHECK(r.code == 1);
    CHECK(r.err ==
          "oauthdemo: error: HTTPS_PROXY (http://127.0.0.1:notaport) is not a valid proxy URL: URL port must "
          "be a number from 0 to 65535\n");
    auto tls = call_api(api.url(kApiName), cacert(pki().ca_file, {{"https_proxy", "https://127.0.0.1:3128"}}));
    CHECK(tls.code == 1);
    CHECK(contains(tls.err,
                   "oauthdemo: error: https_proxy (https://127.0.0.1:3128): https:// proxies are not supported"));
    CHECK(api.authorizations().empty());
  }

  TEST_CASE("a proxy that is down: exit 7 naming the proxy") {
    RawPort down(RawPort::Mode::RefuseConnections);
    TlsApi api;
    const std::string proxy_url = "http://127.0.0.1:" + std::to_string(down.port());
    auto r = call_api(api.url(kApiName), cacert(pki().ca_file, {{"HTTPS_PROXY", proxy_url}}));
    CHECK(r.code == 7);
    CHECK(r.err ==
          hello_failed(api.url(kApiName)) + "could not connect to the proxy " + proxy_url + " (from HTTPS_PROXY)\n");
  }

  TEST_CASE("a proxy that cannot reach the server refuses the tunnel: exit 7") {
    ForwardProxy proxy;
    RawPort down(RawPort::Mode::RefuseConnections);
    const std::string target = "https://" + kApiName + ":" + std::to_string(down.port());
    auto r = call_api(target, cacert(pki().ca_file, {{"HTTPS_PROXY", proxy.url()}}));
    CHECK(r.code == 7);
    CHECK(r.err == hello_failed(target) + "the proxy " + proxy.url() + " (from HTTPS_PROXY) refused the tunnel to " +
                       kApiName + ":" + std::to_string(down.port()) + " with HTTP 502\n");
    const auto entries = proxy.entries();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0]["status"] == 502);
  }
}

TEST_SUITE("cli::timeout") {
  TEST_CASE("a server that accepts and never answers: exit 7 with a timeout message") {
    RawPort silent(RawPort::Mode::NeverAnswer);
    const std::string peer = "127.0.0.1:" + std::to_string(silent.port());
    SUBCASE("http: the answer never comes") {
      auto r = call_api("http://" + peer, {.command = {"--timeout", "1"}});
      CHECK(r.code == 7);
      CHECK(r.err == hello_failed("http://" + peer) + "no answer from " + peer + " within 1 s\n");
    }
    SUBCASE("https: the TLS handshake never comes") {
      auto r = call_api("https://" + peer, {.global = {"--cacert", pki().ca_file}, .command = {"--timeout", "1"}});
      CHECK(r.code == 7);
      CHECK(r.err == hello_failed("https://" + peer) + "no TLS handshake with " + peer + " within 1 s\n");
    }
  }

  TEST_CASE("OAUTHDEMO_HTTP_TIMEOUT bounds a whole call: a dripping or silent server ends at it, exit 8") {
    for (auto mode : {testing::FaultyServer::Mode::DripHeaders, testing::FaultyServer::Mode::DripBody,
                      testing::FaultyServer::Mode::Silent}) {
      CAPTURE(static_cast<int>(mode));
      testing::FaultyServer server(mode);
      const std::string peer = "127.0.0.1:" + std::to_string(server.port());
      const auto started = std::chrono::steady_clock::now();
      auto r = call_api("http://" + peer, {.env = {{"OAUTHDEMO_HTTP_TIMEOUT", "1"}}, .command = {"--timeout", "10"}});
      CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));  // the server drips for 20 s
      CHECK(r.code == 8);
      CHECK(r.err == hello_failed("http://" + peer) + "no complete answer from " + peer + " within 1 s\n");
    }
  }

  TEST_CASE("discovery against a dripping issuer ends at the deadline too") {
    testing::FaultyServer server(testing::FaultyServer::Mode::DripBody);
    testing::TempDir home;
    Env env = cli_env(home);
    env["ISSUER_BASE_URL"] = server.base_url() + "/";
    env["AUTH0_CLIENT_ID"] = "cli";
    env["OAUTHDEMO_CLIENT_SECRET"] = "not-a-real-secret";
    env["OAUTHDEMO_HTTP_TIMEOUT"] = "1";
    const auto started = std::chrono::steady_clock::now();
    auto child = testing::spawn({kCli, "login", "--client-credentials"}, env, home.path(), "cli");
    const int code = testing::wait_exit(child.pid);
    const std::string err = testing::read_file(child.err_path);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
    CHECK(code == 8);
    CHECK_MESSAGE(err.find("no complete answer from 127.0.0.1:" + std::to_string(server.port()) + " within 1 s") !=
                      std::string::npos,
                  err);
  }

  TEST_CASE("OAUTHDEMO_HTTP_TIMEOUT must be whole seconds from 1 to 600") {
    auto r = call_api("http://127.0.0.1:1", {.env = {{"OAUTHDEMO_HTTP_TIMEOUT", "0"}}});
    CHECK(r.code == 1);
    CHECK(r.err ==
          "oauthdemo: error: OAUTHDEMO_HTTP_TIMEOUT (environment variable OAUTHDEMO_HTTP_TIMEOUT) must be whole seconds "
          "from 1 to 600, not \"0\"\n");
  }

  TEST_CASE("a server that closes the connection without answering is not reported as a timeout") {
    RawPort closing(RawPort::Mode::CloseAtOnce);
    const std::string peer = "127.0.0.1:" + std::to_string(closing.port());
    auto r = call_api("http://" + peer, {.command = {"--timeout", "60"}});
    CHECK(r.code == 7);
    CHECK(r.err == hello_failed("http://" + peer) + "the connection to " + peer + " closed before a complete answer\n");
  }

  TEST_CASE("--timeout takes 1 to 3600 seconds") {
    RawPort silent(RawPort::Mode::NeverAnswer);
    for (const std::string bad : {"0", "3601", "soon"}) {
      CAPTURE(bad);
      auto r = call_api("http://127.0.0.1:" + std::to_string(silent.port()), {.command = {"--timeout", bad}});
      CHECK(r.code == 2);
      CHECK(contains(r.err, "--timeout"));
    }
  }
}
