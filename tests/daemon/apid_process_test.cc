// The real oauthdemo-apid binary: ready file, sd_notify (a test NOTIFY_SOCKET), SIGTERM with a
// request in flight, SIGHUP reload, snapshot restart while the provider is down, fail-fast
// settings. The binary's path comes from CMake (OAUTHDEMO_APID_BINARY).
#include <fcntl.h>
#include <sys/prctl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <doctest/doctest.h>

#include "daemon/settings.h"
#include "daemon_test_support.h"
#include "support/raw_http_client.h"
#include "support/temp_dir.h"

extern char** environ;

namespace oauthdemo::daemon {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::key_for;
namespace fs = std::filesystem;

const jose::SigningKey& rsa1() { return key_for(jose::Alg::RS256, "rsa1"); }
const jose::SigningKey& rsa2() { return key_for(jose::Alg::RS256, "rsa2"); }

// A fresh directory per test, removed at the end (declare it before the processes using it).
struct TempDir {
  testing::TempDir dir;
  fs::path path{dir.path()};
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An AF_UNIX datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& dir) : path_((dir / "notify.sock").string()) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

  // Reads every datagram that arrives within `wait`.
  void pump(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(wait.count())) > 0) {
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) messages_.emplace_back(buf, static_cast<std::size_t>(n));
      wait = 0ms;
    }
  }
  // Waits until some message contains `needle`; returns its index or -1.
  int wait_for(const std::string& needle, std::size_t from = 0, std::chrono::milliseconds deadline = 15000ms) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      for (std::size_t i = from; i < messages_.size(); ++i)
        if (messages_[i].find(needle) != std::string::npos) return static_cast<int>(i);
      if (std::chrono::steady_clock::now() >= end) return -1;
      pump(20ms);
    }
  }
  bool any_contains(const std::string& needle) {
    pump(0ms);
    for (const auto& m : messages_)
      if (m.find(needle) != std::string::npos) return true;
    return false;
  }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

// One oauthdemo-apid child process.
class Apid {
 public:
  Apid(const fs::path& dir, std::vector<std::string> args, const std::string& notify_socket = "",
       std::vector<std::string> extra_env = {})
      : ready_file_(dir / ("ready-" + std::to_string(++starts_) + ".json")), stderr_file_(dir / ("stderr-" + std::to_string(starts_) + ".txt")) {
    fs::remove(ready_file_);
    std::vector<std::string> argv_s = {OAUTHDEMO_APID_BINARY, "--host", "127.0.0.1", "--ready-file",
                                       ready_file_.string()};
    if (std::find(args.begin(), args.end(), "--port") == args.end()) argv_s.insert(argv_s.end(), {"--port", "0"});
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      const auto name = kv.substr(0, kv.find('='));
      if (name == "NOTIFY_SOCKET" || name == "WATCHDOG_USEC" || name == "WATCHDOG_PID") continue;
      bool ours = false;
      for (const auto& spec : setting_specs()) ours = ours || name == spec.name;
      if (!ours) env_s.push_back(kv);
    }
    if (!notify_socket.empty()) env_s.push_back("NOTIFY_SOCKET=" + notify_socket);
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string err = stderr_file_.string();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // A test binary killed from outside (ctest timeout) must not leave its daemon running.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) ::dup2(fd, 2);
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
  }
  ~Apid() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Waits for the ready file; returns false if the process exits first.
  bool wait_ready(std::chrono::milliseconds deadline = 20000ms) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      if (fs::exists(ready_file_)) {
        auto doc = json::parse(read_file(ready_file_), nullptr, false);
        if (!doc.is_discarded()) {
          port_ = doc["port"].get<int>();
          CHECK(doc["pid"].get<int>() == pid_);
          CHECK(doc["url"] == "http://127.0.0.1:" + std::to_string(port_) + "/");
          return true;
        }
      }
      if (exited()) return false;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  bool exited() {
    if (exited_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return exited_;
  }
  // Waits for exit; returns the exit code or -1 on timeout.
  int wait_exit(std::chrono::milliseconds deadline = 20000ms) {
    return test::eventually([this] { return exited(); }, deadline) ? exit_code_ : -1;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string stderr_text() const { return read_file(stderr_file_); }

  httplib::Result get(const std::string& path, const std::string& token = "") {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(30s);
    client.set_connection_timeout(2s);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client.Get(path.c_str(), headers);
  }

 private:
  static inline int starts_ = 0;
  fs::path ready_file_;
  fs::path stderr_file_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
  int exit_code_ = -1;
};

// A raw keep-alive HTTP/1.1 connection, so a test can tell whether the server kept it open.
// A keep-alive connection that sends GETs and reports each answer's status line.
class RawConnection {
 public:
  explicit RawConnection(int port) : client_(port) { REQUIRE(client_.connected()); }
  std::string get(const std::string& path) { return client_.get_status_line(path); }

 private:
  oauthdemo::testing::RawHttpClient client_;
};

std::vector<std::string> base_args(const test::FakeProvider& idp, const fs::path& dir) {
  const auto env = dir / "apid.env";
  if (!fs::exists(env)) std::ofstream(env) << "";
  return {"--issuer", idp.issuer(), "--audience", test::kAudience, "--env-file", env.string()};
}

std::string token_for(const test::FakeProvider& idp, const jose::SigningKey& key = rsa1()) {
  return test::mint(key, test::claims_for(idp.issuer()));
}

TEST_SUITE("apid process") {
  TEST_CASE("READY=1 only after keys load; 503 + Retry-After before; SIGTERM sends STOPPING=1 and exits 0") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    idp.set_status(503);
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    NotifySocket notify(dir);
    auto args = base_args(idp, dir);
    args.insert(args.end(), {"--ready-when", "listening"});
    Apid apid(dir, args, notify.path());
    REQUIRE(apid.wait_ready());
    auto ready = apid.get("/readyz");
    REQUIRE(ready);
    CHECK(ready->status == 503);
    auto hello = apid.get("/hello", token_for(idp));
    REQUIRE(hello);
    CHECK(hello->status == 503);
    CHECK(hello->get_header_value("Retry-After") == "5");
    CHECK(json::parse(hello->body)["error"] == "temporarily_unavailable");
    REQUIRE(notify.wait_for("STATUS=listening on") >= 0);
    CHECK_FALSE(notify.any_contains("READY=1"));

    idp.set_status(200);
    REQUIRE(test::eventually([&] { return apid.get("/readyz")->status == 200; }, 20000ms));
    const int ready_at = notify.wait_for("READY=1");
    REQUIRE(ready_at >= 0);
    CHECK(notify.messages()[static_cast<std::size_t>(ready_at)].find("STATUS=listening on") != std::string::npos);
    CHECK(apid.get("/hello", token_for(idp))->status == 200);

    apid.signal(SIGTERM);
    CHECK(notify.wait_for("STOPPING=1", static_cast<std::size_t>(ready_at)) > ready_at);
    CHECK(apid.wait_exit() == 0);
    CHECK(apid.stderr_text().find("oauthdemo-apid listening on http://127.0.0.1:") != std::string::npos);
  }

  TEST_CASE("SIGTERM with a request in flight: no new connections, the request completes, exit 0") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    NotifySocket notify(dir);
    Apid apid(dir, base_args(idp, dir), notify.path());
    REQUIRE(apid.wait_ready());
    REQUIRE(notify.wait_for("READY=1") >= 0);
    // A token with a new kid makes the daemon refetch; the provider holds that answer.
    idp.set_keys({&rsa1(), &rsa2()});
    idp.hold();
    const auto token = token_for(idp, rsa2());
    auto in_flight = std::async(std::launch::async, [&] { return apid.get("/hello", token); });
    REQUIRE(test::eventually([&] { return idp.waiting() == 1; }));
    apid.signal(SIGTERM);
    REQUIRE(notify.wait_for("STOPPING=1") >= 0);
    CHECK_FALSE(apid.exited());
    REQUIRE(test::eventually([&] {
      httplib::Client c("127.0.0.1", apid.port());
      c.set_connection_timeout(1s);
      return !c.Get("/healthz");
    }));
    idp.release();
    auto r = in_flight.get();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(apid.wait_exit() == 0);
  }

  TEST_CASE("SIGHUP reloads settings and keys: RELOADING=1 then READY=1, in-flight request completes") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    NotifySocket notify(dir);
    Apid apid(dir, base_args(idp, dir), notify.path());
    REQUIRE(apid.wait_ready());
    const int first_ready = notify.wait_for("READY=1");
    REQUIRE(first_ready >= 0);
    const auto bob = token_for(idp);  // permissions: read:messages only
    CHECK(apid.get("/admin", bob)->status == 403);

    std::ofstream(dir / "apid.env") << "REQUIRED_PERMISSION_ADMIN=read:messages\n";
    idp.set_keys({&rsa1(), &rsa2()});
    idp.hold();
    auto in_flight = std::async(std::launch::async, [&] { return apid.get("/hello", token_for(idp, rsa2())); });
    REQUIRE(test::eventually([&] { return idp.waiting() == 1; }));
    apid.signal(SIGHUP);
    const int reloading = notify.wait_for("RELOADING=1", static_cast<std::size_t>(first_ready) + 1);
    REQUIRE(reloading > first_ready);
    CHECK(notify.messages()[static_cast<std::size_t>(reloading)].find("MONOTONIC_USEC=") != std::string::npos);
    idp.release();
    auto r = in_flight.get();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(notify.wait_for("READY=1", static_cast<std::size_t>(reloading) + 1) > reloading);
    CHECK(apid.get("/admin", bob)->status == 200);

    // A bad reload keeps the previous settings.
    std::ofstream(dir / "apid.env") << "LEEWAY=999\n";
    const auto before = notify.messages().size();
    apid.signal(SIGHUP);
    const int failed = notify.wait_for("reload failed", before);
    REQUIRE(failed >= 0);
    CHECK(notify.messages()[static_cast<std::size_t>(failed)].find("READY=1") != std::string::npos);
    CHECK(apid.get("/admin", bob)->status == 200);
    CHECK(apid.get("/hello", bob)->status == 200);
    apid.signal(SIGTERM);
    CHECK(apid.wait_exit() == 0);
  }

  TEST_CASE("WATCHDOG=1 pings when WATCHDOG_USEC is set") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    NotifySocket notify(dir);
    Apid apid(dir, base_args(idp, dir), notify.path(), {"WATCHDOG_USEC=200000"});
    REQUIRE(apid.wait_ready());
    const int first = notify.wait_for("WATCHDOG=1");
    REQUIRE(first >= 0);
    CHECK(notify.wait_for("WATCHDOG=1", static_cast<std::size_t>(first) + 1) > first);
    apid.signal(SIGTERM);
    CHECK(apid.wait_exit() == 0);
  }

  TEST_CASE("without WATCHDOG_USEC there are no watchdog pings") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    NotifySocket notify(dir);
    Apid apid(dir, base_args(idp, dir), notify.path());
    REQUIRE(apid.wait_ready());
    REQUIRE(notify.wait_for("READY=1") >= 0);
    apid.signal(SIGTERM);
    REQUIRE(notify.wait_for("STOPPING=1") >= 0);
    CHECK(apid.wait_exit() == 0);
    CHECK_FALSE(notify.any_contains("WATCHDOG=1"));
  }

  TEST_CASE("SIGHUP keeps keep-alive connections open") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    NotifySocket notify(dir);
    Apid apid(dir, base_args(idp, dir), notify.path());
    REQUIRE(apid.wait_ready());
    const int ready = notify.wait_for("READY=1");
    REQUIRE(ready >= 0);
    RawConnection conn(apid.port());
    CHECK(conn.get("/healthz") == "HTTP/1.1 200 OK");
    apid.signal(SIGHUP);
    const int reloading = notify.wait_for("RELOADING=1", static_cast<std::size_t>(ready) + 1);
    REQUIRE(reloading > ready);
    REQUIRE(notify.wait_for("READY=1", static_cast<std::size_t>(reloading) + 1) > reloading);
    CHECK(conn.get("/healthz") == "HTTP/1.1 200 OK");
    CHECK(conn.get("/readyz") == "HTTP/1.1 200 OK");
    apid.signal(SIGTERM);
    CHECK(apid.wait_exit() == 0);
  }

  TEST_CASE("a persisted key set lets a restart work while the provider is down") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    auto args = base_args(idp, dir);
    args.insert(args.end(), {"--jwks-uri", idp.jwks_uri(), "--jwks-cache-file", (dir / "jwks.json").string()});
    {
      Apid apid(dir, args);
      REQUIRE(apid.wait_ready());
      CHECK(apid.get("/hello", token_for(idp))->status == 200);
      apid.signal(SIGTERM);
      REQUIRE(apid.wait_exit() == 0);
    }
    REQUIRE(fs::exists(dir / "jwks.json"));
    const auto token = token_for(idp);
    idp.stop();
    Apid again(dir, args);
    REQUIRE(again.wait_ready());
    CHECK(again.get("/readyz")->status == 200);
    CHECK(again.get("/hello", token)->status == 200);
    again.signal(SIGTERM);
    CHECK(again.wait_exit() == 0);
  }

  TEST_CASE("discovery-configured: a restart during an outage uses the snapshot's JWKS URI") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    auto args = base_args(idp, dir);  // --issuer only: the JWKS URI comes from discovery
    args.insert(args.end(), {"--jwks-cache-file", (dir / "jwks.json").string()});
    {
      Apid apid(dir, args);
      REQUIRE(apid.wait_ready());
      apid.signal(SIGTERM);
      REQUIRE(apid.wait_exit() == 0);
    }
    const auto token = token_for(idp);
    idp.stop();
    Apid again(dir, args);
    REQUIRE(again.wait_ready());
    CHECK(again.get("/hello", token)->status == 200);
    again.signal(SIGTERM);
    CHECK(again.wait_exit() == 0);
    CHECK(again.stderr_text().find("using the JWKS URI from " + (dir / "jwks.json").string()) != std::string::npos);
  }

  TEST_CASE("the Auth0 trailing-slash mistake fails fast with a pointed message") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    NotifySocket notify(dir);
    std::string issuer = idp.issuer();
    issuer.pop_back();
    Apid apid(dir, {"--issuer", issuer, "--audience", test::kAudience, "--env-file", "/dev/null"}, notify.path());
    CHECK(apid.wait_exit() == 1);
    const std::string message = "discovery says issuer \"" + idp.issuer() + "\" but ISSUER_BASE_URL is \"" + issuer +
                                "\" \xE2\x80\x94 Auth0 issuers end with \"/\"";
    CHECK(apid.stderr_text().find("oauthdemo-apid: " + message + "\n") != std::string::npos);
    CHECK(notify.wait_for("STATUS=configuration error: " + message) >= 0);
  }

  TEST_CASE("a second daemon on the port of a running one fails at start, naming the holder") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    Apid first(dir, base_args(idp, dir));
    REQUIRE(first.wait_ready());
    auto args = base_args(idp, dir);
    args.insert(args.end(), {"--port", std::to_string(first.port())});
    Apid second(dir, args);
    CHECK(second.wait_exit() == 1);
    CHECK(second.stderr_text().find("oauthdemo-apid: port " + std::to_string(first.port()) +
                                    " on 127.0.0.1 is in use by pid " + std::to_string(first.pid()) +
                                    " (oauthdemo-apid); stop that program or choose another port with --port or "
                                    "BACKEND_PORT\n") != std::string::npos);
    // Every answer still comes from the first daemon.
    for (int i = 0; i < 6; ++i) CHECK(first.get("/hello", token_for(idp))->status == 200);
  }

  TEST_CASE("a bad setting fails fast naming the setting") {
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    Apid apid(dir, {"--auth0-domain", "t.auth0.com", "--audience", "a", "--leeway", "999", "--env-file", "/dev/null"});
    CHECK(apid.wait_exit() == 1);
    CHECK(apid.stderr_text() == "oauthdemo-apid: LEEWAY (--leeway): 999 is not between 0 and 300\n");
  }

  TEST_CASE("JSON access log lines") {
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    TempDir tmp_dir;
    const fs::path& dir = tmp_dir.path;
    auto args = base_args(idp, dir);
    args.insert(args.end(), {"--log-format", "json"});
    Apid apid(dir, args);
    REQUIRE(apid.wait_ready());
    const auto token = token_for(idp);
    CHECK(apid.get("/hello", token)->status == 200);
    apid.signal(SIGTERM);
    REQUIRE(apid.wait_exit() == 0);
    bool found = false;
    std::istringstream lines(apid.stderr_text());
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("{")) continue;
      auto doc = json::parse(line, nullptr, false);
      REQUIRE_FALSE(doc.is_discarded());
      if (doc.contains("path") && doc["path"] == "/hello") {
        found = true;
        CHECK(doc["status"] == 200);
        CHECK(doc["sub"] == "auth0|alice");
        CHECK(doc["method"] == "GET");
      }
    }
    CHECK(found);
    CHECK(apid.stderr_text().find(token.substr(token.size() - 30)) == std::string::npos);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
