#pragma once
// The hardened one-shot loopback redirect receiver for native-app logins (RFC 8252 §7.3, §8.3;
// cli-anchors §4.2). It listens only on 127.0.0.1 and/or ::1, answers only GET on its exact
// callback path with the expected Host header (DNS-rebinding defence), gives stray requests
// (favicon, preconnects) a 404 and keeps waiting, answers a wrong or missing state with 400 and
// keeps waiting (up to a cap), ends on the provider's error= (shown HTML-escaped), and closes the
// port as soon as it has an answer, on timeout and on cancellation. Every page carries
// Cache-Control: no-store and Referrer-Policy: no-referrer. A pasted redirect URL on `paste_fd`
// is accepted as well (SSH / containers).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.h"

namespace oauthdemo::cli {

struct ReceiverConfig {
  // "127.0.0.1" (default, RFC 8252 §8.3), "::1", or "localhost" (binds both 127.0.0.1 and ::1).
  std::string host = "127.0.0.1";
  // Tried in order; 0 lets the kernel pick (for providers that accept any loopback port).
  std::vector<uint16_t> ports{0};
  std::string path = "/callback";
};

struct CallbackResult {
  std::string code;
  std::string iss;  // RFC 9207 "iss" response parameter, when the provider sent one
  enum class Source { Browser, Paste } source = Source::Browser;
};

struct WaitOptions {
  std::string expected_state;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  int cancel_fd = -1;  // readable (e.g. the SIGINT self-pipe) -> Errc::OAuthInterrupted
  int paste_fd = -1;   // lines holding a pasted redirect URL (or its query); -1 = none
  int max_bad_requests = 5;  // wrong/missing state answers before giving up
  std::function<void(const std::string&)> notice;  // one-line messages for stderr
  // Called about four times a second with the time left; an Error ends the wait with it.
  std::function<std::optional<Error>(std::chrono::seconds left)> tick;
};

class LoopbackReceiver {
 public:
  // Binds the first free port of config.ports. Errc::HttpPortInUse naming every port tried and
  // what to do; Errc::InvalidArgument for a non-loopback host; Errc::IoError otherwise.
  static Result<std::unique_ptr<LoopbackReceiver>> bind(const ReceiverConfig& config);
  ~LoopbackReceiver();
  LoopbackReceiver(const LoopbackReceiver&) = delete;
  LoopbackReceiver& operator=(const LoopbackReceiver&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT/callback" (host as configured, IPv6 in brackets).
  std::string redirect_uri() const;

  // Serves until a callback with the expected state arrives. Returns the code, or:
  // Errc::OAuthAccessDenied / other OAuth* from error= (detail "error: description"),
  // Errc::OAuthStateMismatch after max_bad_requests bad callbacks, Errc::OAuthTimeout,
  // Errc::OAuthInterrupted. The listening sockets are closed before it returns.
  Result<CallbackResult> wait(const WaitOptions& options);

  // Closes the listening sockets (also done by wait() and the destructor).
  void close();

 private:
  LoopbackReceiver() = default;
  std::vector<int> listen_fds_;
  std::string host_;
  std::string path_;
  uint16_t port_ = 0;
};

// The small HTML pages, exposed for tests: title and message are HTML-escaped.
std::string render_page(std::string_view title, std::string_view message);

}  // namespace oauthdemo::cli
