// /authorize, the login page and logout (RFC 6749 §4.1.1-4.1.2, RFC 7636, OIDC Core §3.1.2).
#include <algorithm>

#include "common/jose/verify.h"
#include "devidp/pages.h"
#include "devidp/server.h"

namespace oauthdemo::devidp {
namespace {

const std::vector<std::string> kOidcScopes = {"openid", "profile", "email", "offline_access"};

bool is_s256_challenge(const std::string& c) {
  // BASE64URL(SHA-256) is always 43 characters (RFC 7636 §4.2).
  if (c.size() != 43) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
  });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : " ") + s;
  return out;
}

// Auth0 RBAC: API scopes the user has no permission for are dropped from the grant.
std::string scope_for_user(const std::string& scope, const std::string& audience, const User& user) {
  std::vector<std::string> kept;
  const auto perms = user.permissions.find(audience);
  for (const auto& s : split_scope(scope)) {
    const bool oidc = std::find(kOidcScopes.begin(), kOidcScopes.end(), s) != kOidcScopes.end();
    const bool permitted = perms != user.permissions.end() &&
                           std::find(perms->second.begin(), perms->second.end(), s) != perms->second.end();
    if (oidc || permitted) kept.push_back(s);
  }
  return join(kept);
}

std::string origin_of(const std::string& uri) {
  auto url = http::parse_url(uri);
  return url ? url->origin() : std::string{};
}

}  // namespace

tl::expected<std::string, OAuthFailure> Server::validate_scope(const std::string& scope,
                                                               const std::string& audience) const {
  const Api* api = nullptr;
  if (!audience.empty()) {
    api = registry_.find_api(audience);
    if (!api) return tl::unexpected(failure("invalid_request", "Service not found: " + audience.substr(0, 256)));
  }
  std::vector<std::string> granted;
  for (const auto& s : split_scope(scope)) {
    const bool oidc = std::find(kOidcScopes.begin(), kOidcScopes.end(), s) != kOidcScopes.end();
    const bool api_scope = api && std::find(api->permissions.begin(), api->permissions.end(), s) != api->permissions.end();
    if (!oidc && !api_scope) return tl::unexpected(failure("invalid_scope", "unknown scope '" + s.substr(0, 64) + "'"));
    if (std::find(granted.begin(), granted.end(), s) == granted.end()) granted.push_back(s);
  }
  return join(granted);
}

void Server::authorize(const httplib::Request& req, httplib::Response& res) {
  auto params = parse_query(req);
  if (!params) {
    request_note().error = "invalid_request";
    send_page(res, 400, pages::error("Invalid request", params.error().detail));
    return;
  }
  const auto get = [&](const char* name) { return http::param(*params, name).value_or(""); };
  const std::string client_id = get("client_id");
  request_note().client_id = client_id.substr(0, 64);
  const Client* client = registry_.find_client(client_id);
  // RFC 6749 §4.1.2.1: without a trusted client and redirect URI, never redirect.
  if (client_id.empty() || !client) {
    request_note().error = "invalid_client";
    send_page(res, 400, pages::error("Invalid request", client_id.empty() ? "Missing required parameter: client_id"
                                                                          : "Unknown client: " + client_id));
    return;
  }
  const std::string redirect_uri = get("redirect_uri");
  if (redirect_uri.empty() || !Registry::redirect_uri_allowed(*client, redirect_uri)) {
    request_note().error = "invalid_redirect_uri";
    send_page(res, 400, pages::error("Callback URL mismatch",
                                     redirect_uri.empty() ? "Missing required parameter: redirect_uri"
                                                          : "The redirect_uri " + redirect_uri +
                                                                " is not in the list of allowed callback URLs of " +
                                                                client->client_id + "."));
    return;
  }
  const std::string state = get("state");
  auto redirect_error = [&](const std::string& error, const std::string& description) {
    request_note().error = error;
    http::Params out{{"error", error}, {"error_description", description}};
    if (!state.empty()) out.emplace_back("state", state);
    out.emplace_back("iss", issuer_);  // RFC 9207 mix-up defence
    send_redirect(res, append_query(redirect_uri, out));
  };
  if (!client->grant_types.count(std::string(kGrantAuthorizationCode)))
    return redirect_error("unauthorized_client", "the client may not use the authorization code grant");
  const std::string response_type = get("response_type");
  if (response_type.empty()) return redirect_error("invalid_request", "Missing required parameter: response_type");
  if (response_type != "code")
    return redirect_error("unsupported_response_type", "response_type must be 'code'");
  if (auto mode = http::param(*params, "response_mode"); mode && *mode != "query")
    return redirect_error("invalid_request", "response_mode must be 'query'");
  const std::string challenge = get("code_challenge");
  const std::string method = get("code_challenge_method");
  if (challenge.empty()) return redirect_error("invalid_request", "code_challenge is required (PKCE, RFC 7636)");
  if (method != "S256")
    return redirect_error("invalid_request", method.empty() ? "code_challenge_method is required and must be S256"
                                                            : "code_challenge_method must be S256");
  if (!is_s256_challenge(challenge))
    return redirect_error("invalid_request", "code_challenge must be 43 base64url characters (S256)");
  const std::string audience = get("audience");
  auto scope = validate_scope(get("scope"), audience);
  if (!scope) return redirect_error(scope.error().error, scope.error().description);
  if (get("prompt") == "none") return redirect_error("login_required", "the user is not logged in");

  LoginTxn txn;
  txn.kind = TxnKind::Authorize;
  txn.request = AuthRequest{client->client_id, redirect_uri, *scope, audience, state, get("nonce"), challenge};
  auto id = sessions_.create_txn(std::move(txn));
  if (!id) return redirect_error("server_error", "could not start the login");
  send_redirect(res, "/u/login?" + http::form_encode({{"txn", *id}}));
}

void Server::render_login(const httplib::Request& req, httplib::Response& res, const std::string& txn_id,
                          const LoginTxn& txn, int status, const std::string& error, const std::string& username) {
  pages::LoginPage page;
  page.txn = txn_id;
  page.csrf = csrf_for_form(req, res, random_);
  page.error = error;
  page.username = username;
  std::string form_action_extra;
  if (txn.kind == TxnKind::Authorize) {
    const Client* client = registry_.find_client(txn.request.client_id);
    page.client_name = client ? client->name : txn.request.client_id;
    form_action_extra = origin_of(txn.request.redirect_uri);
  } else {
    auto pending = sessions_.find_device(txn.user_code);
    const Client* client = pending ? registry_.find_client(pending->client_id) : nullptr;
    page.client_name = client ? client->name : "your device";
    page.heading = "Log in to approve the device";
    page.device_user_code = txn.user_code.size() == 8 ? txn.user_code.substr(0, 4) + "-" + txn.user_code.substr(4) : "";
  }
  send_page(res, status, pages::login(page), form_action_extra);
}

void Server::login_get(const httplib::Request& req, httplib::Response& res) {
  auto params = parse_query(req);
  const std::string txn_id = params ? http::param(*params, "txn").value_or("") : "";
  auto txn = sessions_.find_txn(txn_id);
  if (!txn) {
    request_note().error = "invalid_request";
    send_page(res, 400, pages::error("Login expired", "This login is unknown or has expired. Start again from the application."));
    return;
  }
  request_note().client_id = txn->request.client_id;
  render_login(req, res, txn_id, *txn, 200, {}, {});
}

void Server::login_post(const httplib::Request& req, httplib::Response& res) {
  auto form = read_protected_form(req, res, "login page");
  if (!form) return;
  const std::string txn_id = http::param(*form, "txn").value_or("");
  auto txn = sessions_.find_txn(txn_id);
  if (!txn) {
    request_note().error = "invalid_request";
    send_page(res, 400, pages::error("Login expired", "This login is unknown or has expired. Start again from the application."));
    return;
  }
  const AuthRequest& ar = txn->request;
  request_note().client_id = ar.client_id;
  const std::string action = http::param(*form, "action").value_or("login");
  auto redirect_to_client = [&](http::Params out) {
    if (!ar.state.empty()) out.emplace_back("state", ar.state);
    out.emplace_back("iss", issuer_);  // RFC 9207 mix-up defence
    send_redirect(res, append_query(ar.redirect_uri, out));
  };
  if (action == "deny") {
    sessions_.drop_txn(txn_id);
    request_note().error = "access_denied";
    if (txn->kind == TxnKind::Device) {
      sessions_.deny_device(txn->user_code);
      send_page(res, 200, pages::device_result(false));
    } else {
      redirect_to_client({{"error", "access_denied"}, {"error_description", "The user denied access"}});
    }
    return;
  }
  if (action != "login") {
    request_note().error = "invalid_request";
    send_page(res, 400, pages::error("Invalid request", "Unknown action."));
    return;
  }
  const std::string username = http::param(*form, "username").value_or("");
  const User* user = registry_.authenticate(username, http::param(*form, "password").value_or(""));
  if (!user) {
    request_note().error = "wrong_credentials";
    if (!sessions_.record_failed_login(txn_id)) {
      send_page(res, 400, pages::error("Too many attempts", "Too many failed logins. Start again from the application."));
      return;
    }
    render_login(req, res, txn_id, *txn, 200, "Wrong username or password.", username);
    return;
  }
  sessions_.drop_txn(txn_id);
  const auto now = clock_.now();
  if (txn->kind == TxnKind::Device) {
    // Approval happens on login; the user code was confirmed on the login page.
    auto pending = sessions_.find_device(txn->user_code);
    if (pending) request_note().client_id = pending->client_id;
    if (!pending || !sessions_.approve_device(txn->user_code, user->username, now)) {
      send_page(res, 400, pages::error("Code expired", "This device code is unknown or has expired."));
      return;
    }
    send_page(res, 200, pages::device_result(true));
    return;
  }
  Grant grant{ar.client_id, user->username, scope_for_user(ar.scope, ar.audience, *user), ar.audience, ar.nonce, now};
  auto code = sessions_.issue_code(ar, grant);
  if (!code) {
    request_note().error = "server_error";
    redirect_to_client({{"error", "server_error"}, {"error_description", "could not issue a code"}});
    return;
  }
  redirect_to_client({{"code", *code}});
}

void Server::finish_logout(httplib::Response& res, const std::string& client_id, const std::string& return_to,
                           const http::Params& extra) {
  // Logging out clears the only browser state we keep.
  res.set_header("Set-Cookie", std::string(kCsrfCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  if (return_to.empty()) {
    send_page(res, 200, pages::info("Logged out", "You are logged out."));
    return;
  }
  const Client* client = registry_.find_client(client_id);
  request_note().client_id = client_id.substr(0, 64);
  if (client_id.empty() || !client) {
    request_note().error = "invalid_request";
    send_page(res, 400, pages::error("Logout failed", client_id.empty() ? "client_id is required with a return URL"
                                                                        : "Unknown client: " + client_id));
    return;
  }
  if (!Registry::logout_url_allowed(*client, return_to)) {
    request_note().error = "invalid_request";
    send_page(res, 400, pages::error("Logout failed", "The return URL " + return_to +
                                                          " is not in the allowed logout URLs of " + client_id + "."));
    return;
  }
  send_redirect(res, append_query(return_to, extra));
}

void Server::logout(const httplib::Request& req, httplib::Response& res) {
  auto params = parse_query(req);
  if (!params) {
    send_page(res, 400, pages::error("Invalid request", params.error().detail));
    return;
  }
  finish_logout(res, http::param(*params, "client_id").value_or(""), http::param(*params, "returnTo").value_or(""), {});
}

void Server::oidc_logout(const httplib::Request& req, httplib::Response& res) {
  auto params = parse_query(req);
  if (!params) {
    send_page(res, 400, pages::error("Invalid request", params.error().detail));
    return;
  }
  std::string client_id = http::param(*params, "client_id").value_or("");
  if (auto hint = http::param(*params, "id_token_hint"); hint && client_id.empty()) {
    // The hint only names the client whose allow-list applies; any client_id could do the same.
    auto decoded = jose::decode_unverified(*hint);
    if (decoded && decoded->claims.contains("iss") && decoded->claims["iss"] == issuer_ && decoded->claims.contains("aud") &&
        decoded->claims["aud"].is_string())
      client_id = decoded->claims["aud"].get<std::string>();
  }
  http::Params extra;
  if (auto state = http::param(*params, "state")) extra.emplace_back("state", *state);
  finish_logout(res, client_id, http::param(*params, "post_logout_redirect_uri").value_or(""), extra);
}

}  // namespace oauthdemo::devidp
