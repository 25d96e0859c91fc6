#include <doctest/doctest.h>

#include "idp_fixture.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp;
using namespace oauthdemo::devidp::testing;

namespace {

// GET /authorize and return the response (no redirects followed).
httplib::Result get_authorize(TestIdp& idp, const AuthorizeParams& p) {
  auto c = idp.client();
  return c.Get(authorize_path(p).c_str());
}

void check_error_redirect(TestIdp& idp, const AuthorizeParams& p, const std::string& error,
                          const std::string& description) {
  auto res = get_authorize(idp, p);
  REQUIRE(res);
  REQUIRE(res->status == 302);
  const std::string location = res->get_header_value("Location");
  CHECK(location.rfind(p.redirect_uri + "?", 0) == 0);
  CHECK(qparam(location, "error") == error);
  CHECK(qparam(location, "error_description") == description);
  CHECK(qparam(location, "state") == p.state);
  CHECK(qparam(location, "iss") == idp.issuer());
  CHECK(qparam(location, "code").empty());
}

}  // namespace

TEST_SUITE("devidp::authorize") {
  TEST_CASE("a valid request redirects to the login page, and login redirects with code and state") {
    TestIdp idp;
    auto c = idp.client();
    auto res = c.Get(authorize_path({}).c_str());
    REQUIRE(res);
    REQUIRE(res->status == 302);
    const std::string login = res->get_header_value("Location");
    REQUIRE(login.rfind("/u/login?txn=", 0) == 0);
    auto page = c.Get(login.c_str());
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->body.find("<form method=\"post\" action=\"/u/login\">") != std::string::npos);
    CHECK(page->body.find("name=\"username\"") != std::string::npos);
    CHECK(page->body.find("name=\"password\"") != std::string::npos);
    CHECK(page->body.find("name=\"action\" value=\"login\"") != std::string::npos);
    CHECK(page->body.find("name=\"action\" value=\"deny\"") != std::string::npos);
    CHECK(page->get_header_value("X-Frame-Options") == "DENY");
    CHECK(page->get_header_value("Cache-Control") == "no-store");
    CHECK(page->get_header_value("Referrer-Policy") == "no-referrer");
    CHECK(page->get_header_value("Content-Security-Policy") ==
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:4567; "
          "frame-ancestors 'none'; base-uri 'none'");
    const std::string set_cookie = page->get_header_value("Set-Cookie");
    CHECK(set_cookie.find("HttpOnly") != std::string::npos);
    CHECK(set_cookie.find("SameSite=Strict") != std::string::npos);
    LoginForm form{field(page->body, "txn"), field(page->body, "csrf"), cookie_value(page, "devidp_csrf"), page->body};
    CHECK(form.csrf == form.cookie);
    auto done = submit_login(c, form, "alice", "alice-password");
    REQUIRE(done);
    REQUIRE(done->status == 302);
    const std::string location = done->get_header_value("Location");
    CHECK(location.rfind("http://127.0.0.1:4567/callback?code=", 0) == 0);
    CHECK(qparam(location, "state") == "state-123");
    CHECK(qparam(location, "iss") == idp.issuer());
    CHECK(qparam(location, "code").size() == 43);
  }

  TEST_CASE("unknown client or unregistered redirect_uri shows an error page and never redirects") {
    TestIdp idp;
    AuthorizeParams p;
    SUBCASE("unknown client") {
      p.client_id = "nope";
      auto res = get_authorize(idp, p);
      REQUIRE(res);
      CHECK(res->status == 400);
      CHECK_FALSE(res->has_header("Location"));
      CHECK(res->body.find("Unknown client: nope") != std::string::npos);
    }
    SUBCASE("redirect mismatch") {
      p.redirect_uri = "http://127.0.0.1:4567/other";
      auto res = get_authorize(idp, p);
      REQUIRE(res);
      CHECK(res->status == 400);
      CHECK_FALSE(res->has_header("Location"));
      CHECK(res->body.find("is not in the list of allowed callback URLs of oauthdemo-cli") != std::string::npos);
    }
    SUBCASE("non-loopback host") {
      p.redirect_uri = "http://evil.example/callback";
      auto res = get_authorize(idp, p);
      REQUIRE(res);
      CHECK(res->status == 400);
      CHECK_FALSE(res->has_header("Location"));
    }
    SUBCASE("repeated parameter") {
      auto c = idp.client();
      auto res = c.Get((authorize_path(p) + "&client_id=oauthdemo-cli").c_str());
      REQUIRE(res);
      CHECK(res->status == 400);
      CHECK_FALSE(res->has_header("Location"));
    }
    SUBCASE("markup in the redirect is escaped") {
      p.redirect_uri = "http://127.0.0.1:1/<script>";
      auto res = get_authorize(idp, p);
      REQUIRE(res);
      CHECK(res->body.find("<script>") == std::string::npos);
      CHECK(res->body.find("&lt;script&gt;") != std::string::npos);
    }
  }

  TEST_CASE("loopback redirect URIs match on any port (RFC 8252 §7.3)") {
    TestIdp idp;
    AuthorizeParams p;
    for (const std::string uri : {"http://127.0.0.1:1/callback", "http://127.0.0.1:65535/callback",
                                  "http://[::1]:8400/callback", "http://localhost:3000/callback"}) {
      p.redirect_uri = uri;
      auto res = get_authorize(idp, p);
      REQUIRE(res);
      CHECK(res->status == 302);
      CHECK(res->get_header_value("Location").rfind("/u/login?txn=", 0) == 0);
    }
    p.redirect_uri = "http://localhost:3001/callback";  // not an IP literal: exact match only
    auto res = get_authorize(idp, p);
    REQUIRE(res);
    CHECK(res->status == 400);
  }

  TEST_CASE("errors after a valid redirect URI go back to the client with state") {
    TestIdp idp;
    AuthorizeParams p;
    SUBCASE("response_type") {
      p.response_type = "token";
      check_error_redirect(idp, p, "unsupported_response_type", "response_type must be 'code'");
    }
    SUBCASE("missing challenge") {
      p.code_challenge.reset();
      check_error_redirect(idp, p, "invalid_request", "code_challenge is required (PKCE, RFC 7636)");
    }
    SUBCASE("plain method") {
      p.code_challenge_method = "plain";
      check_error_redirect(idp, p, "invalid_request", "code_challenge_method must be S256");
    }
    SUBCASE("missing method (defaults to plain)") {
      p.code_challenge_method.reset();
      check_error_redirect(idp, p, "invalid_request", "code_challenge_method is required and must be S256");
    }
    SUBCASE("malformed challenge") {
      p.code_challenge = kChallenge.substr(1);
      check_error_redirect(idp, p, "invalid_request", "code_challenge must be 43 base64url characters (S256)");
    }
    SUBCASE("unknown scope") {
      p.scope = "openid write:everything";
      check_error_redirect(idp, p, "invalid_scope", "unknown scope 'write:everything'");
    }
    SUBCASE("prompt=none without a session") {
      auto res = idp.client().Get((authorize_path(p) + "&prompt=none").c_str());
      REQUIRE(res);
      CHECK(qparam(res->get_header_value("Location"), "error") == "login_required");
    }
    SUBCASE("unknown audience") {
      p.audience = "https://nope.example.com";
      check_error_redirect(idp, p, "invalid_request", "Service not found: https://nope.example.com");
    }
  }

  TEST_CASE("deny redirects with access_denied") {
    TestIdp idp;
    const std::string location = authorize_and_login(idp, {}, "alice", "", "deny");
    CHECK(qparam(location, "error") == "access_denied");
    CHECK(qparam(location, "state") == "state-123");
    CHECK(qparam(location, "code").empty());
  }

  TEST_CASE("a wrong password shows the form again with an error and the username") {
    TestIdp idp;
    auto c = idp.client();
    auto res = c.Get(authorize_path({}).c_str());
    auto form = open_login(c, res->get_header_value("Location"));
    REQUIRE(form);
    auto again = submit_login(c, *form, "alice", "wrong");
    REQUIRE(again);
    CHECK(again->status == 200);
    CHECK(again->body.find("Wrong username or password.") != std::string::npos);
    CHECK(field(again->body, "username") == "alice");
    CHECK(field(again->body, "txn") == form->txn);
    // The same transaction still works with the right password.
    auto ok = submit_login(c, *form, "alice", "alice-password");
    REQUIRE(ok);
    CHECK(ok->status == 302);
  }

  TEST_CASE("a login POST without a matching CSRF token is refused") {
    TestIdp idp;
    auto c = idp.client();
    auto res = c.Get(authorize_path({}).c_str());
    auto form = open_login(c, res->get_header_value("Location"));
    REQUIRE(form);
    auto bad = submit_login(c, *form, "alice", "alice-password", "login", std::string(43, 'A'));
    REQUIRE(bad);
    CHECK(bad->status == 403);
    CHECK(bad->body.find("CSRF check failed") != std::string::npos);
    CHECK_FALSE(bad->has_header("Location"));
  }

  TEST_CASE("an unknown login transaction is an error page") {
    TestIdp idp;
    auto c = idp.client();
    auto res = c.Get("/u/login?txn=nope");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(res->body.find("This login is unknown or has expired.") != std::string::npos);
  }
}
