#include "common/http/proxy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace oauthdemo::http {
namespace {

std::string lower_without_spaces(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (!std::isspace(c)) out += static_cast<char>(std::tolower(c));
  }
  return out;
}

std::optional<uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

// One NO_PROXY entry against a lower-cased host without a trailing dot.
bool entry_matches(std::string entry, const std::string& host, uint16_t port) {
  if (entry == "*") return true;
  std::optional<uint16_t> entry_port;
  if (entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string::npos) return false;
    const std::string after = entry.substr(close + 1);
    entry = entry.substr(1, close - 1);
    if (!after.empty()) {
      if (after.front() != ':' || !(entry_port = parse_port(after.substr(1)))) return false;
    }
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
    // One colon is host:port; more than one is a bare IPv6 literal.
    const auto colon = entry.find(':');
    if (!(entry_port = parse_port(entry.substr(colon + 1)))) return false;
    entry.erase(colon);
  }
  if (entry_port && *entry_port != port) return false;
  if (entry.starts_with("*.")) {
    entry.erase(0, 2);
  } else if (entry.starts_with(".")) {
    entry.erase(0, 1);
  }
  if (!entry.empty() && entry.back() == '.') entry.pop_back();
  if (entry.empty()) return false;
  if (host == entry) return true;
  // Suffixes are domain names only: "0.0.1" must not exempt 10.0.0.1.
  return !is_ip_literal(host) && host.size() > entry.size() && host.ends_with("." + entry);
}

std::string percent_decode_userinfo(std::string_view s) {
  // RFC 3986 §3.2.1: user info is percent-encoded; '+' is a literal plus here, unlike in forms.
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<ProxyRoute> parse_proxy(std::string_view value, const std::string& variable) {
  std::string text(value);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  // curl and Go read "proxy.example:3128" as http://proxy.example:3128.
  if (text.find("://") == std::string::npos) text = "http://" + text;
  const auto scheme_end = text.find("://");
  const auto authority_start = scheme_end + 3;
  const auto authority_end = text.find_first_of("/?#", authority_start);
  const std::string authority = text.substr(
      authority_start, authority_end == std::string::npos ? std::string::npos : authority_end - authority_start);
  ProxyRoute route;
  route.variable = variable;
  std::string shown = text;  // for messages: the value with any credentials masked
  const auto at = authority.rfind('@');
  if (at != std::string::npos) {
    const std::string userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    route.username = percent_decode_userinfo(userinfo.substr(0, colon));
    if (colon != std::string::npos) route.password = percent_decode_userinfo(userinfo.substr(colon + 1));
    text.erase(authority_start, at + 1);
    shown = text.substr(0, authority_start) + "***@" + text.substr(authority_start);
  }
  std::string scheme = text.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme == "https")
    return fail(Errc::HttpBadUrl, variable + " (" + shown +
                                      "): https:// proxies are not supported; use the proxy's http:// URL (the "
                                      "connection to the server is still TLS, tunnelled with CONNECT)");
  auto url = parse_url(text);
  if (!url)
    return fail(Errc::HttpBadUrl, variable + " (" + shown + ") is not a valid proxy URL: " + url.error().detail);
  if (url->port == 0) return fail(Errc::HttpBadUrl, variable + " (" + shown + ") is not a valid proxy URL: port 0");
  route.host = url->host;
  route.port = url->port;
  return route;
}

}  // namespace

std::string process_environment(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  return v ? std::string(v) : std::string();
}

std::string ProxyRoute::describe() const {
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "http://" + shown_host + ":" + std::to_string(port) + " (from " + variable + ")";
}

bool no_proxy_matches(std::string_view host, uint16_t port, std::string_view no_proxy) {
  std::string h = lower_without_spaces(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  std::size_t pos = 0;
  while (pos <= no_proxy.size()) {
    const auto comma = no_proxy.find(',', pos);
    const std::string entry = lower_without_spaces(
        no_proxy.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (!entry.empty() && entry_matches(entry, h, port)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

Result<std::optional<ProxyRoute>> proxy_for(const Url& target, const EnvLookup& env) {
  // A proxy could read or alter traffic to this machine's own services (the loopback redirect
  // of RFC 8252 §7.3, a local API); they are always reached directly.
  if (is_loopback_host(target.host)) return std::nullopt;
  std::string no_proxy = env("NO_PROXY");
  if (no_proxy.empty()) no_proxy = env("no_proxy");
  if (no_proxy_matches(target.host, target.port, no_proxy)) return std::nullopt;
  const bool https = target.scheme == "https";
  std::string variable = https ? "HTTPS_PROXY" : "HTTP_PROXY";
  std::string value = env(variable);
  if (value.empty()) {
    variable = https ? "https_proxy" : "http_proxy";
    value = env(variable);
  }
  if (value.empty()) return std::nullopt;
  auto route = parse_proxy(value, variable);
  if (!route) return tl::unexpected(route.error());
  return std::optional<ProxyRoute>(std::move(*route));
}

}  // namespace oauthdemo::http
