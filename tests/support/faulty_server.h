#pragma once
// A misbehaving HTTP server on 127.0.0.1 and a random free port, for deadline tests: it reads
// each request head and then never answers, or drips its answer's headers or body one byte per
// interval. Each connection has its own thread; the destructor wakes and joins them all.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace oauthdemo::testing {

class FaultyServer {
 public:
  enum class Mode {
    Silent,       // accepts, reads the head, never answers
    DripHeaders,  // "HTTP/1.1 200 OK\r\n", then an endless header, a byte per interval
    DripBody,     // a complete head announcing 1 MB, then the body a byte per interval
  };
  // Each connection drips for at most `give_up` and then closes (so a client without a total
  // deadline ends, later, and its test fails instead of hanging).
  explicit FaultyServer(Mode mode, std::chrono::milliseconds interval = std::chrono::milliseconds(100),
                        std::chrono::milliseconds give_up = std::chrono::seconds(20));
  ~FaultyServer();
  FaultyServer(const FaultyServer&) = delete;
  FaultyServer& operator=(const FaultyServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::size_t connections() const { return connections_.load(); }

 private:
  void accept_loop();
  void serve(int fd);
  // Waits up to `d` for the stop signal; true when stopping.
  bool stopping_within(std::chrono::milliseconds d) const;

  Mode mode_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds give_up_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: readable once the destructor runs
  int port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace oauthdemo::testing
