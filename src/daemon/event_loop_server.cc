#include "daemon/event_loop_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <thread>
#include <unordered_map>

namespace oauthdemo::daemon {
namespace {

using Steady = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::milliseconds(250);
constexpr std::size_t kLingerMaxBytes = 1 << 20;

bool line_names_authorization(std::string_view line) {
  constexpr std::string_view kName = "authorization:";
  if (line.size() < kName.size()) return false;
  for (std::size_t i = 0; i < kName.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kName[i]) return false;
  }
  return true;
}

// Makes a listening socket complete no new handshake: a socket filter that drops SYN segments
// (a filter on a TCP socket sees the TCP header at offset 0; byte 13 holds the flags). Closing
// a listener resets every connection the kernel completed but nobody accepted, and the client
// of such a connection already saw its connect() succeed; with SYNs dropped, a client that
// arrives during the stop retries in about a second and then finds the port closed.
bool stop_new_handshakes(int listen_fd) {
  static const sock_filter kCode[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),            // the TCP flags
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x02, 0, 1),  // SYN set?
      BPF_STMT(BPF_RET | BPF_K, 0),                      // yes: drop
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),            // no: keep the whole segment
  };
  sock_fprog program{static_cast<unsigned short>(std::size(kCode)), const_cast<sock_filter*>(kCode)};
  return ::setsockopt(listen_fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0;
}

HeadResult refused(HeadProblem problem) { return {HeadStatus::Refused, 0, problem}; }

void address_text(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    port = ntohs(a.sin6_port);
  } else if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  }
  ip = text;
}

struct Connection {
  enum class State { Head, Writing, Lingering };
  int fd = -1;
  State state = State::Head;
  std::string in;    // received, not yet routed
  std::string out;   // answers not yet sent
  std::size_t out_sent = 0;
  HeadScan scan;
  bool head_started = false;  // bytes of the next head have arrived: header_timeout runs
  bool peer_closed = false;
  bool close_after_write = false;
  std::size_t served = 0;
  std::size_t lingered = 0;
  Steady::time_point deadline;
  std::string remote_ip;
  std::string local_ip;
  int remote_port = 0;
  int local_port = 0;
};

// One request's view of its connection for cpp-httplib: reads come from the bytes the loop has
// already received (a whole head, maybe more), writes go to the connection's output buffer.
// Nothing here blocks; a read past the buffer fails, which only a request with a body could
// try, and those are answered before their body is read.
class BufferedStream final : public httplib::Stream {
 public:
  // `skip`: ranges of the input (in order) the reader does not see: the lifted Authorization lines.
  BufferedStream(Connection& connection, const HeadScan& skip) : c_(connection), skip_(skip) {}

  bool is_readable() const override { return pos_ < c_.in.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    while (next_skip_ < skip_.lifted_count && pos_ == skip_.lifted[next_skip_][0]) {  // adjacent lines too
      pos_ = skip_.lifted[next_skip_][1];
      ++next_skip_;
    }
    std::size_t left = c_.in.size() - pos_;
    if (next_skip_ < skip_.lifted_count) left = std::min(left, skip_.lifted[next_skip_][0] - pos_);
    if (left == 0) return -1;
    if (size == 1) {  // cpp-httplib's line reader asks for one byte at a time
      *ptr = c_.in[pos_++];
      return 1;
    }
    const std::size_t n = std::min(size, left);
    std::memcpy(ptr, c_.in.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    c_.out.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.remote_ip;
    port = c_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local_ip;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

  std::size_t consumed() const { return pos_; }

 private:
  Connection& c_;
  const HeadScan& skip_;
  std::size_t next_skip_ = 0;
  std::size_t pos_ = 0;
};

}  // namespace

HeadResult scan_head(std::string_view data, HeadScan& scan, const EventLoopLimits& limits) {
  while (scan.pos < data.size()) {
    // The line limit is checked at the byte that breaks it (not at the line's end): a long line
    // gets its own answer (414, 401 too_large) however the bytes arrive, also when they arrive at
    // once and the line would cross the head limit before it ends. Up to the first byte that
    // breaks a limit, the scan only looks for the line end (memchr: a token is most of a head).
    const std::size_t allowed_end =
        std::min({data.size(), scan.line_start + limits.max_line_bytes, limits.max_head_bytes});
    const void* found =
        scan.pos < allowed_end ? std::memchr(data.data() + scan.pos, '\n', allowed_end - scan.pos) : nullptr;
    if (found == nullptr) {
      scan.pos = std::max(scan.pos, allowed_end);
      if (scan.pos == data.size()) break;
      if (scan.pos + 1 - scan.line_start > limits.max_line_bytes) {
        if (scan.lines == 0) return refused(HeadProblem::RequestLineTooLong);
        return refused(line_names_authorization(data.substr(scan.line_start)) ? HeadProblem::AuthorizationTooLarge
                                                                              : HeadProblem::HeaderLineTooLong);
      }
      return refused(HeadProblem::HeadTooLarge);
    }
    scan.pos = static_cast<std::size_t>(static_cast<const char*>(found) - data.data());
    const std::size_t line_bytes = scan.pos + 1 - scan.line_start;
    const bool empty = line_bytes == 1 || (line_bytes == 2 && data[scan.line_start] == '\r');
    if (empty) {
      // The end of the head (an empty first line too: cpp-httplib then answers 400). `scan`
      // keeps the Authorization lines for the caller, who resets it.
      return HeadResult{HeadStatus::Complete, scan.pos + 1, {}};
    }
    if (++scan.lines > limits.max_header_count + 1) return refused(HeadProblem::TooManyHeaders);
    if (scan.lines > 1) {
      const char first = data[scan.line_start];
      if (first == ' ' || first == '\t') {
        scan.folded = true;
      } else if (scan.lifted_count < HeadScan::kMaxLifted && line_names_authorization(data.substr(scan.line_start))) {
        scan.lifted[scan.lifted_count][0] = scan.line_start;
        scan.lifted[scan.lifted_count][1] = scan.pos + 1;
        ++scan.lifted_count;
      }
    }
    ++scan.pos;
    scan.line_start = scan.pos;
  }
  return {};
}

std::string_view authorization_value(std::string_view line) {
  constexpr std::size_t kNameAndColon = 14;  // "authorization:"
  std::string_view value = line.size() > kNameAndColon ? line.substr(kNameAndColon) : std::string_view{};
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  return value;
}

class EventLoopServer::Loop {
 public:
  explicit Loop(EventLoopServer& owner) : owner_(owner), limits_(owner.limits_) {}
  ~Loop() {
    for (auto& [fd, c] : connections_) ::close(fd);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  bool open() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) return false;
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.ptr = &wake_fd_;
    // EPOLLEXCLUSIVE: one loop is woken per new connection, not all of them.
    epoll_event listen{};
    listen.events = EPOLLIN | EPOLLEXCLUSIVE;
    listen.data.ptr = &owner_.listen_fd_;
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) == 0 &&
           ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, owner_.listen_fd_, &listen) == 0;
  }

  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }

  // True while a request is in the router (a handler may wait seconds for a key fetch).
  bool routing() const { return routing_.load(); }

  // A connection accepted by another thread (stop() empties the backlog itself).
  void hand_over(int fd, const sockaddr_storage& peer) {
    {
      std::lock_guard lock(inbox_mu_);
      inbox_.emplace_back(fd, peer);
    }
    wake();
  }

  void run() {
    epoll_event events[128];
    auto next_tick = Steady::now() + kTick;
    Phase seen = Phase::Running;
    for (;;) {
      const Phase phase = owner_.phase_.load();
      if (phase != seen) {
        seen = phase;
        adopt_inbox();
        if (phase == Phase::Stopping && listening_) {
          accept_ready(static_cast<std::size_t>(-1));
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, owner_.listen_fd_, nullptr);
          listening_ = false;
        }
        close_idle(phase);
      }
      if (phase == Phase::Stopping && connections_.empty()) {
        // Not before stop() has handed out the listener's backlog, and not with a handed-over
        // connection still in the inbox: it would never be answered.
        adopt_inbox();
        if (connections_.empty() && owner_.handed_over_.load()) return;
      }

      const auto now = Steady::now();
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now).count();
      const int n = ::epoll_wait(epoll_fd_, events, 128, static_cast<int>(std::max<long long>(wait, 0)));
      for (int i = 0; i < n; ++i) {
        void* tag = events[i].data.ptr;
        if (tag == &wake_fd_) {
          std::uint64_t value = 0;
          [[maybe_unused]] auto r = ::read(wake_fd_, &value, sizeof value);
          adopt_inbox();
        } else if (tag == &owner_.listen_fd_) {
          if (listening_) accept_ready(64);
        } else {
          on_event(*static_cast<Connection*>(tag), events[i].events);
        }
      }
      if (Steady::now() >= next_tick) {
        sweep(seen);
        next_tick = Steady::now() + kTick;
      }
    }
  }

 private:
  void accept_ready(std::size_t max) {
    if (accept_paused_) return;
    for (std::size_t i = 0; i < max; ++i) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int fd = ::accept4(owner_.listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop taking connections until the next tick instead of spinning
          // on a listener that stays readable.
          // (An EPOLLEXCLUSIVE registration cannot be modified, only removed and added again.)
          accept_paused_ = true;
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, owner_.listen_fd_, nullptr);
        }
        return;
      }
      if (owner_.open_.load() >= limits_.max_connections) {
        const std::string answer = owner_.router_.refuse(HeadProblem::OverCapacity, {});
        [[maybe_unused]] auto sent = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      adopt(fd, addr);
    }
  }

  void adopt_inbox() {
    std::vector<std::pair<int, sockaddr_storage>> handed;
    {
      std::lock_guard lock(inbox_mu_);
      handed.swap(inbox_);
    }
    for (const auto& [fd, peer] : handed) adopt(fd, peer);
  }

  void adopt(int fd, const sockaddr_storage& peer) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    address_text(peer, c->remote_ip, c->remote_port);
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) address_text(local, c->local_ip, c->local_port);
    c->deadline = Steady::now() + limits_.header_timeout;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c.get();
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      return;
    }
    owner_.open_.fetch_add(1);
    connections_.emplace(fd, std::move(c));
  }

  void close_connection(Connection& c) {
    const int fd = c.fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    connections_.erase(fd);  // destroys `c`
    owner_.open_.fetch_sub(1);
  }

  void watch(Connection& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &c;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void on_event(Connection& c, std::uint32_t events) {
    if (c.state == Connection::State::Lingering) {
      char scratch[16384];
      for (;;) {
        const auto n = ::recv(c.fd, scratch, sizeof scratch, 0);
        if (n > 0 && (c.lingered += static_cast<std::size_t>(n)) <= kLingerMaxBytes) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        close_connection(c);
        return;
      }
    }
    if (c.state == Connection::State::Writing) {
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
      if (flush(c)) after_answer(c);
      return;
    }
    if (!receive(c)) return;
    process(c);
  }

  // Reads what the socket has, up to one head's limit beyond what is buffered. False if the
  // connection was closed.
  bool receive(Connection& c) {
    char buffer[16384];
    while (c.in.size() <= limits_.max_head_bytes) {
      const auto n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.append(buffer, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof buffer) break;
        continue;
      }
      if (n == 0) {
        c.peer_closed = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      close_connection(c);
      return false;
    }
    return true;
  }

  // Routes every complete head in the buffer, in order.
  void process(Connection& c) {
    while (c.state == Connection::State::Head) {
      if (c.in.empty()) {
        if (c.peer_closed) {
          close_connection(c);
        } else if (c.served > 0 && owner_.phase_.load() != Phase::Running) {
          close_connection(c);  // draining: an idle keep-alive connection is not kept
        } else if (c.served > 0) {
          c.deadline = Steady::now() + limits_.keep_alive_timeout;
        }
        return;
      }
      const HeadResult head = scan_head(c.in, c.scan, limits_);
      if (head.status == HeadStatus::Incomplete) {
        if (c.peer_closed) {
          close_connection(c);
          return;
        }
        if (!c.head_started) {
          c.head_started = true;
          c.deadline = Steady::now() + limits_.header_timeout;
        }
        return;
      }
      if (head.status == HeadStatus::Refused) {
        refuse(c, head.problem);
        return;
      }
      c.head_started = false;
      const bool close = owner_.phase_.load() != Phase::Running || c.served + 1 >= limits_.keep_alive_max_requests ||
                         c.peer_closed;
      if (c.scan.folded) c.scan.lifted_count = 0;  // cpp-httplib sees the head as it came
      authorization_.values.clear();
      authorization_.complete = c.scan.lifted_count < HeadScan::kMaxLifted && !c.scan.folded;
      for (std::size_t i = 0; i < c.scan.lifted_count; ++i)
        authorization_.values.push_back(authorization_value(
            std::string_view(c.in).substr(c.scan.lifted[i][0], c.scan.lifted[i][1] - c.scan.lifted[i][0])));
      BufferedStream stream(c, c.scan);
      routing_ = true;
      const bool keep =
          owner_.router_.route(stream, close, authorization_) && !close && stream.consumed() == head.end;
      routing_ = false;
      ++c.served;
      c.in.erase(0, head.end);
      c.scan = HeadScan{};
      if (!keep) c.close_after_write = true;
      if (!flush(c)) return;
      if (c.close_after_write) {
        finish(c);
        return;
      }
    }
  }

  void refuse(Connection& c, HeadProblem problem) {
    c.out += owner_.router_.refuse(problem, c.remote_ip);
    c.close_after_write = true;
    c.in.clear();
    c.in.shrink_to_fit();
    if (flush(c)) finish(c, true);
  }

  // Sends what is buffered. True when all of it went out; false when the rest waits for
  // EPOLLOUT or the connection was closed.
  bool flush(Connection& c) {
    while (c.out_sent < c.out.size()) {
      const auto n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (c.state != Connection::State::Writing) {
          c.state = Connection::State::Writing;
          c.deadline = Steady::now() + limits_.write_timeout;
          watch(c, EPOLLOUT);  // no reading meanwhile: a client that does not read gets no more answers
        }
        return false;
      }
      close_connection(c);
      return false;
    }
    c.out.clear();
    c.out_sent = 0;
    if (c.state == Connection::State::Writing) {
      c.state = Connection::State::Head;
      watch(c, EPOLLIN);
    }
    return true;
  }

  void after_answer(Connection& c) {
    if (c.close_after_write) {
      finish(c);
      return;
    }
    process(c);
  }

  // Ends a connection whose last answer is sent. When the client may still be sending (a
  // refused head, unread bytes), closing at once would reset the connection and could destroy
  // the answer before the client reads it: shut down our side and drop what still comes.
  void finish(Connection& c, bool error_answer = false) {
    if (!error_answer && c.in.empty()) {
      close_connection(c);
      return;
    }
    ::shutdown(c.fd, SHUT_WR);
    c.state = Connection::State::Lingering;
    c.deadline = Steady::now() + limits_.linger;
    c.in.clear();
    watch(c, EPOLLIN);
  }

  void close_idle(Phase phase) {
    if (phase == Phase::Running) return;
    const auto now = Steady::now();
    std::vector<Connection*> idle;
    for (auto& [fd, c] : connections_) {
      if (c->state != Connection::State::Head || !c->in.empty()) continue;
      if (c->served > 0) {
        idle.push_back(c.get());
      } else if (phase == Phase::Stopping) {
        c->deadline = std::min(c->deadline, now + limits_.stop_grace);
      }
    }
    for (auto* c : idle) close_connection(*c);
  }

  void sweep(Phase phase) {
    if (accept_paused_ && listening_) {
      accept_paused_ = false;
      epoll_event listen{};
      listen.events = EPOLLIN | EPOLLEXCLUSIVE;
      listen.data.ptr = &owner_.listen_fd_;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, owner_.listen_fd_, &listen);
    }
    close_idle(phase);
    const auto now = Steady::now();
    std::vector<Connection*> expired;
    for (auto& [fd, c] : connections_)
      if (now >= c->deadline) expired.push_back(c.get());
    for (auto* c : expired) {
      if (c->state == Connection::State::Head && c->head_started) {
        refuse(*c, HeadProblem::Timeout);
      } else {
        close_connection(*c);
      }
    }
  }

  EventLoopServer& owner_;
  const EventLoopLimits& limits_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool listening_ = true;
  bool accept_paused_ = false;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::mutex inbox_mu_;
  std::vector<std::pair<int, sockaddr_storage>> inbox_;
  LiftedAuthorization authorization_;  // reused for every request
  std::atomic<bool> routing_{false};
};

EventLoopServer::EventLoopServer(int listen_fd, EventLoopLimits limits, RequestRouter& router)
    : listen_fd_(listen_fd), limits_(limits), router_(router) {
  // Loops accept until EAGAIN; a blocking listener would park a loop in accept().
  if (listen_fd_ >= 0) ::fcntl(listen_fd_, F_SETFL, ::fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
}

EventLoopServer::~EventLoopServer() {
  stop();
  std::lock_guard lock(mu_);
  if (listen_fd_ >= 0) ::close(listen_fd_);  // the loops have ended (run() returned) or never ran
}

bool EventLoopServer::run() {
  {
    std::lock_guard lock(mu_);
    if (started_ || listen_fd_ < 0) return false;
    const std::size_t count = std::max<std::size_t>(1, limits_.loops);
    for (std::size_t i = 0; i < count; ++i) {
      auto loop = std::make_unique<Loop>(*this);
      if (!loop->open()) {
        loops_.clear();
        return false;
      }
      loops_.push_back(std::move(loop));
    }
    started_ = true;
  }
  running_ = true;
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops_.size(); ++i) threads.emplace_back([this, i] { loops_[i]->run(); });
  loops_[0]->run();
  for (auto& t : threads) t.join();
  running_ = false;
  return true;
}

void EventLoopServer::drain() {
  auto expected = Phase::Running;
  if (!phase_.compare_exchange_strong(expected, Phase::Draining)) return;
  std::lock_guard lock(mu_);
  for (auto& loop : loops_) loop->wake();
}

void EventLoopServer::stop() {
  phase_ = Phase::Stopping;
  std::lock_guard lock(mu_);
  if (listen_fd_ < 0 || stopped_listening_) {
    handed_over_ = true;
    return;
  }
  stopped_listening_ = true;
  // Here, not in the loops: a loop may be busy in a slow handler (a key fetch), and the listener
  // must stop taking connections now. New handshakes stop first; what is queued, or completes
  // within handshake_grace, is accepted and handed out; then shutdown(SHUT_RD) ends listening
  // while the descriptor stays valid for the loops, which let go of it in their own time (it is
  // closed in the destructor).
  const auto until = Steady::now() + (stop_new_handshakes(listen_fd_) ? limits_.handshake_grace
                                                                      : std::chrono::milliseconds::zero());
  std::size_t next = 0;
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == EINTR || error == ECONNABORTED) continue;
      if (error != EAGAIN && error != EWOULDBLOCK) break;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Steady::now()).count();
      if (left <= 0) break;
      pollfd readable{listen_fd_, POLLIN, 0};
      ::poll(&readable, 1, static_cast<int>(left));
      continue;
    }
    if (loops_.empty()) {
      ::close(fd);
      continue;
    }
    // To a loop that is not inside a handler if there is one: a handler waiting for a key
    // fetch would hold the connection for as long.
    std::size_t pick = next;
    for (std::size_t i = 0; i < loops_.size(); ++i) {
      if (!loops_[(next + i) % loops_.size()]->routing()) {
        pick = next + i;
        break;
      }
    }
    loops_[pick % loops_.size()]->hand_over(fd, addr);
    next = pick + 1;
  }
  ::shutdown(listen_fd_, SHUT_RD);
  handed_over_ = true;
  for (auto& loop : loops_) loop->wake();
}

}  // namespace oauthdemo::daemon
