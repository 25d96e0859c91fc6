#include "support/raw_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace oauthdemo::testing {

using namespace std::chrono_literals;

RawHttpClient::RawHttpClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

RawHttpClient::~RawHttpClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawHttpClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string RawHttpClient::read_answers(std::size_t count, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (answer_starts().size() < count && !eof_) {
    if (!wait_readable(deadline)) break;
    receive();
  }
  return data_;
}

bool RawHttpClient::read_until_eof(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!eof_) {
    if (!wait_readable(deadline)) return false;
    receive();
  }
  return true;
}

std::string RawHttpClient::get_status_line(const std::string& path) {
  const std::size_t before = answer_starts().size();
  if (!send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")) return "";
  read_answers(before + 1, 10s);
  const auto starts = answer_starts();
  if (starts.size() <= before) return "";
  const std::size_t start = starts[before];
  return data_.substr(start, data_.find("\r\n", start) - start);
}

bool RawHttpClient::wait_readable(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left <= 0ms) return false;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
}

void RawHttpClient::receive() {
  char buf[65536];
  const auto n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return;
  }
  data_.append(buf, static_cast<std::size_t>(n));
}

std::vector<std::size_t> RawHttpClient::answer_starts() const {
  std::vector<std::size_t> starts;
  std::size_t pos = 0;
  for (;;) {
    const auto end = data_.find("\r\n\r\n", pos);
    if (end == std::string::npos) return starts;
    const auto head = data_.substr(pos, end - pos);
    std::size_t length = 0;
    if (const auto cl = head.find("Content-Length: "); cl != std::string::npos)
      length = std::stoul(head.substr(cl + 16, head.find("\r\n", cl) - cl - 16));
    if (data_.size() < end + 4 + length) return starts;
    starts.push_back(pos);
    pos = end + 4 + length;
  }
}

}  // namespace oauthdemo::testing
