#include "cli/device_flow.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>

namespace oauthdemo::cli {

Result<void> PollSleeper::sleep_for(Seconds duration, Seconds left) {
  using namespace std::chrono;
  const auto end = steady_clock::now() + duration;
  while (true) {
    const auto now = steady_clock::now();
    if (now >= end) return {};
    if (tick_) {
      if (auto stop = tick_(left - duration_cast<Seconds>(duration - (end - now)))) return tl::unexpected(*stop);
    }
    const auto ms = std::min<long long>(duration_cast<milliseconds>(end - now).count(), 250);
    pollfd p{cancel_fd_, POLLIN, 0};
    const int r = ::poll(cancel_fd_ >= 0 ? &p : nullptr, cancel_fd_ >= 0 ? 1 : 0, static_cast<int>(std::max(ms, 1LL)));
    if (r > 0 && (p.revents & (POLLIN | POLLHUP)) != 0) return fail(Errc::OAuthInterrupted, "interrupted");
  }
}

Result<oauth::TokenResponse> run_device_flow(http::HttpClient& http, const Clock& clock, Sleeper& sleeper,
                                             const DeviceFlowRequest& request,
                                             const std::function<void(const oauth::DeviceAuthorization&)>& show) {
  if (request.device_authorization_endpoint.empty())
    return fail(Errc::OAuthUnsupportedGrantType,
                "the provider does not advertise a device_authorization_endpoint (RFC 8628); use the browser login");
  auto answer = http.send(oauth::device_authorization_request(request.device_authorization_endpoint, request.client,
                                                              request.scope, request.audience));
  if (!answer) return tl::unexpected(answer.error());
  auto authorization = oauth::parse_device_authorization(*answer);
  if (!authorization) return tl::unexpected(authorization.error());
  show(*authorization);

  const auto deadline = clock.steady_now() + authorization->expires_in;
  auto left = [&] { return std::chrono::duration_cast<Seconds>(deadline - clock.steady_now()); };
  oauth::DevicePollSchedule schedule(authorization->interval);
  Seconds wait = schedule.initial_wait();
  const auto token_request =
      oauth::device_code_token_request(request.token_endpoint, request.client, authorization->device_code);
  Error last{Errc::OAuthExpiredToken, ""};
  while (true) {
    if (left() <= Seconds{0})
      return fail(Errc::OAuthExpiredToken, "the device code expired before the login was approved; run the login again");
    auto slept = sleeper.sleep_for(std::min(wait, std::max(left(), Seconds{0})), left());
    if (!slept) return tl::unexpected(slept.error());
    if (left() <= Seconds{0} && last.code != Errc::OAuthAuthorizationPending && last.code != Errc::OAuthSlowDown &&
        last.code != Errc::OAuthExpiredToken)
      return tl::unexpected(last);
    auto tokens = oauth::request_token(http, token_request);
    if (tokens) return tokens;
    last = tokens.error();
    if (last.code == Errc::OAuthExpiredToken)
      return fail(Errc::OAuthExpiredToken, "the device code expired before the login was approved; run the login again");
    if (last.code == Errc::OAuthAccessDenied)
      return fail(Errc::OAuthAccessDenied, "the login was denied in the browser (" + last.detail + ")");
    auto next = schedule.after(last);
    if (!next) return tl::unexpected(next.error());
    wait = *next;
  }
}

}  // namespace oauthdemo::cli
