#pragma once
// The plain-HTTP front end of oauthdemo-apid. A few event-loop threads share every connection:
// they read request heads without blocking, under size limits and a deadline, and only a
// complete head is run through cpp-httplib's router, on the same thread, from memory. A client
// that trickles its headers or keeps a connection idle costs a buffer, never a thread
// (cpp-httplib 0.11.4's own server gives each connection a worker for its whole life, so a
// hundred slowloris connections starve it). Answers are written without blocking too.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace httplib {
class Stream;
}

namespace oauthdemo::daemon {

struct EventLoopLimits {
  std::size_t loops = 2;
  std::size_t max_connections = 10000;
  std::size_t max_head_bytes = 16 * 1024;  // request line + headers (Node's default)
  std::size_t max_line_bytes = 8192;       // cpp-httplib's own limit for one line, CRLF included
  std::size_t max_header_count = 100;
  std::chrono::milliseconds header_timeout{10000};  // from a head's first byte to its end
  std::chrono::milliseconds keep_alive_timeout{5000};
  std::size_t keep_alive_max_requests = 1000;
  std::chrono::milliseconds write_timeout{5000};  // a client that does not read its answers
  std::chrono::milliseconds linger{1000};         // after an error answer, the client's rest is read and dropped
  std::chrono::milliseconds stop_grace{2000};     // at stop, for accepted connections that sent nothing yet
  std::chrono::milliseconds handshake_grace{20};  // at stop, for handshakes already under way to complete
};

// Why the front end answered (or closed) a connection before any request reached the router.
enum class HeadProblem {
  RequestLineTooLong,     // 414
  AuthorizationTooLarge,  // 401 invalid_token (the token cap, seen before parsing)
  HeaderLineTooLong,      // 431
  HeadTooLarge,           // 431
  TooManyHeaders,         // 431
  Timeout,                // 408: the head did not complete within header_timeout
  OverCapacity,           // 503: max_connections reached
};

// Incremental scan of a request head: where it ends, or which limit it breaks first. `data` is
// everything received for this head so far; `scan` carries the position between calls.
struct HeadScan {
  std::size_t pos = 0;
  std::size_t line_start = 0;
  std::size_t lines = 0;
  // Authorization lines [begin, end) of the head, CRLF included. cpp-httplib 0.11.4 parses
  // header lines a byte at a time through a virtual read and URL-decodes every value; a bearer
  // token is most of a request head, so the front end hands it to the request directly and the
  // router never parses it. Not used when the head has obsolete line folding.
  static constexpr std::size_t kMaxLifted = 4;
  std::size_t lifted_count = 0;
  std::size_t lifted[kMaxLifted][2] = {};
  bool folded = false;
};
enum class HeadStatus { Incomplete, Complete, Refused };
struct HeadResult {
  HeadStatus status = HeadStatus::Incomplete;
  std::size_t end = 0;  // Complete: bytes of the head, final empty line included
  HeadProblem problem = HeadProblem::HeadTooLarge;
};
HeadResult scan_head(std::string_view data, HeadScan& scan, const EventLoopLimits& limits);

// The value of an Authorization line as cpp-httplib would store it: after the colon, spaces and
// tabs trimmed at both ends, without the line end.
std::string_view authorization_value(std::string_view line);

// The Authorization values a loop took out of a request head (see HeadScan).
struct LiftedAuthorization {
  std::vector<std::string_view> values;  // in the head's order
  // No Authorization line stayed in the head. False when the head has HeadScan::kMaxLifted of
  // them (there may be more) or uses line folding: cpp-httplib parses those lines itself.
  bool complete = false;
};

class RequestRouter {
 public:
  virtual ~RequestRouter() = default;
  // Parses and answers one request; `stream` holds at least one whole head, without the
  // Authorization lines whose values are in `authorization`. Returns true when the
  // connection may carry another request (false: parse error, Connection: close, a body that was
  // not read, or `close_connection`).
  virtual bool route(httplib::Stream& stream, bool close_connection, const LiftedAuthorization& authorization) = 0;
  // The complete HTTP response for a refused head; records it (metrics, access log).
  virtual std::string refuse(HeadProblem problem, std::string_view remote_addr) = 0;
};

class EventLoopServer {
 public:
  // Takes ownership of `listen_fd`, a bound, listening socket.
  EventLoopServer(int listen_fd, EventLoopLimits limits, RequestRouter& router);
  ~EventLoopServer();
  EventLoopServer(const EventLoopServer&) = delete;
  EventLoopServer& operator=(const EventLoopServer&) = delete;

  // Serves on `limits.loops` threads (the caller's is one of them) until stop(). False if the
  // loops could not be set up.
  bool run();
  // From now on every answer says "Connection: close" and idle keep-alive connections are
  // closed; new connections are still accepted while a load balancer moves away.
  void drain();
  // Stops new handshakes (SYNs are dropped: the client retries in about a second and then
  // finds the port closed), accepts the connections already queued or completing within
  // handshake_grace, and closes the listener; the loops then answer every request received, or
  // arriving within stop_grace on an accepted connection, and end. run() returns after that.
  void stop();

  bool running() const { return running_.load(); }
  bool draining() const { return phase_.load() != Phase::Running; }
  std::size_t open_connections() const { return open_.load(); }

 private:
  class ConnectionTable;
  class Worker;
  friend class Worker;
  enum class Phase { Running, Draining, Stopping };

  int listen_fd_;
  const EventLoopLimits limits_;
  RequestRouter& router_;
  std::atomic<Phase> phase_{Phase::Running};
  std::atomic<bool> handed_over_{false};  // stop() has taken in the listener's backlog
  std::atomic<bool> running_{false};
  std::atomic<std::size_t> open_{0};
  // One epoll set for all the loops, every connection in it with EPOLLONESHOT: a ready
  // connection goes to whichever loop asks next, and is that loop's alone until it is re-armed.
  // So no connection waits behind a loop that is preempted or inside a slow handler while
  // another loop is free.
  int epoll_fd_ = -1;
  int phase_fd_ = -1;  // eventfd: drain() or stop() happened; one loop acts on it for all
  int exit_fd_ = -1;   // eventfd, written once and never read: every loop wakes and returns
  std::atomic<bool> accept_paused_{false};  // out of descriptors: the listener is not re-armed
  std::atomic<bool> listening_{false};
  std::atomic<std::int64_t> next_sweep_{0};  // steady-clock ticks; the loop that claims it sweeps
  std::unique_ptr<ConnectionTable> table_;
  std::vector<std::unique_ptr<Worker>> workers_;

  std::mutex mu_;
  bool started_ = false;
  bool stopped_listening_ = false;
};

}  // namespace oauthdemo::daemon
