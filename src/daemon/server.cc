#include "daemon/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/http/listen_port.h"
#include "daemon/errors.h"
#include "daemon/logging.h"

namespace oauthdemo::daemon {
namespace {

using Steady = std::chrono::steady_clock;
constexpr const char* kJson = "application/json";
constexpr std::string_view kHelloPrefix = R"({"message":"Hello! Your token is valid.","user":)";
constexpr std::string_view kAdminPrefix = R"({"message":"Hello, admin! Your token has the admin permission.","user":)";

// Per-request facts for the access log and metrics. cpp-httplib runs a request's routing,
// handler, post-routing and logger on one worker thread, so a thread_local carries them.
struct RequestContext {
  bool active = false;
  Steady::time_point start{};
  std::string sub;
  std::string_view reason;
  Steady::duration latency{};
  bool recorded = false;
  // The route configuration, taken once per request (pre-routing) instead of under the mutex in
  // every hook.
  std::shared_ptr<const RouteConfig> config;
};
thread_local RequestContext t_request;
// Set by a handler that answered without reading a body the client announced: the rest of
// the connection cannot be parsed, so it must close after this answer.
thread_local bool t_close_connection = false;
// The Authorization values the event loops lifted out of the head of the request being routed
// (routers are shared by the loops, so they travel in a thread_local); null for the HTTPS server.
thread_local const LiftedAuthorization* t_lifted_authorization = nullptr;

// A request that announces a body (no route of this API takes one). 0 = none.
std::optional<std::uint64_t> announced_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return std::numeric_limits<std::uint64_t>::max();
  if (!req.has_header("Content-Length")) return std::nullopt;
  const std::string value = req.get_header_value("Content-Length");
  std::uint64_t length = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
  if (ec != std::errc{} || end != value.data() + value.size()) return std::numeric_limits<std::uint64_t>::max();
  if (length == 0) return std::nullopt;
  return length;
}

// cpp-httplib's router, driven one request at a time by the event loops.
class RoutingServer final : public httplib::Server {
 public:
  bool route_one(httplib::Stream& stream, bool close_connection, bool& connection_closed,
                 const std::function<void(httplib::Request&)>& setup) {
    return process_request(stream, close_connection, connection_closed, setup);
  }
  // The bound socket, taken over by the event loops (httplib never listens on it).
  int take_listen_socket() { return static_cast<int>(svr_sock_.exchange(INVALID_SOCKET)); }
};

std::string json_string(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Appends header-safe text (the rules of sanitize_header_text) without a temporary string.
void append_sanitized(std::string& out, std::string_view text, std::size_t max_bytes) {
  const std::size_t n = text.size() < max_bytes ? text.size() : max_bytes;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\'');
    } else if (c < 0x20 || c > 0x7e) {
      out.push_back('?');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

bool origin_allowed(const RouteConfig& config, const std::string& origin) {
  if (origin.empty()) return false;
  if (config.cors_origins.empty()) return true;
  return std::find(config.cors_origins.begin(), config.cors_origins.end(), origin) != config.cors_origins.end();
}

void set_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

std::string resource_metadata_url(const RouteConfig& config, const std::string& base) {
  return (config.public_url.empty() ? base : config.public_url) + "/.well-known/oauth-protected-resource";
}

std::string_view status_text(int status) {
  switch (status) {
    case 401: return "Unauthorized";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Bad Request";
  }
}

}  // namespace

class ApiServer::Router final : public RequestRouter {
 public:
  Router(ApiServer& api, RoutingServer& server) : api_(api), server_(server) {}
  bool route(httplib::Stream& stream, bool close_connection, const LiftedAuthorization& authorization) override {
    t_close_connection = false;
    bool closed = false;
    // When the lifted values are all of the request's Authorization headers, the authenticator
    // reads them where they lie, in the connection's buffer (the token is most of a head; no copy,
    // no insertion into the case-insensitive header map). When some stayed in the head, the
    // lifted ones join them in the request after cpp-httplib parsed it, before routing.
    t_lifted_authorization = &authorization;
    const bool ok = server_.route_one(stream, close_connection, closed,
                                      authorization.complete || authorization.values.empty() ? no_setup_
                                                                                             : add_authorization_);
    t_lifted_authorization = nullptr;
    return ok && !closed && !t_close_connection;
  }
  std::string refuse(HeadProblem problem, std::string_view remote_addr) override {
    return api_.refuse_head(problem, remote_addr);
  }

 private:
  ApiServer& api_;
  RoutingServer& server_;
  const std::function<void(httplib::Request&)> no_setup_;
  const std::function<void(httplib::Request&)> add_authorization_ = [](httplib::Request& req) {
    for (const auto value : t_lifted_authorization->values) req.headers.emplace("Authorization", std::string(value));
  };
};

ApiServer::ApiServer(Authenticator& auth, JwksCache& keys, Metrics& metrics)
    : auth_(auth), keys_(keys), metrics_(metrics), config_(std::make_shared<const RouteConfig>()) {}

ApiServer::~ApiServer() = default;

void ApiServer::set_config(RouteConfig config) {
  std::lock_guard lock(config_mu_);
  config_ = std::make_shared<const RouteConfig>(std::move(config));
}

std::shared_ptr<const RouteConfig> ApiServer::config() const {
  std::lock_guard lock(config_mu_);
  return config_;
}

std::string ApiServer::base_url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return scheme_ + "://" + (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

Result<int> ApiServer::bind(const std::string& host, int port, const ServerLimits& limits, const TlsFiles& tls) {
  if (!tls.cert_file.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(tls.cert_file.c_str(), tls.key_file.c_str());
    if (!ssl->is_valid())
      return fail(Errc::HttpTlsFailure, "cannot load TLS_CERT_FILE " + tls.cert_file + " / TLS_KEY_FILE " + tls.key_file);
    server_ = std::move(ssl);
    scheme_ = "https";
  } else {
    auto plain = std::make_unique<RoutingServer>();
    router_ = std::make_unique<Router>(*this, *plain);
    server_ = std::move(plain);
  }
  // cpp-httplib 0.11.4 is a shared library: only runtime setters change its defaults.
  server_->set_tcp_nodelay(true);  // without it a keep-alive request waits ~40 ms (Nagle + delayed ACK)
  server_->set_keep_alive_max_count(limits.keep_alive_max_count);
  server_->set_keep_alive_timeout(limits.keep_alive_timeout.count());
  server_->set_read_timeout(limits.read_timeout.count(), 0);
  server_->set_write_timeout(limits.write_timeout.count(), 0);
  server_->set_payload_max_length(limits.payload_max_bytes);
  payload_max_bytes_ = limits.payload_max_bytes;
  const auto workers = static_cast<std::size_t>(std::max(1, limits.tls_workers));
  server_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  // cpp-httplib 0.11.4 listens with a backlog of 5: a burst of connections overflows it and the
  // extra clients wait for a SYN/ACK retransmission (~200 ms to 1 s, seen as p99 spikes at 64
  // connections). The listening socket is remembered here and given a real backlog after bind.
  listen_fd_ = -1;
  server_->set_socket_options([this](socket_t sock) {
    http::set_listener_options(static_cast<int>(sock));  // no SO_REUSEPORT: one process per port
    listen_fd_ = static_cast<int>(sock);
  });
  server_->set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
  install_routes();

  host_ = host;
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ <= 0) return fail(Errc::HttpPortInUse, "cannot bind " + host + " on any port");
  } else {
    if (!server_->bind_to_port(host, port))
      return fail(Errc::HttpPortInUse, http::bind_failure_message(host, port, "--port or BACKEND_PORT"));
    port_ = port;
  }
  if (listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);  // re-listen only raises the backlog (Linux)
  if (router_) {
    auto events = limits.events;
    events.keep_alive_timeout = limits.keep_alive_timeout;
    events.keep_alive_max_requests = limits.keep_alive_max_count;
    events.write_timeout = limits.write_timeout;
    events_ = std::make_unique<EventLoopServer>(static_cast<RoutingServer&>(*server_).take_listen_socket(), events,
                                                *router_);
  }
  return port_;
}

bool ApiServer::listen() {
  if (events_) return events_->run();
  return server_ && server_->listen_after_bind();
}

void ApiServer::drain() {
  draining_ = true;
  if (events_) events_->drain();
}

void ApiServer::stop() {
  draining_ = true;
  if (events_) {
    events_->stop();
  } else if (server_) {
    server_->stop();
  }
}

bool ApiServer::is_running() const {
  if (events_) return events_->running();
  return server_ && server_->is_running();
}

std::string ApiServer::refuse_head(HeadProblem problem, std::string_view remote_addr) {
  const auto cfg = config();
  int status = 431;
  std::string extra_headers;
  nlohmann::json body = {{"error", "request_header_fields_too_large"}};
  std::string_view reason = "head_too_large";
  switch (problem) {
    case HeadProblem::RequestLineTooLong:
      status = 414;
      body = {{"error", "uri_too_long"}};
      reason = "uri_too_long";
      break;
    case HeadProblem::AuthorizationTooLarge: {
      // The token cap answered before any parsing, as for a smaller oversized token.
      const Error error{Errc::TokenTooLarge, "the Authorization header is longer than 8 KiB"};
      const HttpError mapped = http_error_for(error.code);
      const std::string description = describe(error, {});
      metrics_.record_auth_failure(mapped.reason);
      status = mapped.status;
      reason = to_label(mapped.reason);
      extra_headers = "WWW-Authenticate: Bearer realm=\"" + cfg->realm + "\", resource_metadata=\"" +
                      resource_metadata_url(*cfg, base_url()) + "\", error=\"" + std::string(mapped.error) +
                      "\", error_description=\"" + description + "\"\r\n";
      body = {{"error", mapped.error}, {"error_description", description}};
      break;
    }
    case HeadProblem::HeaderLineTooLong:
    case HeadProblem::HeadTooLarge:
    case HeadProblem::TooManyHeaders:
      break;
    case HeadProblem::Timeout:
      status = 408;
      body = {{"error", "request_timeout"}};
      reason = "header_timeout";
      break;
    case HeadProblem::OverCapacity:
      status = 503;
      body = {{"error", "temporarily_unavailable"}, {"error_description", "Too many open connections"}};
      extra_headers = "Retry-After: 1\r\n";
      reason = "over_capacity";
      break;
  }
  metrics_.record_request(Route::Other, status, std::chrono::nanoseconds::zero());
  if (cfg->access_log) {
    if (json_logging()) {
      log_access({}, "\"method\":null,\"path\":null,\"status\":" + std::to_string(status) +
                         ",\"latency_ms\":0,\"sub\":\"\",\"reason\":" + json_string(reason) +
                         ",\"remote\":" + json_string(remote_addr));
    } else {
      log_access("- - " + std::to_string(status) + " 0.000ms sub=- reason=" + std::string(reason), {});
    }
  }
  const std::string text = body.dump();
  std::string response = "HTTP/1.1 " + std::to_string(status) + " " + std::string(status_text(status)) +
                         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) +
                         "\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" +
                         extra_headers + "\r\n" + text;
  return response;
}

void ApiServer::install_routes() {
  auto& svr = *server_;

  // Answers an authentication/authorization failure per RFC 6750 §3 and counts it.
  auto reject = [this](httplib::Response& res, const Error& error, std::string_view token) {
    const auto cfg = config();
    const HttpError mapped = http_error_for(error.code);
    const std::string description = describe(error, token);
    metrics_.record_auth_failure(mapped.reason);
    t_request.reason = to_label(mapped.reason);
    res.status = mapped.status;
    if (mapped.status == 503) {
      res.set_header("Retry-After", "5");
      set_json(res, 503, {{"error", "temporarily_unavailable"}, {"error_description", description}});
      return;
    }
    if (mapped.status == 500) {
      set_json(res, 500, {{"error", "server_error"}, {"error_description", "Internal error"}});
      return;
    }
    std::string challenge = "Bearer realm=\"" + cfg->realm + "\", resource_metadata=\"" +
                            resource_metadata_url(*cfg, base_url()) + "\"";
    if (!mapped.error.empty()) {
      challenge += ", error=\"" + std::string(mapped.error) + "\", error_description=\"" + description + "\"";
      if (error.code == Errc::OAuthInvalidScope) challenge += ", scope=\"" + cfg->admin_permission + "\"";
    }
    res.set_header("WWW-Authenticate", challenge);
    set_json(res, mapped.status,
             {{"error", mapped.error.empty() ? std::string("unauthorized") : std::string(mapped.error)},
              {"error_description", description}});
  };

  auto authenticate = [this, reject](const httplib::Request& req, httplib::Response& res) -> PrincipalPtr {
    // Where the front end lifted them, else one lookup in the header map; never a copy of the token.
    Credentials credentials;
    if (t_lifted_authorization && t_lifted_authorization->complete) {
      const auto& values = t_lifted_authorization->values;
      credentials.authorization_count = values.size();
      if (!values.empty()) credentials.authorization = values.front();
    } else {
      const auto [first, last] = req.headers.equal_range("Authorization");
      credentials.authorization_count = static_cast<std::size_t>(std::distance(first, last));
      if (first != last) credentials.authorization = first->second;
    }
    credentials.token_in_query = req.has_param("access_token");
    auto principal = auth_.authenticate(credentials);
    if (!principal) {
      auto token = extract_bearer(credentials);
      reject(res, principal.error(), token ? *token : std::string_view{});
      return nullptr;
    }
    t_request.sub = (*principal)->sub;
    return *principal;
  };

  svr.Get("/hello", [authenticate](const httplib::Request& req, httplib::Response& res) {
    auto principal = authenticate(req, res);
    if (!principal) return;
    std::string body;
    body.reserve(kHelloPrefix.size() + principal->claims_json.size() + 1);
    body.append(kHelloPrefix).append(principal->claims_json).push_back('}');
    res.set_content(body, kJson);
  });

  svr.Get("/admin", [this, authenticate, reject](const httplib::Request& req, httplib::Response& res) {
    auto principal = authenticate(req, res);
    if (!principal) return;
    const auto cfg = config();
    if (!has_permission(principal->claims, cfg->admin_permission)) {
      reject(res, Error{Errc::OAuthInvalidScope, "this route requires the " + cfg->admin_permission + " permission"}, {});
      return;
    }
    std::string body;
    body.append(kAdminPrefix).append(principal->claims_json).push_back('}');
    res.set_content(body, kJson);
  });

  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", kJson);
  });

  svr.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (draining_.load()) {
      res.set_header("Retry-After", "5");
      set_json(res, 503, {{"status", "draining"}});
      return;
    }
    const auto s = keys_.status();
    nlohmann::json body = {{"status", s.usable ? "ready" : "not_ready"}, {"keys", s.keys}};
    if (s.has_keys) body["jwks_age_seconds"] = static_cast<std::int64_t>(s.age_seconds);
    if (!s.last_error.empty()) body["last_error"] = s.last_error;
    if (!s.usable) res.set_header("Retry-After", "5");
    set_json(res, s.usable ? 200 : 503, body);
  });

  svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(keys_.gauges(), events_ ? events_->open_connections() : 0),
                    "text/plain; version=0.0.4; charset=utf-8");
  });

  svr.Get("/.well-known/oauth-protected-resource", [this](const httplib::Request&, httplib::Response& res) {
    // RFC 9728 §2 / §3.2.
    const auto cfg = config();
    set_json(res, 200,
             {{"resource", cfg->audience},
              {"authorization_servers", nlohmann::json::array({cfg->issuer})},
              {"scopes_supported", nlohmann::json::array({cfg->admin_permission})},
              {"bearer_methods_supported", nlohmann::json::array({"header"})},
              {"resource_name", "oauthdemo API"}});
  });

  // CORS: preflights are answered here, before any authentication (a browser never sends
  // credentials on a preflight).
  svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request = RequestContext{true, Steady::now(), {}, {}, {}, false, config()};
    // No route takes a body: a request announcing one is answered before a byte of it is read
    // (cpp-httplib would otherwise wait for the whole announced length), and its connection
    // closes since the unread body cannot be told from a next request.
    const auto body = announced_body(req);
    if (body) t_close_connection = true;
    if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS") {
      res.set_header("Allow", "GET, HEAD, OPTIONS");
      res.status = body && *body > payload_max_bytes_ ? 413 : 405;
      return httplib::Server::HandlerResponse::Handled;
    }
    if (body) {
      res.status = *body > payload_max_bytes_ ? 413 : 400;
      if (res.status == 400)
        set_json(res, 400, {{"error", "bad_request"}, {"error_description", "This API takes no request body"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "OPTIONS") return httplib::Server::HandlerResponse::Unhandled;
    const auto cfg = config();
    const std::string origin = req.get_header_value("Origin");
    res.status = 204;
    res.set_header("Allow", "GET, HEAD, OPTIONS");
    if (req.has_header("Access-Control-Request-Method") && origin_allowed(*cfg, origin)) {
      res.set_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
      std::string requested = req.get_header_value("Access-Control-Request-Headers");
      res.set_header("Access-Control-Allow-Headers", requested.empty() ? "Authorization, Content-Type" : requested);
      res.set_header("Access-Control-Max-Age", "600");
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  svr.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Counted here, before the response is written, so a client that has its answer also sees
    // it in /metrics.
    const auto latency = t_request.active ? Steady::now() - t_request.start : Steady::duration::zero();
    t_request.latency = latency;
    t_request.recorded = true;
    metrics_.record_request(route_for_path(req.path), res.status, latency);
    const auto cfg = t_request.config ? t_request.config : config();
    if (!req.has_header("Origin")) return;  // no CORS headers to add; skips copying the value
    const std::string origin = req.get_header_value("Origin");
    if (!origin_allowed(*cfg, origin)) return;
    if (cfg->cors_origins.empty()) {
      res.set_header("Access-Control-Allow-Origin", "*");
    } else {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
    }
    res.set_header("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After");
  });

  svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const char* error = res.status == 404 ? "not_found" : res.status == 405 ? "method_not_allowed" : "bad_request";
    if (res.status == 413) error = "payload_too_large";
    if (res.status == 414) error = "uri_too_long";
    res.set_content(nlohmann::json{{"error", error}}.dump(), kJson);
    return httplib::Server::HandlerResponse::Handled;
  }));

  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    t_request.reason = to_label(Reason::Internal);
    res.status = 500;
    res.set_content(R"({"error":"server_error","error_description":"Internal error"})", kJson);
  });

  svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    auto latency = t_request.latency;
    if (!t_request.recorded) {
      latency = t_request.active ? Steady::now() - t_request.start : Steady::duration::zero();
      metrics_.record_request(route_for_path(req.path), res.status, latency);
    }
    const auto cfg = t_request.config ? t_request.config : config();
    if (!cfg->access_log) {
      t_request = RequestContext{};
      return;
    }
    // Only method, path (never the query: it could carry a token), status, latency, sub, reason.
    // Milliseconds with three decimals, from integer microseconds (snprintf("%.3f") showed in
    // the profile).
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
    const auto frac = static_cast<int>((us < 0 ? 0 : us) % 1000);
    std::string latency_text = std::to_string(us < 0 ? 0 : us / 1000);
    latency_text.push_back('.');
    latency_text.push_back(static_cast<char>('0' + frac / 100));
    latency_text.push_back(static_cast<char>('0' + frac / 10 % 10));
    latency_text.push_back(static_cast<char>('0' + frac % 10));
    std::string text_line;
    std::string json_fields;
    if (json_logging()) {
      json_fields = "\"method\":" + json_string(req.method) + ",\"path\":" + json_string(req.path) +
                    ",\"status\":" + std::to_string(res.status) + ",\"latency_ms\":" + latency_text +
                    ",\"sub\":" + json_string(t_request.sub) + ",\"reason\":" + json_string(t_request.reason) +
                    ",\"remote\":" + json_string(req.remote_addr);
    } else {
      // One buffer, no temporaries: this runs for every request.
      text_line.reserve(64 + req.path.size() + t_request.sub.size());
      append_sanitized(text_line, req.method, 16);
      text_line.push_back(' ');
      append_sanitized(text_line, req.path, 256);
      text_line.push_back(' ');
      text_line += std::to_string(res.status);
      text_line.push_back(' ');
      text_line += latency_text;
      text_line += "ms sub=";
      if (t_request.sub.empty()) {
        text_line.push_back('-');
      } else {
        append_sanitized(text_line, t_request.sub, 128);
      }
      text_line += " reason=";
      if (t_request.reason.empty()) {
        text_line.push_back('-');
      } else {
        text_line += t_request.reason;
      }
    }
    log_access(text_line, json_fields);
    t_request = RequestContext{};
  });
}

}  // namespace oauthdemo::daemon
