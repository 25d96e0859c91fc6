#pragma once
// oauthdemo-apid settings: flags, then the environment, then the .env file (the seed's
// backend/.env names), validated once into a plain struct. Every error names the setting and
// where its value was read ("--leeway", "environment variable LEEWAY", "/x/.env line 3").
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/config/dotenv.h"
#include "common/http/http_client.h"
#include "common/jose/alg.h"

namespace oauthdemo::daemon {

enum class LogFormat { Text, Json };
enum class ReadyWhen { Keys, Listening };  // when --ready-file is written
enum class IssuerSource { Auth0Domain, IssuerBaseUrl };

struct Settings {
  std::string host = "127.0.0.1";
  int port = 3001;
  std::string ready_file;
  ReadyWhen ready_when = ReadyWhen::Keys;
  std::string env_file;  // the .env actually read ("" if none)

  std::string issuer;  // exact expected "iss"
  IssuerSource issuer_source = IssuerSource::Auth0Domain;
  std::string issuer_origin;  // where the issuer setting was read
  std::string jwks_uri;       // "" until resolved by discovery
  std::string audience;
  std::vector<jose::Alg> allowed_algs{jose::Alg::RS256};
  Seconds leeway{30};
  std::optional<std::string> required_typ;
  std::string admin_permission = "read:admin";
  bool token_cache = true;
  std::vector<std::string> cors_origins;  // empty = allow all ("*")

  std::string ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  int workers = 0;  // plain HTTP: event-loop threads (0 = one per usable CPU); HTTPS: connections served at once (0 = 256)
  int max_connections = 10000;
  Seconds header_timeout{10};
  Seconds shutdown_drain{0};
  std::string public_url;  // base URL for resource_metadata; "" = derived from host/port

  std::string jwks_cache_file;
  Seconds jwks_refetch_cooldown{30};
  Seconds provider_timeout{5};  // total deadline of one JWKS or discovery fetch
  Seconds jwks_max_stale_age{86400};
  Seconds jwks_min_max_age{60};
  Seconds jwks_max_max_age{86400};
  Seconds jwks_default_max_age{600};

  LogFormat log_format = LogFormat::Text;
  std::string log_level = "info";
  bool access_log = true;
};

// Every setting name and its flag, for --help and the environment layer.
struct SettingSpec {
  const char* name;  // environment / .env name
  const char* flag;  // long flag without "--"
  const char* help;
};
const std::vector<SettingSpec>& setting_specs();

struct CommandLine {
  std::map<std::string, std::string, std::less<>> flag_values;  // keyed by setting name
  std::string env_file;                                       // --env-file
  bool help = false;
  std::string help_text;
};

// Parses argv. Errc::InvalidArgument naming the bad flag. --help sets `help`.
Result<CommandLine> parse_command_line(int argc, const char* const* argv);

// Builds the layers (flags, environment, --env-file or ./.env if present) and validates.
// Errc::ConfigMissing / ConfigInvalid / ConfigFileUnreadable.
Result<Settings> load_settings(const CommandLine& command_line);

// Validation alone, on layers built by the caller (tests).
Result<Settings> settings_from(const config::LayeredSettings& layers);

// Fills settings.jwks_uri: JWKS_URI if set, the Auth0 convention for AUTH0_DOMAIN, or OIDC
// discovery for ISSUER_BASE_URL (issuer must match exactly; a trailing-slash-only difference
// gets a pointed message). Errc::OAuthDiscoveryFailed (retryable), Errc::OAuthIssuerMismatch.
Result<void> resolve_provider(Settings& settings, http::HttpClient& http);

}  // namespace oauthdemo::daemon
