#include "common/oauth/device_grant.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/http/url.h"

namespace oauthdemo::oauth {
namespace {

Result<std::string> string_member(const nlohmann::json& json, const char* name, bool required) {
  auto it = json.find(name);
  if (it == json.end() || it->is_null()) {
    if (required) return fail(Errc::OAuthBadResponse, std::string("device authorization answer has no \"") + name + "\"");
    return std::string();
  }
  if (!it->is_string()) return fail(Errc::OAuthBadResponse, std::string("\"") + name + "\" is not a string");
  auto value = it->get<std::string>();
  if (value.size() > 2048) return fail(Errc::OAuthBadResponse, std::string("\"") + name + "\" is too long");
  return value;
}

Result<int64_t> int_member(const nlohmann::json& json, const char* name, int64_t lo, int64_t hi,
                           std::optional<int64_t> fallback) {
  auto it = json.find(name);
  if (it == json.end() || it->is_null()) {
    if (fallback) return *fallback;
    return fail(Errc::OAuthBadResponse, std::string("device authorization answer has no \"") + name + "\"");
  }
  if (!it->is_number_integer() && !it->is_number_unsigned())
    return fail(Errc::OAuthBadResponse, std::string("\"") + name + "\" is not an integer");
  const auto value = it->get<int64_t>();
  if (value < lo || value > hi) return fail(Errc::OAuthBadResponse, std::string("\"") + name + "\" is out of range");
  return value;
}

}  // namespace

http::HttpRequest device_authorization_request(std::string_view endpoint, const ClientCredentials& client,
                                               std::string_view scope, std::string_view audience) {
  http::Params params{{"client_id", client.client_id}};
  if (!client.client_secret.empty()) params.emplace_back("client_secret", client.client_secret);
  if (!scope.empty()) params.emplace_back("scope", std::string(scope));
  if (!audience.empty()) params.emplace_back("audience", std::string(audience));
  return form_post(endpoint, params);
}

Result<DeviceAuthorization> parse_device_authorization(const http::HttpResponse& response) {
  if (response.status != 200) return tl::unexpected(parse_oauth_error(response));
  if (response.body.size() > kMaxTokenResponseBytes)
    return fail(Errc::OAuthBadResponse, "device authorization answer is larger than 64 KiB");
  auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object())
    return fail(Errc::OAuthBadResponse, "device authorization answer is not a JSON object");
  DeviceAuthorization out;
  auto device_code = string_member(json, "device_code", true);
  if (!device_code) return tl::unexpected(device_code.error());
  auto user_code = string_member(json, "user_code", true);
  if (!user_code) return tl::unexpected(user_code.error());
  if (user_code->empty() || user_code->size() > 64)
    return fail(Errc::OAuthBadResponse, "\"user_code\" must be 1 to 64 characters");
  auto uri = string_member(json, "verification_uri", false);
  if (!uri) return tl::unexpected(uri.error());
  if (uri->empty()) {
    uri = string_member(json, "verification_url", true);
    if (!uri) return fail(Errc::OAuthBadResponse, "device authorization answer has no \"verification_uri\"");
  }
  if (!http::parse_url(*uri)) return fail(Errc::OAuthBadResponse, "\"verification_uri\" is not an http(s) URL");
  auto complete = string_member(json, "verification_uri_complete", false);
  if (!complete) return tl::unexpected(complete.error());
  if (!complete->empty() && !http::parse_url(*complete))
    return fail(Errc::OAuthBadResponse, "\"verification_uri_complete\" is not an http(s) URL");
  auto expires_in = int_member(json, "expires_in", 1, 86400, std::nullopt);
  if (!expires_in) return tl::unexpected(expires_in.error());
  auto interval = int_member(json, "interval", 1, 300, 5);
  if (!interval) return tl::unexpected(interval.error());
  out.device_code = std::move(*device_code);
  out.user_code = std::move(*user_code);
  out.verification_uri = std::move(*uri);
  out.verification_uri_complete = std::move(*complete);
  out.expires_in = Seconds{*expires_in};
  out.interval = Seconds{*interval};
  return out;
}

DevicePollSchedule::DevicePollSchedule(Seconds interval) : interval_(std::max(interval, Seconds{1})) {}

Result<Seconds> DevicePollSchedule::after(const Error& outcome) {
  switch (outcome.code) {
    case Errc::OAuthAuthorizationPending:
      network_failures_ = 0;
      return interval_;
    case Errc::OAuthSlowDown:
      // §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent requests".
      network_failures_ = 0;
      interval_ += Seconds{5};
      return interval_;
    case Errc::HttpConnectFailed:
    case Errc::HttpTimeout:
    case Errc::HttpDeadlineExceeded:
    case Errc::OAuthServerError: {
      // §3.5: exponential backoff on connection timeouts.
      ++network_failures_;
      auto wait = interval_;
      for (int i = 1; i < network_failures_ && wait < Seconds{60}; ++i) wait *= 2;
      return std::min(wait, std::max(Seconds{60}, interval_));
    }
    default:
      return tl::unexpected(outcome);
  }
}

}  // namespace oauthdemo::oauth
