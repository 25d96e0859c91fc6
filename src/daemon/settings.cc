#include "daemon/settings.h"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "common/config/usage.h"
#include "common/http/url.h"
#include "common/oauth/discovery.h"

namespace oauthdemo::daemon {
namespace {

using config::LayeredSettings;
using config::Setting;

std::string where(std::string_view name, const Setting& s) {
  return std::string(name) + " (" + s.origin + ")";
}

class Reader {
 public:
  explicit Reader(const LayeredSettings& layers) : layers_(layers) {}

  std::optional<Setting> get(std::string_view name) const { return layers_.get(name); }

  Result<std::int64_t> integer(std::string_view name, std::int64_t fallback, std::int64_t min, std::int64_t max) const {
    auto s = layers_.get(name);
    if (!s) return fallback;
    std::int64_t value = 0;
    const auto& text = s->value;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size())
      return fail(Errc::ConfigInvalid, where(name, *s) + ": \"" + text + "\" is not a whole number");
    if (value < min || value > max)
      return fail(Errc::ConfigInvalid, where(name, *s) + ": " + text + " is not between " + std::to_string(min) +
                                           " and " + std::to_string(max));
    return value;
  }

  Result<Seconds> seconds(std::string_view name, Seconds fallback, std::int64_t min, std::int64_t max) const {
    auto v = integer(name, fallback.count(), min, max);
    if (!v) return tl::unexpected(v.error());
    return Seconds{*v};
  }

  Result<bool> on_off(std::string_view name, bool fallback) const {
    auto s = layers_.get(name);
    if (!s) return fallback;
    std::string v = s->value;
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "on" || v == "true" || v == "1" || v == "yes") return true;
    if (v == "off" || v == "false" || v == "0" || v == "no") return false;
    return fail(Errc::ConfigInvalid, where(name, *s) + ": \"" + s->value + "\" must be on or off");
  }

  Result<std::string> readable_file(std::string_view name) const {
    auto s = layers_.get(name);
    if (!s) return std::string();
    if (::access(s->value.c_str(), R_OK) != 0)
      return fail(Errc::ConfigFileUnreadable, where(name, *s) + ": cannot read \"" + s->value + "\"");
    return s->value;
  }

 private:
  const LayeredSettings& layers_;
};

// An http(s) URL that may be plain http only for a loopback host (RFC 8252 §8.3 spirit: no
// cleartext to a real provider).
Result<http::Url> provider_url(std::string_view name, const Setting& s) {
  auto url = http::parse_url(s.value);
  if (!url) return fail(Errc::ConfigInvalid, where(name, s) + ": \"" + s.value + "\" is not a valid URL: " + url.error().detail);
  if (url->scheme != "https" && !http::is_loopback_host(url->host))
    return fail(Errc::ConfigInvalid, where(name, s) + ": \"" + s.value + "\" uses plain http for a non-loopback host; use https");
  return url;
}

bool is_scope_token(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if (!(c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e))) return false;
  }
  return true;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

const std::vector<SettingSpec>& setting_specs() {
  static const std::vector<SettingSpec> specs = {
      {"BACKEND_HOST", "host", "address to listen on (default 127.0.0.1)"},
      {"BACKEND_PORT", "port", "port to listen on (default 3001; 0 = any free port)"},
      {"READY_FILE", "ready-file", "write {\"url\",\"port\",\"pid\"} here once ready"},
      {"READY_WHEN", "ready-when", "write the ready file when 'keys' are loaded (default) or once 'listening'"},
      {"AUTH0_DOMAIN", "auth0-domain", "Auth0 tenant domain: issuer https://DOMAIN/"},
      {"ISSUER_BASE_URL", "issuer", "issuer URL, resolved through OIDC discovery"},
      {"JWKS_URI", "jwks-uri", "JWKS URL (overrides discovery / the Auth0 convention)"},
      {"API_AUDIENCE", "audience", "the API identifier tokens must carry in aud (required)"},
      {"ALLOWED_ALGS", "allowed-algs", "accepted JWS algorithms (default RS256)"},
      {"LEEWAY", "leeway", "clock skew leeway in seconds, 0..300 (default 30)"},
      {"REQUIRED_TYP", "required-typ", "require this typ header (e.g. at+jwt); default: any"},
      {"REQUIRED_PERMISSION_ADMIN", "admin-permission", "permission GET /admin needs (default read:admin)"},
      {"TOKEN_CACHE", "token-cache", "verified-token cache on|off (default on)"},
      {"CORS_ORIGINS", "cors-origins", "comma-separated allowed origins (default: any)"},
      {"CA_FILE", "ca-file", "PEM CA bundle for the provider (default: system CAs)"},
      {"TLS_CERT_FILE", "tls-cert-file", "serve HTTPS with this certificate (PEM)"},
      {"TLS_KEY_FILE", "tls-key-file", "private key for --tls-cert-file (PEM)"},
      {"WORKERS", "workers", "request threads, 0..1024 (default 0 = one per usable CPU; with TLS, connections at once, 0 = 256)"},
      {"MAX_CONNECTIONS", "max-connections", "open client connections at most, beyond that 503 (default 10000)"},
      {"HEADER_TIMEOUT", "header-timeout", "seconds a client has to send a request's headers, 1..300 (default 10)"},
      {"SHUTDOWN_DRAIN", "shutdown-drain", "seconds to keep serving after SIGTERM with /readyz 503, 0..300 (default 0)"},
      {"PUBLIC_URL", "public-url", "external base URL for resource metadata (default from host/port)"},
      {"JWKS_CACHE_FILE", "jwks-cache-file", "persist the last good JWKS here (atomic writes)"},
      {"JWKS_REFETCH_COOLDOWN", "jwks-refetch-cooldown", "seconds between unknown-kid refetches (default 30)"},
      {"PROVIDER_TIMEOUT", "provider-timeout", "seconds for a whole JWKS or discovery fetch, 1..60 (default 5)"},
      {"JWKS_MAX_STALE_AGE", "jwks-max-stale-age", "seconds a key set stays usable without a refresh (default 86400)"},
      {"JWKS_MIN_MAX_AGE", "jwks-min-max-age", "lower clamp for Cache-Control max-age (default 60)"},
      {"JWKS_MAX_MAX_AGE", "jwks-max-max-age", "upper clamp for Cache-Control max-age (default 86400)"},
      {"JWKS_DEFAULT_MAX_AGE", "jwks-default-max-age", "key set lifetime without max-age (default 600)"},
      {"LOG_FORMAT", "log-format", "text or json (default text)"},
      {"LOG_LEVEL", "log-level", "trace, debug, info, warn, error (default info)"},
      {"ACCESS_LOG", "access-log", "one log line per request on|off (default on)"},
  };
  return specs;
}

Result<CommandLine> parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"oauthdemo-apid: validates OAuth 2.0 access tokens (JWT) for the demo API.\n"
               "Each flag can also be set by the environment variable or .env entry named in [brackets]."};
  const auto& specs = setting_specs();
  std::vector<std::string> values(specs.size());
  std::vector<CLI::Option*> options;
  for (std::size_t i = 0; i < specs.size(); ++i)
    options.push_back(app.add_option(std::string("--") + specs[i].flag, values[i],
                                     std::string(specs[i].help) + " [" + specs[i].name + "]"));
  CommandLine out;
  app.add_option("--env-file", out.env_file, ".env file to read (default ./.env if present)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.help = true;
    out.help_text = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    return fail(Errc::InvalidArgument, config::describe_parse_error(app, e, "oauthdemo-apid"));
  }
  for (std::size_t i = 0; i < specs.size(); ++i)
    if (options[i]->count() > 0) out.flag_values[specs[i].name] = values[i];
  return out;
}

Result<Settings> load_settings(const CommandLine& command_line) {
  LayeredSettings layers;
  const auto& specs = setting_specs();
  for (const auto& spec : specs) {
    if (auto it = command_line.flag_values.find(spec.name); it != command_line.flag_values.end())
      layers.add_layer(std::string("--") + spec.flag, {{spec.name, it->second}});
  }
  std::vector<std::string> names;
  for (const auto& spec : specs) names.emplace_back(spec.name);
  layers.add_environment_layer(names);
  std::string env_file = command_line.env_file;
  if (env_file.empty() && std::filesystem::exists(".env")) env_file = ".env";
  if (!env_file.empty()) {
    auto dotenv = config::read_dotenv_file(env_file);
    if (!dotenv) return tl::unexpected(dotenv.error());
    layers.add_dotenv_layer(env_file, *dotenv);
  }
  auto settings = settings_from(layers);
  if (settings) settings->env_file = env_file;
  return settings;
}

Result<Settings> settings_from(const LayeredSettings& layers) {
  Reader r(layers);
  Settings s;
  if (auto v = r.get("BACKEND_HOST")) s.host = v->value;
  if (auto v = r.integer("BACKEND_PORT", 3001, 0, 65535)) s.port = static_cast<int>(*v); else return tl::unexpected(v.error());
  if (auto v = r.get("READY_FILE")) s.ready_file = v->value;
  if (auto v = r.get("READY_WHEN")) {
    if (v->value == "keys") s.ready_when = ReadyWhen::Keys;
    else if (v->value == "listening") s.ready_when = ReadyWhen::Listening;
    else return fail(Errc::ConfigInvalid, where("READY_WHEN", *v) + ": \"" + v->value + "\" must be keys or listening");
  }

  // Issuer: ISSUER_BASE_URL (discovery) wins over AUTH0_DOMAIN (Auth0's fixed layout).
  if (auto v = r.get("ISSUER_BASE_URL")) {
    auto url = provider_url("ISSUER_BASE_URL", *v);
    if (!url) return tl::unexpected(url.error());
    if (!url->query.empty())
      return fail(Errc::ConfigInvalid, where("ISSUER_BASE_URL", *v) + ": an issuer has no query component");
    s.issuer = v->value;
    s.issuer_source = IssuerSource::IssuerBaseUrl;
    s.issuer_origin = where("ISSUER_BASE_URL", *v);
  } else if (auto d = r.get("AUTH0_DOMAIN")) {
    auto issuer = oauth::issuer_from_auth0_domain(d->value);
    if (!issuer) return fail(Errc::ConfigInvalid, where("AUTH0_DOMAIN", *d) + ": " + issuer.error().detail);
    s.issuer = *issuer;
    s.issuer_source = IssuerSource::Auth0Domain;
    s.issuer_origin = where("AUTH0_DOMAIN", *d);
  } else {
    return fail(Errc::ConfigMissing,
                "no issuer configured: set AUTH0_DOMAIN (e.g. tenant.us.auth0.com) or ISSUER_BASE_URL (--issuer)");
  }
  if (auto v = r.get("JWKS_URI")) {
    auto url = provider_url("JWKS_URI", *v);
    if (!url) return tl::unexpected(url.error());
    s.jwks_uri = v->value;
  }
  if (auto v = r.get("API_AUDIENCE")) {
    s.audience = v->value;
  } else {
    return fail(Errc::ConfigMissing, "API_AUDIENCE is required: the API identifier from the Auth0 dashboard "
                                     "(set --audience, the environment variable API_AUDIENCE or API_AUDIENCE in .env)");
  }
  if (auto v = r.get("ALLOWED_ALGS")) {
    auto algs = jose::parse_alg_list(v->value);
    if (!algs)
      return fail(Errc::ConfigInvalid, where("ALLOWED_ALGS", *v) + ": \"" + v->value +
                                           "\" must list algorithms from RS256 RS384 RS512 PS256 PS384 PS512 ES256 "
                                           "ES384 ES512 EdDSA, comma-separated (HS* and none are never accepted)");
    s.allowed_algs = *algs;
  }
  if (auto v = r.seconds("LEEWAY", Seconds{30}, 0, 300)) s.leeway = *v; else return tl::unexpected(v.error());
  if (auto v = r.get("REQUIRED_TYP")) s.required_typ = v->value;
  if (auto v = r.get("REQUIRED_PERMISSION_ADMIN")) {
    if (!is_scope_token(v->value))
      return fail(Errc::ConfigInvalid, where("REQUIRED_PERMISSION_ADMIN", *v) + ": \"" + v->value +
                                           "\" is not a valid permission name (no spaces, quotes or backslashes)");
    s.admin_permission = v->value;
  }
  if (auto v = r.on_off("TOKEN_CACHE", true)) s.token_cache = *v; else return tl::unexpected(v.error());
  if (auto v = r.on_off("ACCESS_LOG", true)) s.access_log = *v; else return tl::unexpected(v.error());
  if (auto v = r.get("CORS_ORIGINS")) {
    for (const auto& origin : split_list(v->value)) {
      if (origin == "*") {
        s.cors_origins.clear();
        break;
      }
      auto url = http::parse_url(origin);
      if (!url || url->origin() != origin)
        return fail(Errc::ConfigInvalid, where("CORS_ORIGINS", *v) + ": \"" + origin +
                                             "\" is not an origin like https://app.example.com or http://localhost:3000");
      s.cors_origins.push_back(origin);
    }
  }
  if (auto v = r.readable_file("CA_FILE")) s.ca_file = *v; else return tl::unexpected(v.error());
  if (auto v = r.readable_file("TLS_CERT_FILE")) s.tls_cert_file = *v; else return tl::unexpected(v.error());
  if (auto v = r.readable_file("TLS_KEY_FILE")) s.tls_key_file = *v; else return tl::unexpected(v.error());
  if (s.tls_cert_file.empty() != s.tls_key_file.empty())
    return fail(Errc::ConfigMissing, "TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  if (auto v = r.integer("WORKERS", 0, 0, 1024)) s.workers = static_cast<int>(*v); else return tl::unexpected(v.error());
  if (auto v = r.integer("MAX_CONNECTIONS", 10000, 1, 1000000)) s.max_connections = static_cast<int>(*v); else return tl::unexpected(v.error());
  if (auto v = r.seconds("HEADER_TIMEOUT", Seconds{10}, 1, 300)) s.header_timeout = *v; else return tl::unexpected(v.error());
  if (auto v = r.seconds("SHUTDOWN_DRAIN", Seconds{0}, 0, 300)) s.shutdown_drain = *v; else return tl::unexpected(v.error());
  if (auto v = r.get("PUBLIC_URL")) {
    auto url = http::parse_url(v->value);
    if (!url) return fail(Errc::ConfigInvalid, where("PUBLIC_URL", *v) + ": \"" + v->value + "\" is not a valid URL");
    s.public_url = url->origin();
  }
  if (auto v = r.get("JWKS_CACHE_FILE")) s.jwks_cache_file = v->value;
  if (auto v = r.seconds("JWKS_REFETCH_COOLDOWN", Seconds{30}, 0, 86400)) s.jwks_refetch_cooldown = *v; else return tl::unexpected(v.error());
  if (auto v = r.seconds("PROVIDER_TIMEOUT", Seconds{5}, 1, 60)) s.provider_timeout = *v; else return tl::unexpected(v.error());
  if (auto v = r.seconds("JWKS_MAX_STALE_AGE", Seconds{86400}, 1, 30 * 86400)) s.jwks_max_stale_age = *v; else return tl::unexpected(v.error());
  if (auto v = r.seconds("JWKS_MIN_MAX_AGE", Seconds{60}, 1, 86400)) s.jwks_min_max_age = *v; else return tl::unexpected(v.error());
  if (auto v = r.seconds("JWKS_MAX_MAX_AGE", Seconds{86400}, 1, 7 * 86400)) s.jwks_max_max_age = *v; else return tl::unexpected(v.error());
  if (auto v = r.seconds("JWKS_DEFAULT_MAX_AGE", Seconds{600}, 1, 7 * 86400)) s.jwks_default_max_age = *v; else return tl::unexpected(v.error());
  if (s.jwks_min_max_age > s.jwks_max_max_age)
    return fail(Errc::ConfigInvalid, "JWKS_MIN_MAX_AGE (" + std::to_string(s.jwks_min_max_age.count()) +
                                         ") is larger than JWKS_MAX_MAX_AGE (" + std::to_string(s.jwks_max_max_age.count()) + ")");
  if (auto v = r.get("LOG_FORMAT")) {
    if (v->value == "text") s.log_format = LogFormat::Text;
    else if (v->value == "json") s.log_format = LogFormat::Json;
    else return fail(Errc::ConfigInvalid, where("LOG_FORMAT", *v) + ": \"" + v->value + "\" must be text or json");
  }
  if (auto v = r.get("LOG_LEVEL")) {
    static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool known = false;
    for (const char* l : kLevels) known = known || v->value == l;
    if (!known)
      return fail(Errc::ConfigInvalid, where("LOG_LEVEL", *v) + ": \"" + v->value +
                                           "\" must be one of trace, debug, info, warn, error, critical, off");
    s.log_level = v->value;
  }
  return s;
}

Result<void> resolve_provider(Settings& s, http::HttpClient& http) {
  if (!s.jwks_uri.empty()) return {};
  if (s.issuer_source == IssuerSource::Auth0Domain) {
    s.jwks_uri = oauth::auth0_default_metadata(s.issuer).jwks_uri;
    return {};
  }
  auto metadata = oauth::fetch_discovery(http, s.issuer);
  if (!metadata) {
    if (metadata.error().code == Errc::OAuthIssuerMismatch) return tl::unexpected(metadata.error());
    return fail(metadata.error().code, s.issuer_origin + ": " + metadata.error().detail);
  }
  auto url = http::parse_url(metadata->jwks_uri);
  if (!url) return fail(Errc::OAuthDiscoveryFailed, "discovery jwks_uri is not a valid URL: " + url.error().detail);
  s.jwks_uri = metadata->jwks_uri;
  return {};
}

}  // namespace oauthdemo::daemon
