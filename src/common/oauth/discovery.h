#pragma once
// OpenID Provider metadata (OIDC Discovery 1.0, RFC 8414) and Auth0's conventions.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.h"
#include "common/http/http_client.h"

namespace oauthdemo::oauth {

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::string userinfo_endpoint;              // may be empty
  std::string device_authorization_endpoint;  // may be empty (no RFC 8628)
  std::string revocation_endpoint;            // may be empty (no RFC 7009)
  std::string end_session_endpoint;           // may be empty
  std::vector<std::string> code_challenge_methods_supported;
  std::vector<std::string> grant_types_supported;
  std::vector<std::string> id_token_signing_alg_values_supported;
};

// "tenant.us.auth0.com", "https://tenant.us.auth0.com" or ".../" -> "https://tenant.us.auth0.com/"
// (Auth0 issuers always end in '/'). Errc::ConfigInvalid for anything with a path or bad host.
Result<std::string> issuer_from_auth0_domain(std::string_view domain);

// "<issuer without trailing slash>/.well-known/openid-configuration" (OIDC Discovery §4).
std::string discovery_url(std::string_view issuer);

// Parses a discovery document and checks its "issuer" equals `expected_issuer` exactly
// (OIDC Discovery §4.3). A difference of only a trailing slash gets a pointed message.
// Errc::OAuthDiscoveryFailed (bad JSON, missing endpoints, non-https endpoints for a
// non-loopback issuer), Errc::OAuthIssuerMismatch.
Result<ProviderMetadata> parse_discovery(std::string_view body, std::string_view expected_issuer);

// GETs and parses discovery. Errc::OAuthDiscoveryFailed wraps transport errors and non-200s.
Result<ProviderMetadata> fetch_discovery(http::HttpClient& http, std::string_view issuer);

// Auth0's fixed paths under the issuer, for when discovery is unavailable (A3 in cli-anchors).
ProviderMetadata auth0_default_metadata(std::string_view issuer);

}  // namespace oauthdemo::oauth
