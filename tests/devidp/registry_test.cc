#include <doctest/doctest.h>

#include "devidp/registry.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp;

namespace {
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST_SUITE("devidp::registry") {
  TEST_CASE("the built-in default has the documented clients, API and users") {
    auto reg = Registry::builtin(env_of({{"DEVIDP_CI_CLIENT_SECRET", "s"}}));
    const Client* cli = reg.find_client("oauthdemo-cli");
    REQUIRE(cli);
    CHECK_FALSE(cli->confidential);
    CHECK(cli->grant_types.count("urn:ietf:params:oauth:grant-type:device_code") == 1);
    const Client* ci = reg.find_client("oauthdemo-ci");
    REQUIRE(ci);
    CHECK(ci->enabled);
    CHECK(Registry::secret_matches(*ci, "s"));
    CHECK_FALSE(Registry::secret_matches(*ci, "S"));
    REQUIRE(reg.find_api("https://api.example.com"));
    const User* alice = reg.authenticate("alice", "alice-password");
    REQUIRE(alice);
    CHECK(alice->user_id == "auth0|alice");
    CHECK(alice->permissions.at("https://api.example.com") == std::vector<std::string>{"read:messages", "read:admin"});
    const User* bob = reg.authenticate("bob", "bob-password");
    REQUIRE(bob);
    CHECK(bob->permissions.at("https://api.example.com") == std::vector<std::string>{"read:messages"});
    CHECK_FALSE(reg.authenticate("alice", "bob-password"));
    CHECK_FALSE(reg.authenticate("carol", "alice-password"));
  }

  TEST_CASE("without DEVIDP_CI_CLIENT_SECRET the CI client is disabled and the server says so") {
    auto reg = Registry::builtin(env_of({}));
    REQUIRE(reg.find_client("oauthdemo-ci"));
    CHECK_FALSE(reg.find_client("oauthdemo-ci")->enabled);
    REQUIRE(reg.notes().size() == 1);
    CHECK(reg.notes()[0] == "client oauthdemo-ci is disabled: set DEVIDP_CI_CLIENT_SECRET to enable it");
  }

  TEST_CASE("passwords can be overridden from the environment") {
    auto reg = Registry::builtin(env_of({{"DEVIDP_ALICE_PASSWORD", "changed"}}));
    CHECK(reg.authenticate("alice", "changed"));
    CHECK_FALSE(reg.authenticate("alice", "alice-password"));
  }

  TEST_CASE("loopback IP-literal redirects match on any port; everything else exactly") {
    CHECK(uri_matches("http://127.0.0.1/callback", "http://127.0.0.1:51234/callback"));
    CHECK(uri_matches("http://[::1]/callback", "http://[::1]:8400/callback"));
    CHECK_FALSE(uri_matches("http://127.0.0.1/callback", "http://127.0.0.1:51234/callback2"));
    CHECK_FALSE(uri_matches("http://127.0.0.1/callback", "http://127.0.0.2:51234/callback"));
    CHECK_FALSE(uri_matches("http://127.0.0.1/callback", "https://127.0.0.1:51234/callback"));
    CHECK_FALSE(uri_matches("http://127.0.0.1/callback", "http://127.0.0.1:51234/callback?x=1"));
    CHECK_FALSE(uri_matches("http://127.0.0.1/callback", "http://localhost:51234/callback"));
    CHECK(uri_matches("http://localhost:3000/callback", "http://localhost:3000/callback"));
    CHECK_FALSE(uri_matches("http://localhost:3000/callback", "http://localhost:3001/callback"));
  }

  TEST_CASE("config files are validated with precise messages") {
    auto bad = [](std::string text) {
      auto r = Registry::from_json(text, [](std::string_view) { return std::nullopt; });
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::ConfigInvalid);
      return r.error().detail;
    };
    CHECK(bad("[]") == "config is not a JSON object");
    CHECK(bad(R"({"clients":[{"name":"x"}]})") == "clients[0]: missing \"client_id\"");
    CHECK(bad(R"({"clients":[{"client_id":"x","grant_types":["implicit"]}]})") ==
          "clients[0]: unknown grant type \"implicit\"");
    CHECK(bad(R"({"clients":[{"client_id":"x","grant_types":["client_credentials"]}]})") ==
          "clients[0]: client_credentials needs a confidential client");
    CHECK(bad(R"({"users":[{"username":"u"}]})") == "users[0]: no password (\"password\" or \"password_env\")");
    CHECK(bad(R"({"users":[{"username":"u","password":"p","roles":["nope"]}]})") == "users[0]: unknown role \"nope\"");
    auto ok = Registry::from_json(R"({"clients":[{"client_id":"x","client_secret":"y","type":"confidential"}]})",
                                  [](std::string_view) { return std::nullopt; });
    REQUIRE(ok);
    CHECK(Registry::secret_matches(*ok->find_client("x"), "y"));
  }
}
