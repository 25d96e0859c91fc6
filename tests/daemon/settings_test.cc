#include "daemon/settings.h"

#include <doctest/doctest.h>

#include "support/fakes.h"

namespace oauthdemo::daemon {
namespace {

using oauthdemo::testing::FakeHttpClient;

config::LayeredSettings layers(std::map<std::string, std::string, std::less<>> flags,
                               std::map<std::string, std::string, std::less<>> env = {}) {
  config::LayeredSettings l;
  for (const auto& [k, v] : flags) l.add_layer("--flag-for-" + k, {{k, v}});
  config::DotenvMap dotenv;
  int line = 1;
  for (const auto& [k, v] : env) dotenv[k] = config::DotenvEntry{v, line++};
  l.add_dotenv_layer("/srv/.env", dotenv);
  return l;
}

TEST_SUITE("daemon::settings") {
  TEST_CASE("AUTH0_DOMAIN gives the issuer with a slash and Auth0's JWKS URL") {
    auto s = settings_from(layers({}, {{"AUTH0_DOMAIN", "tenant.us.auth0.com"}, {"API_AUDIENCE", "https://api"}}));
    REQUIRE(s);
    CHECK(s->issuer == "https://tenant.us.auth0.com/");
    CHECK(s->port == 3001);
    CHECK(s->leeway == Seconds{30});
    CHECK(s->allowed_algs == std::vector<jose::Alg>{jose::Alg::RS256});
    CHECK(s->token_cache);
    FakeHttpClient http;
    REQUIRE(resolve_provider(*s, http));
    CHECK(s->jwks_uri == "https://tenant.us.auth0.com/.well-known/jwks.json");
    CHECK(http.requests().empty());
  }

  TEST_CASE("flags win over .env") {
    auto s = settings_from(layers({{"BACKEND_PORT", "4000"}, {"LEEWAY", "5"}},
                                  {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}, {"BACKEND_PORT", "5000"}}));
    REQUIRE(s);
    CHECK(s->port == 4000);
    CHECK(s->leeway == Seconds{5});
  }

  TEST_CASE("errors name the setting and where it was read") {
    SUBCASE("missing audience") {
      auto s = settings_from(layers({}, {{"AUTH0_DOMAIN", "t.auth0.com"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().code == Errc::ConfigMissing);
      CHECK(s.error().detail ==
            "API_AUDIENCE is required: the API identifier from the Auth0 dashboard (set --audience, the environment "
            "variable API_AUDIENCE or API_AUDIENCE in .env)");
    }
    SUBCASE("no issuer") {
      auto s = settings_from(layers({}, {{"API_AUDIENCE", "a"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail ==
            "no issuer configured: set AUTH0_DOMAIN (e.g. tenant.us.auth0.com) or ISSUER_BASE_URL (--issuer)");
    }
    SUBCASE("leeway out of range") {
      auto s = settings_from(layers({}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}, {"LEEWAY", "500"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail == "LEEWAY (/srv/.env line 3): 500 is not between 0 and 300");
    }
    SUBCASE("port not a number") {
      auto s = settings_from(layers({{"BACKEND_PORT", "http"}}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail == "BACKEND_PORT (--flag-for-BACKEND_PORT): \"http\" is not a whole number");
    }
    SUBCASE("unknown algorithm") {
      auto s = settings_from(
          layers({}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}, {"ALLOWED_ALGS", "RS256,HS256"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail.starts_with("ALLOWED_ALGS (/srv/.env line 1): \"RS256,HS256\" must list algorithms"));
    }
    SUBCASE("plain http issuer for a real host") {
      auto s = settings_from(layers({}, {{"ISSUER_BASE_URL", "http://tenant.auth0.com/"}, {"API_AUDIENCE", "a"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail ==
            "ISSUER_BASE_URL (/srv/.env line 2): \"http://tenant.auth0.com/\" uses plain http for a non-loopback "
            "host; use https");
    }
    SUBCASE("TOKEN_CACHE") {
      auto s = settings_from(layers({}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}, {"TOKEN_CACHE", "maybe"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail == "TOKEN_CACHE (/srv/.env line 3): \"maybe\" must be on or off");
    }
    SUBCASE("CORS origin with a path") {
      auto s = settings_from(layers(
          {}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}, {"CORS_ORIGINS", "http://localhost:3000/app"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail == "CORS_ORIGINS (/srv/.env line 3): \"http://localhost:3000/app\" is not an origin like "
                                "https://app.example.com or http://localhost:3000");
    }
    SUBCASE("TLS files must come together") {
      auto s = settings_from(layers({{"TLS_CERT_FILE", "/etc/hostname"}}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail == "TLS_CERT_FILE and TLS_KEY_FILE must be set together");
    }
    SUBCASE("unreadable CA file") {
      auto s = settings_from(layers({{"CA_FILE", "/nonexistent/ca.pem"}}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}}));
      REQUIRE_FALSE(s);
      CHECK(s.error().detail == "CA_FILE (--flag-for-CA_FILE): cannot read \"/nonexistent/ca.pem\"");
    }
  }

  TEST_CASE("switches: TOKEN_CACHE and ACCESS_LOG") {
    auto s = settings_from(layers({{"TOKEN_CACHE", "off"}, {"ACCESS_LOG", "OFF"}}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}}));
    REQUIRE(s);
    CHECK_FALSE(s->token_cache);
    CHECK_FALSE(s->access_log);
    auto d = settings_from(layers({}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}}));
    REQUIRE(d);
    CHECK(d->token_cache);
    CHECK(d->access_log);
  }

  TEST_CASE("connection settings: defaults, values and bounds") {
    const std::map<std::string, std::string, std::less<>> base = {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}};
    auto d = settings_from(layers({}, base));
    REQUIRE(d);
    CHECK(d->workers == 0);  // one event loop per CPU
    CHECK(d->max_connections == 10000);
    CHECK(d->header_timeout == Seconds{10});
    CHECK(d->shutdown_drain == Seconds{0});
    auto s = settings_from(layers({{"WORKERS", "3"}, {"MAX_CONNECTIONS", "50"}, {"HEADER_TIMEOUT", "2"}, {"SHUTDOWN_DRAIN", "7"}}, base));
    REQUIRE(s);
    CHECK(s->workers == 3);
    CHECK(s->max_connections == 50);
    CHECK(s->header_timeout == Seconds{2});
    CHECK(s->shutdown_drain == Seconds{7});
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"HEADER_TIMEOUT", "0"}, {"SHUTDOWN_DRAIN", "301"}, {"MAX_CONNECTIONS", "0"}, {"WORKERS", "1025"}}) {
      auto bad = settings_from(layers({{name, value}}, base));
      REQUIRE_FALSE(bad);
      CHECK(bad.error().detail.find(name) != std::string::npos);
    }
  }

  TEST_CASE("CORS_ORIGINS list and *") {
    auto s = settings_from(layers({}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"},
                                       {"CORS_ORIGINS", "http://localhost:3000, https://app.example.com"}}));
    REQUIRE(s);
    CHECK(s->cors_origins == std::vector<std::string>{"http://localhost:3000", "https://app.example.com"});
    auto all = settings_from(layers({}, {{"AUTH0_DOMAIN", "t.auth0.com"}, {"API_AUDIENCE", "a"}, {"CORS_ORIGINS", "*"}}));
    REQUIRE(all);
    CHECK(all->cors_origins.empty());
  }

  TEST_CASE("ISSUER_BASE_URL uses discovery and the issuer must match exactly") {
    FakeHttpClient http;
    const std::string disc = "https://t.auth0.com/.well-known/openid-configuration";
    SUBCASE("match") {
      http.respond(disc, 200, R"({"issuer":"https://t.auth0.com/","jwks_uri":"https://t.auth0.com/keys"})");
      auto s = settings_from(layers({{"ISSUER_BASE_URL", "https://t.auth0.com/"}}, {{"API_AUDIENCE", "a"}}));
      REQUIRE(s);
      REQUIRE(resolve_provider(*s, http));
      CHECK(s->jwks_uri == "https://t.auth0.com/keys");
    }
    SUBCASE("the classic Auth0 trailing-slash mistake") {
      http.respond(disc, 200, R"({"issuer":"https://t.auth0.com/","jwks_uri":"https://t.auth0.com/keys"})");
      auto s = settings_from(layers({{"ISSUER_BASE_URL", "https://t.auth0.com"}}, {{"API_AUDIENCE", "a"}}));
      REQUIRE(s);
      auto r = resolve_provider(*s, http);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::OAuthIssuerMismatch);
      CHECK(r.error().detail == "discovery says issuer \"https://t.auth0.com/\" but ISSUER_BASE_URL is "
                                "\"https://t.auth0.com\" \xE2\x80\x94 Auth0 issuers end with \"/\"");
    }
    SUBCASE("JWKS_URI overrides discovery") {
      auto s = settings_from(layers({{"ISSUER_BASE_URL", "https://t.auth0.com/"}, {"JWKS_URI", "https://k.example/j"}},
                                    {{"API_AUDIENCE", "a"}}));
      REQUIRE(s);
      REQUIRE(resolve_provider(*s, http));
      CHECK(s->jwks_uri == "https://k.example/j");
      CHECK(http.requests().empty());
    }
    SUBCASE("provider down: a retryable discovery failure naming the setting") {
      auto s = settings_from(layers({{"ISSUER_BASE_URL", "https://t.auth0.com/"}}, {{"API_AUDIENCE", "a"}}));
      REQUIRE(s);
      auto r = resolve_provider(*s, http);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::OAuthDiscoveryFailed);
      CHECK(r.error().detail.starts_with("ISSUER_BASE_URL (--flag-for-ISSUER_BASE_URL): cannot fetch "));
    }
  }

  TEST_CASE("command line: flags map to setting names; unknown flags are usage errors") {
    const char* argv[] = {"apid", "--port", "0", "--audience", "x", "--env-file", "/tmp/e"};
    auto c = parse_command_line(7, argv);
    REQUIRE(c);
    CHECK(c->flag_values.at("BACKEND_PORT") == "0");
    CHECK(c->flag_values.at("API_AUDIENCE") == "x");
    CHECK(c->env_file == "/tmp/e");
    const char* bad[] = {"apid", "--no-such-flag"};
    auto b = parse_command_line(2, bad);
    REQUIRE_FALSE(b);
    CHECK(b.error().code == Errc::InvalidArgument);
    CHECK(b.error().detail == "unknown option '--no-such-flag'");
    const char* typo[] = {"apid", "--audince=x"};
    auto t = parse_command_line(2, typo);
    REQUIRE_FALSE(t);
    CHECK(t.error().detail == "unknown option '--audince'; did you mean --audience?");
    const char* help[] = {"apid", "--help"};
    auto h = parse_command_line(2, help);
    REQUIRE(h);
    CHECK(h->help);
    CHECK(h->help_text.find("[API_AUDIENCE]") != std::string::npos);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
