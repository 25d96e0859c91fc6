#include "support/child_process.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace oauthdemo::testing {

using namespace std::chrono_literals;

Env base_env() {
  Env env;
  for (const char* name : {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  return env;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ExecArgs::ExecArgs(const std::vector<std::string>& args, const Env& env) {
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
}

Child spawn(const std::vector<std::string>& args, const Env& env, const std::string& cwd, const std::string& tag,
            const std::string& stdin_path) {
  Child c;
  c.out_path = cwd + "/" + tag + ".out";
  c.err_path = cwd + "/" + tag + ".err";
  const ExecArgs exec(args, env);
  const int in = ::open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
  const int out = ::open(c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err = ::open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(in >= 0);
  REQUIRE(out >= 0);
  REQUIRE(err >= 0);
  c.pid = ::fork();
  REQUIRE(c.pid >= 0);
  if (c.pid == 0) {
    if (::chdir(cwd.c_str()) != 0) _exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
    _exit(127);
  }
  ::close(in);
  ::close(out);
  ::close(err);
  return c;
}

int wait_exit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL("child " << pid << " did not finish in time");
      return -1;
    }
    std::this_thread::sleep_for(10ms);  // polling the exit with a deadline
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

nlohmann::json wait_ready_file(const std::string& path, Child& child, const std::string& tag,
                               std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto json = nlohmann::json::parse(read_file(path), nullptr, false);
    if (!json.is_discarded() && json.is_object() && json.contains("port")) return json;
    int status = 0;
    if (::waitpid(child.pid, &status, WNOHANG) == child.pid) {
      child.pid = -1;
      FAIL(tag << " exited during start: " << read_file(child.err_path));
      return {};
    }
    std::this_thread::sleep_for(20ms);  // polling the ready file with a deadline
  }
  FAIL(tag << " did not become ready: " << read_file(child.err_path));
  return {};
}

}  // namespace oauthdemo::testing
