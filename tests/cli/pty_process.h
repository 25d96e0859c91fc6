#pragma once
// The real binary on a pseudo-terminal, as a user at a terminal runs it: stdin, stdout and
// (unless redirected to a file) stderr are the terminal, with the kernel's default line
// discipline (canonical input, echo, "\n" written as "\r\n"). The test reads what the terminal
// shows with a deadline, types lines, and reaps the child by PID.
#include <doctest/doctest.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/child_process.h"

namespace oauthdemo::testing {

using namespace std::chrono_literals;

struct PtyOptions {
  std::string cwd;          // the child's working directory
  Env env;                  // the child's whole environment: nothing is inherited
  std::string stderr_path;  // empty: stderr is the terminal too; else this file (stderr NOT a terminal)
};

class PtyProcess {
 public:
  PtyProcess(const std::vector<std::string>& args, const PtyOptions& options) {
    ExecArgs exec(args, options.env);
    int err = -1;
    if (!options.stderr_path.empty()) {
      err = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      REQUIRE(err >= 0);
    }
    winsize size{};
    size.ws_row = 50;
    size.ws_col = 160;
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // The child is a session leader with the terminal as its controlling tty (forkpty).
      if (::chdir(options.cwd.c_str()) != 0) _exit(126);
      if (err >= 0) ::dup2(err, 2);
      ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
      _exit(127);
    }
    if (err >= 0) ::close(err);
    // Later children (servers, other terminals) must not hold this terminal open.
    ::fcntl(master_, F_SETFD, FD_CLOEXEC);
  }

  ~PtyProcess() {
    if (!exit_code_ && pid_ > 0) {
      // A failed test leaves the child waiting: end its whole session (the child and the browser
      // command it started share its process group, which has the child's PID as its id).
      ::kill(-pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (master_ >= 0) ::close(master_);
  }
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Reads the terminal until `needle` appears at or after offset `from`; returns where it starts,
  // or std::nullopt when the deadline passes or the terminal is closed first.
  std::optional<std::size_t> wait_for(std::string_view needle, std::size_t from = 0,
                                      std::chrono::milliseconds limit = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      if (auto at = output_.find(needle, from); at != std::string::npos) return at;
      if (eof_ || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      read_some(deadline);
    }
  }

  // Types `line` and presses Enter: a carriage return, which the terminal turns into "\n".
  void type_line(std::string_view line) {
    std::string keys(line);
    keys += '\r';
    std::size_t sent = 0;
    while (sent < keys.size()) {
      const auto n = ::write(master_, keys.data() + sent, keys.size() - sent);
      if (n < 0 && errno == EINTR) continue;
      REQUIRE(n > 0);
      sent += static_cast<std::size_t>(n);
    }
  }

  // Reads until every holder of the terminal has closed it (the child and any browser command
  // it started), then reaps the child. Returns its exit code (128 + signal); at the deadline the
  // session is killed and the test fails.
  int finish(std::chrono::seconds limit = 120s) {
    if (exit_code_) return *exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!eof_ && std::chrono::steady_clock::now() < deadline) read_some(deadline);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        exit_code_ = -1;
        FAIL("pid " << pid_ << " did not finish in time; the terminal showed:\n" << text());
        return -1;
      }
      std::this_thread::sleep_for(10ms);  // polling the exit with a deadline
    }
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return *exit_code_;
  }

  // Everything the terminal showed so far, byte for byte.
  const std::string& raw() const { return output_; }
  // raw() with the terminal's "\r\n" turned back into "\n", to compare whole lines.
  std::string text() const {
    std::string out;
    for (std::size_t i = 0; i < output_.size(); ++i) {
      if (output_[i] == '\r' && i + 1 < output_.size() && output_[i + 1] == '\n') continue;
      out += output_[i];
    }
    return out;
  }

 private:
  // One poll + read; EIO (Linux) or 0 means the last holder of the terminal closed it.
  void read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{master_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (ready <= 0) return;
    char buf[4096];
    const auto n = ::read(master_, buf, sizeof buf);
    if (n > 0) output_.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || (errno != EINTR && errno != EAGAIN)) eof_ = true;
  }

  int master_ = -1;
  pid_t pid_ = -1;
  bool eof_ = false;
  std::optional<int> exit_code_;
  std::string output_;
};

}  // namespace oauthdemo::testing
