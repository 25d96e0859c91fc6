#pragma once
// oauthdemo-devidp's HTTP server: Auth0-shaped endpoints on cpp-httplib. Development only.
#include <httplib.h>

#include <memory>
#include <string>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/base/random.h"
#include "devidp/http_util.h"
#include "devidp/keys.h"
#include "devidp/registry.h"
#include "devidp/sessions.h"
#include "devidp/token_issuer.h"

namespace oauthdemo::devidp {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  TokenLifetimes lifetimes{};
  SessionLimits limits{};
  Seconds jwks_max_age{300};
};

class Server {
 public:
  // Borrows clock and random; owns registry and keys.
  Server(ServerOptions options, Registry registry, std::unique_ptr<KeyRing> keys, Clock& clock, RandomSource& random);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (port 0 -> any free port), fixes the issuer and returns the port.
  // Errc::HttpPortInUse.
  Result<int> bind();
  // Serves until stop(); returns false if listening failed.
  bool listen();
  void stop();
  bool is_running() const { return http_.is_running(); }

  // "http://127.0.0.1:PORT/" once bound.
  const std::string& issuer() const { return issuer_; }
  int port() const { return port_; }
  // Adds a new signing key; the old one stays published. Errc::CryptoFailure.
  Result<void> rotate_keys();
  const KeyRing& keys() const { return *keys_; }

 private:
  void install_routes();
  // Routes (server.cc, routes_authorize.cc, routes_token.cc, routes_device.cc).
  void discovery(const httplib::Request& req, httplib::Response& res);
  void jwks(const httplib::Request& req, httplib::Response& res);
  void admin_rotate(const httplib::Request& req, httplib::Response& res);
  void authorize(const httplib::Request& req, httplib::Response& res);
  void login_get(const httplib::Request& req, httplib::Response& res);
  void login_post(const httplib::Request& req, httplib::Response& res);
  void logout(const httplib::Request& req, httplib::Response& res);
  void oidc_logout(const httplib::Request& req, httplib::Response& res);
  void finish_logout(httplib::Response& res, const std::string& client_id, const std::string& return_to,
                     const http::Params& extra);
  void token(const httplib::Request& req, httplib::Response& res);
  void revoke(const httplib::Request& req, httplib::Response& res);
  void userinfo(const httplib::Request& req, httplib::Response& res);
  void device_code(const httplib::Request& req, httplib::Response& res);
  void activate_get(const httplib::Request& req, httplib::Response& res);
  void activate_post(const httplib::Request& req, httplib::Response& res);

  // Token endpoint grants.
  void grant_authorization_code(const AuthenticatedClient& client, const http::Params& form, httplib::Response& res);
  void grant_refresh_token(const AuthenticatedClient& client, const http::Params& form, httplib::Response& res);
  void grant_client_credentials(const AuthenticatedClient& client, const http::Params& form, httplib::Response& res);
  void grant_device_code(const AuthenticatedClient& client, const http::Params& form, httplib::Response& res);
  // Issues tokens for `grant` (+ a refresh token when offline_access was granted and the client
  // may refresh) and writes the RFC 6749 §5.1 answer. Returns the new refresh family id, if any.
  std::string respond_with_tokens(const Grant& grant, const Client& client, httplib::Response& res,
                                  std::string refresh_token = {});

  // Scope/audience validation shared by /authorize and /oauth/device/code.
  tl::expected<std::string, OAuthFailure> validate_scope(const std::string& scope, const std::string& audience) const;
  void render_login(const httplib::Request& req, httplib::Response& res, const std::string& txn_id,
                    const LoginTxn& txn, int status, const std::string& error, const std::string& username);

  ServerOptions options_;
  Registry registry_;
  std::unique_ptr<KeyRing> keys_;
  Clock& clock_;
  RandomSource& random_;
  SessionStore sessions_;
  std::unique_ptr<TokenIssuer> issuer_tokens_;
  httplib::Server http_;
  std::string issuer_;
  int port_ = 0;
};

// The issuer URL for a bound host and port: "http://127.0.0.1:PORT/", IPv6 hosts in brackets.
std::string issuer_for(const std::string& host, int port);

}  // namespace oauthdemo::devidp
