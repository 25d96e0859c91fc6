#pragma once
// Settings for the CLI, highest priority first: command-line flags, the environment, a .env
// file (./.env, or --env-file), the profile's config file, then built-in defaults.
//
// Config files (dotenv syntax, same names as the environment):
//   profile "default": <config dir>/config.env
//   profile NAME:      <config dir>/profiles/NAME.env
// <config dir> is --config-dir, else $OAUTHDEMO_CONFIG_DIR, else $XDG_CONFIG_HOME/oauthdemo,
// else $HOME/.config/oauthdemo. There is no built-in authorization server: AUTH0_DOMAIN or
// ISSUER_BASE_URL must be set somewhere.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.h"
#include "common/config/dotenv.h"

namespace oauthdemo::cli {

struct GlobalOptions {
  std::string profile = "default";
  std::string env_file;
  std::string config_dir;
  bool non_interactive = false;
  std::string log_level;  // trace|debug|info|warn|error|off; empty = warn (or from -v)
  int verbosity = 0;      // -v count
  bool log_http = false;
  std::string cacert;
};

// A value given on the command line, e.g. {"API_AUDIENCE", "--audience", "https://api"}.
struct FlagSetting {
  std::string name;
  std::string flag;
  std::string value;
};

inline constexpr std::string_view kDefaultScope = "openid profile email offline_access";
inline constexpr std::string_view kDefaultApiBaseUrl = "http://localhost:3001";
inline constexpr std::string_view kDefaultCallbackPorts = "8400,8401,8402";
inline constexpr std::chrono::seconds kDefaultHttpTimeout{30};

// Every name the CLI reads from the environment and setting files.
const std::vector<std::string>& setting_names();

class Settings {
 public:
  // Reads the layers. Errc::ConfigFileUnreadable for a missing --env-file, Errc::ConfigInvalid
  static Result<Settings> load(const GlobalOptions& global, const std::vector<FlagSetting>& flags);

  const std::string& config_dir() const { return config_dir_; }
  const std::string& profile() const { return profile_; }

  // The issuer: ISSUER_BASE_URL as given, else https://AUTH0_DOMAIN/. Errc::ConfigMissing (one
  // message naming both settings and where settings are read from), Errc::ConfigInvalid naming
  // the setting and its origin.
  Result<std::string> issuer() const;
  // True when the provider is Auth0 (AUTH0_DOMAIN used, or an *.auth0.com issuer).
  bool is_auth0() const;
  Result<std::string> client_id() const;  // AUTH0_CLIENT_ID; Errc::ConfigMissing
  std::string audience() const;           // API_AUDIENCE, may be empty
  std::string scope() const;              // OAUTHDEMO_SCOPE or kDefaultScope
  config::Setting api_base_url() const;   // API_BASE_URL or kDefaultApiBaseUrl
  // OAUTHDEMO_HTTP_TIMEOUT: the total deadline of every HTTP call, whole seconds in [1, 600],
  // default kDefaultHttpTimeout. Errc::ConfigInvalid naming the setting and its origin.
  Result<std::chrono::seconds> http_timeout() const;
  std::optional<config::Setting> get(std::string_view name) const { return layers_.get(name); }
  // "flags, environment, /x/.env, /cfg/config.env (not found)" for messages.
  std::string sources() const;

 private:
  config::LayeredSettings layers_;
  std::string config_dir_;
  std::string profile_;
  std::vector<std::string> source_list_;
};

// The config directory per the rules above (no I/O).
std::string resolve_config_dir(const GlobalOptions& global);

}  // namespace oauthdemo::cli
