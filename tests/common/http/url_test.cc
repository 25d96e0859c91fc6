#include <doctest/doctest.h>

#include "common/http/url.h"

using namespace oauthdemo;

TEST_SUITE("http::url") {
  TEST_CASE("parses host, port, path and query") {
    auto u = http::parse_url("http://127.0.0.1:3001/hello?a=1");
    REQUIRE(u);
    CHECK(u->host == "127.0.0.1");
    CHECK(u->port == 3001);
    CHECK(u->path == "/hello");
    CHECK(u->query == "a=1");
    CHECK(u->origin() == "http://127.0.0.1:3001");
  }
  TEST_CASE("uses the scheme's default port and a root path") {
    auto u = http::parse_url("https://tenant.auth0.com");
    REQUIRE(u);
    CHECK(u->port == 443);
    CHECK(u->path == "/");
    CHECK(u->str() == "https://tenant.auth0.com/");
  }
  TEST_CASE("parses IPv6 literals") {
    auto u = http::parse_url("http://[::1]:8400/callback");
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->origin() == "http://[::1]:8400");
  }
  TEST_CASE("rejects other schemes, user info, fragments and bad ports") {
    CHECK(http::parse_url("ftp://x/").error().detail == "URL scheme must be http or https, not 'ftp'");
    CHECK(http::parse_url("http://user@x/").error().code == Errc::HttpBadUrl);
    CHECK(http::parse_url("http://x/#frag").error().code == Errc::HttpBadUrl);
    CHECK(http::parse_url("http://x:99999/").error().code == Errc::HttpBadUrl);
    CHECK(http::parse_url("http://:80/").error().code == Errc::HttpBadUrl);
  }
  TEST_CASE("knows loopback hosts") {
    CHECK(http::is_loopback_host("127.0.0.1"));
    CHECK(http::is_loopback_host("127.9.9.9"));
    CHECK(http::is_loopback_host("::1"));
    CHECK(http::is_loopback_host("localhost"));
    CHECK_FALSE(http::is_loopback_ip_literal("localhost"));
    CHECK_FALSE(http::is_loopback_host("128.0.0.1"));
    CHECK_FALSE(http::is_loopback_host("localhost.evil.com"));
  }
  TEST_CASE("form encoding round-trips reserved characters") {
    http::Params p{{"redirect_uri", "http://127.0.0.1:1/cb?x=1&y=2"}, {"scope", "openid profile"}};
    auto encoded = http::form_encode(p);
    CHECK(encoded == "redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb%3Fx%3D1%26y%3D2&scope=openid%20profile");
    auto parsed = http::parse_form(encoded);
    REQUIRE(parsed);
    CHECK(*parsed == p);
  }
  TEST_CASE("form parsing rejects repeated names and bad escapes") {
    CHECK(http::parse_form("a=1&a=2").error().detail == "parameter 'a' is repeated");
    CHECK(http::parse_form("a=%zz").error().code == Errc::OAuthInvalidRequest);
    CHECK(http::parse_form("a=%4").error().code == Errc::OAuthInvalidRequest);
    CHECK(http::parse_form("a=b+c").value() == http::Params{{"a", "b c"}});
  }
  TEST_CASE("html escaping covers the five special characters") {
    CHECK(http::html_escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  }
}
