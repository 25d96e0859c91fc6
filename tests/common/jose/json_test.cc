#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/jose/json.h"
#include "common/jose/key_internal.h"

using namespace oauthdemo;
using jose::parse_strict_json;
using jose::parse_strict_object;

namespace {
std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
}  // namespace

TEST_SUITE("jose::json") {
  TEST_CASE("parses an ordinary object") {
    auto r = parse_strict_object(R"({"iss":"https://a/","n":[1,2,{"x":null}],"b":true,"f":1.5})");
    REQUIRE(r);
    CHECK((*r)["iss"] == "https://a/");
    CHECK((*r)["n"][2]["x"].is_null());
    CHECK((*r)["f"] == 1.5);
  }

  TEST_CASE("rejects duplicate member names, also when one is escaped") {
    SUBCASE("plain") {
      auto r = parse_strict_json(R"({"iss":"https://evil/","sub":"a","iss":"https://good/"})");
      REQUIRE(!r);
      CHECK(r.error().code == Errc::TokenDuplicateMember);
      CHECK(r.error().detail == "a JSON object repeats a member name");
    }
    SUBCASE("escaped \\u0069ss beside iss") {
      auto r = parse_strict_json(R"({"iss":"A","\u0069ss":"B"})");
      REQUIRE(!r);
      CHECK(r.error().code == Errc::TokenDuplicateMember);
    }
    SUBCASE("nested") {
      auto r = parse_strict_json(R"({"a":{"b":1,"b":2}})");
      REQUIRE(!r);
      CHECK(r.error().code == Errc::TokenDuplicateMember);
    }
    SUBCASE("inside an array") {
      auto r = parse_strict_json(R"([{"b":1},{"b":1,"b":1}])");
      REQUIRE(!r);
      CHECK(r.error().code == Errc::TokenDuplicateMember);
    }
  }

  TEST_CASE("the same name in sibling objects is not a duplicate") {
    auto r = parse_strict_json(R"({"a":{"x":1},"b":{"x":2},"c":[{"x":3},{"x":4}]})");
    REQUIRE(r);
    CHECK((*r)["c"][1]["x"] == 4);
  }

  TEST_CASE("caps nesting depth") {
    jose::JsonLimits limits{.max_depth = 32};
    CHECK(parse_strict_json(nested_arrays(32), limits));
    auto r = parse_strict_json(nested_arrays(33), limits);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::TokenTooDeep);
    CHECK(r.error().detail == "JSON nesting is deeper than 32 levels");
  }

  TEST_CASE("very deep input is refused without recursion") {
    auto r = parse_strict_json(nested_arrays(200000));
    REQUIRE(!r);
    CHECK(r.error().code == Errc::TokenTooDeep);
    std::string objects;
    for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
    auto deep_objects = parse_strict_json(objects);
    REQUIRE(!deep_objects);
    CHECK(deep_objects.error().code == Errc::TokenTooDeep);
  }

  TEST_CASE("rejects syntax errors without quoting the input") {
    for (const char* bad : {"{", "{\"a\":1} x", "{\"a\":1}{}", "{\"a\":1,}", "{'a':1}", "/*c*/{}", "{\"a\":1}//c", ""}) {
      CAPTURE(bad);
      auto r = parse_strict_json(bad);
      REQUIRE(!r);
      CHECK(r.error().code == Errc::TokenBadJson);
      CHECK(r.error().detail.find("\"a\"") == std::string::npos);
    }
  }

  TEST_CASE("reports trailing data with its offset") {
    auto r = parse_strict_json("{\"a\":1} x");
    REQUIRE(!r);
    CHECK(r.error().detail == "trailing data after JSON value at byte 8");
  }

  TEST_CASE("rejects invalid UTF-8 and lone surrogates") {
    for (std::string bad : {std::string("{\"a\":\"\xff\"}"), std::string("{\"a\":\"\xc3\"}"),
                            std::string("{\"\xed\xa0\x80\":1}"), std::string(R"({"a":"\ud800"})"),
                            std::string(R"({"a":"\udc00x"})")}) {
      CAPTURE(bad);
      auto r = parse_strict_json(bad);
      REQUIRE(!r);
      CHECK(r.error().code == Errc::TokenBadJson);
      CHECK(r.error().detail.rfind("invalid UTF-8 or unicode escape in JSON at byte", 0) == 0);
    }
  }

  TEST_CASE("numbers out of double range are a parse error") {
    auto r = parse_strict_json(R"({"exp":1e400})");
    REQUIRE(!r);
    CHECK(r.error().code == Errc::TokenBadJson);
    CHECK(r.error().detail.rfind("JSON number out of range", 0) == 0);
  }

  TEST_CASE("large integers stay exact") {
    auto r = parse_strict_json(R"({"n":9007199254740993})");
    REQUIRE(r);
    CHECK((*r)["n"].get<std::uint64_t>() == 9007199254740993ULL);
  }

  TEST_CASE("parse_strict_object requires an object at the top level") {
    for (const char* text : {"[]", "\"x\"", "123", "null", "true"}) {
      CAPTURE(text);
      CHECK(parse_strict_json(text));
      auto r = parse_strict_object(text);
      REQUIRE(!r);
      CHECK(r.error().code == Errc::TokenBadJson);
      CHECK(r.error().detail == "JSON value is not an object");
    }
  }
}

namespace {

// Same value and the same number kinds (unsigned / integer / float) all the way down.
bool same_dom(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !same_dom(it.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_dom(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

}  // namespace

TEST_SUITE("jose::json fast path") {
  TEST_CASE("accepts only what nlohmann accepts, with the same DOM and number kinds") {
    const std::vector<std::string> seeds = {
        R"({"alg":"RS256","typ":"JWT","kid":"k-1"})",
        R"({"iss":"https://tenant.example.auth0.com/","sub":"auth0|64f1c0ffee","aud":["https://api.example.com","https://t/userinfo"],"iat":1767225590,"exp":1767312000,"azp":"aBcD","scope":"openid profile","permissions":["read:messages"]})",
        R"( { "a" : [ 1 , -2 , 0 , -0 , true , false , null , "x\"y\\z\/\n\t" , { } , [ ] ] , "b" : { "c" : { "d" : 123456789012345678 } } } )",
        R"(["s", 1.5, 1e3, -7, "\u00e9", "caf\u00c3\u00a9"])",
        R"({"n":18446744073709551615,"m":-9223372036854775808,"z":01})",
        "{\"k\":\"v\"}\n",
    };
    const std::string alphabet = "{}[]\":,-0123456789.eE+ \t\n\r\\/tfnlrsuae\x7f\xc3\xa9\x01";
    uint32_t seed = 987654321;
    auto next = [&] {
      seed = seed * 1103515245u + 12345u;
      return seed >> 8;
    };
    int fast_accepted = 0;
    for (int n = 0; n < 20000; ++n) {
      std::string text = seeds[next() % seeds.size()];
      // 0-3 random edits: replace, insert or delete a byte.
      for (int e = static_cast<int>(next() % 4); e > 0 && !text.empty(); --e) {
        const std::size_t at = next() % text.size();
        const char c = alphabet[next() % alphabet.size()];
        switch (next() % 3) {
          case 0: text[at] = c; break;
          case 1: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          default: text.erase(at, 1); break;
        }
      }
      CAPTURE(text);
      nlohmann::json fast;
      if (!jose::internal::fast_parse_json(text, 32, fast)) continue;
      ++fast_accepted;
      auto strict = parse_strict_json(text);  // takes the fast path, so compare with nlohmann's own parser too
      REQUIRE(strict);
      const auto reference = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      REQUIRE_FALSE(reference.is_discarded());
      REQUIRE(same_dom(fast, reference));
      REQUIRE(same_dom(*strict, reference));
    }
    CHECK(fast_accepted > 2000);
  }

  TEST_CASE("leaves \\u escapes, non-ASCII, fractions, long numbers, duplicates and deep nesting to the strict parser") {
    nlohmann::json out;
    CHECK(jose::internal::fast_parse_json(R"({"a":"b","n":[1,-2]})", 32, out));
    for (const char* text : {R"({"a":"\u0069"})", "{\"a\":\"\xc3\xa9\"}", R"({"a":1.5})", R"({"a":1e3})",
                             R"({"a":1234567890123456789})", R"({"a":1,"a":2})", R"({"a":01})", "\xef\xbb\xbf{}",
                             "", " ", R"({"a":1} x)", "{\"a\":\"\x7f\"}"})
      CHECK_FALSE(jose::internal::fast_parse_json(text, 32, out));
    CHECK(jose::internal::fast_parse_json(nested_arrays(3), 3, out));
    CHECK_FALSE(jose::internal::fast_parse_json(nested_arrays(4), 3, out));
    // Whatever the fast path declines still gets the strict answers.
    CHECK(parse_strict_json(R"({"a":1,"a":2})").error().code == Errc::TokenDuplicateMember);
    CHECK(parse_strict_json(R"({"\u0069ss":1,"iss":2})").error().code == Errc::TokenDuplicateMember);
    CHECK(parse_strict_json(nested_arrays(4), {3}).error().code == Errc::TokenTooDeep);
    CHECK((*parse_strict_json(R"({"a":"\u00e9"})"))["a"] == "\xc3\xa9");
  }
}
