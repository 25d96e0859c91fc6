#include <doctest/doctest.h>

#include "devidp/http_util.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp;

TEST_SUITE("devidp::http_util") {
  TEST_CASE("only loopback peers may use the admin endpoint") {
    CHECK(is_loopback_peer("127.0.0.1"));
    CHECK(is_loopback_peer("127.1.2.3"));
    CHECK(is_loopback_peer("::1"));
    CHECK(is_loopback_peer("::ffff:127.0.0.1"));
    CHECK_FALSE(is_loopback_peer("10.0.0.1"));
    CHECK_FALSE(is_loopback_peer("::ffff:10.0.0.1"));
    CHECK_FALSE(is_loopback_peer("192.168.1.127"));
    CHECK_FALSE(is_loopback_peer(""));
  }

  TEST_CASE("cookies are found among several") {
    httplib::Request req;
    req.set_header("Cookie", "a=1; devidp_csrf=abc; b=2");
    CHECK(cookie(req, "devidp_csrf") == std::optional<std::string>("abc"));
    CHECK(cookie(req, "b") == std::optional<std::string>("2"));
    CHECK_FALSE(cookie(req, "devidp"));
  }

  TEST_CASE("CSRF: the form field must equal a well-formed cookie") {
    const std::string token(43, 'k');
    httplib::Request req;
    req.set_header("Cookie", "devidp_csrf=" + token);
    CHECK(csrf_ok(req, {{"csrf", token}}));
    CHECK_FALSE(csrf_ok(req, {{"csrf", std::string(42, 'k') + "x"}}));
    CHECK_FALSE(csrf_ok(req, {}));
    httplib::Request no_cookie;
    CHECK_FALSE(csrf_ok(no_cookie, {{"csrf", token}}));
    httplib::Request short_cookie;
    short_cookie.set_header("Cookie", "devidp_csrf=x");
    CHECK_FALSE(csrf_ok(short_cookie, {{"csrf", "x"}}));
  }

  TEST_CASE("bearer tokens need exactly one well-formed Authorization header") {
    httplib::Request req;
    req.set_header("Authorization", "Bearer abc.def.ghi");
    CHECK(bearer_token(req) == std::optional<std::string>("abc.def.ghi"));
    httplib::Request basic;
    basic.set_header("Authorization", "Basic abc");
    CHECK_FALSE(bearer_token(basic));
    httplib::Request empty;
    empty.set_header("Authorization", "Bearer ");
    CHECK_FALSE(bearer_token(empty));
  }

  TEST_CASE("HTTP Basic credentials are form-decoded (RFC 6749 §2.3.1)") {
    auto reg = Registry::from_json(
        R"({"clients":[{"client_id":"a b","client_secret":"p:w%","type":"confidential","grant_types":["client_credentials"]}]})",
        [](std::string_view) { return std::nullopt; });
    REQUIRE(reg);
    httplib::Request req;
    // "a+b:p%3Aw%25" in base64
    req.set_header("Authorization", "Basic YStiOnAlM0F3JTI1");
    auto ok = authenticate_client(req, {}, *reg);
    REQUIRE(ok);
    CHECK(ok->client->client_id == "a b");
    CHECK(ok->confidential_authenticated);
    httplib::Request bad;
    bad.set_header("Authorization", "Basic !!!!");
    auto r = authenticate_client(bad, {}, *reg);
    REQUIRE_FALSE(r);
    CHECK(r.error().error == "invalid_request");
    CHECK(r.error().description == "malformed HTTP Basic credentials");
  }

  TEST_CASE("a confidential client without a configured secret cannot authenticate") {
    auto reg = Registry::builtin([](std::string_view) { return std::nullopt; });
    httplib::Request req;
    auto r = authenticate_client(req, {{"client_id", "oauthdemo-ci"}, {"client_secret", ""}}, reg);
    REQUIRE_FALSE(r);
    CHECK(r.error().status == 401);
    CHECK(r.error().error == "invalid_client");
    CHECK(r.error().description == "client oauthdemo-ci is disabled (no secret configured)");
  }
}
