#pragma once
// The servers and the user's machine of the end-to-end tests: the real oauthdemo-devidp and
// oauthdemo-apid on random loopback ports (--port 0 --ready-file), stopped by PID, and a Machine
// (its own HOME and config directory) that runs the real oauthdemo binary. Test binaries using it
// define OAUTHDEMO_CLI_BIN, OAUTHDEMO_DEVIDP_BIN, OAUTHDEMO_APID_BIN and OAUTHDEMO_BROWSER_SCRIPT.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "cli/token_store.h"
#include "support/temp_dir.h"

namespace oauthdemo::testing {

using namespace std::chrono_literals;

inline const std::string kCli = OAUTHDEMO_CLI_BIN;
inline const std::string kDevidp = OAUTHDEMO_DEVIDP_BIN;
inline const std::string kApid = OAUTHDEMO_APID_BIN;
inline const std::string kBrowser = OAUTHDEMO_BROWSER_SCRIPT;
inline const std::string kCiSecret = "ci-secret-for-tests-0123456789";
inline const std::string kAudience = "https://api.example.com";

// A server binary started with --port 0 --ready-file, stopped by PID.
class Server {
 public:
  Server(const std::string& tag, std::vector<std::string> args, const Env& env) : dir_() {
    const std::string ready = dir_.path() + "/ready.json";
    args.push_back("--port");
    args.push_back("0");
    args.push_back("--ready-file");
    args.push_back(ready);
    child_ = spawn(args, env, dir_.path(), tag);
    const auto json = wait_ready_file(ready, child_, tag);
    port_ = json.value("port", 0);
    url_ = json.value("url", "");
    issuer_ = json.value("issuer", url_);
  }
  ~Server() {
    if (child_.pid > 0) {
      ::kill(child_.pid, SIGTERM);
      int status = 0;
      ::waitpid(child_.pid, &status, 0);
    }
  }
  int port() const { return port_; }
  const std::string& issuer() const { return issuer_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_file(child_.err_path); }

 private:
  TempDir dir_;
  Child child_;
  int port_ = 0;
  std::string url_;
  std::string issuer_;
};

// The devidp and apid, started once for all tests of this binary.
struct Servers {
  std::unique_ptr<Server> idp;
  std::unique_ptr<Server> api;
};
inline Servers start_servers(std::vector<std::string> idp_args) {
  Servers out;
  Env idp_env = base_env();
  idp_env["DEVIDP_CI_CLIENT_SECRET"] = kCiSecret;
  idp_args.insert(idp_args.begin(), {kDevidp, "--device-interval", "1", "--log-level", "warn"});
  out.idp = std::make_unique<Server>("devidp", idp_args, idp_env);
  out.api = std::make_unique<Server>(
      "apid", std::vector<std::string>{kApid, "--issuer", out.idp->issuer(), "--audience", kAudience}, base_env());
  return out;
}
// One pair per test binary (an inline function's static is shared by every file of it).
inline Servers& servers() {
  static Servers s = start_servers({});
  return s;
}
struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};

// One user's machine: a HOME with its own config directory, a working directory without .env.
class Machine {
 public:
  explicit Machine(Servers& s = servers()) {
    env_ = base_env();
    env_["HOME"] = home_.path();
    env_["XDG_CONFIG_HOME"] = home_.path() + "/config";
    env_["ISSUER_BASE_URL"] = s.idp->issuer();
    env_["AUTH0_CLIENT_ID"] = "oauthdemo-cli";
    env_["API_AUDIENCE"] = kAudience;
    env_["API_BASE_URL"] = s.api->base();
    env_["NO_COLOR"] = "1";
  }
  Env& env() { return env_; }
  std::string store_path(const std::string& profile = "default") const {
    return home_.path() + "/config/oauthdemo/tokens/" + profile + ".json";
  }
  std::string dir() const { return home_.path(); }

  Child start(std::vector<std::string> args, const Env* extra = nullptr) {
    args.insert(args.begin(), kCli);
    Env env = env_;
    if (extra)
      for (const auto& [k, v] : *extra) env[k] = v;
    return spawn(args, env, home_.path(), "run" + std::to_string(counter_++));
  }
  RunResult finish(const Child& child) {
    RunResult r;
    r.code = wait_exit(child.pid);
    r.out = read_file(child.out_path);
    r.err = read_file(child.err_path);
    return r;
  }
  RunResult run(std::vector<std::string> args, const Env* extra = nullptr) { return finish(start(std::move(args), extra)); }

  RunResult login(const std::string& user = "alice", std::vector<std::string> more = {}) {
    std::vector<std::string> args{"login", "--port-list", "0", "--browser-command", kBrowser + " --user " + user};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  }
  cli::StoredTokens stored(const std::string& profile = "default") {
    auto t = cli::parse_tokens(read_file(store_path(profile)));
    REQUIRE(t);
    return *t;
  }

 private:
  testing::TempDir home_;
  Env env_;
  int counter_ = 0;
};

}  // namespace oauthdemo::testing
