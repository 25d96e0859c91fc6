#pragma once
// The outbound HTTP seam. Production: HttplibClient (cpp-httplib). Tests: FakeHttpClient in
// tests/support, or HttplibClient against a real loopback server.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/error.h"

namespace oauthdemo::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http(s) URL
  Headers headers;  // extra request headers
  std::string body;
  std::string content_type;  // for bodies, e.g. "application/x-www-form-urlencoded"
  std::chrono::milliseconds timeout{10000};  // connect, and each read or write
  // Connect, TLS handshake, headers and body together, whatever the peer's pace; zero = the
  // client's HttpClientOptions::deadline. The smaller of the two applies.
  std::chrono::milliseconds deadline{0};
  std::size_t max_response_bytes = 1024 * 1024;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;

  // The first header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request; never follows redirects (a 3xx is returned as is). Any status is a
  // success at this level. Errc::HttpBadUrl, HttpConnectFailed, HttpTimeout, HttpTlsFailure,
  // HttpBodyTooLarge, HttpDeadlineExceeded ("no complete answer from HOST within N s").
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

struct HttpClientOptions {
  std::string ca_file;  // PEM bundle; empty = the system CAs
  // Plain http:// is refused unless the host is loopback (RFC 8252/IdP fetches over TLS only).
  enum class PlainHttp { LoopbackOnly, Allow } plain_http = PlainHttp::LoopbackOnly;
  // HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment (CLI only; the daemon leaves it off).
  enum class Proxy { None, FromEnvironment } proxy = Proxy::None;
  std::string user_agent = "oauthdemo/0.1";
  // The total wall-clock deadline of every request (see HttpRequest::deadline).
  std::chrono::milliseconds deadline{30000};
};

// cpp-httplib client: TLS with certificate and host name verification, body size capped while
// reading, no redirects, per-operation timeouts from the request, and a total deadline enforced
// by a watchdog that shuts the socket down when it passes.
class HttplibClient final : public HttpClient {
 public:
  explicit HttplibClient(HttpClientOptions options = {});
  Result<HttpResponse> send(const HttpRequest& request) override;

 private:
  HttpClientOptions options_;
};

}  // namespace oauthdemo::http
