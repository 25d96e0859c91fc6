#pragma once
// A raw HTTP/1.1 client socket for tests that must send what an HTTP library would not (trickled
// heads, oversized lines, pipelined requests, connections that never speak). Loopback only; every
// read has a deadline.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace oauthdemo::testing {

class RawHttpClient {
 public:
  explicit RawHttpClient(int port);
  ~RawHttpClient();
  RawHttpClient(const RawHttpClient&) = delete;
  RawHttpClient& operator=(const RawHttpClient&) = delete;

  bool connected() const { return connected_; }
  bool send(std::string_view bytes);
  // Reads until `count` answers are complete (by Content-Length), EOF or the deadline; returns
  // everything received so far.
  std::string read_answers(std::size_t count, std::chrono::milliseconds limit = std::chrono::milliseconds(5000));
  // Reads until the server closes (true) or the deadline passes (false).
  bool read_until_eof(std::chrono::milliseconds limit = std::chrono::milliseconds(5000));
  // Sends GET `path` on this (keep-alive) connection and returns the status line of its answer,
  // "" if the connection is gone or no answer came within 10 s.
  std::string get_status_line(const std::string& path);
  const std::string& data() const { return data_; }

 private:
  bool wait_readable(std::chrono::steady_clock::time_point deadline);
  void receive();
  std::vector<std::size_t> answer_starts() const;  // of the complete answers, in order

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string data_;
};

}  // namespace oauthdemo::testing
