#pragma once
// Which forward proxy an outbound request goes through, from HTTPS_PROXY / HTTP_PROXY / NO_PROXY
// (the conventions curl and Go's net/http/httpproxy share). Pure: the environment is injected.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/error.h"
#include "common/http/url.h"

namespace oauthdemo::http {

// Looks up one environment variable by name; "" when unset (an empty value counts as unset).
using EnvLookup = std::function<std::string(std::string_view name)>;

// The process environment (std::getenv).
std::string process_environment(std::string_view name);

struct ProxyRoute {
  std::string host;  // without brackets for IPv6 literals
  uint16_t port = 0;
  std::string username;  // percent-decoded user info of the proxy URL; empty = no Proxy-Authorization
  std::string password;
  std::string variable;  // the variable it came from, e.g. "HTTPS_PROXY", for messages

  // "http://host:port (from HTTPS_PROXY)": never the credentials.
  std::string describe() const;
};

// The proxy for a request to `target`, or nullopt for a direct connection. Loopback targets are
// always direct. Otherwise NO_PROXY (else no_proxy) may exempt the host; then HTTPS_PROXY (else
// https_proxy) for https targets and HTTP_PROXY (else http_proxy) for http ones. A proxy value
// without a scheme means http://; only http:// proxies are supported (TLS runs inside CONNECT).
// Errc::HttpBadUrl naming the variable when its value is not a usable proxy URL.
Result<std::optional<ProxyRoute>> proxy_for(const Url& target, const EnvLookup& env);

// NO_PROXY matching: comma-separated entries, case-insensitive, spaces ignored. "*" matches every
// host; "example.test", ".example.test" and "*.example.test" match example.test and its
// subdomains (on a label boundary); an IP literal matches itself ("[::1]" or "::1"); "host:port"
// matches that port only. CIDR ranges are not supported (they match nothing).
bool no_proxy_matches(std::string_view host, uint16_t port, std::string_view no_proxy);

}  // namespace oauthdemo::http
