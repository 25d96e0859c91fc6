// The only client-side cpp-httplib include in the project.
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/http/http_client.h"
#include "common/http/url.h"

namespace oauthdemo::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// NO_PROXY: comma-separated host suffixes; "*" disables the proxy. Loopback never goes through
// a proxy, whatever the environment says.
bool bypasses_proxy(const std::string& host) {
  if (is_loopback_host(host)) return true;
  std::string list = env_or_empty("NO_PROXY");
  if (list.empty()) list = env_or_empty("no_proxy");
  size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    std::string entry = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    entry.erase(std::remove_if(entry.begin(), entry.end(), [](unsigned char c) { return std::isspace(c); }), entry.end());
    if (entry == "*") return true;
    if (!entry.empty()) {
      if (entry.front() == '.') entry.erase(0, 1);
      if (host == entry || (host.size() > entry.size() && host.ends_with("." + entry))) return true;
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return false;
}

Errc map_error(httplib::Error error) {
  switch (error) {
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::Read:
      return Errc::HttpTimeout;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return Errc::HttpTlsFailure;
    default:
      return Errc::HttpConnectFailed;
  }
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

HttplibClient::HttplibClient(HttpClientOptions options) : options_(std::move(options)) {}

Result<HttpResponse> HttplibClient::send(const HttpRequest& request) {
  auto url = parse_url(request.url);
  if (!url) return tl::unexpected(url.error());
  if (url->scheme == "http" && options_.plain_http == HttpClientOptions::PlainHttp::LoopbackOnly &&
      !is_loopback_host(url->host))
    return fail(Errc::HttpBadUrl, "refusing plain http to a non-loopback host " + url->host + "; use https");

  httplib::Client client(url->origin());
  client.set_follow_location(false);
  client.set_keep_alive(false);
  client.set_tcp_nodelay(true);
  const auto timeout = request.timeout;
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  if (url->scheme == "https") {
    client.enable_server_certificate_verification(true);
    if (!options_.ca_file.empty()) client.set_ca_cert_path(options_.ca_file);
  }
  if (options_.proxy == HttpClientOptions::Proxy::FromEnvironment && !bypasses_proxy(url->host)) {
    std::string proxy = env_or_empty(url->scheme == "https" ? "HTTPS_PROXY" : "HTTP_PROXY");
    if (proxy.empty()) proxy = env_or_empty(url->scheme == "https" ? "https_proxy" : "http_proxy");
    if (!proxy.empty()) {
      auto proxy_url = parse_url(proxy);
      if (!proxy_url) return fail(Errc::HttpBadUrl, "proxy setting is not a valid URL: " + proxy_url.error().detail);
      client.set_proxy(proxy_url->host, proxy_url->port);
    }
  }

  httplib::Request req;
  req.method = request.method;
  req.path = url->path + (url->query.empty() ? "" : "?" + url->query);
  req.headers.emplace("User-Agent", options_.user_agent);
  for (const auto& [name, value] : request.headers) req.headers.emplace(name, value);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    req.body = request.body;
    req.headers.emplace("Content-Type",
                        request.content_type.empty() ? std::string("application/octet-stream") : request.content_type);
  }
  std::string body;
  bool too_large = false;
  const size_t cap = request.max_response_bytes;
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    if (body.size() + size > cap) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  };

  auto result = client.send(req);
  if (too_large)
    return fail(Errc::HttpBodyTooLarge, "response from " + url->origin() + " is larger than " + std::to_string(cap) +
                                            " bytes");
  if (!result) {
    return fail(map_error(result.error()),
                request.method + " " + url->origin() + url->path + " failed: " + httplib::to_string(result.error()));
  }
  HttpResponse response;
  response.status = result->status;
  for (const auto& [name, value] : result->headers) response.headers.emplace_back(name, value);
  response.body = std::move(body);
  return response;
}

}  // namespace oauthdemo::http
