#include "devidp/server.h"

#include <spdlog/spdlog.h>

#include "common/http/listen_port.h"

namespace oauthdemo::devidp {

std::string issuer_for(const std::string& host, int port) {
  const std::string shown = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
  const std::string bracketed = shown.find(':') != std::string::npos ? "[" + shown + "]" : shown;
  return "http://" + bracketed + ":" + std::to_string(port) + "/";
}

Server::Server(ServerOptions options, Registry registry, std::unique_ptr<KeyRing> keys, Clock& clock,
               RandomSource& random)
    : options_(std::move(options)),
      registry_(std::move(registry)),
      keys_(std::move(keys)),
      clock_(clock),
      random_(random),
      sessions_(clock, random, options_.limits) {
  install_routes();
}

Server::~Server() { stop(); }

Result<int> Server::bind() {
  int port = options_.port;
  if (port == 0) {
    port = http_.bind_to_any_port(options_.host);
    if (port <= 0) return fail(Errc::HttpPortInUse, "cannot bind " + options_.host + " on any port");
  } else if (!http_.bind_to_port(options_.host, port)) {
    return fail(Errc::HttpPortInUse, http::bind_failure_message(options_.host, port, "--port"));
  }
  port_ = port;
  issuer_ = issuer_for(options_.host, port);
  issuer_tokens_ = std::make_unique<TokenIssuer>(issuer_, *keys_, registry_, clock_, options_.lifetimes);
  return port;
}

bool Server::listen() { return http_.listen_after_bind(); }

void Server::stop() {
  if (http_.is_running()) http_.stop();
}

Result<void> Server::rotate_keys() {
  auto rotated = keys_->rotate();
  if (rotated) spdlog::info("signing key rotated: new kid {} ({} keys published)", keys_->current()->kid(), keys_->size());
  return rotated;
}

void Server::install_routes() {
  http_.set_tcp_nodelay(true);
  // No SO_REUSEPORT (cpp-httplib's default): another process must never share the port.
  http_.set_socket_options([](socket_t sock) { http::set_listener_options(static_cast<int>(sock)); });
  http_.set_keep_alive_max_count(100);
  http_.set_keep_alive_timeout(5);
  http_.set_payload_max_length(kMaxBodyBytes);
  http_.set_read_timeout(10, 0);
  http_.set_write_timeout(10, 0);

  http_.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_note() = RequestNote{};
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    // No details: they could echo request data.
    res.headers.clear();
    send_oauth_error(res, failure("server_error", "internal error", 500));
  });
  http_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const int status = res.status;
    if (status == 413)
      send_oauth_error(res, failure("invalid_request", "request body is larger than " + std::to_string(kMaxBodyBytes) +
                                                           " bytes", 413));
    else if (status == 404)
      send_oauth_error(res, failure("not_found", "no such endpoint", 404));
    else
      send_oauth_error(res, failure(status >= 500 ? "server_error" : "invalid_request", "request failed", status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    // Path only: query strings carry codes and states.
    auto& note = request_note();
    spdlog::info("{} {} {} client_id={} error={}", req.method, req.path.substr(0, 128), res.status,
                 note.client_id.empty() ? "-" : note.client_id, note.error.empty() ? "-" : note.error);
    note = RequestNote{};
  });

  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  http_.Get("/.well-known/openid-configuration", [this](Req q, Res r) { discovery(q, r); });
  http_.Get("/.well-known/jwks.json", [this](Req q, Res r) { jwks(q, r); });
  http_.Post("/admin/rotate-keys", [this](Req q, Res r) { admin_rotate(q, r); });
  http_.Get("/authorize", [this](Req q, Res r) { authorize(q, r); });
  http_.Get("/u/login", [this](Req q, Res r) { login_get(q, r); });
  http_.Post("/u/login", [this](Req q, Res r) { login_post(q, r); });
  http_.Get("/v2/logout", [this](Req q, Res r) { logout(q, r); });
  http_.Get("/oidc/logout", [this](Req q, Res r) { oidc_logout(q, r); });
  http_.Post("/oauth/token", [this](Req q, Res r) { token(q, r); });
  http_.Post("/oauth/revoke", [this](Req q, Res r) { revoke(q, r); });
  http_.Get("/userinfo", [this](Req q, Res r) { userinfo(q, r); });
  http_.Post("/userinfo", [this](Req q, Res r) { userinfo(q, r); });
  http_.Post("/oauth/device/code", [this](Req q, Res r) { device_code(q, r); });
  http_.Get("/activate", [this](Req q, Res r) { activate_get(q, r); });
  http_.Post("/activate", [this](Req q, Res r) { activate_post(q, r); });
}

void Server::discovery(const httplib::Request&, httplib::Response& res) {
  nlohmann::json scopes = nlohmann::json::array({"openid", "profile", "email", "offline_access"});
  nlohmann::json doc = {
      {"issuer", issuer_},
      {"authorization_endpoint", issuer_ + "authorize"},
      {"token_endpoint", issuer_ + "oauth/token"},
      {"device_authorization_endpoint", issuer_ + "oauth/device/code"},
      {"userinfo_endpoint", issuer_ + "userinfo"},
      {"revocation_endpoint", issuer_ + "oauth/revoke"},
      {"end_session_endpoint", issuer_ + "oidc/logout"},
      {"jwks_uri", issuer_ + ".well-known/jwks.json"},
      {"scopes_supported", scopes},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"grant_types_supported",
       {kGrantAuthorizationCode, kGrantRefreshToken, kGrantClientCredentials, kGrantDeviceCode}},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {"RS256"}},
      {"token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post", "none"}},
      {"revocation_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post", "none"}},
      {"claims_supported",
       {"aud", "auth_time", "azp", "email", "email_verified", "exp", "iat", "iss", "name", "nickname", "nonce",
        "picture", "sub"}},
      {"authorization_response_iss_parameter_supported", true},
      {"request_uri_parameter_supported", false},
      {"request_parameter_supported", false},
  };
  res.status = 200;
  res.set_header("Cache-Control", "public, max-age=300");
  res.set_content(doc.dump(), "application/json");
}

void Server::jwks(const httplib::Request& req, httplib::Response& res) {
  const auto published = keys_->published();
  res.set_header("Cache-Control", "public, max-age=" + std::to_string(options_.jwks_max_age.count()));
  res.set_header("ETag", published.etag);
  // RFC 9110 §13.1.2: a list of entity tags or "*"; weak comparison.
  const std::string inm = req.get_header_value("If-None-Match");
  if (!inm.empty() && (inm == "*" || inm.find(published.etag) != std::string::npos)) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(published.body, "application/json");
}

void Server::admin_rotate(const httplib::Request& req, httplib::Response& res) {
  if (!is_loopback_peer(req.remote_addr)) {
    send_json(res, 403, {{"error", "forbidden"}, {"error_description", "key rotation is allowed from loopback only"}});
    request_note().error = "forbidden";
    return;
  }
  if (auto rotated = rotate_keys(); !rotated) {
    send_oauth_error(res, failure("server_error", "key generation failed", 500));
    return;
  }
  send_json(res, 200, {{"kid", keys_->current()->kid()}, {"keys", keys_->size()}});
}

}  // namespace oauthdemo::devidp
