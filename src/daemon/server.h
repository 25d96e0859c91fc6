#pragma once
// The HTTP face of oauthdemo-apid: routes (cpp-httplib 0.11.4's router), RFC 6750 error answers,
// CORS, RFC 9728 protected-resource metadata, metrics and the access log. Plain HTTP is served
// by event loops (event_loop_server.h) that share the connections; HTTPS by cpp-httplib's own
// thread-per-connection server.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/base/error.h"
#include "daemon/authenticator.h"
#include "daemon/event_loop_server.h"
#include "daemon/jwks_cache.h"
#include "daemon/metrics.h"
#include "daemon/settings.h"

namespace httplib {
class Server;
}

namespace oauthdemo::daemon {

struct ServerLimits {
  std::size_t payload_max_bytes = 64 * 1024;  // the largest body announced before 413 (no route takes one)
  std::size_t keep_alive_max_count = 1000;
  std::chrono::seconds keep_alive_timeout{5};
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
  EventLoopLimits events;   // plain HTTP
  int tls_workers = 256;    // HTTPS: cpp-httplib keeps one thread per open connection
};

struct TlsFiles {
  std::string cert_file;  // both empty = plain HTTP
  std::string key_file;
};

// What the routes need and a SIGHUP may change.
struct RouteConfig {
  std::vector<std::string> cors_origins;  // empty = any origin ("*")
  std::string admin_permission = "read:admin";
  std::string audience;  // the RFC 9728 resource identifier
  std::string issuer;
  std::string public_url;  // base for resource_metadata; "" = the bound address
  LogFormat log_format = LogFormat::Text;
  bool access_log = true;
  std::string realm = "oauthdemo-apid";
};

class ApiServer {
 public:
  ApiServer(Authenticator& auth, JwksCache& keys, Metrics& metrics);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Builds the server (HTTPS when `tls` names files), applies `limits`, binds `host:port`
  // (port 0 = any free port). Returns the bound port. Errc::HttpPortInUse, Errc::HttpTlsFailure.
  Result<int> bind(const std::string& host, int port, const ServerLimits& limits, const TlsFiles& tls);

  void set_config(RouteConfig config);

  // Serves until stop(); in-flight requests finish before it returns.
  bool listen();
  // Shutdown, first step: /readyz answers 503 "draining", answers say "Connection: close", idle
  // keep-alive connections are closed; requests are still served.
  void drain();
  void stop();
  bool is_running() const;
  bool draining() const { return draining_.load(); }

  // scheme://host:port of the bound socket.
  std::string base_url() const;

 private:
  class Router;
  void install_routes();
  std::shared_ptr<const RouteConfig> config() const;
  std::string refuse_head(HeadProblem problem, std::string_view remote_addr);

  Authenticator& auth_;
  JwksCache& keys_;
  Metrics& metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<EventLoopServer> events_;  // plain HTTP only
  std::atomic<bool> draining_{false};
  std::string scheme_ = "http";
  std::string host_;
  int port_ = 0;
  std::size_t payload_max_bytes_ = 64 * 1024;
  int listen_fd_ = -1;  // the listening socket, seen through set_socket_options
  mutable std::mutex config_mu_;
  std::shared_ptr<const RouteConfig> config_;
};

}  // namespace oauthdemo::daemon
