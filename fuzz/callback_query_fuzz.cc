// libFuzzer target: the loopback login callback's parsing. src/cli/loopback_receiver.cc has no
// public pure parser (its request-line/Host handling is internal), so this fuzzes what it uses:
// http::parse_url on a pasted redirect URL, and http::parse_form on the query (and on the raw
// input, as a pasted bare query), then http::param lookups for code/state/iss/error.
// Invariants: no crash/UB/leak; a parsed URL is http(s) with a path starting with '/', and its
// origin()/str() re-parse to the same parts; parse_form never returns a repeated name or more
// than max_params pairs.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/http/url.h"

namespace {
void check_form(std::string_view query) {
  constexpr std::size_t kMax = 16;
  auto params = oauthdemo::http::parse_form(query, kMax);
  if (!params) return;
  if (params->size() > kMax) __builtin_trap();
  std::set<std::string> names;
  for (const auto& [name, value] : *params)
    if (!names.insert(name).second) __builtin_trap();  // repeated names must be refused
  for (const char* name : {"code", "state", "iss", "error", "error_description"}) {
    auto v = oauthdemo::http::param(*params, name);
    if (v && names.count(name) == 0) __builtin_trap();
  }
  (void)oauthdemo::http::html_escape(query);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_form(text);
  auto url = oauthdemo::http::parse_url(text);
  if (!url) return 0;
  if (url->scheme != "http" && url->scheme != "https") __builtin_trap();
  if (url->path.empty() || url->path[0] != '/') __builtin_trap();
  (void)oauthdemo::http::is_loopback_host(url->host);
  (void)oauthdemo::http::is_loopback_ip_literal(url->host);
  auto again = oauthdemo::http::parse_url(url->str());
  if (!again) __builtin_trap();  // what we print must parse back
  if (again->scheme != url->scheme || again->host != url->host || again->port != url->port ||
      again->path != url->path || again->query != url->query)
    __builtin_trap();
  check_form(url->query);
  return 0;
}
