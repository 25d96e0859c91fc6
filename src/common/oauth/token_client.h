#pragma once
// Token endpoint requests and answers (RFC 6749 §4.1.3, §4.4, §5, §6; RFC 7636 §4.5; RFC 8628
// §3.4; RFC 7009 §2). Pure protocol: builds http::HttpRequest values and parses responses; the
// caller sends them through an http::HttpClient. No logging.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/error.h"
#include "common/http/http_client.h"
#include "common/http/url.h"

namespace oauthdemo::oauth {

inline constexpr std::string_view kDeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code";
inline constexpr std::size_t kMaxTokenResponseBytes = 64 * 1024;

struct ClientCredentials {
  std::string client_id;
  std::string client_secret;  // empty for public clients; sent as client_secret_post (Auth0's default)
};

struct TokenResponse {
  std::string access_token;
  std::string token_type;  // "Bearer" (case-insensitive per RFC 6749 §7.1)
  std::string refresh_token;  // may be empty
  std::string id_token;       // may be empty
  std::string scope;          // may be empty (then the requested scope was granted, §5.1)
  std::optional<int64_t> expires_in;
};

// grant_type=authorization_code with the PKCE verifier (RFC 7636 §4.5).
// A form-encoded POST to an OAuth endpoint that answers JSON (token, device authorization,
// revocation), with the response capped at kMaxTokenResponseBytes.
http::HttpRequest form_post(std::string_view endpoint, const http::Params& params);

http::HttpRequest authorization_code_request(std::string_view token_endpoint, const ClientCredentials& client,
                                             std::string_view code, std::string_view redirect_uri,
                                             std::string_view code_verifier);
// grant_type=refresh_token (RFC 6749 §6); `scope` omitted when empty.
http::HttpRequest refresh_token_request(std::string_view token_endpoint, const ClientCredentials& client,
                                        std::string_view refresh_token, std::string_view scope = {});
// grant_type=client_credentials (RFC 6749 §4.4) with Auth0's `audience`; empty values omitted.
http::HttpRequest client_credentials_request(std::string_view token_endpoint, const ClientCredentials& client,
                                             std::string_view audience, std::string_view scope);
// grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4).
http::HttpRequest device_code_token_request(std::string_view token_endpoint, const ClientCredentials& client,
                                            std::string_view device_code);
// Token revocation (RFC 7009 §2.1) with token_type_hint.
http::HttpRequest revocation_request(std::string_view revocation_endpoint, const ClientCredentials& client,
                                     std::string_view token, std::string_view token_type_hint);

// Maps an RFC 6749 §5.2 / RFC 8628 §3.5 "error" value to an Errc (unknown -> OAuthBadResponse).
Errc errc_from_oauth_error(std::string_view error);

// Parses an error body {"error","error_description"} into an Error whose detail is
// "<error>: <description>" (description cut to 300 characters, control characters removed).
// Non-JSON bodies give OAuthBadResponse naming the HTTP status.
Error parse_oauth_error(const http::HttpResponse& response);

// 200 -> a TokenResponse (access_token and token_type required, token_type Bearer or DPoP-less
// "bearer"); otherwise parse_oauth_error. Errc::OAuthBadResponse for malformed JSON, missing
// members, wrong member types or bodies over kMaxTokenResponseBytes.
Result<TokenResponse> parse_token_response(const http::HttpResponse& response);

// send + parse_token_response. Transport errors are returned unchanged (Http*).
Result<TokenResponse> request_token(http::HttpClient& http, const http::HttpRequest& request);

// True when `value` has the shape of a compact JWS (three non-empty dot-separated segments).
bool looks_like_jwt(std::string_view value);

}  // namespace oauthdemo::oauth
