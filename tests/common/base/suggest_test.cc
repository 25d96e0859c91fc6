#include "common/base/suggest.h"

#include <doctest/doctest.h>

using namespace oauthdemo;

TEST_SUITE("base::suggest") {
  TEST_CASE("edit distance counts insertions, deletions, substitutions and adjacent swaps") {
    CHECK(edit_distance("login", "login") == 0);
    CHECK(edit_distance("lgin", "login") == 1);
    CHECK(edit_distance("statsu", "status") == 1);
    CHECK(edit_distance("--devcie", "--device") == 1);
    CHECK(edit_distance("shw", "show") == 1);
    CHECK(edit_distance("logni", "logout") == 3);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("abc", "") == 3);
  }

  TEST_CASE("nearest names a close candidate only") {
    const std::vector<std::string> commands{"login", "logout", "status", "token", "call-api"};
    CHECK(nearest("lgin", commands) == "login");
    CHECK(nearest("statsu", commands) == "status");
    CHECK(nearest("logut", commands) == "logout");
    CHECK(nearest("callapi", commands) == "call-api");
    CHECK(nearest("deploy", commands) == std::nullopt);
    CHECK(nearest("login", commands) == std::nullopt);
    CHECK(nearest("", commands) == std::nullopt);
    CHECK(nearest(std::string(300, 'a'), commands) == std::nullopt);
  }
}
