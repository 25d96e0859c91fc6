// The CLI's command line through run_app: typo suggestions, global options on either side of the
// command, usage errors with exit 2. Parse errors end before any setting, store or network use.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cli/app.h"

using namespace oauthdemo::cli;

namespace {

struct Ran {
  int code = -1;
  std::string err;
};

Ran run(std::vector<std::string> args) {
  args.insert(args.begin(), "oauthdemo");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream err;
  auto* old = std::cerr.rdbuf(err.rdbuf());
  Ran ran;
  ran.code = run_app(static_cast<int>(args.size()), argv.data());
  std::cerr.rdbuf(old);
  ran.err = err.str();
  return ran;
}

}  // namespace

TEST_SUITE("cli::app usage") {
  TEST_CASE("a misspelt command gets the nearest one and exit 2") {
    auto r = run({"lgin"});
    CHECK(r.code == 2);
    CHECK(r.err == "oauthdemo: error: unknown command 'lgin'; did you mean login?\n"
                   "oauthdemo: run 'oauthdemo --help' for the usage\n");
    r = run({"statsu"});
    CHECK(r.code == 2);
    CHECK(r.err == "oauthdemo: error: unknown command 'statsu'; did you mean status?\n"
                   "oauthdemo: run 'oauthdemo --help' for the usage\n");
  }

  TEST_CASE("a misspelt nested command names its parent") {
    auto r = run({"token", "shw"});
    CHECK(r.code == 2);
    CHECK(r.err == "oauthdemo: error: unknown command 'shw' for 'oauthdemo token'; did you mean show?\n"
                   "oauthdemo: run 'oauthdemo token --help' for the usage\n");
  }

  TEST_CASE("a misspelt flag gets the nearest one") {
    auto r = run({"login", "--devcie"});
    CHECK(r.code == 2);
    CHECK(r.err == "oauthdemo: error: unknown option '--devcie' for 'oauthdemo login'; did you mean --device?\n"
                   "oauthdemo: run 'oauthdemo login --help' for the usage\n");
  }

  TEST_CASE("global options after the command are accepted") {
    // A flag valid only before the command would fail to parse (exit 2); parsed, the command
    // runs and a bad --log-level value after the command is a usage error naming the option.
    auto r = run({"status", "--log-level", "loud"});
    CHECK(r.code == 2);
    CHECK(r.err.rfind("oauthdemo: error: --log-level: loud not in {", 0) == 0);
    // Parsed, the settings refuse the profile name (the only run here that gets past parsing:
    // it sets up the process's logger).
    r = run({"login", "--non-interactive", "-v", "--log-http", "--profile", "no/such"});
    CHECK(r.code == 1);
    CHECK(r.err == "oauthdemo: error: --profile must be 1 to 64 characters of [A-Za-z0-9_.-], not starting with '.'\n");
  }
}
