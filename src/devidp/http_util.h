#pragma once
// HTTP plumbing shared by the dev server's routes: RFC 6749 §5.2 error bodies, page security
// headers, cookies and CSRF, bounded form parsing, client authentication (RFC 6749 §2.3.1).
#include <httplib.h>

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/error.h"
#include "common/base/random.h"
#include "common/http/url.h"
#include "devidp/registry.h"

namespace oauthdemo::devidp {

inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;
inline constexpr std::size_t kMaxParams = 32;
inline constexpr std::size_t kMaxParamBytes = 4096;
inline constexpr std::string_view kCsrfCookie = "devidp_csrf";

// What the request log line reports besides method, path and status (never secrets).
struct RequestNote {
  std::string client_id;
  std::string error;
};
// Per-thread note of the request being handled (cpp-httplib runs a request on one thread).
RequestNote& request_note();

// An OAuth error answer: RFC 6749 §5.2 names and the HTTP status they go with.
struct OAuthFailure {
  int status = 400;
  std::string error;        // "invalid_request", ...
  std::string description;  // precise, human-readable, no secrets
  bool basic_challenge = false;  // 401 invalid_client after HTTP Basic: add WWW-Authenticate
};

// Maps an Errc from the session store / validation to the RFC error name and status.
OAuthFailure to_failure(const Error& error);
OAuthFailure failure(std::string error, std::string description, int status = 400);

// JSON bodies with Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1).
void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_oauth_error(httplib::Response& res, const OAuthFailure& failure);

// HTML with CSP, X-Frame-Options DENY, no-store and no-referrer. `form_action_extra` adds an
// origin the page's forms may end up redirecting to (the client's redirect URI).
void send_page(httplib::Response& res, int status, const std::string& html,
               const std::string& form_action_extra = {});

// A 302 to `location` with no-store.
void send_redirect(httplib::Response& res, const std::string& location);

// `base` + '?' (or '&') + the encoded params.
std::string append_query(const std::string& base, const http::Params& params);

// The query string of the request target, parsed strictly (repeated names refused, sizes bounded).
Result<http::Params> parse_query(const httplib::Request& req);
// The application/x-www-form-urlencoded body, parsed strictly. Errc::OAuthInvalidRequest.
Result<http::Params> parse_body(const httplib::Request& req);

// The value of cookie `name`, if sent.
std::optional<std::string> cookie(const httplib::Request& req, std::string_view name);
// The CSRF token to put in a form: the cookie's if present and well-formed, else a fresh one
// (and the Set-Cookie header: HttpOnly; SameSite=Strict; Path=/).
std::string csrf_for_form(const httplib::Request& req, httplib::Response& res, RandomSource& random);
// True if the form's csrf field equals the cookie (constant-time) and both are non-empty.
bool csrf_ok(const httplib::Request& req, const http::Params& form);

// A POSTed HTML form that passed its CSRF check; otherwise answers with an error page (400 for an
// unreadable body, 403 telling the user to reload `what_to_reload`) and returns nullopt.
std::optional<http::Params> read_protected_form(const httplib::Request& req, httplib::Response& res,
                                                std::string_view what_to_reload);

struct AuthenticatedClient {
  const Client* client = nullptr;
  bool confidential_authenticated = false;  // a secret was checked
};

// RFC 6749 §2.3.1: HTTP Basic or client_id/client_secret in the body (not both), or client_id
// alone for public clients. Failures: invalid_request (both, malformed), invalid_client (401).
tl::expected<AuthenticatedClient, OAuthFailure> authenticate_client(const httplib::Request& req,
                                                                   const http::Params& form,
                                                                   const Registry& registry);

// True if the TCP peer is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z), for /admin.
bool is_loopback_peer(std::string_view remote_addr);

// The Bearer token of an Authorization header, if well-formed (RFC 6750 §2.1).
std::optional<std::string> bearer_token(const httplib::Request& req);

}  // namespace oauthdemo::devidp
