#pragma once
// URLs, query strings and form bodies (RFC 3986, application/x-www-form-urlencoded).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/error.h"

namespace oauthdemo::http {

struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // without brackets for IPv6 literals
  uint16_t port = 0;   // explicit or the scheme default
  std::string path;    // starts with '/', "/" when absent
  std::string query;   // without '?', may be empty

  // scheme://host[:port] with brackets for IPv6 and the port only when not the default.
  std::string origin() const;
  // origin() + path (+ '?' + query).
  std::string str() const;
};

// Parses an absolute http(s) URL. No userinfo, no fragment. Errc::HttpBadUrl with the reason.
Result<Url> parse_url(std::string_view text);

// True for 127.0.0.0/8, ::1 and "localhost" (RFC 8252 §7.3, RFC 6761).
bool is_loopback_host(std::string_view host);
// True for IPv4 and IPv6 address literals (IPv6 without brackets).
bool is_ip_literal(std::string_view host);
// True only for IP literals 127.x.y.z and ::1 (the redirect forms RFC 8252 recommends).
bool is_loopback_ip_literal(std::string_view host);

using Params = std::vector<std::pair<std::string, std::string>>;

// Percent-encodes everything but unreserved characters (space -> %20).
std::string percent_encode(std::string_view text);
// Form encoding of name=value pairs joined with '&'.
std::string form_encode(const Params& params);
// Parses "a=1&b=2" (form or query); '+' means space. Errc::OAuthInvalidRequest on bad percent
// escapes, more than `max_params` pairs or a repeated name (RFC 6749 §3.1: parameters MUST NOT
// be included more than once).
Result<Params> parse_form(std::string_view text, std::size_t max_params = 64);

// The value of `name`, or nullopt.
std::optional<std::string> param(const Params& params, std::string_view name);

// Minimal HTML escaping for text and attribute values (& < > " ').
std::string html_escape(std::string_view text);

}  // namespace oauthdemo::http
