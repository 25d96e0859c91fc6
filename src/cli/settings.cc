#include "cli/settings.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "cli/token_store.h"
#include "common/http/url.h"
#include "common/oauth/discovery.h"

namespace oauthdemo::cli {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

const std::vector<std::string>& setting_names() {
  static const std::vector<std::string> kNames = {
      "AUTH0_DOMAIN", "ISSUER_BASE_URL", "AUTH0_CLIENT_ID", "API_AUDIENCE",           "REDIRECT_URI",
      "API_BASE_URL", "OAUTHDEMO_SCOPE", "OAUTHDEMO_CALLBACK_PORTS", "OAUTHDEMO_LOGOUT_RETURN_TO", "OAUTHDEMO_PROMPT",
      "OAUTHDEMO_HTTP_TIMEOUT"};
  return kNames;
}

std::string resolve_config_dir(const GlobalOptions& global) {
  if (!global.config_dir.empty()) return global.config_dir;
  if (auto v = env("OAUTHDEMO_CONFIG_DIR"); !v.empty()) return v;
  if (auto v = env("XDG_CONFIG_HOME"); !v.empty() && v.front() == '/') return v + "/oauthdemo";
  if (auto v = env("HOME"); !v.empty()) return v + "/.config/oauthdemo";
  return ".oauthdemo";
}

Result<Settings> Settings::load(const GlobalOptions& global, const std::vector<FlagSetting>& flags) {
  Settings s;
  if (!valid_profile_name(global.profile))
    return fail(Errc::ConfigInvalid, "--profile must be 1 to 64 characters of [A-Za-z0-9_.-], not starting with '.'");
  s.profile_ = global.profile;
  s.config_dir_ = resolve_config_dir(global);

  bool any_flag = false;
  for (const auto& f : flags) {
    if (f.value.empty()) continue;
    s.layers_.add_layer(f.flag, {{f.name, f.value}});
    any_flag = true;
  }
  if (any_flag) s.source_list_.push_back("command-line flags");
  s.layers_.add_environment_layer(setting_names());
  s.source_list_.push_back("the environment");

  std::string env_file = global.env_file;
  if (!env_file.empty()) {
    if (!file_exists(env_file)) return fail(Errc::ConfigFileUnreadable, "--env-file " + env_file + " does not exist");
  } else if (file_exists(".env")) {
    env_file = ".env";
  }
  if (!env_file.empty()) {
    auto parsed = config::read_dotenv_file(env_file);
    if (!parsed) return tl::unexpected(parsed.error());
    s.layers_.add_dotenv_layer(env_file, *parsed);
    s.source_list_.push_back(env_file);
  } else {
    s.source_list_.push_back("./.env (not found)");
  }

  const std::string config_file =
      s.profile_ == "default" ? s.config_dir_ + "/config.env" : s.config_dir_ + "/profiles/" + s.profile_ + ".env";
  if (file_exists(config_file)) {
    auto parsed = config::read_dotenv_file(config_file);
    if (!parsed) return tl::unexpected(parsed.error());
    s.layers_.add_dotenv_layer(config_file, *parsed);
    s.source_list_.push_back(config_file);
  } else {
    s.source_list_.push_back(config_file + " (not found)");
  }
  return s;
}

std::string Settings::sources() const {
  std::string out;
  for (const auto& s : source_list_) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Result<std::string> Settings::issuer() const {
  if (auto base = layers_.get("ISSUER_BASE_URL")) {
    auto url = http::parse_url(base->value);
    if (!url)
      return fail(Errc::ConfigInvalid, "ISSUER_BASE_URL (" + base->origin + ") is not a valid URL: " + url.error().detail);
    if (url->scheme != "https" && !http::is_loopback_host(url->host))
      return fail(Errc::ConfigInvalid, "ISSUER_BASE_URL (" + base->origin + ") must use https (plain http only for " +
                                           "127.0.0.1/localhost)");
    return base->value;
  }
  if (auto domain = layers_.get("AUTH0_DOMAIN")) {
    auto issuer = oauth::issuer_from_auth0_domain(domain->value);
    if (!issuer) return fail(Errc::ConfigInvalid, "AUTH0_DOMAIN (" + domain->origin + "): " + issuer.error().detail);
    return issuer;
  }
  return fail(Errc::ConfigMissing,
              "no authorization server configured: set AUTH0_DOMAIN (your Auth0 tenant, e.g. "
              "example.us.auth0.com) or ISSUER_BASE_URL (any OpenID Connect issuer URL). Settings are read from " +
                  sources());
}

bool Settings::is_auth0() const {
  if (layers_.get("ISSUER_BASE_URL")) {
    auto url = http::parse_url(layers_.get("ISSUER_BASE_URL")->value);
    return url && url->host.ends_with(".auth0.com");
  }
  return layers_.get("AUTH0_DOMAIN").has_value();
}

Result<std::string> Settings::client_id() const {
  if (auto id = layers_.get("AUTH0_CLIENT_ID")) return id->value;
  return fail(Errc::ConfigMissing,
              "no client id configured: set AUTH0_CLIENT_ID (the Native application's Client ID). Settings are read "
              "from " +
                  sources());
}

std::string Settings::audience() const {
  if (auto a = layers_.get("API_AUDIENCE")) return a->value;
  return {};
}

std::string Settings::scope() const { return layers_.get_or("OAUTHDEMO_SCOPE", std::string(kDefaultScope)).value; }

Result<std::chrono::seconds> Settings::http_timeout() const {
  auto setting = layers_.get("OAUTHDEMO_HTTP_TIMEOUT");
  if (!setting) return kDefaultHttpTimeout;
  const std::string& v = setting->value;
  int seconds = 0;
  const bool digits = !v.empty() && v.size() <= 3 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) seconds = std::stoi(v);
  if (!digits || seconds < 1 || seconds > 600)
    return fail(Errc::ConfigInvalid,
                "OAUTHDEMO_HTTP_TIMEOUT (" + setting->origin + ") must be whole seconds from 1 to 600, not \"" + v + "\"");
  return std::chrono::seconds(seconds);
}

config::Setting Settings::api_base_url() const {
  return layers_.get_or("API_BASE_URL", std::string(kDefaultApiBaseUrl));
}

}  // namespace oauthdemo::cli
