#pragma once
// Clients, APIs and users of the dev authorization server: a JSON file or a built-in demo default.
// Demo only: passwords live in memory (hashed), secrets come from the environment.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.h"

namespace oauthdemo::devidp {

inline constexpr std::string_view kGrantAuthorizationCode = "authorization_code";
inline constexpr std::string_view kGrantRefreshToken = "refresh_token";
inline constexpr std::string_view kGrantClientCredentials = "client_credentials";
inline constexpr std::string_view kGrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code";

struct Client {
  std::string client_id;
  std::string name;
  // Empty for public clients. Otherwise SHA-256 of the secret (compared in constant time).
  std::string secret_hash;
  bool confidential = false;
  bool enabled = true;              // a confidential client without a secret is disabled
  std::set<std::string> grant_types;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> allowed_logout_urls;
  // client_credentials: audience -> permissions this client may obtain (Auth0 "client grants").
  std::map<std::string, std::vector<std::string>> api_grants;
};

struct Api {
  std::string identifier;  // the audience
  std::string name;
  std::vector<std::string> permissions;
};

struct User {
  std::string username;
  std::string password_hash;  // SHA-256 of the password
  std::string user_id;        // "auth0|alice", the sub claim
  std::string name;
  std::string email;
  bool email_verified = true;
  std::string picture;
  // audience -> permissions, resolved from the user's roles (Auth0 RBAC).
  std::map<std::string, std::vector<std::string>> permissions;
};

// Looks up an environment variable; main passes std::getenv, tests a map.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

class Registry {
 public:
  // The documented demo default (README): oauthdemo-cli, oauthdemo-ci (secret from
  // DEVIDP_CI_CLIENT_SECRET, disabled when unset), API https://api.example.com, alice and bob.
  static Registry builtin(const EnvLookup& env);
  // Parses a JSON config (format in src/devidp/README.md). Errc::ConfigInvalid with the reason.
  static Result<Registry> from_json(std::string_view text, const EnvLookup& env);

  const Client* find_client(std::string_view client_id) const;
  const Api* find_api(std::string_view identifier) const;
  const User* find_user(std::string_view username) const;
  const User* find_user_by_id(std::string_view user_id) const;

  // The user if the password matches (constant-time compare of SHA-256 digests), else nullptr.
  const User* authenticate(std::string_view username, std::string_view password) const;
  // True if `secret` is this confidential client's secret (constant-time).
  static bool secret_matches(const Client& client, std::string_view secret);

  // Exact match, except that for registered loopback IP-literal URIs (http://127.0.0.1/...,
  // http://[::1]/...) any port is accepted (RFC 8252 §7.3): scheme, host, path and query compare.
  static bool redirect_uri_allowed(const Client& client, std::string_view redirect_uri);
  // Same rule for /v2/logout returnTo against allowed_logout_urls.
  static bool logout_url_allowed(const Client& client, std::string_view return_to);

  const std::vector<Client>& clients() const { return clients_; }
  const std::vector<Api>& apis() const { return apis_; }
  const std::vector<User>& users() const { return users_; }
  // Human-readable notes for the startup log (e.g. "client oauthdemo-ci disabled: ...").
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::vector<Client> clients_;
  std::vector<Api> apis_;
  std::vector<User> users_;
  std::vector<std::string> notes_;
};

// True if `candidate` matches `registered` under the rule above.
bool uri_matches(std::string_view registered, std::string_view candidate);

}  // namespace oauthdemo::devidp
