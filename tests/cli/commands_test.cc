#include <doctest/doctest.h>

#include "cli/app.h"
#include "cli/browser.h"
#include "cli/commands/call_api.h"
#include "cli/commands/login.h"
#include "cli/terminal.h"
#include "common/http/url.h"

using namespace oauthdemo;
using namespace oauthdemo::cli;

TEST_SUITE("cli::commands") {
  TEST_CASE("port lists") {
    auto ports = parse_port_list("8400, 8401,0", "--port-list");
    REQUIRE(ports);
    CHECK(*ports == std::vector<uint16_t>{8400, 8401, 0});
    auto bad = parse_port_list("8400,http", "--port-list");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::InvalidArgument);
    CHECK(bad.error().detail == "--port-list must be a comma-separated list of ports (0 = any free port), e.g. 8400,8401,8402");
    CHECK_FALSE(parse_port_list("70000", "x"));
    CHECK_FALSE(parse_port_list("", "x"));
  }

  TEST_CASE("the authorization URL always carries PKCE S256, state, nonce and the audience") {
    auto url = build_authorization_url("https://t.auth0.com/authorize", "cli", "http://127.0.0.1:8400/callback",
                                       "openid offline_access", "STATE", "NONCE", "CHALLENGE", "https://api");
    CHECK(url ==
          "https://t.auth0.com/authorize?response_type=code&client_id=cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400"
          "%2Fcallback&scope=openid%20offline_access&state=STATE&nonce=NONCE&code_challenge=CHALLENGE"
          "&code_challenge_method=S256&audience=https%3A%2F%2Fapi");
    auto no_audience = build_authorization_url("https://idp/auth?x=1", "c", "r", "openid", "s", "n", "ch", "");
    CHECK(no_audience.find("https://idp/auth?x=1&response_type=code") == 0);
    CHECK(no_audience.find("audience") == std::string::npos);
  }

  TEST_CASE("prompt=consent accompanies offline_access for non-Auth0 providers only (OIDC Core 11)") {
    CHECK(choose_prompt("", "openid offline_access", false) == "consent");
    CHECK(choose_prompt("", "openid offline_access", true) == "");
    CHECK(choose_prompt("", "openid profile", false) == "");
    CHECK(choose_prompt("", "openid offline_accessx", false) == "");
    CHECK(choose_prompt("login", "openid offline_access", true) == "login");
    CHECK(choose_prompt("none", "openid offline_access", false) == "");
    auto url = build_authorization_url("https://idp/auth", "c", "r", "openid offline_access", "s", "n", "ch", "", "consent");
    CHECK(url.ends_with("&code_challenge_method=S256&prompt=consent"));
  }

  TEST_CASE("Bearer challenges are parsed and explained") {
    auto params = parse_bearer_challenge(
        R"(Bearer realm="api", error="insufficient_scope", error_description="needs read:admin", scope="read:admin")");
    CHECK(params["error"] == "insufficient_scope");
    CHECK(params["scope"] == "read:admin");
    CHECK(params["realm"] == "api");
    CHECK(parse_bearer_challenge("Basic realm=x").empty());
    CHECK(explain_auth_failure(403, R"(Bearer error="insufficient_scope", scope="read:admin")") ==
          "the API refused the request: the token lacks the required permission 'read:admin'. Log in as a user who "
          "has it, or request it: oauthdemo login --scope \"openid profile email offline_access read:admin\".");
    CHECK(explain_auth_failure(401, R"(Bearer error="invalid_token", error_description="token expired")") ==
          "the API rejected the access token (token expired). Run: oauthdemo login");
    CHECK(explain_auth_failure(401, "") == "the API requires authentication (HTTP 401). Run: oauthdemo login");
  }

  TEST_CASE("exit codes follow the documented table") {
    CHECK(exit_code_for(Errc::LoginRequired) == 4);
    CHECK(exit_code_for(Errc::OAuthExpiredToken) == 4);
    CHECK(exit_code_for(Errc::OAuthInvalidGrant) == 4);
    CHECK(exit_code_for(Errc::TokenExpired) == 4);
    CHECK(exit_code_for(Errc::OAuthAccessDenied) == 5);
    CHECK(exit_code_for(Errc::HttpBadStatus) == 6);
    CHECK(exit_code_for(Errc::HttpConnectFailed) == 7);
    CHECK(exit_code_for(Errc::HttpTlsFailure) == 7);
    CHECK(exit_code_for(Errc::OAuthInterrupted) == 130);
    CHECK(exit_code_for(Errc::InvalidArgument) == 2);
    CHECK(exit_code_for(Errc::ConfigMissing) == 1);
    CHECK(exit_code_help().find("130  interrupted (Ctrl-C)") != std::string::npos);
  }

  TEST_CASE("shell quoting survives quotes") {
    CHECK(shell_quote("http://x/?a=1&b='2'") == "'http://x/?a=1&b='\"'\"'2'\"'\"''");
  }

  TEST_CASE("terminal detection reads CI, NO_COLOR, SSH and the display") {
    auto info = detect_terminal([](const char* name) -> std::optional<std::string> {
      std::string n(name);
      if (n == "CI") return "true";
      if (n == "NO_COLOR") return "";
      if (n == "SSH_CONNECTION") return "1.2.3.4 5 6.7.8.9 22";
      return std::nullopt;
    });
    CHECK(info.ci);
    CHECK(info.no_color);
    CHECK(info.ssh);
    CHECK_FALSE(info.browser_likely());
    CHECK_FALSE(info.interactive());
    CHECK_FALSE(info.color_stderr());
  }

  TEST_CASE("TERM=dumb disables colour like NO_COLOR; another TERM does not") {
    auto with_term = [](std::string term) {
      return detect_terminal([term](const char* name) -> std::optional<std::string> {
        if (std::string(name) == "TERM") return term;
        return std::nullopt;
      });
    };
    CHECK(with_term("dumb").no_color);
    CHECK_FALSE(with_term("xterm-256color").no_color);
  }

  TEST_CASE("countdowns and relative times") {
    CHECK(format_countdown(std::chrono::seconds(299)) == "4:59");
    CHECK(format_countdown(std::chrono::seconds(3723)) == "1:02:03");
    CHECK(format_relative(std::chrono::seconds(3599)) == "in 59m 59s");
    CHECK(format_relative(std::chrono::seconds(-7260)) == "2h 1m ago");
  }

  TEST_CASE("a QR code renders as half-block rows") {
    auto qr = render_qr("http://127.0.0.1:1/activate?user_code=ABCD-EFGH");
    REQUIRE_FALSE(qr.empty());
    const auto first_line = qr.substr(0, qr.find('\n'));
    CHECK(first_line.find("\u2588") != std::string::npos);
    // Version 3 is 29 modules + 2*2 quiet = 33 columns of 3-byte characters, 17 rows.
    std::size_t rows = 0;
    for (char c : qr) rows += c == '\n' ? 1 : 0;
    CHECK(rows >= 11);
  }
}
