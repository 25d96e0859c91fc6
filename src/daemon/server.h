#pragma once
// The HTTP face of oauthdemo-apid (cpp-httplib 0.11.4 server): routes, RFC 6750 error answers,
// CORS, RFC 9728 protected-resource metadata, metrics and the access log.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/base/error.h"
#include "daemon/authenticator.h"
#include "daemon/jwks_cache.h"
#include "daemon/metrics.h"
#include "daemon/settings.h"

namespace httplib {
class Server;
}

namespace oauthdemo::daemon {

struct ServerLimits {
  std::size_t payload_max_bytes = 64 * 1024;
  std::size_t keep_alive_max_count = 1000;
  std::chrono::seconds keep_alive_timeout{5};
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
  int workers = 256;
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
  void stop();
  bool is_running() const;

  // scheme://host:port of the bound socket.
  std::string base_url() const;

 private:
  void install_routes();
  std::shared_ptr<const RouteConfig> config() const;

  Authenticator& auth_;
  JwksCache& keys_;
  Metrics& metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_ = "http";
  std::string host_;
  int port_ = 0;
  int listen_fd_ = -1;  // the listening socket, seen through set_socket_options
  mutable std::mutex config_mu_;
  std::shared_ptr<const RouteConfig> config_;
};

}  // namespace oauthdemo::daemon
