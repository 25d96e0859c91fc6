#include "support/foreign_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <doctest/doctest.h>

namespace oauthdemo::testing {

ForeignListener::ForeignListener(uint16_t port) {
  int report[2];
  int hold[2];
  REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(hold, O_CLOEXEC) == 0);
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    // Only system calls here: the child of a test binary must not run doctest or allocate.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(report[0]);
    ::close(hold[1]);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint16_t bound = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 4) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      bound = ntohs(addr.sin_port);
    [[maybe_unused]] auto w = ::write(report[1], &bound, sizeof bound);
    char c;
    [[maybe_unused]] auto r = ::read(hold[0], &c, 1);  // returns at EOF: the parent is done
    ::_exit(0);
  }
  ::close(report[1]);
  ::close(hold[0]);
  hold_fd_ = hold[1];
  uint16_t bound = 0;
  const auto n = ::read(report[0], &bound, sizeof bound);
  ::close(report[0]);
  REQUIRE(n == static_cast<ssize_t>(sizeof bound));
  REQUIRE(bound != 0);
  port_ = bound;
}

ForeignListener::~ForeignListener() {
  if (hold_fd_ >= 0) ::close(hold_fd_);
  if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
}

std::string ForeignListener::description() const {
  // argv[0]'s file name, as describe_port_holder names a process.
  std::ifstream in("/proc/self/cmdline");
  std::string name;
  std::getline(in, name, '\0');
  name.erase(0, name.rfind('/') + 1);
  return "pid " + std::to_string(pid_) + " (" + name + ")";
}

}  // namespace oauthdemo::testing
