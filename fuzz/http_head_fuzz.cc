// libFuzzer target: arbitrary bytes as the start of a connection, through the daemon front end's
// head scanner (daemon::scan_head), once whole and once in two chunks (as the network delivers).
// Invariants: no crash/UB/leak; both ways give the same verdict, end and lifted lines; a complete
// head ends with a line feed inside the input; every lifted line lies inside the head, in order,
// names Authorization and ends with a line feed; a head is never accepted beyond the size limit.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/event_loop_server.h"

namespace {
using oauthdemo::daemon::HeadResult;
using oauthdemo::daemon::HeadScan;
using oauthdemo::daemon::HeadStatus;

bool same(const HeadResult& a, const HeadScan& sa, const HeadResult& b, const HeadScan& sb) {
  if (a.status != b.status) return false;
  if (a.status == HeadStatus::Refused) return a.problem == b.problem;
  if (a.status == HeadStatus::Incomplete) return true;
  if (a.end != b.end || sa.lifted_count != sb.lifted_count || sa.folded != sb.folded) return false;
  for (std::size_t i = 0; i < sa.lifted_count; ++i)
    if (sa.lifted[i][0] != sb.lifted[i][0] || sa.lifted[i][1] != sb.lifted[i][1]) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  oauthdemo::daemon::EventLoopLimits limits;
  limits.max_head_bytes = 2048;  // small limits so the fuzzer reaches them
  limits.max_line_bytes = 512;
  limits.max_header_count = 8;

  HeadScan whole;
  const HeadResult one = oauthdemo::daemon::scan_head(text, whole, limits);

  HeadScan chunked;
  const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
  HeadResult two = oauthdemo::daemon::scan_head(text.substr(0, split), chunked, limits);
  if (two.status == HeadStatus::Incomplete) two = oauthdemo::daemon::scan_head(text, chunked, limits);
  if (!same(one, whole, two, chunked)) __builtin_trap();

  if (one.status != HeadStatus::Complete) return 0;
  if (one.end == 0 || one.end > size || text[one.end - 1] != '\n') __builtin_trap();
  if (one.end > limits.max_head_bytes) __builtin_trap();
  std::size_t previous_end = 0;
  for (std::size_t i = 0; i < whole.lifted_count; ++i) {
    const std::size_t begin = whole.lifted[i][0], end = whole.lifted[i][1];
    if (begin < previous_end || end <= begin || end > one.end || text[end - 1] != '\n') __builtin_trap();
    const auto line = text.substr(begin, end - begin);
    if (line.size() < 14 || (line[13] != ':')) __builtin_trap();
    const auto value = oauthdemo::daemon::authorization_value(line);
    if (value.size() > line.size() || (!value.empty() && (value.front() == ' ' || value.back() == '\n')))
      __builtin_trap();
    previous_end = end;
  }
  return 0;
}
