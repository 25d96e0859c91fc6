#pragma once
// Another process listening on a loopback TCP port the way cpp-httplib's defaults do
// (SO_REUSEADDR + SO_REUSEPORT): a forked child that binds, reports its port through a pipe and
// holds the port until this object is destroyed (the child is then stopped by its PID).
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace oauthdemo::testing {

class ForeignListener {
 public:
  // Listens on 127.0.0.1:port (0 = any free port). REQUIREs that the child is listening.
  explicit ForeignListener(uint16_t port = 0);
  ~ForeignListener();
  ForeignListener(const ForeignListener&) = delete;
  ForeignListener& operator=(const ForeignListener&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // "pid N (NAME)" as describe_port_holder names it: NAME is this test binary's command name.
  std::string description() const;

 private:
  pid_t pid_ = -1;
  int hold_fd_ = -1;  // the child exits when this pipe closes
  uint16_t port_ = 0;
};

}  // namespace oauthdemo::testing
