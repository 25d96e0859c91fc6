#include "common/http/url.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <charconv>

namespace oauthdemo::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return fail(Errc::OAuthInvalidRequest, "truncated percent escape");
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return fail(Errc::OAuthInvalidRequest, "invalid percent escape");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string Url::origin() const {
  std::string out = scheme + "://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (!default_port) out.append(":").append(std::to_string(port));
  return out;
}

std::string Url::str() const {
  std::string out = origin() + path;
  if (!query.empty()) out += "?" + query;
  return out;
}

Result<Url> parse_url(std::string_view text) {
  if (text.size() > 8192) return fail(Errc::HttpBadUrl, "URL is longer than 8192 characters");
  Url url;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return fail(Errc::HttpBadUrl, "URL must start with http:// or https://");
  url.scheme = lower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https")
    return fail(Errc::HttpBadUrl, "URL scheme must be http or https, not '" + url.scheme + "'");
  std::string_view rest = text.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) return fail(Errc::HttpBadUrl, "URL must not contain a fragment");
  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path_query = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) return fail(Errc::HttpBadUrl, "URL must not contain user info");
  if (authority.empty()) return fail(Errc::HttpBadUrl, "URL has no host");
  std::string_view port_text;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(Errc::HttpBadUrl, "unterminated IPv6 literal in URL");
    url.host = lower(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(Errc::HttpBadUrl, "unexpected characters after IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return fail(Errc::HttpBadUrl, "URL has no host");
  for (char c : url.host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':' || c == '_'))
      return fail(Errc::HttpBadUrl, "URL host has an invalid character");
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || value > 65535)
      return fail(Errc::HttpBadUrl, "URL port must be a number from 0 to 65535");
    url.port = static_cast<uint16_t>(value);
  } else {
    url.port = url.scheme == "https" ? 443 : 80;
  }
  const auto q = path_query.find('?');
  url.path = std::string(path_query.substr(0, q));
  if (url.path.empty()) url.path.push_back('/');
  if (q != std::string_view::npos) url.query = std::string(path_query.substr(q + 1));
  return url;
}

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, h.c_str(), &v4) == 1 || inet_pton(AF_INET6, h.c_str(), &v6) == 1;
}

bool is_loopback_ip_literal(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool is_loopback_host(std::string_view host) {
  return lower(host) == "localhost" || is_loopback_ip_literal(host);
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += percent_encode(name);
    out += '=';
    out += percent_encode(value);
  }
  return out;
}

Result<Params> parse_form(std::string_view text, std::size_t max_params) {
  Params out;
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    const auto amp = text.find('&', pos);
    std::string_view pair = text.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!pair.empty()) {
      if (out.size() >= max_params) return fail(Errc::OAuthInvalidRequest, "too many parameters");
      const auto eq = pair.find('=');
      auto name = percent_decode(pair.substr(0, eq));
      if (!name) return tl::unexpected(name.error());
      auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
      if (!value) return tl::unexpected(value.error());
      for (const auto& existing : out) {
        if (existing.first == *name) return fail(Errc::OAuthInvalidRequest, "parameter '" + *name + "' is repeated");
      }
      out.emplace_back(std::move(*name), std::move(*value));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

std::optional<std::string> param(const Params& params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace oauthdemo::http
