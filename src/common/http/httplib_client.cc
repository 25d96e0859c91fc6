// The only client-side cpp-httplib include in the project.
#include <httplib.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "common/http/http_client.h"
#include "common/http/proxy.h"
#include "common/http/url.h"

namespace oauthdemo::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// cpp-httplib 0.11.4's own name check accepts a subject CN naming the host even when the
// certificate's subjectAltName names others; RFC 6125 §6.4.4 (and RFC 9110 §4.3.4) say the CN
// is then not consulted. OpenSSL's check during chain verification follows the RFC, so the name
// is checked there (a mismatch shows as X509_V_ERR_HOSTNAME_MISMATCH / IP_ADDRESS_MISMATCH);
// httplib's check still runs afterwards and can only refuse more.
bool check_name_in_chain_verification(SSL_CTX* ctx, const std::string& host) {
  if (ctx == nullptr) return false;
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  if (is_ip_literal(host)) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
}

std::string seconds_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

using Steady = std::chrono::steady_clock;

// cpp-httplib 0.11.4 bounds each socket operation, not the exchange: a peer that sends a byte
// now and then is never timed out. The watchdog shuts the connection's socket down when the
// deadline passes, and every read, write or handshake step of httplib then fails at once. It
// holds its own duplicate of the descriptor, so the number cannot be closed and reused by
// another thread under it (httplib closes its descriptor inside send()).
class DeadlineWatchdog {
 public:
  explicit DeadlineWatchdog(Steady::time_point deadline) : deadline_(deadline), thread_([this] { watch(); }) {}
  ~DeadlineWatchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  DeadlineWatchdog(const DeadlineWatchdog&) = delete;
  DeadlineWatchdog& operator=(const DeadlineWatchdog&) = delete;

  // httplib's socket-options hook: every socket it creates for the request, before connecting
  // (one per address tried); the newest is the one in use.
  void watch_socket(int fd) {
    std::lock_guard lock(mu_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fired_ && fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  bool fired() {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  void watch() {
    std::unique_lock lock(mu_);
    if (wake_.wait_until(lock, deadline_, [this] { return done_; })) return;
    fired_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  const Steady::time_point deadline_;
  std::mutex mu_;
  std::condition_variable wake_;
  int fd_ = -1;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// What one failed httplib::Client::send leaves besides its httplib::Error, which alone says
// neither why a certificate failed verification nor whether a read ended by timeout.
struct Attempt {
  const Url& url;
  const std::optional<ProxyRoute>& proxy;
  const HttpRequest& request;
  std::string ca_file;
  std::chrono::milliseconds request_timeout{0};  // each operation's, after the cut to the deadline
  long verify_result = X509_V_OK;
  std::chrono::milliseconds elapsed{0};
};

Error describe_failure(httplib::Error error, const Attempt& a) {
  const std::string what = a.request.method + " " + a.url.origin() + a.url.path + " failed: ";
  const std::string peer = a.url.host + ":" + std::to_string(a.url.port);
  const std::string via = a.proxy ? " through the proxy " + a.proxy->describe() : "";
  // httplib's per-operation timeouts end in the same errors as a closed connection; the clock
  // tells them apart.
  // (select() may wake a little early, hence 95 %.)
  const bool timed_out = a.elapsed * 20 >= a.request_timeout * 19;
  switch (error) {
    case httplib::Error::Connection:
      if (a.proxy) return {Errc::HttpConnectFailed, what + "could not connect to the proxy " + a.proxy->describe()};
      return {Errc::HttpConnectFailed, what + "could not connect to " + peer};
    case httplib::Error::ConnectionTimeout:
      return {Errc::HttpTimeout, what + "could not connect to " +
                                     (a.proxy ? "the proxy " + a.proxy->describe() : peer) + " within " +
                                     seconds_text(a.request_timeout)};
    case httplib::Error::Read:
      if (timed_out)
        return {Errc::HttpTimeout,
                what + "no answer from " + peer + via + " within " + seconds_text(a.request_timeout)};
      return {Errc::HttpConnectFailed, what + "the connection to " + peer + via + " closed before a complete answer"};
    case httplib::Error::Write:
      return {timed_out ? Errc::HttpTimeout : Errc::HttpConnectFailed,
              what + "sending the request to " + peer + via + " failed"};
    case httplib::Error::SSLConnection:
      if (timed_out)
        return {Errc::HttpTimeout,
                what + "no TLS handshake with " + peer + via + " within " + seconds_text(a.request_timeout)};
      return {Errc::HttpTlsFailure, what + "the TLS handshake with " + peer + via + " failed"};
    case httplib::Error::SSLLoadingCerts:
      return {Errc::HttpTlsFailure, what + "could not load CA certificates from " +
                                        (a.ca_file.empty() ? std::string("the system store") : a.ca_file)};
    case httplib::Error::SSLServerVerification:
      // X509_V_OK here means httplib's own name check refused a certificate OpenSSL accepted.
      if (a.verify_result != X509_V_OK && a.verify_result != X509_V_ERR_HOSTNAME_MISMATCH &&
          a.verify_result != X509_V_ERR_IP_ADDRESS_MISMATCH)
        return {Errc::HttpTlsFailure, what + "the TLS certificate of " + peer +
                                          " could not be verified: " + X509_verify_cert_error_string(a.verify_result)};
      return {Errc::HttpTlsFailure, what + "the TLS certificate of " + peer +
                                        " could not be verified: it is not valid for the name " + a.url.host};
    default:
      return {Errc::HttpConnectFailed, what + httplib::to_string(error)};
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

  auto deadline = options_.deadline;
  if (request.deadline.count() > 0 && (deadline.count() <= 0 || request.deadline < deadline)) deadline = request.deadline;
  const auto started = Steady::now();

  httplib::Client client(url->origin());
  client.set_follow_location(false);
  client.set_keep_alive(false);
  client.set_tcp_nodelay(true);
  std::optional<DeadlineWatchdog> watchdog;
  // Each operation's timeout is also cut to the deadline, so a silent peer ends there too.
  auto timeout = request.timeout;
  if (deadline.count() > 0) {
    timeout = std::min(timeout, deadline);
    watchdog.emplace(started + deadline);
    client.set_socket_options([&watchdog](socket_t fd) { watchdog->watch_socket(fd); });
  }
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  if (url->scheme == "https") {
    client.enable_server_certificate_verification(true);
    if (!options_.ca_file.empty()) client.set_ca_cert_path(options_.ca_file);
    if (!check_name_in_chain_verification(client.ssl_context(), url->host))
      return fail(Errc::HttpTlsFailure, "cannot set up TLS host name verification for " + url->host);
  }
  std::optional<ProxyRoute> proxy;
  if (options_.proxy == HttpClientOptions::Proxy::FromEnvironment) {
    auto route = proxy_for(*url, process_environment);
    if (!route) return tl::unexpected(route.error());
    proxy = std::move(*route);
  }
  if (proxy) {
    client.set_proxy(proxy->host, proxy->port);
    if (!proxy->username.empty()) client.set_proxy_basic_auth(proxy->username, proxy->password);
  }
  // cpp-httplib 0.11.4 hands a CONNECT answered 407 back as if the server had sent it, and
  // continues other refusals into a TLS handshake on the unopened tunnel. Its logger sees the
  // CONNECT exchange, so its status is how a refused tunnel shows.
  int connect_status = 0;
  client.set_logger([&connect_status](const httplib::Request& req, const httplib::Response& res) {
    if (req.method == "CONNECT") connect_status = res.status;
  });

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
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started);
  // (select() may wake a little early, hence 95 %.)
  const bool deadline_passed =
      deadline.count() > 0 && ((watchdog && watchdog->fired()) || elapsed * 20 >= deadline * 19);
  watchdog.reset();
  if (proxy && connect_status != 0 && connect_status != 200)
    return fail(Errc::HttpConnectFailed,
                request.method + " " + url->origin() + url->path + " failed: the proxy " + proxy->describe() +
                    " refused the tunnel to " + url->host + ":" + std::to_string(url->port) + " with HTTP " +
                    std::to_string(connect_status) + (connect_status == 407 ? " (proxy authentication required)" : ""));
  if (too_large)
    return fail(Errc::HttpBodyTooLarge, "response from " + url->origin() + " is larger than " + std::to_string(cap) +
                                            " bytes");
  if (!result && deadline_passed)
    return fail(Errc::HttpDeadlineExceeded, request.method + " " + url->origin() + url->path +
                                                " failed: no complete answer from " + url->host + ":" +
                                                std::to_string(url->port) + " within " + seconds_text(deadline));
  if (!result) {
    Attempt attempt{*url, proxy, request, options_.ca_file};
    attempt.request_timeout = timeout;
    attempt.elapsed = elapsed;
    if (result.error() == httplib::Error::SSLServerVerification)
      attempt.verify_result = client.get_openssl_verify_result();
    return tl::unexpected(describe_failure(result.error(), attempt));
  }
  HttpResponse response;
  response.status = result->status;
  for (const auto& [name, value] : result->headers) response.headers.emplace_back(name, value);
  response.body = std::move(body);
  return response;
}

}  // namespace oauthdemo::http
