#include "support/faulty_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace oauthdemo::testing {
namespace {

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

FaultyServer::FaultyServer(Mode mode, std::chrono::milliseconds interval, std::chrono::milliseconds give_up)
    : mode_(mode), interval_(interval), give_up_(give_up) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || stop_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("FaultyServer: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultyServer::~FaultyServer() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
  acceptor_.join();
  for (auto& t : threads_) t.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
}

bool FaultyServer::stopping_within(std::chrono::milliseconds d) const {
  pollfd p{stop_fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(d.count())) != 0;
}

void FaultyServer::accept_loop() {
  for (;;) {
    pollfd p[2] = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 || (p[0].revents & POLLIN) != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections_.fetch_add(1);
    std::lock_guard lock(mu_);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void FaultyServer::serve(int fd) {
  // The whole head first, so the client waits for the answer (not still writing).
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    pollfd p[2] = {{stop_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
    if (::poll(p, 2, static_cast<int>(give_up_.count())) <= 0 || (p[0].revents & POLLIN) != 0) break;
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  const auto until = std::chrono::steady_clock::now() + give_up_;
  if (mode_ == Mode::Silent) {
    (void)stopping_within(give_up_);
  } else {
    const bool body = mode_ == Mode::DripBody;
    bool ok = send_all(fd, body ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"
                                : "HTTP/1.1 200 OK\r\nX-Drip: ");
    while (ok && std::chrono::steady_clock::now() < until && !stopping_within(interval_)) ok = send_all(fd, body ? " " : "a");
  }
  ::close(fd);
}

}  // namespace oauthdemo::testing
