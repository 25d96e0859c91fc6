#pragma once
// Child processes for end-to-end tests: fork + exec with a chosen environment, output into files,
// exits awaited with deadlines, ready files polled while the child lives.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oauthdemo::testing {

using Env = std::map<std::string, std::string>;

// The variables every child inherits: PATH and the sanitizer settings, nothing else.
Env base_env();

// The whole file, or "" when it cannot be read.
std::string read_file(const std::string& path);

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// argv and envp for execve, kept alive by the owning vectors (built before fork: no allocation
// in the child).
struct ExecArgs {
  ExecArgs(const std::vector<std::string>& args, const Env& env);
  std::vector<std::string> env_strings;
  std::vector<char*> argv, envp;
};

struct Child {
  pid_t pid = -1;
  std::string out_path;
  std::string err_path;
};

// fork + exec with stdin from /dev/null (or `stdin_path`), stdout/stderr into cwd/TAG.out and
// cwd/TAG.err, in `cwd`.
Child spawn(const std::vector<std::string>& args, const Env& env, const std::string& cwd, const std::string& tag,
            const std::string& stdin_path = "/dev/null");

// Waits for the child's exit with a deadline (then kills it and FAILs); returns the exit code, or
// 128 + the signal.
int wait_exit(pid_t pid, std::chrono::seconds limit = std::chrono::seconds(120));

// Polls `path` until it holds a JSON object with a "port", for at most `limit`. FAILs with the
// child's stderr if the child exits first or the deadline passes; on an early exit sets
// child.pid to -1 (already reaped).
nlohmann::json wait_ready_file(const std::string& path, Child& child, const std::string& tag,
                               std::chrono::seconds limit = std::chrono::seconds(60));

}  // namespace oauthdemo::testing
