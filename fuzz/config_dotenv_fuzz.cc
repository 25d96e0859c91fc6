// libFuzzer target: arbitrary bytes as a .env file (config::parse_dotenv).
// Invariants: no crash/UB/leak; on success every key matches [A-Za-z_][A-Za-z0-9_]*, the entry
// count stays within the documented cap, line numbers are positive and inside the input, and no
// value is longer than the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/config/dotenv.h"

namespace {
bool valid_key(std::string_view key) {
  if (key.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(key[0])) return false;
  return std::all_of(key.begin(), key.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = oauthdemo::config::parse_dotenv(text, "fuzz.env");
  if (!parsed) {
    if (parsed.error().detail.empty()) __builtin_trap();  // errors must say what is wrong
    return 0;
  }
  if (size > 64 * 1024) __builtin_trap();  // over the cap must be refused
  if (parsed->size() > 1000) __builtin_trap();
  const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const auto& [key, entry] : *parsed) {
    if (!valid_key(key)) __builtin_trap();
    if (entry.line < 1 || entry.line > lines) __builtin_trap();
    if (entry.value.size() > size) __builtin_trap();
  }
  return 0;
}
