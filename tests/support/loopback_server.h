#pragma once
// A real cpp-httplib server on 127.0.0.1 and a random free port, run on a thread for the life of
// the object. cpp-httplib 0.11.4 has no wait_until_ready(): we bind first, then listen on a thread
// and wait until is_running() says so.
#include <httplib.h>

#include <memory>
#include <string>
#include <thread>

namespace oauthdemo::testing {

class LoopbackServer {
 public:
  // `configure` adds routes before the server starts.
  template <typename Configure>
  explicit LoopbackServer(Configure&& configure) : server_(std::make_unique<httplib::Server>()) {
    configure(*server_);
    start();
  }
  // The same with a server made by the caller, e.g. an httplib::SSLServer (must be is_valid()).
  template <typename Configure>
  LoopbackServer(std::unique_ptr<httplib::Server> server, Configure&& configure) : server_(std::move(server)) {
    configure(*server_);
    start();
  }
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void stop();

 private:
  void start();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace oauthdemo::testing
