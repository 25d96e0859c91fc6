#include "daemon/event_loop_server.h"

#include <algorithm>
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

TEST_SUITE("daemon::scan_head") {
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
