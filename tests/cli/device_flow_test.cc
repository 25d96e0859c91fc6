#include "cli/device_flow.h"

#include <doctest/doctest.h>

#include <deque>
#include <vector>

#include "support/fakes.h"

using namespace oauthdemo;
using namespace oauthdemo::cli;
using std::chrono::seconds;

namespace {

const char* kDeviceEndpoint = "https://idp/oauth/device/code";
const char* kTokenEndpoint = "https://idp/oauth/token";

// Answers the device endpoint once and the token endpoint from a script, in order.
class ScriptedHttp final : public http::HttpClient {
 public:
  std::deque<Result<http::HttpResponse>> token_answers;
  std::string device_answer =
      R"({"device_code":"DC","user_code":"ABCD-EFGH","verification_uri":"https://idp/activate",)"
      R"("verification_uri_complete":"https://idp/activate?user_code=ABCD-EFGH","expires_in":600,"interval":5})";
  int token_polls = 0;
  Result<http::HttpResponse> send(const http::HttpRequest& request) override {
    if (request.url == kDeviceEndpoint) return http::HttpResponse{200, {}, device_answer};
    ++token_polls;
    if (token_answers.empty()) return pending();
    auto next = token_answers.front();
    token_answers.pop_front();
    return next;
  }
  static http::HttpResponse oauth_error(const std::string& error) {
    return http::HttpResponse{400, {}, R"({"error":")" + error + R"("})"};
  }
  static http::HttpResponse pending() { return oauth_error("authorization_pending"); }
};

class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(testing::FakeClock& clock) : clock_(clock) {}
  std::vector<long> slept;
  Result<void> sleep_for(Seconds duration, Seconds) override {
    slept.push_back(static_cast<long>(duration.count()));
    clock_.advance(duration);
    return {};
  }

 private:
  testing::FakeClock& clock_;
};

DeviceFlowRequest request() {
  return DeviceFlowRequest{kDeviceEndpoint, kTokenEndpoint, {"cli", ""}, "openid offline_access", "https://api"};
}

}  // namespace

TEST_SUITE("cli::device_flow") {
  TEST_CASE("waits the interval, adds 5 s on slow_down and returns the tokens") {
    ScriptedHttp http;
    http.token_answers = {ScriptedHttp::pending(), ScriptedHttp::oauth_error("slow_down"), ScriptedHttp::pending(),
                          http::HttpResponse{200, {}, R"({"access_token":"AT","token_type":"Bearer","expires_in":60})"}};
    testing::FakeClock clock;
    FakeSleeper sleeper(clock);
    int shown = 0;
    std::string user_code;
    auto result = run_device_flow(http, clock, sleeper, request(), [&](const oauth::DeviceAuthorization& a) {
      ++shown;
      user_code = a.user_code;
    });
    REQUIRE(result);
    CHECK(result->access_token == "AT");
    CHECK(shown == 1);
    CHECK(user_code == "ABCD-EFGH");
    CHECK(sleeper.slept == std::vector<long>{5, 5, 10, 10});
    CHECK(http.token_polls == 4);
  }

  TEST_CASE("access_denied and expired_token end with distinct errors") {
    ScriptedHttp http;
    testing::FakeClock clock;
    FakeSleeper sleeper(clock);
    SUBCASE("denied") {
      http.token_answers = {ScriptedHttp::oauth_error("access_denied")};
      auto result = run_device_flow(http, clock, sleeper, request(), [](const auto&) {});
      REQUIRE_FALSE(result);
      CHECK(result.error().code == Errc::OAuthAccessDenied);
      CHECK(result.error().detail == "the login was denied in the browser (access_denied)");
    }
    SUBCASE("expired") {
      http.token_answers = {ScriptedHttp::oauth_error("expired_token")};
      auto result = run_device_flow(http, clock, sleeper, request(), [](const auto&) {});
      REQUIRE_FALSE(result);
      CHECK(result.error().code == Errc::OAuthExpiredToken);
      CHECK(result.error().detail == "the device code expired before the login was approved; run the login again");
    }
  }

  TEST_CASE("stops at expires_in even if the server keeps saying pending") {
    ScriptedHttp http;
    http.device_answer =
        R"({"device_code":"DC","user_code":"U","verification_uri":"https://idp/activate","expires_in":12,"interval":5})";
    testing::FakeClock clock;
    FakeSleeper sleeper(clock);
    auto result = run_device_flow(http, clock, sleeper, request(), [](const auto&) {});
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::OAuthExpiredToken);
    CHECK(sleeper.slept == std::vector<long>{5, 5, 2});
    CHECK(http.token_polls == 3);
  }

  TEST_CASE("backs off on network errors") {
    ScriptedHttp http;
    http.token_answers = {tl::unexpected(Error{Errc::HttpConnectFailed, "down"}),
                          tl::unexpected(Error{Errc::HttpTimeout, "slow"}),
                          http::HttpResponse{200, {}, R"({"access_token":"AT","token_type":"Bearer"})"}};
    testing::FakeClock clock;
    FakeSleeper sleeper(clock);
    auto result = run_device_flow(http, clock, sleeper, request(), [](const auto&) {});
    REQUIRE(result);
    CHECK(sleeper.slept == std::vector<long>{5, 5, 10});
  }

  TEST_CASE("other token errors end the flow unchanged") {
    ScriptedHttp http;
    http.token_answers = {ScriptedHttp::oauth_error("invalid_client")};
    testing::FakeClock clock;
    FakeSleeper sleeper(clock);
    auto result = run_device_flow(http, clock, sleeper, request(), [](const auto&) {});
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::OAuthInvalidClient);
  }

  TEST_CASE("a provider without a device endpoint is refused before any request") {
    ScriptedHttp http;
    testing::FakeClock clock;
    FakeSleeper sleeper(clock);
    auto r = request();
    r.device_authorization_endpoint.clear();
    auto result = run_device_flow(http, clock, sleeper, r, [](const auto&) {});
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::OAuthUnsupportedGrantType);
    CHECK(http.token_polls == 0);
  }
}
