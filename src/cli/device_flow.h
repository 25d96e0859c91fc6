#pragma once
// The device grant as run by the CLI (RFC 8628 §3.1-§3.5): ask for a user code, show it, then
// poll the token endpoint on the schedule of oauth::DevicePollSchedule until tokens, a final
// error, or expires_in. Time is injected: a Clock for the deadline and a Sleeper for the waits,
// so unit tests never sleep.
#include <functional>
#include <optional>
#include <string>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/http/http_client.h"
#include "common/oauth/device_grant.h"
#include "common/oauth/token_client.h"

namespace oauthdemo::cli {

class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Waits `duration`; `left` is the time until the device code expires (for a spinner).
  // Errc::OAuthInterrupted when cancelled.
  virtual Result<void> sleep_for(Seconds duration, Seconds left) = 0;
};

// Waits with poll() on `cancel_fd` (the SIGINT self-pipe; -1 = none), calling `tick` about
// four times a second; an Error from `tick` ends the wait with that error.
class PollSleeper final : public Sleeper {
 public:
  using Tick = std::function<std::optional<Error>(Seconds left)>;
  PollSleeper(int cancel_fd, Tick tick) : cancel_fd_(cancel_fd), tick_(std::move(tick)) {}
  Result<void> sleep_for(Seconds duration, Seconds left) override;

 private:
  int cancel_fd_;
  Tick tick_;
};

struct DeviceFlowRequest {
  std::string device_authorization_endpoint;
  std::string token_endpoint;
  oauth::ClientCredentials client;
  std::string scope;
  std::string audience;
};

// Runs the whole grant. `show` is called once with the authorization (to print the code, the
// QR code and open the browser). Errors: the endpoint's own (e.g. OAuthUnauthorizedClient),
// Errc::OAuthAccessDenied, Errc::OAuthExpiredToken (also when expires_in passes locally),
// Errc::OAuthInterrupted, and transport errors after repeated failures past expiry.
Result<oauth::TokenResponse> run_device_flow(http::HttpClient& http, const Clock& clock, Sleeper& sleeper,
                                             const DeviceFlowRequest& request,
                                             const std::function<void(const oauth::DeviceAuthorization&)>& show);

}  // namespace oauthdemo::cli
