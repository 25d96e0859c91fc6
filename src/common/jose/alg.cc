#include "common/jose/alg.h"

#include <array>
#include <utility>

namespace oauthdemo::jose {
namespace {

constexpr std::array<std::pair<std::string_view, Alg>, 10> kNames{{
    {"RS256", Alg::RS256},
    {"RS384", Alg::RS384},
    {"RS512", Alg::RS512},
    {"PS256", Alg::PS256},
    {"PS384", Alg::PS384},
    {"PS512", Alg::PS512},
    {"ES256", Alg::ES256},
    {"ES384", Alg::ES384},
    {"ES512", Alg::ES512},
    {"EdDSA", Alg::EdDSA},
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<Alg> alg_from_string(std::string_view name) {
  for (const auto& [text, alg] : kNames)
    if (text == name) return alg;
  // RFC 9864 fully-specified name for EdDSA with Ed25519 (the only curve we support).
  if (name == "Ed25519") return Alg::EdDSA;
  return std::nullopt;
}

std::string_view to_string(Alg alg) {
  for (const auto& [text, a] : kNames)
    if (a == alg) return text;
  return "?";
}

std::optional<std::vector<Alg>> parse_alg_list(std::string_view comma_separated) {
  std::vector<Alg> out;
  std::string_view rest = comma_separated;
  while (true) {
    const auto comma = rest.find(',');
    const auto item = trim(rest.substr(0, comma));
    const auto alg = alg_from_string(item);
    if (!alg) return std::nullopt;
    bool seen = false;
    for (Alg a : out) seen = seen || a == *alg;
    if (!seen) out.push_back(*alg);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace oauthdemo::jose
