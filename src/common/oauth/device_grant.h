#pragma once
// OAuth 2.0 Device Authorization Grant (RFC 8628): the authorization request, its answer, and
// the polling schedule as pure decisions (the CLI's device_flow owns the clock and the sleeps).
#include <optional>
#include <string>
#include <string_view>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/http/http_client.h"
#include "common/oauth/token_client.h"

namespace oauthdemo::oauth {

struct DeviceAuthorization {
  std::string device_code;                // never shown to people (RFC 8628 §5.4)
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;  // may be empty
  Seconds expires_in{0};
  Seconds interval{5};                    // 5 s when absent (§3.2)
};

// POST client_id, scope, audience (Auth0) to the device authorization endpoint (§3.1).
http::HttpRequest device_authorization_request(std::string_view endpoint, const ClientCredentials& client,
                                               std::string_view scope, std::string_view audience);

// 200 -> DeviceAuthorization; device_code, user_code, verification_uri (http/https URL) and
// expires_in (1..86400) required; interval 1..300 if present; user_code at most 64 characters.
// Non-200 -> parse_oauth_error. Errc::OAuthBadResponse otherwise. Accepts Google's
// "verification_url" spelling as a fallback.
Result<DeviceAuthorization> parse_device_authorization(const http::HttpResponse& response);

// The polling rules of RFC 8628 §3.5: wait `interval` before each poll; slow_down adds 5 s for all
// later polls; connection failures back off exponentially (interval, 2x, 4x ... capped at 60 s)
// and reset on the next real answer; access_denied and expired_token end the wait.
class DevicePollSchedule {
 public:
  explicit DevicePollSchedule(Seconds interval);

  // The wait before the first poll.
  Seconds initial_wait() const { return interval_; }
  // Given the outcome of a poll (Errc of the error, or nullopt when tokens came back), the wait
  // before the next poll, or the error that ends polling (access_denied, expired_token, and any
  // other OAuth error such as invalid_grant or invalid_client, returned unchanged).
  Result<Seconds> after(const Error& outcome);
  Seconds interval() const { return interval_; }

 private:
  Seconds interval_;
  int network_failures_ = 0;
};

}  // namespace oauthdemo::oauth
