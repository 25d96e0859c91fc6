#include "daemon/event_loop_server.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <string>

#include <doctest/doctest.h>

namespace oauthdemo::daemon {
namespace {

// Scans `data` as it would arrive in pieces of `piece` bytes (0: all at once).
HeadResult scan_in_pieces(const std::string& data, std::size_t piece) {
  const EventLoopLimits limits;
  HeadScan scan;
  HeadResult result;
  std::size_t have = piece == 0 ? data.size() : 0;
  for (;;) {
    if (piece != 0) have = std::min(data.size(), have + piece);
    result = scan_head(std::string_view(data).substr(0, have), scan, limits);
    if (result.status != HeadStatus::Incomplete || have == data.size()) return result;
  }
}

bool names_authorization(std::string_view line) {
  constexpr std::string_view kName = "authorization:";
  if (line.size() < kName.size()) return false;
  for (std::size_t i = 0; i < kName.size(); ++i)
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) != kName[i]) return false;
  return true;
}

// The scan as the rules state it, one byte at a time: the reference for the real one, which
// jumps from line end to line end.
HeadResult reference_scan(std::string_view data, HeadScan& scan, const EventLoopLimits& limits) {
  for (; scan.pos < data.size(); ++scan.pos) {
    const std::size_t line_bytes = scan.pos + 1 - scan.line_start;
    if (line_bytes > limits.max_line_bytes) {
      if (scan.lines == 0) return {HeadStatus::Refused, 0, HeadProblem::RequestLineTooLong};
      return {HeadStatus::Refused, 0,
              names_authorization(data.substr(scan.line_start)) ? HeadProblem::AuthorizationTooLarge
                                                                : HeadProblem::HeaderLineTooLong};
    }
    if (scan.pos + 1 > limits.max_head_bytes) return {HeadStatus::Refused, 0, HeadProblem::HeadTooLarge};
    if (data[scan.pos] != '\n') continue;
    if (line_bytes == 1 || (line_bytes == 2 && data[scan.line_start] == '\r'))
      return {HeadStatus::Complete, scan.pos + 1, {}};
    if (++scan.lines > limits.max_header_count + 1) return {HeadStatus::Refused, 0, HeadProblem::TooManyHeaders};
    if (scan.lines > 1) {
      if (data[scan.line_start] == ' ' || data[scan.line_start] == '\t') {
        scan.folded = true;
      } else if (scan.lifted_count < HeadScan::kMaxLifted && names_authorization(data.substr(scan.line_start))) {
        scan.lifted[scan.lifted_count][0] = scan.line_start;
        scan.lifted[scan.lifted_count][1] = scan.pos + 1;
        ++scan.lifted_count;
      }
    }
    scan.line_start = scan.pos + 1;
  }
  return {};
}

TEST_SUITE("daemon::scan_head") {
  TEST_CASE("agrees with the byte-at-a-time reference on random heads arriving in random pieces") {
    EventLoopLimits limits;
    const std::string_view pieces[] = {"a", "bc", ":", " ", "\t", "\r\n", "\n", "\r", "Authorization: ",
                                       "AUTHORIZATION:x", "Bearer abc", "0123456789abcdef", "GET / HTTP/1.1\r\n", "\r\n\r\n"};
    std::mt19937 rng(20261125);  // fixed: a failure is reproducible
    std::size_t complete = 0, refused = 0, lifted = 0;
    for (int round = 0; round < 20000; ++round) {
      // Small limits, drawn per round, so that every limit is hit often, alone and together.
      limits.max_line_bytes = std::uniform_int_distribution<std::size_t>(4, 40)(rng);
      limits.max_head_bytes = std::uniform_int_distribution<std::size_t>(8, 240)(rng);
      limits.max_header_count = std::uniform_int_distribution<std::size_t>(0, 8)(rng);
      std::string data;
      const int parts = std::uniform_int_distribution<int>(1, 60)(rng);
      for (int i = 0; i < parts; ++i) data += pieces[std::uniform_int_distribution<std::size_t>(0, std::size(pieces) - 1)(rng)];
      HeadScan real, ref;
      HeadResult got, want;
      std::size_t have = 0;
      do {
        have = std::min(data.size(), have + std::uniform_int_distribution<std::size_t>(1, 64)(rng));
        const std::string_view seen = std::string_view(data).substr(0, have);
        got = scan_head(seen, real, limits);
        want = reference_scan(seen, ref, limits);
        CAPTURE(data);
        CAPTURE(have);
        REQUIRE(got.status == want.status);
        REQUIRE(got.end == want.end);
        if (got.status == HeadStatus::Refused) REQUIRE(got.problem == want.problem);
        REQUIRE(real.lines == ref.lines);
        REQUIRE(real.folded == ref.folded);
        REQUIRE(real.lifted_count == ref.lifted_count);
        for (std::size_t i = 0; i < real.lifted_count; ++i) {
          REQUIRE(real.lifted[i][0] == ref.lifted[i][0]);
          REQUIRE(real.lifted[i][1] == ref.lifted[i][1]);
        }
      } while (got.status == HeadStatus::Incomplete && have < data.size());
      complete += got.status == HeadStatus::Complete;
      refused += got.status == HeadStatus::Refused;
      lifted += real.lifted_count > 0;
    }
    // The inputs reached every outcome.
    CHECK(complete > 1000);
    CHECK(refused > 1000);
    CHECK(lifted > 200);
  }


  TEST_CASE("a long line gets its own answer however its bytes arrive") {
    const std::string token = "GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(20000, 'A') + "\r\n\r\n";
    const std::string url = "GET /hello?" + std::string(100000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string header = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100000, 'B') + "\r\n\r\n";
    for (const std::size_t piece : {std::size_t{0}, std::size_t{1000}, std::size_t{16384}}) {
      CAPTURE(piece);
      CHECK(scan_in_pieces(token, piece).problem == HeadProblem::AuthorizationTooLarge);
      CHECK(scan_in_pieces(url, piece).problem == HeadProblem::RequestLineTooLong);
      CHECK(scan_in_pieces(header, piece).problem == HeadProblem::HeaderLineTooLong);
    }
  }

  TEST_CASE("lines up to the limit pass; the head, header count and limits hold") {
    const EventLoopLimits limits;
    // 8192 bytes with the CRLF: the largest line allowed.
    const std::string ok = "GET /hello HTTP/1.1\r\nX-A: " + std::string(8192 - 7, 'a') + "\r\n\r\n";
    HeadScan scan;
    const auto done = scan_head(ok, scan, limits);
    CHECK(done.status == HeadStatus::Complete);
    CHECK(done.end == ok.size());
    const std::string over = "GET /hello HTTP/1.1\r\nX-A: " + std::string(8192 - 6, 'a') + "\r\n\r\n";
    HeadScan scan2;
    CHECK(scan_head(over, scan2, limits).problem == HeadProblem::HeaderLineTooLong);

    std::string big = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 3; ++i) big += "X-" + std::to_string(i) + ": " + std::string(8000, 'v') + "\r\n";
    HeadScan scan3;
    CHECK(scan_head(big + "\r\n", scan3, limits).problem == HeadProblem::HeadTooLarge);

    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    HeadScan scan4;
    CHECK(scan_head(many + "\r\n", scan4, limits).problem == HeadProblem::TooManyHeaders);
    std::string hundred = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 100; ++i) hundred += "X-" + std::to_string(i) + ": v\r\n";
    HeadScan scan5;
    CHECK(scan_head(hundred + "\r\n", scan5, limits).status == HeadStatus::Complete);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
