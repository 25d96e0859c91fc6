#include <doctest/doctest.h>

#include "common/config/dotenv.h"

using namespace oauthdemo;

TEST_SUITE("config::dotenv") {
  TEST_CASE("reads the seed's backend/.env") {
    auto env = config::parse_dotenv(
        "AUTH0_DOMAIN=your-auth0-domain.us.auth0.com\nAUTH0_CLIENT_ID=your-client-id\n"
        "API_AUDIENCE=https://api.example.com\nBACKEND_PORT=3001\n",
        ".env");
    REQUIRE(env);
    CHECK(env->at("AUTH0_DOMAIN").value == "your-auth0-domain.us.auth0.com");
    CHECK(env->at("BACKEND_PORT").line == 4);
  }
  TEST_CASE("handles comments, export, quotes and CRLF") {
    auto env = config::parse_dotenv("# c\r\nexport A=1 # note\r\nB=\"x\\ny\"\nC='$lit # not'\n\n", ".env");
    REQUIRE(env);
    CHECK(env->at("A").value == "1");
    CHECK(env->at("B").value == "x\ny");
    CHECK(env->at("C").value == "$lit # not");
  }
  TEST_CASE("names the file and line of a bad entry") {
    auto env = config::parse_dotenv("A=1\nthis is not a setting\n", "/tmp/x/.env");
    REQUIRE_FALSE(env);
    CHECK(env.error().code == Errc::ConfigInvalid);
    CHECK(env.error().detail == "/tmp/x/.env line 2: expected KEY=value");
    CHECK(config::parse_dotenv("A=\"open\n", ".env").error().detail ==
          ".env line 1: unterminated quoted value for A");
    CHECK(config::parse_dotenv("1A=x\n", ".env").error().detail == ".env line 1: '1A' is not a valid setting name");
  }
  TEST_CASE("layers answer with the highest priority and say where a value came from") {
    config::LayeredSettings s;
    s.add_layer("--flags", {{"API_AUDIENCE", "from-flag"}});
    config::DotenvMap file{{"API_AUDIENCE", {"from-file", 3}}, {"AUTH0_DOMAIN", {"t.auth0.com", 1}}};
    s.add_dotenv_layer("/p/.env", file);
    CHECK(s.get("API_AUDIENCE")->value == "from-flag");
    CHECK(s.get("AUTH0_DOMAIN")->origin == "/p/.env line 1");
    CHECK(s.get_or("BACKEND_PORT", "3001").origin == "default");
    CHECK_FALSE(s.get("NOPE"));
  }
}
