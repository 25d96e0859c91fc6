#include "cli/browser.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

extern char** environ;

namespace oauthdemo::cli {

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\"'\"'";
    else out.push_back(c);
  }
  out += "'";
  return out;
}

CommandBrowser::CommandBrowser(std::string command, std::string description)
    : command_(std::move(command)), description_(std::move(description)) {}

CommandBrowser::~CommandBrowser() {
  if (pid_ <= 0 || status_) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (finished_status()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a child's exit, not synchronising
  }
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

Result<void> CommandBrowser::open(const std::string& url) {
  if (pid_ > 0) return fail(Errc::IoError, "the browser was already started");
  const std::string script = command_ + " " + shell_quote(url);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  std::vector<char*> argv{const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), const_cast<char*>(script.c_str()),
                          nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return fail(Errc::IoError, "could not start " + description_ + ": " + std::string(strerror(rc)));
  pid_ = pid;
  return {};
}

std::optional<int> CommandBrowser::finished_status() {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  return status_;
}

namespace {

bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string p(path);
  std::size_t pos = 0;
  while (pos <= p.size()) {
    auto colon = p.find(':', pos);
    std::string dir = p.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return false;
}

}  // namespace

std::unique_ptr<Browser> make_system_browser() {
  if (const char* b = std::getenv("BROWSER"); b != nullptr && *b != '\0') {
    // $BROWSER may be a colon-separated list; the first entry is used.
    std::string first(b);
    first = first.substr(0, first.find(':'));
    return std::make_unique<CommandBrowser>(first, "$BROWSER (" + first + ")");
  }
  for (const char* candidate : {"xdg-open", "wslview", "open"}) {
    if (on_path(candidate)) return std::make_unique<CommandBrowser>(candidate, candidate);
  }
  return nullptr;
}

}  // namespace oauthdemo::cli
