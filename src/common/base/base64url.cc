#include "common/base/base64url.h"

#include <array>
#include <cstdint>

namespace oauthdemo::base {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr auto kDecode = make_decode_table();

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{p[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

namespace {

// The error for text that has a byte outside the alphabet: the first such byte decides.
Error bad_character(std::string_view text) {
  for (char c : text) {
    if (kDecode[static_cast<uint8_t>(c)] >= 0) continue;
    if (c == '=') return Error{Errc::TokenBadBase64, "base64url text must not be padded"};
    break;
  }
  return Error{Errc::TokenBadBase64, "base64url text has a character outside [A-Za-z0-9_-]"};
}

}  // namespace

Result<std::string> base64url_decode(std::string_view text) {
  // A single leftover character cannot encode a whole byte (RFC 4648 §4).
  if (text.size() % 4 == 1) return fail(Errc::TokenBadBase64, "base64url text has an impossible length");
  // Four characters -> three bytes at a time into a buffer sized once. Any byte outside the
  // alphabet has the table value -1, so OR-ing four lookups detects it with one branch.
  const std::size_t rest = text.size() % 4;
  std::string out(text.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1), '\0');
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  const std::size_t whole = text.size() - rest;
  for (std::size_t i = 0; i < whole; i += 4) {
    const int a = kDecode[in[i]], b = kDecode[in[i + 1]], c = kDecode[in[i + 2]], d = kDecode[in[i + 3]];
    if ((a | b | c | d) < 0) return tl::unexpected(bad_character(text));
    const uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    *o++ = static_cast<uint8_t>(v >> 16);
    *o++ = static_cast<uint8_t>(v >> 8);
    *o++ = static_cast<uint8_t>(v);
  }
  // The unused low bits of the last character must be zero (RFC 4648 §3.5 canonical encoding).
  if (rest == 2) {
    const int a = kDecode[in[whole]], b = kDecode[in[whole + 1]];
    if ((a | b) < 0) return tl::unexpected(bad_character(text));
    if ((b & 0x0f) != 0) return fail(Errc::TokenBadBase64, "base64url text has non-zero trailing bits");
    *o++ = static_cast<uint8_t>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    const int a = kDecode[in[whole]], b = kDecode[in[whole + 1]], c = kDecode[in[whole + 2]];
    if ((a | b | c) < 0) return tl::unexpected(bad_character(text));
    if ((c & 0x03) != 0) return fail(Errc::TokenBadBase64, "base64url text has non-zero trailing bits");
    *o++ = static_cast<uint8_t>((a << 2) | (b >> 4));
    *o++ = static_cast<uint8_t>(((b & 0x0f) << 4) | (c >> 2));
  }
  return out;
}

}  // namespace oauthdemo::base
