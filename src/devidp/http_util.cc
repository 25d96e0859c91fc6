#include "devidp/http_util.h"

#include <array>
#include <cctype>

#include "common/base/digest.h"
#include "devidp/pages.h"

namespace oauthdemo::devidp {
namespace {

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// Standard base64 (RFC 4648 §4) with padding, as HTTP Basic uses; nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 4096) return std::nullopt;
  std::array<int, 256> table{};
  table.fill(-1);
  const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  std::size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < in.size() - pad; ++i) {
    const int v = table[static_cast<unsigned char>(in[i])];
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

// RFC 6749 §2.3.1: the Basic user and password are form-encoded.
std::optional<std::string> form_decode(std::string_view text) {
  if (text.find_first_of("&=") != std::string_view::npos) return std::string(text);
  auto parsed = http::parse_form("v=" + std::string(text), 1);
  if (!parsed || parsed->size() != 1) return std::nullopt;
  return parsed->front().second;
}

Result<http::Params> bounded(Result<http::Params> params) {
  if (!params) return params;
  for (const auto& [name, value] : *params)
    if (name.size() > 64 || value.size() > kMaxParamBytes)
      return fail(Errc::OAuthInvalidRequest, "parameter '" + name.substr(0, 64) + "' is too long");
  return params;
}

}  // namespace

RequestNote& request_note() {
  thread_local RequestNote note;
  return note;
}

OAuthFailure failure(std::string error, std::string description, int status) {
  return OAuthFailure{status, std::move(error), std::move(description), false};
}

OAuthFailure to_failure(const Error& error) {
  switch (error.code) {
    case Errc::OAuthInvalidClient: return failure("invalid_client", error.detail, 401);
    case Errc::OAuthInvalidGrant: return failure("invalid_grant", error.detail);
    case Errc::OAuthUnauthorizedClient: return failure("unauthorized_client", error.detail);
    case Errc::OAuthUnsupportedGrantType: return failure("unsupported_grant_type", error.detail);
    case Errc::OAuthInvalidScope: return failure("invalid_scope", error.detail);
    case Errc::OAuthAccessDenied: return failure("access_denied", error.detail);
    case Errc::OAuthExpiredToken: return failure("expired_token", error.detail);
    case Errc::OAuthAuthorizationPending: return failure("authorization_pending", error.detail);
    case Errc::OAuthSlowDown: return failure("slow_down", error.detail);
    case Errc::OAuthInvalidRequest: return failure("invalid_request", error.detail);
    default: return failure("server_error", "internal error", 500);
  }
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("Pragma", "no-cache");
  res.set_content(dump(body), "application/json");
}

void send_oauth_error(httplib::Response& res, const OAuthFailure& f) {
  request_note().error = f.error;
  if (f.status == 401 && f.basic_challenge) res.set_header("WWW-Authenticate", "Basic realm=\"oauthdemo-devidp\"");
  send_json(res, f.status, {{"error", f.error}, {"error_description", f.description}});
}

void send_page(httplib::Response& res, int status, const std::string& html, const std::string& form_action_extra) {
  // Forms post to 'self'; Chrome also applies form-action to the redirect that follows a post,
  // so the client's redirect origin is allowed on the login page.
  std::string form_action = "'self'";
  if (!form_action_extra.empty()) form_action += " " + form_action_extra;
  res.status = status;
  res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action " +
                                                form_action + "; frame-ancestors 'none'; base-uri 'none'");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_content(html, "text/html; charset=utf-8");
}

void send_redirect(httplib::Response& res, const std::string& location) {
  res.status = 302;
  res.set_header("Location", location);
  res.set_header("Cache-Control", "no-store");
  res.set_header("Referrer-Policy", "no-referrer");
}

std::string append_query(const std::string& base, const http::Params& params) {
  if (params.empty()) return base;
  return base + (base.find('?') == std::string::npos ? "?" : "&") + http::form_encode(params);
}

Result<http::Params> parse_query(const httplib::Request& req) {
  const auto q = req.target.find('?');
  if (q == std::string::npos) return http::Params{};
  return bounded(http::parse_form(std::string_view(req.target).substr(q + 1), kMaxParams));
}

Result<http::Params> parse_body(const httplib::Request& req) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.rfind("application/x-www-form-urlencoded", 0) != 0)
    return fail(Errc::OAuthInvalidRequest, "the body must be application/x-www-form-urlencoded");
  return bounded(http::parse_form(req.body, kMaxParams));
}

std::optional<std::string> cookie(const httplib::Request& req, std::string_view name) {
  const std::string header = req.get_header_value("Cookie");
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view item = std::string_view(header).substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) return std::string(item.substr(eq + 1));
    pos = end + 1;
  }
  return std::nullopt;
}

namespace {
bool well_formed_csrf(const std::string& value) {
  if (value.size() < 22 || value.size() > 64) return false;
  for (char c : value)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}
}  // namespace

std::string csrf_for_form(const httplib::Request& req, httplib::Response& res, RandomSource& random) {
  if (auto existing = cookie(req, kCsrfCookie); existing && well_formed_csrf(*existing)) return *existing;
  auto fresh = random_token(random, 32);
  const std::string value = fresh ? *fresh : std::string{};
  res.set_header("Set-Cookie", std::string(kCsrfCookie) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict");
  return value;
}

bool csrf_ok(const httplib::Request& req, const http::Params& form) {
  auto from_cookie = cookie(req, kCsrfCookie);
  auto from_form = http::param(form, "csrf");
  if (!from_cookie || !from_form || !well_formed_csrf(*from_cookie)) return false;
  return base::constant_time_equal(*from_cookie, *from_form);
}

std::optional<http::Params> read_protected_form(const httplib::Request& req, httplib::Response& res,
                                                std::string_view what_to_reload) {
  auto form = parse_body(req);
  if (!form) {
    request_note().error = "invalid_request";
    send_page(res, 400, pages::error("Invalid request", form.error().detail));
    return std::nullopt;
  }
  if (!csrf_ok(req, *form)) {
    request_note().error = "csrf";
    send_page(res, 403, pages::error("Request blocked", "The form's CSRF check failed. Reload the " +
                                                            std::string(what_to_reload) + " and try again."));
    return std::nullopt;
  }
  return std::move(*form);
}

tl::expected<AuthenticatedClient, OAuthFailure> authenticate_client(const httplib::Request& req,
                                                                   const http::Params& form,
                                                                   const Registry& registry) {
  const std::string authorization = req.get_header_value("Authorization");
  const bool basic = authorization.size() > 6 && (authorization.rfind("Basic ", 0) == 0 || authorization.rfind("basic ", 0) == 0);
  const auto body_id = http::param(form, "client_id");
  const auto body_secret = http::param(form, "client_secret");
  std::string client_id;
  std::optional<std::string> secret;
  if (basic) {
    if (body_secret)
      return tl::unexpected(failure("invalid_request", "use either HTTP Basic or client_secret in the body, not both"));
    auto decoded = base64_decode(std::string_view(authorization).substr(6));
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (!decoded || colon == std::string::npos)
      return tl::unexpected(failure("invalid_request", "malformed HTTP Basic credentials"));
    auto id = form_decode(decoded->substr(0, colon));
    auto pw = form_decode(decoded->substr(colon + 1));
    if (!id || !pw) return tl::unexpected(failure("invalid_request", "malformed HTTP Basic credentials"));
    if (body_id && *body_id != *id)
      return tl::unexpected(failure("invalid_request", "client_id in the body differs from HTTP Basic"));
    client_id = *id;
    secret = *pw;
  } else {
    if (!body_id || body_id->empty()) {
      auto f = failure("invalid_client", "client authentication is required (client_id missing)", 401);
      return tl::unexpected(f);
    }
    client_id = *body_id;
    secret = body_secret;
  }
  request_note().client_id = client_id.substr(0, 64);
  auto invalid = [&](std::string why) {
    auto f = failure("invalid_client", std::move(why), 401);
    f.basic_challenge = basic;
    return tl::unexpected(f);
  };
  const Client* client = registry.find_client(client_id);
  if (!client) return invalid("unknown client");
  if (!client->enabled) return invalid("client " + client->client_id + " is disabled (no secret configured)");
  if (client->confidential) {
    if (!secret) return invalid("client authentication failed: no client secret");
    if (!Registry::secret_matches(*client, *secret)) return invalid("client authentication failed");
    return AuthenticatedClient{client, true};
  }
  if (secret) return invalid("public client " + client->client_id + " must not send a client secret");
  return AuthenticatedClient{client, false};
}

bool is_loopback_peer(std::string_view remote_addr) {
  if (remote_addr.rfind("::ffff:", 0) == 0) remote_addr.remove_prefix(7);
  return http::is_loopback_ip_literal(remote_addr);
}

std::optional<std::string> bearer_token(const httplib::Request& req) {
  if (req.get_header_value_count("Authorization") != 1) return std::nullopt;
  const std::string h = req.get_header_value("Authorization");
  if (h.size() <= 7 || (h.rfind("Bearer ", 0) != 0 && h.rfind("bearer ", 0) != 0)) return std::nullopt;
  std::string token = h.substr(7);
  if (token.empty() || token.size() > 16 * 1024 || token.find(' ') != std::string::npos) return std::nullopt;
  return token;
}

}  // namespace oauthdemo::devidp
