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
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <thread>

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
  std::uint64_t tag = 0;  // epoll data: descriptor and generation
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

// Every open connection, found by its descriptor. A connection's epoll tag is its descriptor and
// a generation: an event a loop collected just before another loop closed that connection (and
// the descriptor was reused) is recognised as stale. Chunks of slots are allocated as descriptors
// first appear and live as long as the server, so a slot never moves.
class EventLoopServer::ConnectionTable {
 public:
  struct Slot {
    std::mutex mu;  // held by the loop that handles, sweeps or adopts the connection
    std::unique_ptr<Connection> connection;
    std::uint32_t generation = 0;
  };

  explicit ConnectionTable(std::size_t max_fds)
      : chunk_count_((max_fds + kChunk - 1) / kChunk), chunks_(new std::atomic<Chunk*>[chunk_count_]) {
    for (std::size_t i = 0; i < chunk_count_; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
  }
  ~ConnectionTable() {
    for (std::size_t i = 0; i < chunk_count_; ++i) {
      Chunk* chunk = chunks_[i].load();
      if (chunk == nullptr) continue;
      for (auto& slot : chunk->slots)
        if (slot.connection) ::close(slot.connection->fd);
      delete chunk;
    }
  }
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;

  Slot* find(int fd) const {
    if (fd < 0 || static_cast<std::size_t>(fd) / kChunk >= chunk_count_) return nullptr;
    Chunk* chunk = chunks_[static_cast<std::size_t>(fd) / kChunk].load(std::memory_order_acquire);
    return chunk == nullptr ? nullptr : &chunk->slots[static_cast<std::size_t>(fd) % kChunk];
  }

  // Null for a descriptor beyond RLIMIT_NOFILE as it was at start-up.
  Slot* find_or_add(int fd) {
    if (Slot* slot = find(fd)) return slot;
    if (fd < 0 || static_cast<std::size_t>(fd) / kChunk >= chunk_count_) return nullptr;
    {
      std::lock_guard lock(grow_mu_);
      auto& chunk = chunks_[static_cast<std::size_t>(fd) / kChunk];
      if (chunk.load(std::memory_order_relaxed) == nullptr) chunk.store(new Chunk, std::memory_order_release);
    }
    return find(fd);
  }

  // Calls `visit` for each connection no loop is handling right now, under its slot's lock.
  template <class Visit>
  void for_each_idle(Visit visit) {
    for (std::size_t i = 0; i < chunk_count_; ++i) {
      Chunk* chunk = chunks_[i].load(std::memory_order_acquire);
      if (chunk == nullptr) continue;
      for (auto& slot : chunk->slots) {
        std::unique_lock lock(slot.mu, std::try_to_lock);
        if (lock.owns_lock() && slot.connection) visit(slot);
      }
    }
  }

 private:
  static constexpr std::size_t kChunk = 1024;
  struct Chunk {
    Slot slots[kChunk];
  };
  const std::size_t chunk_count_;
  std::unique_ptr<std::atomic<Chunk*>[]> chunks_;
  std::mutex grow_mu_;
};

// One event-loop thread. Connections belong to no loop: a loop takes one ready connection at a
// time from the shared epoll set (EPOLLONESHOT disarms it for the others), handles it under its
// slot's lock and re-arms it. stop() uses a Worker of its own to adopt the backlog.
class EventLoopServer::Worker {
 public:
  explicit Worker(EventLoopServer& owner) : owner_(owner), limits_(owner.limits_), table_(*owner.table_) {}

  void run() {
    // Few events per wait: the connections a loop collects are its own until handled, so a
    // large batch would let one loop hold many while another is idle.
    constexpr int kBatch = 4;
    epoll_event events[kBatch];
    for (;;) {
      if (owner_.phase_.load() == Phase::Stopping && owner_.handed_over_.load() && owner_.open_.load() == 0) {
        signal(owner_.exit_fd_);  // the other loops wake and see the same
        return;
      }
      const auto until_sweep = owner_.next_sweep_.load() - Steady::now().time_since_epoch().count();
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(Steady::duration(std::max<Steady::rep>(until_sweep, 0)));
      const int n = ::epoll_wait(owner_.epoll_fd_, events, kBatch, static_cast<int>(wait.count()));
      for (int i = 0; i < n; ++i) dispatch(events[i]);
      maybe_sweep();
    }
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
    ConnectionTable::Slot* slot = table_.find_or_add(fd);
    if (slot == nullptr) {
      ::close(fd);
      return;
    }
    std::lock_guard lock(slot->mu);  // an event may come at once: its loop waits for this lock
    if (++slot->generation == 0) slot->generation = 1;  // generation 0 tags the server's own descriptors
    c->tag = tag_of(fd, slot->generation);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = c->tag;
    slot->connection = std::move(c);
    owner_.open_.fetch_add(1);
    if (::epoll_ctl(owner_.epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      slot->connection.reset();
      owner_.open_.fetch_sub(1);
      ::close(fd);
    }
  }

  static std::uint64_t tag_of(int fd, std::uint32_t generation) {
    return (static_cast<std::uint64_t>(generation) << 32) | static_cast<std::uint32_t>(fd);
  }

  static void signal(int event_fd) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event_fd, &one, sizeof one);
  }

 private:
  void dispatch(const epoll_event& event) {
    const int fd = static_cast<int>(event.data.u64 & 0xffffffffU);
    const auto generation = static_cast<std::uint32_t>(event.data.u64 >> 32);
    if (generation == 0) {
      if (fd == owner_.phase_fd_) {
        std::uint64_t value = 0;
        [[maybe_unused]] auto r = ::read(fd, &value, sizeof value);
        close_idle(owner_.phase_.load());
      } else if (fd == owner_.listen_fd_) {
        accept_ready(64);
        arm_listener();
      }
      return;  // exit_fd_: the check at the top of run()
    }
    ConnectionTable::Slot* slot = table_.find(fd);
    if (slot == nullptr) return;
    std::lock_guard lock(slot->mu);
    if (!slot->connection || slot->generation != generation) return;  // closed (maybe reused) since
    on_event(*slot->connection, event.events);
    if (slot->connection) arm(*slot->connection);
  }

  void accept_ready(std::size_t max) {
    for (std::size_t i = 0; i < max && owner_.listening_.load(); ++i) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int fd = ::accept4(owner_.listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        // Out of descriptors: the listener stays disarmed until the next sweep instead of
        // waking the loops again and again while it stays readable.
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) owner_.accept_paused_ = true;
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

  // After stop() has removed the listener from the set this fails harmlessly (ENOENT).
  void arm_listener() {
    if (!owner_.listening_.load() || owner_.accept_paused_.load()) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = tag_of(owner_.listen_fd_, 0);
    ::epoll_ctl(owner_.epoll_fd_, EPOLL_CTL_MOD, owner_.listen_fd_, &ev);
  }

  // Makes the connection ready for its next event, by its state: a connection that waits to
  // write is not read meanwhile (a client that does not read gets no more answers).
  void arm(Connection& c) {
    epoll_event ev{};
    ev.events = (c.state == Connection::State::Writing ? EPOLLOUT : EPOLLIN) | EPOLLONESHOT;
    ev.data.u64 = c.tag;
    ::epoll_ctl(owner_.epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  // Under the connection's slot lock; destroys `c`.
  void close_connection(Connection& c) {
    const int fd = c.fd;
    ConnectionTable::Slot* slot = table_.find(fd);
    ::epoll_ctl(owner_.epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);  // a new connection on this descriptor waits for the slot lock we hold
    slot->connection.reset();
    owner_.open_.fetch_sub(1);
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
      const bool keep =
          owner_.router_.route(stream, close, authorization_) && !close && stream.consumed() == head.end;
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
  // EPOLLOUT (state Writing) or the connection was closed.
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
        }
        return false;
      }
      close_connection(c);
      return false;
    }
    c.out.clear();
    c.out_sent = 0;
    if (c.state == Connection::State::Writing) c.state = Connection::State::Head;
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
  }

  void close_idle(Phase phase) {
    if (phase == Phase::Running) return;
    const auto now = Steady::now();
    table_.for_each_idle([&](ConnectionTable::Slot& slot) {
      Connection& c = *slot.connection;
      if (c.state != Connection::State::Head || !c.in.empty()) return;
      if (c.served > 0) {
        close_connection(c);
      } else if (phase == Phase::Stopping) {
        c.deadline = std::min(c.deadline, now + limits_.stop_grace);
      }
    });
  }

  // One loop at a time, every kTick: deadlines, draining, and a listener paused for descriptors.
  void maybe_sweep() {
    const auto now = Steady::now();
    auto due = owner_.next_sweep_.load();
    if (now.time_since_epoch().count() < due) return;
    if (!owner_.next_sweep_.compare_exchange_strong(due, (now + kTick).time_since_epoch().count())) return;
    if (owner_.accept_paused_.exchange(false)) arm_listener();
    const Phase phase = owner_.phase_.load();
    close_idle(phase);
    table_.for_each_idle([&](ConnectionTable::Slot& slot) {
      Connection& c = *slot.connection;
      if (now < c.deadline) return;
      if (c.state == Connection::State::Head && c.head_started) {
        refuse(c, HeadProblem::Timeout);
      } else {
        close_connection(c);
      }
      if (slot.connection) arm(c);
    });
  }

  EventLoopServer& owner_;
  const EventLoopLimits& limits_;
  ConnectionTable& table_;
  LiftedAuthorization authorization_;  // reused for every request
};

EventLoopServer::EventLoopServer(int listen_fd, EventLoopLimits limits, RequestRouter& router)
    : listen_fd_(listen_fd), limits_(limits), router_(router) {
  // Loops accept until EAGAIN; a blocking listener would park a loop in accept().
  if (listen_fd_ >= 0) ::fcntl(listen_fd_, F_SETFL, ::fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
}

EventLoopServer::~EventLoopServer() {
  stop();
  std::lock_guard lock(mu_);
  workers_.clear();
  table_.reset();  // closes what the loops left open (they have ended, or never ran)
  for (int fd : {epoll_fd_, phase_fd_, exit_fd_})
    if (fd >= 0) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

bool EventLoopServer::run() {
  {
    std::lock_guard lock(mu_);
    if (started_ || listen_fd_ < 0) return false;
    // Descriptors above the limit at start-up cannot be accepted anyway (app.cc raises it first).
    rlimit files{};
    std::size_t max_fds = 1 << 16;
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
      max_fds = static_cast<std::size_t>(files.rlim_cur);
    table_ = std::make_unique<ConnectionTable>(std::min<std::size_t>(max_fds, 1 << 24));
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    phase_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    exit_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || phase_fd_ < 0 || exit_fd_ < 0) return false;
    const auto add = [this](int fd, std::uint32_t events) {
      epoll_event ev{};
      ev.events = events;
      ev.data.u64 = Worker::tag_of(fd, 0);
      return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
    };
    if (!add(phase_fd_, EPOLLIN) || !add(exit_fd_, EPOLLIN)) return false;
    if (!stopped_listening_) {
      if (!add(listen_fd_, EPOLLIN | EPOLLONESHOT)) return false;
      listening_ = true;
    }
    next_sweep_ = (Steady::now() + kTick).time_since_epoch().count();
    const std::size_t count = std::max<std::size_t>(1, limits_.loops);
    for (std::size_t i = 0; i < count; ++i) workers_.push_back(std::make_unique<Worker>(*this));
    started_ = true;
  }
  running_ = true;
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i) threads.emplace_back([this, i] { workers_[i]->run(); });
  workers_[0]->run();
  for (auto& t : threads) t.join();
  running_ = false;
  return true;
}

void EventLoopServer::drain() {
  auto expected = Phase::Running;
  if (!phase_.compare_exchange_strong(expected, Phase::Draining)) return;
  std::lock_guard lock(mu_);
  if (phase_fd_ >= 0) Worker::signal(phase_fd_);
}

void EventLoopServer::stop() {
  phase_ = Phase::Stopping;
  std::lock_guard lock(mu_);
  if (listen_fd_ < 0 || stopped_listening_) {
    handed_over_ = true;
    if (phase_fd_ >= 0) Worker::signal(phase_fd_);
    return;
  }
  stopped_listening_ = true;
  // Here, not in the loops: every loop may be busy in a slow handler (a key fetch), and the
  // listener must stop taking connections now. The loops stop accepting; new handshakes stop;
  // what is queued, or completes within handshake_grace, is adopted here; then shutdown(SHUT_RD)
  // ends listening while the descriptor stays valid (it is closed in the destructor).
  listening_ = false;
  if (epoll_fd_ >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  const auto until = Steady::now() + (stop_new_handshakes(listen_fd_) ? limits_.handshake_grace
                                                                      : std::chrono::milliseconds::zero());
  std::optional<Worker> adopter;
  if (started_) adopter.emplace(*this);
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
    if (adopter) {
      adopter->adopt(fd, addr);
    } else {
      ::close(fd);
    }
  }
  ::shutdown(listen_fd_, SHUT_RD);
  handed_over_ = true;
  if (phase_fd_ >= 0) Worker::signal(phase_fd_);
}

}  // namespace oauthdemo::daemon
