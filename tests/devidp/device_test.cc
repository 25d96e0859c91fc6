#include <doctest/doctest.h>

#include "idp_fixture.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp;
using namespace oauthdemo::devidp::testing;

namespace {

nlohmann::json start_device(TestIdp& idp, const std::string& scope = "openid profile offline_access read:messages") {
  auto c = idp.client();
  return json_of(post_form(c, "/oauth/device/code", {{"client_id", kCliClient}, {"scope", scope}, {"audience", kApi}}));
}

httplib::Result poll(TestIdp& idp, const std::string& device_code) {
  auto c = idp.client();
  return post_form(c, "/oauth/token",
                   {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"}, {"client_id", kCliClient},
                    {"device_code", device_code}});
}

std::string error_of(const httplib::Result& res) { return json_of(res).value("error", ""); }

// Enters the user code on /activate and returns the login form that follows.
std::optional<LoginForm> activate(TestIdp& idp, httplib::Client& c, const std::string& user_code) {
  auto page = c.Get(("/activate?" + http::form_encode({{"user_code", user_code}})).c_str());
  if (!page || page->status != 200) return std::nullopt;
  const std::string cookie = cookie_value(page, "devidp_csrf");
  auto res = post_form(c, "/activate", {{"csrf", field(page->body, "csrf")}, {"user_code", field(page->body, "user_code")}},
                       {{"Cookie", "devidp_csrf=" + cookie}});
  if (!res || res->status != 302) return std::nullopt;
  auto login = c.Get(res->get_header_value("Location").c_str(), {{"Cookie", "devidp_csrf=" + cookie}});
  if (!login || login->status != 200) return std::nullopt;
  (void)idp;
  return LoginForm{field(login->body, "txn"), field(login->body, "csrf"), cookie, login->body};
}

}  // namespace

TEST_SUITE("devidp::device") {
  TEST_CASE("the device authorization response has the RFC 8628 fields") {
    TestIdp idp;
    auto body = start_device(idp);
    CHECK(body["device_code"].get<std::string>().size() == 43);
    CHECK(body["user_code"].get<std::string>().size() == 9);
    CHECK(body["verification_uri"] == idp.issuer() + "activate");
    CHECK(body["verification_uri_complete"] == idp.issuer() + "activate?user_code=" + body["user_code"].get<std::string>());
    CHECK(body["expires_in"] == 600);
    CHECK(body["interval"] == 5);
  }

  TEST_CASE("device flow: pending, slow_down, approval by login, then success once") {
    TestIdp idp;
    auto body = start_device(idp);
    const std::string device_code = body["device_code"];
    CHECK(error_of(poll(idp, device_code)) == "authorization_pending");
    CHECK(error_of(poll(idp, device_code)) == "slow_down");
    auto c = idp.client();
    auto form = activate(idp, c, body["user_code"]);
    REQUIRE(form);
    CHECK(form->html.find(body["user_code"].get<std::string>()) != std::string::npos);
    auto done = submit_login(c, *form, "alice", "alice-password");
    REQUIRE(done);
    CHECK(done->status == 200);
    CHECK(done->body.find("Device approved") != std::string::npos);
    idp.clock.advance(std::chrono::seconds(11));  // interval grew to 10 s
    auto ok = poll(idp, device_code);
    REQUIRE(ok);
    REQUIRE(ok->status == 200);
    auto tokens = json_of(ok);
    CHECK(jwt_claims(tokens["access_token"])["sub"] == "auth0|alice");
    CHECK(tokens["refresh_token"].is_string());
    CHECK(tokens["id_token"].is_string());
    idp.clock.advance(std::chrono::seconds(11));
    CHECK(error_of(poll(idp, device_code)) == "invalid_grant");
  }

  TEST_CASE("device flow: deny gives access_denied") {
    TestIdp idp;
    auto body = start_device(idp);
    auto c = idp.client();
    auto form = activate(idp, c, body["user_code"]);
    REQUIRE(form);
    auto done = submit_login(c, *form, "", "", "deny");
    REQUIRE(done);
    CHECK(done->body.find("Device denied") != std::string::npos);
    auto res = poll(idp, body["device_code"]);
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(error_of(res) == "access_denied");
  }

  TEST_CASE("device flow: expired_token after expires_in, and the user code stops working") {
    TestIdp idp;
    auto body = start_device(idp);
    idp.clock.advance(std::chrono::seconds(600));
    CHECK(error_of(poll(idp, body["device_code"])) == "expired_token");
    auto c = idp.client();
    CHECK_FALSE(activate(idp, c, body["user_code"]));
  }

  TEST_CASE("activate: a wrong code re-shows the form; a missing CSRF token is refused") {
    TestIdp idp;
    start_device(idp);
    auto c = idp.client();
    auto page = c.Get("/activate");
    REQUIRE(page);
    const std::string cookie = cookie_value(page, "devidp_csrf");
    auto wrong = post_form(c, "/activate", {{"csrf", field(page->body, "csrf")}, {"user_code", "BCDF-GHJK"}},
                           {{"Cookie", "devidp_csrf=" + cookie}});
    REQUIRE(wrong);
    CHECK(wrong->status == 200);
    CHECK(wrong->body.find("That code is not valid or has expired.") != std::string::npos);
    auto no_csrf = post_form(c, "/activate", {{"user_code", "BCDF-GHJK"}}, {{"Cookie", "devidp_csrf=" + cookie}});
    REQUIRE(no_csrf);
    CHECK(no_csrf->status == 403);
  }

  TEST_CASE("device code requests are validated") {
    TestIdp idp;
    auto c = idp.client();
    auto bad_scope = post_form(c, "/oauth/device/code", {{"client_id", kCliClient}, {"scope", "openid nope"}});
    REQUIRE(bad_scope);
    CHECK(bad_scope->status == 400);
    CHECK(error_of(bad_scope) == "invalid_scope");
    auto ci = post_form(c, "/oauth/device/code", {{"client_id", kCiClient}, {"client_secret", kCiSecret}});
    REQUIRE(ci);
    CHECK(error_of(ci) == "unauthorized_client");
  }
}
