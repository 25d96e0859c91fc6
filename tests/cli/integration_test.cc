// End-to-end: the real `oauthdemo` binary against the real `oauthdemo-devidp` (authorization
// server) and `oauthdemo-apid` (API), each on a random loopback port, with the browser step
// driven by scripts/devidp-browser.sh through --browser-command. Every CLI run gets its own
// HOME / XDG_CONFIG_HOME and working directory.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/loopback_receiver.h"
#include "common/http/http_client.h"
#include "common/http/url.h"
#include "e2e_servers.h"

using namespace oauthdemo;
using namespace oauthdemo::testing;
using namespace std::chrono_literals;

namespace {

// Short lifetimes: access tokens for 30 s (always inside the 60 s refresh margin), device codes
// for 3 s.
Servers& short_lived_servers() {
  static Servers s = start_servers({"--access-token-ttl", "30", "--device-code-ttl", "3"});
  return s;
}

// A refresh_token grant sent directly to the devidp (to prove a token is dead).
int direct_refresh_status(const std::string& refresh_token) {
  http::HttplibClient client;
  http::HttpRequest request;
  request.method = "POST";
  request.url = servers().idp->base() + "/oauth/token";
  request.content_type = "application/x-www-form-urlencoded";
  request.body = http::form_encode(
      {{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}, {"client_id", "oauthdemo-cli"}});
  auto response = client.send(request);
  REQUIRE(response);
  return response->status;
}

}  // namespace

TEST_SUITE("cli::integration") {
  TEST_CASE("browser login, token show, status and call-api /hello") {
    Machine m;
    auto login = m.login("alice");
    INFO(login.err);
    REQUIRE(login.code == 0);
    CHECK(contains(login.err, "Open this URL in a browser to log in:"));
    CHECK(contains(login.err, "code_challenge_method=S256"));
    CHECK(contains(login.err, "Logged in as Alice Example <alice@example.com>"));
    CHECK(contains(login.err, "refresh token stored in " + m.store_path()));
    CHECK(login.out.empty());
    struct stat st {};
    REQUIRE(::stat(m.store_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto status = m.run({"status"});
    CHECK(status.code == 0);
    CHECK(contains(status.out, "Logged in as Alice Example <alice@example.com>"));
    CHECK(contains(status.out, "Stored in:     " + m.store_path()));
    auto status_json = nlohmann::json::parse(m.run({"status", "--json"}).out, nullptr, false);
    REQUIRE_FALSE(status_json.is_discarded());
    CHECK(status_json["logged_in"] == true);
    CHECK(status_json["issuer"] == servers().idp->issuer());

    auto raw = m.run({"token", "show", "--raw"});
    CHECK(raw.code == 0);
    CHECK((raw.out == m.stored().access_token + "\n"));
    CHECK(std::count(raw.out.begin(), raw.out.end(), '.') == 2);

    auto header = m.run({"token", "show", "--header"});
    CHECK((header.out == "Authorization: Bearer " + m.stored().access_token + "\n"));

    auto env = m.run({"token", "show", "--env"});
    CHECK((env.out == "export OAUTHDEMO_ACCESS_TOKEN='" + m.stored().access_token + "'\n"));

    auto json = nlohmann::json::parse(m.run({"token", "show", "--json"}).out, nullptr, false);
    REQUIRE_FALSE(json.is_discarded());
    CHECK(json["refresh_token_present"] == true);
    CHECK_FALSE(json.contains("refresh_token"));
    CHECK(json["profile"]["email"] == "alice@example.com");
    CHECK(contains(json["audience"].dump(), kAudience));
    CHECK(contains(json["permissions"].dump(), "read:admin"));

    auto human = m.run({"token", "show"});
    CHECK(human.code == 0);
    CHECK(contains(human.out, "User:           Alice Example <alice@example.com>"));
    CHECK(contains(human.out, "Refresh token:  present"));
    CHECK_FALSE(contains(human.out, m.stored().access_token));
    CHECK_FALSE(contains(human.out, m.stored().refresh_token));

    auto hello = m.run({"call-api", "/hello"});
    INFO(hello.err);
    CHECK(hello.code == 0);
    auto body = nlohmann::json::parse(hello.out, nullptr, false);
    REQUIRE_FALSE(body.is_discarded());
    CHECK(body["message"] == "Hello! Your token is valid.");

    auto admin = m.run({"call-api", "-i", "/admin"});
    CHECK(admin.code == 0);
    CHECK(admin.out.rfind("HTTP/1.1 200\n", 0) == 0);
  }

  TEST_CASE("bob gets 403 on /admin, explained, exit 6") {
    Machine m;
    REQUIRE(m.login("bob").code == 0);
    auto hello = m.run({"call-api", "/hello"});
    CHECK(hello.code == 0);
    auto admin = m.run({"call-api", "/admin"});
    CHECK(admin.code == 6);
    CHECK(contains(admin.err, "oauthdemo: the API refused the request: the token lacks the required permission"));
    CHECK(contains(admin.err, "read:admin"));
  }

  TEST_CASE("token refresh rotates the refresh token") {
    Machine m;
    REQUIRE(m.login().code == 0);
    const auto before = m.stored();
    auto refresh = m.run({"token", "refresh"});
    INFO(refresh.err);
    REQUIRE(refresh.code == 0);
    CHECK(contains(refresh.err, "Refreshed: the access token expires "));
    const auto after = m.stored();
    // (The access token may be byte-identical when issued within the same second.)
    CHECK((after.refresh_token != before.refresh_token));
    CHECK((after.obtained_at >= before.obtained_at));
    CHECK(m.run({"call-api", "/hello"}).code == 0);
  }

  TEST_CASE("ten concurrent token refreshes leave a consistent, usable store") {
    Machine m;
    REQUIRE(m.login().code == 0);
    const auto first_rt = m.stored().refresh_token;
    std::vector<Child> children;
    for (int i = 0; i < 10; ++i) children.push_back(m.start({"token", "refresh"}));
    int ok = 0;
    for (const auto& c : children) {
      auto r = m.finish(c);
      INFO(r.err);
      ok += r.code == 0 ? 1 : 0;
    }
    CHECK(ok == 10);
    const auto final_tokens = m.stored();  // parses strictly
    CHECK((final_tokens.refresh_token != first_rt));
    CHECK(m.run({"call-api", "/hello"}).code == 0);
    CHECK(m.run({"token", "refresh"}).code == 0);
  }

  TEST_CASE("logout revokes the refresh token and deletes the store") {
    Machine m;
    REQUIRE(m.login().code == 0);
    const auto rt = m.stored().refresh_token;
    auto logout = m.run({"logout"});
    INFO(logout.err);
    CHECK(logout.code == 0);
    CHECK(contains(logout.err, "Revoked the refresh token at "));
    CHECK(contains(logout.err, "Logged out (profile default): deleted " + m.store_path()));
    CHECK_FALSE(std::filesystem::exists(m.store_path()));
    CHECK(direct_refresh_status(rt) == 400);
    auto status = m.run({"status"});
    CHECK(status.code == 4);
    CHECK(status.out == "Not logged in (profile default). Run: oauthdemo login\n");
  }

  TEST_CASE("without a login or a terminal, commands exit 4 with a remedy") {
    Machine m;
    CHECK(m.run({"status"}).code == 4);
    auto call = m.run({"call-api", "/hello"});
    CHECK(call.code == 4);
    CHECK(call.err == "oauthdemo: error: not logged in (profile default); run: oauthdemo login\n");
    auto login = m.run({"login"});
    CHECK(login.code == 4);
    CHECK(contains(login.err, "cannot log in interactively here (no terminal, CI=true or --non-interactive)"));
    Env ci{{"CI", "true"}};
    CHECK(m.run({"--non-interactive", "login", "--device"}, &ci).code == 4);
    auto show = m.run({"token", "show", "--raw"});
    CHECK(show.code == 4);
    CHECK(show.out.empty());
  }

  TEST_CASE("profiles keep tenants apart") {
    Machine m;
    REQUIRE(m.login("bob", {}).code == 0);
    auto other = m.run({"--profile", "work", "status"});
    CHECK(other.code == 4);
    CHECK(other.out == "Not logged in (profile work). Run: oauthdemo login\n");
    std::vector<std::string> args{"--profile", "work", "login", "--port-list", "0", "--browser-command",
                                  kBrowser + " --user alice"};
    REQUIRE(m.run(args).code == 0);
    CHECK((m.stored("work").access_token != m.stored("default").access_token));
    CHECK(m.run({"call-api", "/admin"}).code == 6);
    CHECK(m.run({"--profile", "work", "call-api", "/admin"}).code == 0);
  }

  TEST_CASE("login refuses a config directory open to others before the browser step") {
    Machine m;
    const std::string dir = m.dir() + "/config/oauthdemo";
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);
    const std::string marker = m.dir() + "/browser-ran";
    auto r = m.run({"login", "--port-list", "0", "--browser-command", "touch " + marker + " #"});
    CHECK(r.code == 1);
    CHECK(contains(r.err, dir + " is accessible by other users (mode 0755); run: chmod 700 " + dir));
    CHECK_FALSE(std::filesystem::exists(marker));
  }

  TEST_CASE("a browser login denied by the user exits 5") {
    Machine m;
    auto r = m.run({"login", "--port-list", "0", "--browser-command", kBrowser + " --deny"});
    CHECK(r.code == 5);
    CHECK(contains(r.err, "the login was denied: the authorization server answered access_denied"));
    CHECK_FALSE(std::filesystem::exists(m.store_path()));
  }

  TEST_CASE("device flow approved in the scripted browser") {
    Machine m;
    auto r = m.run({"login", "--device", "--browser-command", kBrowser + " --user alice"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(contains(r.err, "on any device and enter the code:"));
    CHECK(contains(r.err, "Logged in as Alice Example <alice@example.com>"));
    CHECK(m.run({"call-api", "/hello"}).code == 0);
  }

  TEST_CASE("device flow denied in the scripted browser exits 5") {
    Machine m;
    auto r = m.run({"login", "--device", "--browser-command", kBrowser + " --deny"});
    INFO(r.err);
    CHECK(r.code == 5);
    CHECK(contains(r.err, "the login was denied in the browser"));
  }

  TEST_CASE("client credentials from the environment or a file, never argv") {
    Machine m;
    m.env()["AUTH0_CLIENT_ID"] = "oauthdemo-ci";
    auto missing = m.run({"login", "--client-credentials"});
    CHECK(missing.code == 1);
    CHECK(contains(missing.err, "set OAUTHDEMO_CLIENT_SECRET or pass --client-secret-file FILE or --client-secret-stdin"));

    Env secret{{"OAUTHDEMO_CLIENT_SECRET", kCiSecret}, {"CI", "true"}};
    auto r = m.run({"login", "--client-credentials"}, &secret);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(contains(r.err, "Logged in as client oauthdemo-ci"));
    CHECK(m.run({"call-api", "/hello"}).code == 0);

    const std::string file = m.dir() + "/secret.txt";
    { std::ofstream(file) << kCiSecret << "\n"; }
    ::chmod(file.c_str(), 0600);
    CHECK(m.run({"login", "--client-credentials", "--client-secret-file", file}).code == 0);

    auto from_stdin = m.finish(spawn({kCli, "login", "--client-credentials", "--client-secret-stdin"}, m.env(),
                                     m.dir(), "stdin-secret", file));
    INFO(from_stdin.err);
    CHECK(from_stdin.code == 0);

    Env wrong{{"OAUTHDEMO_CLIENT_SECRET", "wrong"}};
    auto bad = m.run({"login", "--client-credentials"}, &wrong);
    CHECK(bad.code == 4);
    CHECK(contains(bad.err, "invalid_client"));
  }

  TEST_CASE("OAUTHDEMO_ACCESS_TOKEN overrides the store") {
    Machine m;
    REQUIRE(m.login().code == 0);
    const auto at = m.stored().access_token;
    Machine ci;
    Env env{{"OAUTHDEMO_ACCESS_TOKEN", at}, {"CI", "true"}};
    auto r = ci.run({"call-api", "/hello"}, &env);
    CHECK(r.code == 0);
    auto status = ci.run({"status"}, &env);
    CHECK(status.code == 0);
    CHECK(contains(status.out, "OAUTHDEMO_ACCESS_TOKEN (environment)"));
  }

  TEST_CASE("--log-http shows the exchange with every secret masked") {
    Machine m;
    auto r = m.login("alice", {});
    REQUIRE(r.code == 0);
    auto logged = m.run({"--log-http", "token", "refresh"});
    REQUIRE(logged.code == 0);
    const auto t = m.stored();
    CHECK(contains(logged.err, "> POST " + servers().idp->base() + "/oauth/token"));
    CHECK(contains(logged.err, "refresh_token=[redacted]"));
    CHECK(contains(logged.err, "[signature removed]"));
    CHECK_FALSE(contains(logged.err, t.refresh_token));
    CHECK_FALSE(contains(logged.err, t.access_token));
    CHECK_FALSE(contains(logged.err, t.access_token.substr(t.access_token.rfind('.') + 1)));
    auto call = m.run({"--log-http", "call-api", "/hello"});
    CHECK(call.code == 0);
    CHECK(contains(call.err, "> Authorization: Bearer "));
    CHECK_FALSE(contains(call.err, t.access_token));
  }

  TEST_CASE("configuration and network failures") {
    Machine m;
    m.env().erase("ISSUER_BASE_URL");
    auto none = m.run({"login"});
    CHECK(none.code == 1);
    CHECK(contains(none.err, "set AUTH0_DOMAIN (your Auth0 tenant, e.g. example.us.auth0.com) or ISSUER_BASE_URL"));
    CHECK(contains(none.err, m.dir() + "/config/oauthdemo/config.env (not found)"));

    Env down{{"OAUTHDEMO_ACCESS_TOKEN", "a.b.c"}, {"API_BASE_URL", "http://127.0.0.1:1"}};
    CHECK(m.run({"call-api", "/hello"}, &down).code == 7);
    CHECK(m.run({"call-api", "hello"}, &down).code == 2);
    CHECK(m.run({"no-such-command"}).code == 2);
  }

  TEST_CASE("settings from the config file and .env") {
    Machine m;
    m.env().erase("ISSUER_BASE_URL");
    m.env().erase("AUTH0_CLIENT_ID");
    std::filesystem::create_directories(m.dir() + "/config/oauthdemo");
    ::chmod((m.dir() + "/config/oauthdemo").c_str(), 0700);
    { std::ofstream(m.dir() + "/config/oauthdemo/config.env") << "ISSUER_BASE_URL=" << servers().idp->issuer() << "\n"; }
    { std::ofstream(m.dir() + "/.env") << "AUTH0_CLIENT_ID=oauthdemo-cli\n"; }
    auto r = m.login();
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(m.stored().issuer == servers().idp->issuer());
  }

  TEST_CASE("Ctrl-C during the wait exits 130, a timeout exits 4, a busy port is named") {
    Machine m;
    SUBCASE("interrupted") {
      auto child = m.start({"login", "--port-list", "0", "--paste", "--timeout", "60"});
      const auto deadline = std::chrono::steady_clock::now() + 60s;
      while (!contains(read_file(child.err_path), "Open this URL") && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);  // polling the child's output with a deadline
      ::kill(child.pid, SIGINT);
      auto r = m.finish(child);
      CHECK(r.code == 130);
      CHECK(contains(r.err, "oauthdemo: error: login interrupted"));
    }
    SUBCASE("timeout") {
      auto r = m.run({"login", "--port-list", "0", "--paste", "--timeout", "1"});
      CHECK(r.code == 4);
      CHECK(contains(r.err, "no answer from the browser within 1 s; run the login again (or raise --timeout)"));
    }
    SUBCASE("port in use") {
      auto busy = cli::LoopbackReceiver::bind(cli::ReceiverConfig{});
      REQUIRE(busy);
      const auto port = std::to_string((*busy)->port());
      auto r = m.run({"login", "--port-list", port, "--paste"});
      CHECK(r.code == 1);
      CHECK(contains(r.err, "callback port " + port + " on 127.0.0.1 is in use"));
    }
  }

  TEST_CASE("call-api refreshes an access token that expires within 60 s") {
    Machine m(short_lived_servers());
    REQUIRE(m.login().code == 0);
    const auto before = m.stored();
    auto call = m.run({"-v", "call-api", "/hello"});
    INFO(call.err);
    CHECK(call.code == 0);
    CHECK(contains(call.err, "refreshed the access token (profile default)"));
    CHECK((m.stored().refresh_token != before.refresh_token));
  }

  TEST_CASE("an expired device code exits 4 with its own message") {
    Machine m(short_lived_servers());
    auto r = m.run({"login", "--device", "--browser-command", "true"});
    INFO(r.err);
    CHECK(r.code == 4);
    CHECK(contains(r.err, "the device code expired before the login was approved; run the login again"));
  }

  TEST_CASE("a failing --browser-command ends the wait instead of hanging") {
    Machine m;
    auto device = m.run({"login", "--device", "--browser-command", "false"});
    CHECK(device.code == 4);
    CHECK(contains(device.err, "--browser-command exited with status 1 before the device was approved"));
    auto browser = m.run({"login", "--port-list", "0", "--browser-command", "false"});
    CHECK(browser.code == 4);
    CHECK(contains(browser.err, "--browser-command exited with status 1 before the login completed"));
  }

  TEST_CASE("REDIRECT_URI without a port listens on a free loopback port") {
    Machine m;
    m.env()["REDIRECT_URI"] = "http://127.0.0.1/callback";
    auto r = m.run({"login", "--browser-command", kBrowser});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(contains(r.err, "redirect_uri=http%3A%2F%2F127.0.0.1%3A"));
    m.env()["REDIRECT_URI"] = "http://example.com:8400/callback";
    auto bad = m.run({"login", "--browser-command", kBrowser});
    CHECK(bad.code == 1);
    CHECK(contains(bad.err, "REDIRECT_URI (environment variable REDIRECT_URI) must be an http://127.0.0.1"));
  }

  TEST_CASE("logout --no-revoke --print-logout-url") {
    Machine m;
    REQUIRE(m.login().code == 0);
    const auto rt = m.stored().refresh_token;
    auto r = m.run({"logout", "--no-revoke", "--print-logout-url", "--return-to", "http://127.0.0.1:8400/"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out == servers().idp->issuer() +
                       "oidc/logout?client_id=oauthdemo-cli&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2F\n");
    CHECK_FALSE(contains(r.err, "Revoked"));
    CHECK_FALSE(std::filesystem::exists(m.store_path()));
    CHECK(direct_refresh_status(rt) == 200);  // not revoked: --no-revoke only deletes locally
  }
}
