// The real oauthdemo-devidp binary and scripts/devidp-browser.sh as child processes.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "idp_fixture.h"
#include "support/loopback_server.h"
#include "support/temp_dir.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp::testing;
namespace fs = std::filesystem;

extern char** environ;

namespace {

struct TempDir {
  testing::TempDir dir;
  fs::path path{dir.path()};
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// fork + execve with extra environment; stdout/stderr to `log` when given.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, const fs::path& log) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  const int fd = log.empty() ? -1 : ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execve(argp[0], argp.data(), envp.data());
    ::_exit(127);
  }
  if (fd >= 0) ::close(fd);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

template <typename Pred>
bool wait_until(Pred pred, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// One oauthdemo-devidp process on a random port, stopped with SIGTERM.
class IdpProcess {
 public:
  explicit IdpProcess(std::vector<std::string> extra_args = {}, std::vector<std::string> env = {}) {
    ready_ = dir_.path / "ready.json";
    log_ = dir_.path / "devidp.log";
    std::vector<std::string> argv{OAUTHDEMO_DEVIDP_BINARY, "--port", "0", "--ready-file", ready_.string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    env.push_back("DEVIDP_CI_CLIENT_SECRET=" + kCiSecret);
    pid_ = spawn(argv, env, log_);
    if (!wait_until([&] { return fs::exists(ready_); })) throw std::runtime_error("devidp did not become ready");
    ready_json_ = nlohmann::json::parse(read_file(ready_));
    port_ = ready_json_["port"];
  }
  ~IdpProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      wait_exit(pid_);
    }
  }
  int stop(int sig = SIGTERM) {
    ::kill(pid_, sig);
    const int rc = wait_exit(pid_);
    pid_ = -1;
    return rc;
  }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string url() const { return ready_json_["url"]; }
  const nlohmann::json& ready() const { return ready_json_; }
  std::string log() const { return read_file(log_); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }

 private:
  TempDir dir_;
  fs::path ready_;
  fs::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
  nlohmann::json ready_json_;
};

int run_browser(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> argv{"/bin/bash", OAUTHDEMO_DEVIDP_BROWSER};
  argv.insert(argv.end(), args.begin(), args.end());
  return wait_exit(spawn(argv, {}, log));
}

// The loopback receiver the CLI would run: records the callback query.
struct Callback {
  std::mutex mu;
  std::string query;
  oauthdemo::testing::LoopbackServer server{[this](httplib::Server& s) {
    s.Get("/callback", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu);
      const auto q = req.target.find('?');
      query = q == std::string::npos ? "" : req.target.substr(q);
      res.set_content("ok", "text/plain");
    });
  }};
  std::string redirect_uri() const { return server.base_url() + "/callback"; }
  std::string get() {
    std::lock_guard lock(mu);
    return query;
  }
};

std::string authorize_url(const IdpProcess& idp, const std::string& redirect_uri) {
  AuthorizeParams p;
  p.redirect_uri = redirect_uri;
  return idp.url() + authorize_path(p).substr(1);
}

}  // namespace

TEST_SUITE("devidp::binary") {
  TEST_CASE("--help says it is a development server, not for production") {
    TempDir dir;
    const int rc = wait_exit(spawn({OAUTHDEMO_DEVIDP_BINARY, "--help"}, {}, dir.path / "out"));
    CHECK(rc == 0);
    const std::string out = read_file(dir.path / "out");
    CHECK(out.find("NOT FOR PRODUCTION") != std::string::npos);
    CHECK(out.find("--device-code-ttl") != std::string::npos);
  }

  TEST_CASE("writes the ready file, serves discovery, rotates on SIGUSR1 and exits 0 on SIGTERM") {
    IdpProcess idp;
    CHECK(idp.url() == "http://127.0.0.1:" + std::to_string(idp.port()) + "/");
    CHECK(idp.ready()["issuer"] == idp.url());
    CHECK(idp.ready()["pid"] == idp.pid());
    auto c = idp.client();
    auto doc = json_of(c.Get("/.well-known/openid-configuration"));
    CHECK(doc["issuer"] == idp.url());
    CHECK(json_of(c.Get("/.well-known/jwks.json"))["keys"].size() == 1);
    ::kill(idp.pid(), SIGUSR1);
    CHECK(wait_until([&] { return json_of(c.Get("/.well-known/jwks.json"))["keys"].size() == 2; }));
    const std::string log = idp.log();
    CHECK(log.find("listening on 127.0.0.1:" + std::to_string(idp.port())) != std::string::npos);
    CHECK(log.find("signing key rotated") != std::string::npos);
    CHECK(idp.stop() == 0);
  }

  TEST_CASE("a second devidp on the port of a running one fails at start, naming the holder") {
    IdpProcess first;
    TempDir dir;
    const pid_t second =
        spawn({OAUTHDEMO_DEVIDP_BINARY, "--port", std::to_string(first.port())},
              {"DEVIDP_CI_CLIENT_SECRET=" + kCiSecret}, dir.path / "out");
    CHECK(wait_exit(second) == 1);
    CHECK(read_file(dir.path / "out") == "oauthdemo-devidp: port " + std::to_string(first.port()) +
                                             " on 127.0.0.1 is in use by pid " + std::to_string(first.pid()) +
                                             " (oauthdemo-devidp); stop that program or choose another port with "
                                             "--port\n");
    CHECK(json_of(first.client().Get("/.well-known/openid-configuration"))["issuer"] == first.url());
  }

  TEST_CASE("usage errors start with the program's name, suggest the nearest flag and exit 2") {
    TempDir dir;
    CHECK(wait_exit(spawn({OAUTHDEMO_DEVIDP_BINARY, "--prot", "0"}, {}, dir.path / "out")) == 2);
    CHECK(read_file(dir.path / "out") ==
          "oauthdemo-devidp: error: unknown option '--prot'; did you mean --port?\n"
          "oauthdemo-devidp: run 'oauthdemo-devidp --help' for the usage\n");
    CHECK(wait_exit(spawn({OAUTHDEMO_DEVIDP_BINARY, "--port", "70000"}, {}, dir.path / "out")) == 2);
    CHECK(read_file(dir.path / "out") ==
          "oauthdemo-devidp: error: --port: Value 70000 not in range 0 to 65535\n"
          "oauthdemo-devidp: run 'oauthdemo-devidp --help' for the usage\n");
  }

  TEST_CASE("SIGINT also stops it with exit 0; --host ::1 gives a bracketed issuer") {
    IdpProcess idp({"--host", "::1"});
    CHECK(idp.url() == "http://[::1]:" + std::to_string(idp.port()) + "/");
    httplib::Client c("::1", idp.port());
    auto doc = json_of(c.Get("/.well-known/openid-configuration"));
    CHECK(doc["issuer"] == idp.url());
    CHECK(idp.stop(SIGINT) == 0);
  }

  TEST_CASE("--key-file creates a 0600 key and reuses it (same kid) on restart") {
    TempDir dir;
    const fs::path key = dir.path / "key.pem";
    std::string kid;
    {
      IdpProcess idp({"--key-file", key.string()});
      auto c = idp.client();
      kid = json_of(c.Get("/.well-known/jwks.json"))["keys"][0]["kid"];
    }
    struct stat st {};
    REQUIRE(::stat(key.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    IdpProcess again({"--key-file", key.string()});
    auto c = again.client();
    CHECK(json_of(c.Get("/.well-known/jwks.json"))["keys"][0]["kid"] == kid);
  }

  TEST_CASE("devidp-browser.sh logs in and delivers the code to the loopback callback") {
    IdpProcess idp;
    Callback cb;
    TempDir dir;
    CHECK(run_browser({authorize_url(idp, cb.redirect_uri())}, dir.path / "browser.log") == 0);
    const std::string query = cb.get();
    REQUIRE_FALSE(query.empty());
    CHECK(qparam(query, "state") == "state-123");
    auto c = idp.client();
    auto res = post_form(c, "/oauth/token",
                         {{"grant_type", "authorization_code"}, {"client_id", kCliClient}, {"code", qparam(query, "code")},
                          {"redirect_uri", cb.redirect_uri()}, {"code_verifier", kVerifier}});
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(jwt_claims(json_of(res)["access_token"])["sub"] == "auth0|alice");
  }

  TEST_CASE("devidp-browser.sh --deny delivers access_denied; a wrong password fails") {
    IdpProcess idp;
    Callback cb;
    TempDir dir;
    SUBCASE("deny") {
      CHECK(run_browser({"--deny", authorize_url(idp, cb.redirect_uri())}, dir.path / "browser.log") == 0);
      CHECK(qparam(cb.get(), "error") == "access_denied");
    }
    SUBCASE("wrong password") {
      CHECK(run_browser({"--user", "bob", "--password", "nope", authorize_url(idp, cb.redirect_uri())},
                        dir.path / "browser.log") == 1);
      CHECK(read_file(dir.path / "browser.log").find("login failed: wrong username or password") != std::string::npos);
      CHECK(cb.get().empty());
    }
  }

  TEST_CASE("devidp-browser.sh delivers /authorize errors to the callback and reports error pages") {
    IdpProcess idp;
    Callback cb;
    TempDir dir;
    SUBCASE("error redirect") {
      AuthorizeParams p;
      p.redirect_uri = cb.redirect_uri();
      p.scope = "openid nope";
      CHECK(run_browser({idp.url() + authorize_path(p).substr(1)}, dir.path / "browser.log") == 0);
      CHECK(qparam(cb.get(), "error") == "invalid_scope");
    }
    SUBCASE("error page") {
      AuthorizeParams p;
      p.redirect_uri = cb.redirect_uri() + "/other";
      CHECK(run_browser({idp.url() + authorize_path(p).substr(1)}, dir.path / "browser.log") == 1);
      CHECK(read_file(dir.path / "browser.log").find("answered HTTP 400") != std::string::npos);
      CHECK(cb.get().empty());
    }
  }

  TEST_CASE("devidp-browser.sh approves a device through /activate") {
    IdpProcess idp({"--device-interval", "0"});
    auto c = idp.client();
    auto start = json_of(post_form(c, "/oauth/device/code", {{"client_id", kCliClient}, {"scope", "openid offline_access"}}));
    REQUIRE(start["verification_uri_complete"].is_string());
    TempDir dir;
    CHECK(run_browser({"--user", "bob", start["verification_uri_complete"]}, dir.path / "browser.log") == 0);
    CHECK(read_file(dir.path / "browser.log").find("Device approved") != std::string::npos);
    auto res = post_form(c, "/oauth/token",
                         {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"}, {"client_id", kCliClient},
                          {"device_code", start["device_code"]}});
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(jwt_claims(json_of(res)["access_token"])["sub"] == "auth0|bob");
  }

  TEST_CASE("--device-code-ttl makes device codes expire") {
    IdpProcess idp({"--device-code-ttl", "1", "--device-interval", "0"});
    auto c = idp.client();
    auto start = json_of(post_form(c, "/oauth/device/code", {{"client_id", kCliClient}, {"scope", "openid"}}));
    CHECK(start["expires_in"] == 1);
    CHECK(wait_until([&] {
      auto res = post_form(c, "/oauth/token",
                           {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"}, {"client_id", kCliClient},
                            {"device_code", start["device_code"]}});
      return json_of(res).value("error", "") == "expired_token";
    }));
  }

  TEST_CASE("the request log never contains codes or tokens") {
    IdpProcess idp;
    Callback cb;
    TempDir dir;
    REQUIRE(run_browser({authorize_url(idp, cb.redirect_uri())}, dir.path / "browser.log") == 0);
    const std::string code = qparam(cb.get(), "code");
    REQUIRE_FALSE(code.empty());
    auto c = idp.client();
    auto tokens = json_of(post_form(c, "/oauth/token",
                                    {{"grant_type", "authorization_code"}, {"client_id", kCliClient}, {"code", code},
                                     {"redirect_uri", cb.redirect_uri()}, {"code_verifier", kVerifier}}));
    REQUIRE(tokens["refresh_token"].is_string());
    // The server writes its request line after the response has gone out: wait for it.
    CHECK(wait_until([&] { return idp.log().find("POST /oauth/token 200 client_id=oauthdemo-cli") != std::string::npos; }));
    const std::string log = idp.log();
    CHECK(log.find(code) == std::string::npos);
    CHECK(log.find(tokens["refresh_token"].get<std::string>()) == std::string::npos);
    CHECK(log.find("state-123") == std::string::npos);
    CHECK(log.find("alice-password") == std::string::npos);
  }
}
