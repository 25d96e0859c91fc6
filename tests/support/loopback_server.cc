#include "support/loopback_server.h"

#include <chrono>
#include <stdexcept>

namespace oauthdemo::testing {

void LoopbackServer::start() {
  if (!server_->is_valid()) throw std::runtime_error("LoopbackServer: the server is not valid (TLS certificate or key?)");
  server_->set_tcp_nodelay(true);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("LoopbackServer: could not bind 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // listen_after_bind sets is_running() before it enters accept(); the socket is already bound
  // and listening, so connections made before that point wait in the backlog.
  while (!server_->is_running()) std::this_thread::yield();
}

void LoopbackServer::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

LoopbackServer::~LoopbackServer() { stop(); }

}  // namespace oauthdemo::testing
