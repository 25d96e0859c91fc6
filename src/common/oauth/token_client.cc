#include "common/oauth/token_client.h"

#include <nlohmann/json.hpp>

#include "common/http/url.h"

namespace oauthdemo::oauth {
http::HttpRequest form_post(std::string_view endpoint, const http::Params& params) {
  http::HttpRequest request;
  request.method = "POST";
  request.url = std::string(endpoint);
  request.content_type = "application/x-www-form-urlencoded";
  request.body = http::form_encode(params);
  request.headers.emplace_back("Accept", "application/json");
  request.max_response_bytes = kMaxTokenResponseBytes;
  return request;
}

namespace {

void add_client(http::Params& params, const ClientCredentials& client) {
  params.emplace_back("client_id", client.client_id);
  if (!client.client_secret.empty()) params.emplace_back("client_secret", client.client_secret);
}

// Provider text shown to people: printable ASCII and UTF-8 only, bounded.
std::string clean_description(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    out.push_back(c);
    if (out.size() >= 300) break;
  }
  return out;
}

Result<nlohmann::json> parse_object(std::string_view body) {
  if (body.size() > kMaxTokenResponseBytes)
    return fail(Errc::OAuthBadResponse, "token endpoint answer is larger than 64 KiB");
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return fail(Errc::OAuthBadResponse, "answer is not a JSON object");
  return json;
}

Result<std::string> optional_string(const nlohmann::json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || it->is_null()) return std::string();
  if (!it->is_string()) return fail(Errc::OAuthBadResponse, std::string("\"") + name + "\" is not a string");
  return it->get<std::string>();
}

}  // namespace

http::HttpRequest authorization_code_request(std::string_view token_endpoint, const ClientCredentials& client,
                                             std::string_view code, std::string_view redirect_uri,
                                             std::string_view code_verifier) {
  http::Params params{{"grant_type", "authorization_code"},
                      {"code", std::string(code)},
                      {"redirect_uri", std::string(redirect_uri)},
                      {"code_verifier", std::string(code_verifier)}};
  add_client(params, client);
  return form_post(token_endpoint, params);
}

http::HttpRequest refresh_token_request(std::string_view token_endpoint, const ClientCredentials& client,
                                        std::string_view refresh_token, std::string_view scope) {
  http::Params params{{"grant_type", "refresh_token"}, {"refresh_token", std::string(refresh_token)}};
  if (!scope.empty()) params.emplace_back("scope", std::string(scope));
  add_client(params, client);
  return form_post(token_endpoint, params);
}

http::HttpRequest client_credentials_request(std::string_view token_endpoint, const ClientCredentials& client,
                                             std::string_view audience, std::string_view scope) {
  http::Params params{{"grant_type", "client_credentials"}};
  if (!audience.empty()) params.emplace_back("audience", std::string(audience));
  if (!scope.empty()) params.emplace_back("scope", std::string(scope));
  add_client(params, client);
  return form_post(token_endpoint, params);
}

http::HttpRequest device_code_token_request(std::string_view token_endpoint, const ClientCredentials& client,
                                            std::string_view device_code) {
  http::Params params{{"grant_type", std::string(kDeviceCodeGrantType)}, {"device_code", std::string(device_code)}};
  add_client(params, client);
  return form_post(token_endpoint, params);
}

http::HttpRequest revocation_request(std::string_view revocation_endpoint, const ClientCredentials& client,
                                     std::string_view token, std::string_view token_type_hint) {
  http::Params params{{"token", std::string(token)}};
  if (!token_type_hint.empty()) params.emplace_back("token_type_hint", std::string(token_type_hint));
  add_client(params, client);
  return form_post(revocation_endpoint, params);
}

Errc errc_from_oauth_error(std::string_view error) {
  if (error == "invalid_request") return Errc::OAuthInvalidRequest;
  if (error == "invalid_client") return Errc::OAuthInvalidClient;
  if (error == "invalid_grant") return Errc::OAuthInvalidGrant;
  if (error == "unauthorized_client") return Errc::OAuthUnauthorizedClient;
  if (error == "unsupported_grant_type") return Errc::OAuthUnsupportedGrantType;
  if (error == "invalid_scope") return Errc::OAuthInvalidScope;
  if (error == "access_denied") return Errc::OAuthAccessDenied;
  if (error == "expired_token") return Errc::OAuthExpiredToken;
  if (error == "authorization_pending") return Errc::OAuthAuthorizationPending;
  if (error == "slow_down") return Errc::OAuthSlowDown;
  if (error == "server_error" || error == "temporarily_unavailable") return Errc::OAuthServerError;
  return Errc::OAuthBadResponse;
}

Error parse_oauth_error(const http::HttpResponse& response) {
  const std::string status = "HTTP " + std::to_string(response.status);
  auto json = parse_object(response.body);
  if (!json) return Error{Errc::OAuthBadResponse, status + " without an OAuth error body"};
  auto error = optional_string(*json, "error");
  auto description = optional_string(*json, "error_description");
  if (!error || error->empty()) return Error{Errc::OAuthBadResponse, status + " without an \"error\" member"};
  std::string detail = clean_description(*error);
  if (description && !description->empty()) detail += ": " + clean_description(*description);
  return Error{errc_from_oauth_error(*error), detail};
}

Result<TokenResponse> parse_token_response(const http::HttpResponse& response) {
  if (response.status != 200) return tl::unexpected(parse_oauth_error(response));
  auto json = parse_object(response.body);
  if (!json) return tl::unexpected(json.error());
  TokenResponse out;
  for (auto [field, name] : {std::pair{&out.access_token, "access_token"}, {&out.token_type, "token_type"},
                             {&out.refresh_token, "refresh_token"}, {&out.id_token, "id_token"}, {&out.scope, "scope"}}) {
    auto value = optional_string(*json, name);
    if (!value) return tl::unexpected(value.error());
    *field = std::move(*value);
  }
  if (out.access_token.empty()) return fail(Errc::OAuthBadResponse, "token answer has no \"access_token\"");
  if (out.token_type.empty()) return fail(Errc::OAuthBadResponse, "token answer has no \"token_type\"");
  std::string type_lower;
  for (char c : out.token_type) type_lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (type_lower != "bearer")
    return fail(Errc::OAuthBadResponse, "unsupported token_type \"" + clean_description(out.token_type) + "\"");
  if (auto it = json->find("expires_in"); it != json->end() && !it->is_null()) {
    if (!it->is_number_integer() && !it->is_number_unsigned())
      return fail(Errc::OAuthBadResponse, "\"expires_in\" is not an integer");
    const auto value = it->get<int64_t>();
    if (value < 0 || value > 10LL * 365 * 24 * 3600)
      return fail(Errc::OAuthBadResponse, "\"expires_in\" is out of range");
    out.expires_in = value;
  }
  return out;
}

Result<TokenResponse> request_token(http::HttpClient& http, const http::HttpRequest& request) {
  auto response = http.send(request);
  if (!response) return tl::unexpected(response.error());
  return parse_token_response(*response);
}

bool looks_like_jwt(std::string_view value) {
  const auto first = value.find('.');
  if (first == std::string_view::npos || first == 0) return false;
  const auto second = value.find('.', first + 1);
  if (second == std::string_view::npos || second == first + 1 || second + 1 >= value.size()) return false;
  return value.find('.', second + 1) == std::string_view::npos;
}

}  // namespace oauthdemo::oauth
