#include "common/oauth/device_grant.h"

#include <doctest/doctest.h>

using namespace oauthdemo;
using namespace oauthdemo::oauth;
using std::chrono::seconds;

namespace {
http::HttpResponse answer(int status, std::string body) { return http::HttpResponse{status, {}, std::move(body)}; }
const char* kValid =
    R"({"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"https://idp/activate",)"
    R"("verification_uri_complete":"https://idp/activate?user_code=ABCD-EFGH","expires_in":600,"interval":2})";
}  // namespace

TEST_SUITE("oauth::device_grant") {
  TEST_CASE("parses a device authorization answer") {
    auto r = parse_device_authorization(answer(200, kValid));
    REQUIRE(r);
    CHECK(r->device_code == "dc");
    CHECK(r->user_code == "ABCD-EFGH");
    CHECK(r->verification_uri == "https://idp/activate");
    CHECK(r->verification_uri_complete == "https://idp/activate?user_code=ABCD-EFGH");
    CHECK(r->expires_in == seconds{600});
    CHECK(r->interval == seconds{2});
  }

  TEST_CASE("interval defaults to 5 seconds") {
    auto r = parse_device_authorization(
        answer(200, R"({"device_code":"dc","user_code":"U","verification_uri":"https://idp/a","expires_in":60})"));
    REQUIRE(r);
    CHECK(r->interval == seconds{5});
    CHECK(r->verification_uri_complete.empty());
  }

  TEST_CASE("rejects bad answers") {
    SUBCASE("missing user_code") {
      auto r = parse_device_authorization(
          answer(200, R"({"device_code":"dc","verification_uri":"https://idp/a","expires_in":60})"));
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "device authorization answer has no \"user_code\"");
    }
    SUBCASE("verification_uri not a URL") {
      auto r = parse_device_authorization(
          answer(200, R"({"device_code":"dc","user_code":"U","verification_uri":"javascript:x","expires_in":60})"));
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "\"verification_uri\" is not an http(s) URL");
    }
    SUBCASE("interval zero") {
      auto r = parse_device_authorization(answer(
          200, R"({"device_code":"dc","user_code":"U","verification_uri":"https://idp/a","expires_in":60,"interval":0})"));
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "\"interval\" is out of range");
    }
    SUBCASE("error answer") {
      auto r = parse_device_authorization(answer(401, R"({"error":"unauthorized_client","error_description":"no"})"));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::OAuthUnauthorizedClient);
    }
  }

  TEST_CASE("request carries client_id, scope and audience") {
    auto request = device_authorization_request("https://idp/oauth/device/code", {"cli", ""}, "openid", "https://api");
    CHECK(request.body == "client_id=cli&scope=openid&audience=https%3A%2F%2Fapi");
  }

  TEST_CASE("poll schedule follows RFC 8628 section 3.5") {
    DevicePollSchedule schedule{seconds{5}};
    CHECK(schedule.initial_wait() == seconds{5});
    CHECK(*schedule.after({Errc::OAuthAuthorizationPending, ""}) == seconds{5});
    CHECK(*schedule.after({Errc::OAuthSlowDown, ""}) == seconds{10});
    CHECK(*schedule.after({Errc::OAuthAuthorizationPending, ""}) == seconds{10});
    CHECK(*schedule.after({Errc::HttpConnectFailed, ""}) == seconds{10});
    CHECK(*schedule.after({Errc::HttpTimeout, ""}) == seconds{20});
    CHECK(*schedule.after({Errc::HttpTimeout, ""}) == seconds{40});
    CHECK(*schedule.after({Errc::HttpTimeout, ""}) == seconds{60});
    CHECK(*schedule.after({Errc::HttpTimeout, ""}) == seconds{60});
    CHECK(*schedule.after({Errc::OAuthAuthorizationPending, ""}) == seconds{10});
    auto denied = schedule.after({Errc::OAuthAccessDenied, "access_denied"});
    REQUIRE_FALSE(denied);
    CHECK(denied.error().code == Errc::OAuthAccessDenied);
    auto expired = schedule.after({Errc::OAuthExpiredToken, "expired_token"});
    REQUIRE_FALSE(expired);
    CHECK(expired.error().code == Errc::OAuthExpiredToken);
  }
}
