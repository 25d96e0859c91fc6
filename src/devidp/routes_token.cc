// /oauth/token (RFC 6749 §4.1.3, §4.4, §6; RFC 8628 §3.4), /oauth/revoke (RFC 7009), /userinfo.
#include <algorithm>

#include "common/jose/verify.h"
#include "devidp/server.h"

namespace oauthdemo::devidp {

void Server::token(const httplib::Request& req, httplib::Response& res) {
  auto form = parse_body(req);
  if (!form) return send_oauth_error(res, to_failure(form.error()));
  auto client = authenticate_client(req, *form, registry_);
  if (!client) return send_oauth_error(res, client.error());
  const auto grant_type = http::param(*form, "grant_type");
  if (!grant_type || grant_type->empty())
    return send_oauth_error(res, failure("invalid_request", "Missing required parameter: grant_type"));
  const bool known = *grant_type == kGrantAuthorizationCode || *grant_type == kGrantRefreshToken ||
                     *grant_type == kGrantClientCredentials || *grant_type == kGrantDeviceCode;
  if (!known)
    return send_oauth_error(res, failure("unsupported_grant_type", "grant type '" + grant_type->substr(0, 64) +
                                                                       "' is not supported"));
  if (!client->client->grant_types.count(*grant_type))
    return send_oauth_error(res, failure("unauthorized_client", "client " + client->client->client_id +
                                                                    " may not use the " + *grant_type + " grant"));
  if (*grant_type == kGrantAuthorizationCode) return grant_authorization_code(*client, *form, res);
  if (*grant_type == kGrantRefreshToken) return grant_refresh_token(*client, *form, res);
  if (*grant_type == kGrantClientCredentials) return grant_client_credentials(*client, *form, res);
  return grant_device_code(*client, *form, res);
}

std::string Server::respond_with_tokens(const Grant& grant, const Client& client, httplib::Response& res,
                                        std::string refresh_token) {
  auto tokens = issuer_tokens_->issue(grant);
  if (!tokens) {
    send_oauth_error(res, failure("server_error", "could not issue tokens", 500));
    return {};
  }
  std::string family_id;
  // Auth0: refresh tokens only for offline_access and clients allowed to refresh.
  const bool wants_refresh = !grant.username.empty() && has_scope(grant.scope, "offline_access") &&
                             client.grant_types.count(std::string(kGrantRefreshToken));
  if (wants_refresh && refresh_token.empty()) {
    auto issued = sessions_.issue_refresh(grant, &family_id);
    if (!issued) {
      send_oauth_error(res, failure("server_error", "could not issue a refresh token", 500));
      return {};
    }
    refresh_token = *issued;
  }
  nlohmann::json body = {{"access_token", tokens->access_token},
                         {"token_type", "Bearer"},
                         {"expires_in", tokens->expires_in.count()},
                         {"scope", tokens->scope}};
  if (!tokens->id_token.empty()) body["id_token"] = tokens->id_token;
  if (!refresh_token.empty()) body["refresh_token"] = refresh_token;
  send_json(res, 200, body);
  return family_id;
}

void Server::grant_authorization_code(const AuthenticatedClient& client, const http::Params& form,
                                      httplib::Response& res) {
  const auto code = http::param(form, "code");
  const auto redirect_uri = http::param(form, "redirect_uri");
  const auto verifier = http::param(form, "code_verifier");
  if (!code || code->empty()) return send_oauth_error(res, failure("invalid_request", "Missing required parameter: code"));
  if (!redirect_uri)
    return send_oauth_error(res, failure("invalid_request", "Missing required parameter: redirect_uri"));
  if (!verifier || verifier->empty())
    return send_oauth_error(res, failure("invalid_request", "Missing required parameter: code_verifier"));
  auto grant = sessions_.redeem_code(*code, client.client->client_id, *redirect_uri, *verifier);
  if (!grant) return send_oauth_error(res, to_failure(grant.error()));
  const std::string family = respond_with_tokens(*grant, *client.client, res);
  if (!family.empty()) sessions_.link_code_family(*code, family);
}

void Server::grant_refresh_token(const AuthenticatedClient& client, const http::Params& form, httplib::Response& res) {
  const auto token = http::param(form, "refresh_token");
  if (!token || token->empty())
    return send_oauth_error(res, failure("invalid_request", "Missing required parameter: refresh_token"));
  auto rotated = sessions_.rotate_refresh(*token, client.client->client_id);
  if (!rotated) return send_oauth_error(res, to_failure(rotated.error()));
  Grant grant = rotated->grant;
  // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
  if (auto scope = http::param(form, "scope"); scope && !scope->empty()) {
    for (const auto& s : split_scope(*scope))
      if (!has_scope(grant.scope, s))
        return send_oauth_error(res, failure("invalid_scope", "scope '" + s.substr(0, 64) + "' was not granted"));
    grant.scope = *scope;
    if (!has_scope(grant.scope, "offline_access")) grant.scope += " offline_access";
  }
  respond_with_tokens(grant, *client.client, res, rotated->refresh_token);
}

void Server::grant_client_credentials(const AuthenticatedClient& client, const http::Params& form,
                                      httplib::Response& res) {
  if (!client.confidential_authenticated)
    return send_oauth_error(res, failure("unauthorized_client", "client_credentials needs a confidential client"));
  const std::string audience = http::param(form, "audience").value_or("");
  if (audience.empty()) return send_oauth_error(res, failure("invalid_request", "Missing required parameter: audience"));
  if (!registry_.find_api(audience))
    return send_oauth_error(res, failure("invalid_request", "Service not found: " + audience.substr(0, 256)));
  const auto granted = client.client->api_grants.find(audience);
  if (granted == client.client->api_grants.end())
    return send_oauth_error(res, failure("access_denied", "client " + client.client->client_id +
                                                              " is not authorized to access " + audience, 403));
  std::vector<std::string> scopes = granted->second;
  if (auto requested = http::param(form, "scope"); requested && !requested->empty()) {
    scopes.clear();
    for (const auto& s : split_scope(*requested)) {
      if (std::find(granted->second.begin(), granted->second.end(), s) == granted->second.end())
        return send_oauth_error(res, failure("invalid_scope", "scope '" + s.substr(0, 64) + "' is not granted to " +
                                                                  client.client->client_id));
      scopes.push_back(s);
    }
  }
  std::string scope;
  for (const auto& s : scopes) scope += (scope.empty() ? "" : " ") + s;
  Grant grant{client.client->client_id, {}, scope, audience, {}, clock_.now()};
  respond_with_tokens(grant, *client.client, res);
}

void Server::grant_device_code(const AuthenticatedClient& client, const http::Params& form, httplib::Response& res) {
  const auto device_code = http::param(form, "device_code");
  if (!device_code || device_code->empty())
    return send_oauth_error(res, failure("invalid_request", "Missing required parameter: device_code"));
  auto grant = sessions_.poll_device(*device_code, client.client->client_id);
  if (!grant) return send_oauth_error(res, to_failure(grant.error()));
  respond_with_tokens(*grant, *client.client, res);
}

void Server::revoke(const httplib::Request& req, httplib::Response& res) {
  auto form = parse_body(req);
  if (!form) return send_oauth_error(res, to_failure(form.error()));
  auto client = authenticate_client(req, *form, registry_);
  if (!client) return send_oauth_error(res, client.error());
  const auto token = http::param(*form, "token");
  if (!token || token->empty()) return send_oauth_error(res, failure("invalid_request", "Missing required parameter: token"));
  // RFC 7009 §2.2: unknown or already invalid tokens are not an error. Access tokens are JWTs
  // and stay valid until exp, as with Auth0.
  sessions_.revoke_refresh(*token, client->client->client_id);
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  res.set_content("", "application/json");
}

void Server::userinfo(const httplib::Request& req, httplib::Response& res) {
  auto unauthorized = [&](const std::string& error, const std::string& description, int status = 401) {
    request_note().error = error.empty() ? "missing_token" : error;
    std::string challenge = "Bearer realm=\"oauthdemo-devidp\"";
    if (!error.empty()) challenge += ", error=\"" + error + "\", error_description=\"" + description + "\"";
    res.set_header("WWW-Authenticate", challenge);
    send_json(res, status, error.empty() ? nlohmann::json::object() : nlohmann::json{{"error", error}, {"error_description", description}});
  };
  const auto token = bearer_token(req);
  if (!token) return unauthorized("", "");
  jose::VerifyPolicy policy;
  policy.issuer = issuer_;
  policy.audiences = {issuer_tokens_->userinfo_url()};
  policy.leeway = Seconds{0};
  policy.required_claims = {"sub"};
  const auto keys = keys_->verification_keys();
  auto verified = jose::verify_jwt(*token, *keys, policy, clock_.now());
  if (!verified) return unauthorized("invalid_token", "the access token is invalid or expired");
  const auto& claims = verified->claims;
  if (claims.contains("azp") && claims["azp"].is_string()) request_note().client_id = claims["azp"].get<std::string>();
  const User* user = claims["sub"].is_string() ? registry_.find_user_by_id(claims["sub"].get<std::string>()) : nullptr;
  if (!user) return unauthorized("invalid_token", "the token's subject is not a user");
  const std::string scope = claims.contains("scope") && claims["scope"].is_string() ? claims["scope"].get<std::string>() : "";
  if (!has_scope(scope, "openid")) return unauthorized("insufficient_scope", "the token lacks the openid scope", 403);
  nlohmann::json body = {{"sub", user->user_id}};
  if (has_scope(scope, "profile")) {
    body["name"] = user->name;
    body["nickname"] = user->username;
    body["picture"] = user->picture;
  }
  if (has_scope(scope, "email")) {
    body["email"] = user->email;
    body["email_verified"] = user->email_verified;
  }
  send_json(res, 200, body);
}

}  // namespace oauthdemo::devidp
