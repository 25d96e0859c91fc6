#include "cli/settings.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

using namespace oauthdemo;
using namespace oauthdemo::cli;

namespace {
// Guards a variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};
}  // namespace

TEST_SUITE("cli::settings") {
  TEST_CASE("flags beat the environment, which beats .env, which beats the config file") {
    testing::TempDir tmp;
    ScopedEnv a("AUTH0_DOMAIN", nullptr), b("ISSUER_BASE_URL", nullptr), c("AUTH0_CLIENT_ID", "from-env"),
        d("API_AUDIENCE", nullptr), e("API_BASE_URL", nullptr);
    const std::string dir = tmp.path() + "/oauthdemo";
    std::filesystem::create_directories(dir + "/profiles");
    std::ofstream(dir + "/profiles/work.env") << "AUTH0_DOMAIN=work.eu.auth0.com\nAPI_AUDIENCE=https://cfg\n"
                                                 "API_BASE_URL=http://127.0.0.1:9/\n";
    std::ofstream(tmp.path() + "/my.env") << "API_AUDIENCE=https://dotenv\n";
    GlobalOptions global;
    global.config_dir = dir;
    global.profile = "work";
    global.env_file = tmp.path() + "/my.env";
    auto s = Settings::load(global, {{"API_BASE_URL", "--api-url", "http://localhost:4000"}});
    REQUIRE(s);
    CHECK(*s->issuer() == "https://work.eu.auth0.com/");
    CHECK(s->is_auth0());
    CHECK(*s->client_id() == "from-env");
    CHECK(s->audience() == "https://dotenv");
    CHECK(s->api_base_url().value == "http://localhost:4000");
    CHECK(s->api_base_url().origin == "--api-url");
    CHECK(s->get("API_AUDIENCE")->origin == tmp.path() + "/my.env line 1");
    CHECK(s->scope() == "openid profile email offline_access");
  }

  TEST_CASE("no authorization server configured: one message naming the settings and the sources") {
    testing::TempDir tmp;
    ScopedEnv a("AUTH0_DOMAIN", nullptr), b("ISSUER_BASE_URL", nullptr);
    GlobalOptions global;
    global.config_dir = tmp.path() + "/oauthdemo";
    global.env_file = "";
    auto s = Settings::load(global, {});
    REQUIRE(s);
    auto issuer = s->issuer();
    REQUIRE_FALSE(issuer);
    CHECK(issuer.error().code == Errc::ConfigMissing);
    const std::string dotenv = std::filesystem::exists(".env") ? ".env" : "./.env (not found)";
    CHECK(issuer.error().detail ==
          "no authorization server configured: set AUTH0_DOMAIN (your Auth0 tenant, e.g. example.us.auth0.com) or "
          "ISSUER_BASE_URL (any OpenID Connect issuer URL). Settings are read from the environment, " +
              dotenv + ", " + tmp.path() + "/oauthdemo/config.env (not found)");
  }

  TEST_CASE("a plain-http issuer is refused unless it is loopback") {
    testing::TempDir tmp;
    ScopedEnv a("ISSUER_BASE_URL", "http://idp.example/");
    GlobalOptions global;
    global.config_dir = tmp.path();
    auto s = Settings::load(global, {});
    REQUIRE(s);
    auto issuer = s->issuer();
    REQUIRE_FALSE(issuer);
    CHECK(issuer.error().code == Errc::ConfigInvalid);
    CHECK(issuer.error().detail ==
          "ISSUER_BASE_URL (environment variable ISSUER_BASE_URL) must use https (plain http only for "
          "127.0.0.1/localhost)");
    ScopedEnv b("ISSUER_BASE_URL", "http://127.0.0.1:8080/");
    auto local = Settings::load(global, {});
    REQUIRE(local);
    CHECK(*local->issuer() == "http://127.0.0.1:8080/");
    CHECK_FALSE(local->is_auth0());
  }

  TEST_CASE("a missing --env-file and a bad profile name are errors") {
    GlobalOptions global;
    global.config_dir = "/nonexistent";
    global.env_file = "/nonexistent/.env";
    auto s = Settings::load(global, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::ConfigFileUnreadable);
    CHECK(s.error().detail == "--env-file /nonexistent/.env does not exist");
    GlobalOptions bad;
    bad.profile = "../x";
    auto p = Settings::load(bad, {});
    REQUIRE_FALSE(p);
    CHECK(p.error().code == Errc::ConfigInvalid);
  }

  TEST_CASE("the config directory follows --config-dir, XDG_CONFIG_HOME, then HOME") {
    GlobalOptions global;
    ScopedEnv a("OAUTHDEMO_CONFIG_DIR", nullptr), b("XDG_CONFIG_HOME", "/xdg"), c("HOME", "/home/u");
    CHECK(resolve_config_dir(global) == "/xdg/oauthdemo");
    {
      ScopedEnv d("XDG_CONFIG_HOME", nullptr);
      CHECK(resolve_config_dir(global) == "/home/u/.config/oauthdemo");
    }
    global.config_dir = "/explicit";
    CHECK(resolve_config_dir(global) == "/explicit");
  }
}
