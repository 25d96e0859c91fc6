#include "common/oauth/discovery.h"

#include <cctype>

#include "common/http/url.h"
#include "common/jose/json.h"

namespace oauthdemo::oauth {
namespace {

constexpr std::size_t kMaxDiscoveryBytes = 256 * 1024;

std::string without_trailing_slash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

// A string member, or "" when absent; Errc::OAuthDiscoveryFailed when present with another type.
Result<std::string> string_member(const nlohmann::json& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return std::string();
  if (!it->is_string()) return fail(Errc::OAuthDiscoveryFailed, std::string("discovery member ") + name + " is not a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> string_array_member(const nlohmann::json& doc, const char* name) {
  std::vector<std::string> out;
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array())
    return fail(Errc::OAuthDiscoveryFailed, std::string("discovery member ") + name + " is not an array");
  for (const auto& v : *it) {
    if (!v.is_string())
      return fail(Errc::OAuthDiscoveryFailed, std::string("discovery member ") + name + " holds a non-string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// Endpoints must be https, except for a loopback issuer (dev server, tests).
Result<void> check_endpoint(const std::string& value, const char* name, bool allow_http) {
  if (value.empty()) return {};
  auto url = http::parse_url(value);
  if (!url) return fail(Errc::OAuthDiscoveryFailed, std::string("discovery ") + name + " is not a valid URL: " + url.error().detail);
  if (url->scheme != "https" && !(allow_http && http::is_loopback_host(url->host)))
    return fail(Errc::OAuthDiscoveryFailed, std::string("discovery ") + name + " \"" + value + "\" is not https");
  return {};
}

}  // namespace

Result<std::string> issuer_from_auth0_domain(std::string_view domain) {
  std::string_view d = domain;
  while (!d.empty() && std::isspace(static_cast<unsigned char>(d.front()))) d.remove_prefix(1);
  while (!d.empty() && std::isspace(static_cast<unsigned char>(d.back()))) d.remove_suffix(1);
  if (d.starts_with("https://")) d.remove_prefix(8);
  if (d.starts_with("http://"))
    return fail(Errc::ConfigInvalid, "an Auth0 domain is always served over https; drop the http:// prefix");
  if (!d.empty() && d.back() == '/') d.remove_suffix(1);
  if (d.empty()) return fail(Errc::ConfigInvalid, "the Auth0 domain is empty");
  if (d.find('/') != std::string_view::npos || d.find('?') != std::string_view::npos ||
      d.find('#') != std::string_view::npos)
    return fail(Errc::ConfigInvalid, "an Auth0 domain is a host name such as tenant.us.auth0.com, without a path");
  // Built with append rather than operator+ chains: GCC 12 reports a false -Wrestrict on those.
  std::string issuer = "https://";
  issuer.append(d).append("/");
  auto url = http::parse_url(issuer);
  if (!url) return fail(Errc::ConfigInvalid, "\"" + std::string(d) + "\" is not a valid host name: " + url.error().detail);
  return issuer;
}

std::string discovery_url(std::string_view issuer) {
  return without_trailing_slash(issuer) + "/.well-known/openid-configuration";
}

Result<ProviderMetadata> parse_discovery(std::string_view body, std::string_view expected_issuer) {
  if (body.size() > kMaxDiscoveryBytes) return fail(Errc::OAuthDiscoveryFailed, "discovery document is larger than 256 KiB");
  auto doc = jose::parse_strict_object(body);
  if (!doc) return fail(Errc::OAuthDiscoveryFailed, "discovery document is not a JSON object: " + doc.error().detail);
  ProviderMetadata m;
  struct Field {
    const char* name;
    std::string* target;
  };
  const Field fields[] = {{"issuer", &m.issuer},
                          {"authorization_endpoint", &m.authorization_endpoint},
                          {"token_endpoint", &m.token_endpoint},
                          {"jwks_uri", &m.jwks_uri},
                          {"userinfo_endpoint", &m.userinfo_endpoint},
                          {"device_authorization_endpoint", &m.device_authorization_endpoint},
                          {"revocation_endpoint", &m.revocation_endpoint},
                          {"end_session_endpoint", &m.end_session_endpoint}};
  for (const auto& f : fields) {
    auto v = string_member(*doc, f.name);
    if (!v) return tl::unexpected(v.error());
    *f.target = std::move(*v);
  }
  struct ArrayField {
    const char* name;
    std::vector<std::string>* target;
  };
  const ArrayField arrays[] = {{"code_challenge_methods_supported", &m.code_challenge_methods_supported},
                               {"grant_types_supported", &m.grant_types_supported},
                               {"id_token_signing_alg_values_supported", &m.id_token_signing_alg_values_supported}};
  for (const auto& f : arrays) {
    auto v = string_array_member(*doc, f.name);
    if (!v) return tl::unexpected(v.error());
    *f.target = std::move(*v);
  }
  if (m.issuer.empty()) return fail(Errc::OAuthDiscoveryFailed, "discovery document has no issuer");
  // OIDC Discovery §4.3: the issuer must be identical to the one the document was fetched for.
  if (m.issuer != expected_issuer) {
    const std::string got(m.issuer);
    const std::string want(expected_issuer);
    if (got == want + "/")
      return fail(Errc::OAuthIssuerMismatch, "discovery says issuer \"" + got + "\" but ISSUER_BASE_URL is \"" + want +
                                                 "\" \xE2\x80\x94 Auth0 issuers end with \"/\"");
    if (want == got + "/")
      return fail(Errc::OAuthIssuerMismatch, "discovery says issuer \"" + got + "\" but ISSUER_BASE_URL is \"" + want +
                                                 "\" \xE2\x80\x94 this issuer has no trailing \"/\"");
    return fail(Errc::OAuthIssuerMismatch,
                "discovery says issuer \"" + got + "\" but the configured issuer is \"" + want + "\"");
  }
  if (m.jwks_uri.empty()) return fail(Errc::OAuthDiscoveryFailed, "discovery document has no jwks_uri");
  auto issuer_url = http::parse_url(m.issuer);
  if (!issuer_url) return fail(Errc::OAuthDiscoveryFailed, "discovery issuer is not a valid URL: " + issuer_url.error().detail);
  const bool loopback = http::is_loopback_host(issuer_url->host);
  if (issuer_url->scheme != "https" && !loopback)
    return fail(Errc::OAuthDiscoveryFailed, "issuer \"" + m.issuer + "\" is not https");
  for (const auto& f : fields) {
    auto ok = check_endpoint(*f.target, f.name, loopback);
    if (!ok) return tl::unexpected(ok.error());
  }
  return m;
}

Result<ProviderMetadata> fetch_discovery(http::HttpClient& http, std::string_view issuer) {
  http::HttpRequest request;
  request.url = discovery_url(issuer);
  request.headers.emplace_back("Accept", "application/json");
  request.max_response_bytes = kMaxDiscoveryBytes;
  auto response = http.send(request);
  if (!response)  // a passed deadline keeps its own code (the CLI's exit code 8)
    return fail(response.error().code == Errc::HttpDeadlineExceeded ? Errc::HttpDeadlineExceeded
                                                                      : Errc::OAuthDiscoveryFailed,
                "cannot fetch " + request.url + ": " + response.error().message());
  if (response->status != 200)
    return fail(Errc::OAuthDiscoveryFailed, request.url + " answered HTTP " + std::to_string(response->status));
  return parse_discovery(response->body, issuer);
}

ProviderMetadata auth0_default_metadata(std::string_view issuer) {
  const std::string base = without_trailing_slash(issuer);
  ProviderMetadata m;
  m.issuer = std::string(issuer);
  m.authorization_endpoint = base + "/authorize";
  m.token_endpoint = base + "/oauth/token";
  m.jwks_uri = base + "/.well-known/jwks.json";
  m.userinfo_endpoint = base + "/userinfo";
  m.device_authorization_endpoint = base + "/oauth/device/code";
  m.revocation_endpoint = base + "/oauth/revoke";
  m.end_session_endpoint = base + "/v2/logout";
  m.code_challenge_methods_supported = {"S256"};
  m.grant_types_supported = {"authorization_code", "refresh_token", "client_credentials",
                             "urn:ietf:params:oauth:grant-type:device_code"};
  m.id_token_signing_alg_values_supported = {"RS256"};
  return m;
}

}  // namespace oauthdemo::oauth
