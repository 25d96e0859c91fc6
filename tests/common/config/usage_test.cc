#include "common/config/usage.h"

#include <CLI/CLI.hpp>
#include <doctest/doctest.h>

using namespace oauthdemo;

namespace {

// The shape of the oauthdemo command line: globals, commands, a nested command.
struct Cli {
  CLI::App app{"test", "prog"};
  std::string profile;
  bool device = false;
  Cli() {
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("--profile", profile);
    auto* login = app.add_subcommand("login");
    login->add_flag("--device", device);
    app.add_subcommand("status");
    auto* token = app.add_subcommand("token");
    token->require_subcommand(1);
    token->add_subcommand("show");
    token->add_subcommand("refresh");
  }
  // The usage text for argv, or "parsed" when it parses.
  std::string run(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      return config::usage_error_text(app, e, "prog");
    }
    return "parsed";
  }
};

}  // namespace

TEST_SUITE("config::usage") {
  TEST_CASE("an unknown command is named with the nearest one") {
    CHECK(Cli().run({"lgin"}) ==
          "prog: error: unknown command 'lgin'; did you mean login?\nprog: run 'prog --help' for the usage\n");
    CHECK(Cli().run({"statsu"}) ==
          "prog: error: unknown command 'statsu'; did you mean status?\nprog: run 'prog --help' for the usage\n");
    CHECK(Cli().run({"deploy"}) == "prog: error: unknown command 'deploy'\nprog: run 'prog --help' for the usage\n");
  }

  TEST_CASE("an unknown nested command names its parent") {
    CHECK(Cli().run({"token", "shw"}) ==
          "prog: error: unknown command 'shw' for 'prog token'; did you mean show?\n"
          "prog: run 'prog token --help' for the usage\n");
  }

  TEST_CASE("an unknown flag is named with the nearest one of the command and the globals") {
    CHECK(Cli().run({"login", "--devcie"}) ==
          "prog: error: unknown option '--devcie' for 'prog login'; did you mean --device?\n"
          "prog: run 'prog login --help' for the usage\n");
    CHECK(Cli().run({"login", "--proflie=x"}) ==
          "prog: error: unknown option '--proflie' for 'prog login'; did you mean --profile?\n"
          "prog: run 'prog login --help' for the usage\n");
  }

  TEST_CASE("a missing command lists the commands") {
    CHECK(Cli().run({}) ==
          "prog: error: a command is required: login, status, token\nprog: run 'prog --help' for the usage\n");
    CHECK(Cli().run({"token"}) == "prog: error: a command is required for 'prog token': show, refresh\n"
                                  "prog: run 'prog token --help' for the usage\n");
  }

  TEST_CASE("global options parse on either side of the command") {
    Cli before;
    CHECK(before.run({"--profile", "staging", "login"}) == "parsed");
    CHECK(before.profile == "staging");
    Cli after;
    CHECK(after.run({"login", "--device", "--profile", "staging"}) == "parsed");
    CHECK(after.profile == "staging");
    CHECK(after.device);
  }

  TEST_CASE("other errors keep CLI11's text") {
    CHECK(Cli().run({"--profile"}) ==
          "prog: error: --profile: 1 required TEXT missing\nprog: run 'prog --help' for the usage\n");
  }
}
