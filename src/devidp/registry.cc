#include "devidp/registry.h"

#include <algorithm>
#include <cstdlib>

#include "common/base/digest.h"
#include "common/http/url.h"

namespace oauthdemo::devidp {
namespace {

// The documented demo default; parsed by the same code as --config files.
constexpr std::string_view kBuiltinConfig = R"json({
  "apis": [
    {"identifier": "https://api.example.com", "name": "oauthdemo API",
     "permissions": ["read:messages", "read:admin"]}
  ],
  "roles": {
    "admin": {"https://api.example.com": ["read:messages", "read:admin"]},
    "reader": {"https://api.example.com": ["read:messages"]}
  },
  "clients": [
    {"client_id": "oauthdemo-cli", "name": "oauthdemo CLI", "type": "public",
     "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
     "redirect_uris": ["http://127.0.0.1/callback", "http://[::1]/callback", "http://localhost:3000/callback"],
     "allowed_logout_urls": ["http://127.0.0.1/", "http://[::1]/", "http://localhost:3000/"]},
    {"client_id": "oauthdemo-ci", "name": "oauthdemo CI", "type": "confidential",
     "client_secret_env": "DEVIDP_CI_CLIENT_SECRET",
     "grant_types": ["client_credentials"],
     "api_grants": {"https://api.example.com": ["read:messages"]}}
  ],
  "users": [
    {"username": "alice", "password": "alice-password", "password_env": "DEVIDP_ALICE_PASSWORD",
     "user_id": "auth0|alice", "name": "Alice Example", "email": "alice@example.com",
     "picture": "https://example.com/avatars/alice.png", "roles": ["admin"]},
    {"username": "bob", "password": "bob-password", "password_env": "DEVIDP_BOB_PASSWORD",
     "user_id": "auth0|bob", "name": "Bob Example", "email": "bob@example.com",
     "picture": "https://example.com/avatars/bob.png", "roles": ["reader"]}
  ]
})json";

using nlohmann::json;

Result<std::string> get_string(const json& obj, const char* key, const std::string& where, bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return fail(Errc::ConfigInvalid, where + ": missing \"" + key + "\"");
    return std::string{};
  }
  if (!it->is_string()) return fail(Errc::ConfigInvalid, where + ": \"" + key + "\" must be a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> get_strings(const json& obj, const char* key, const std::string& where) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end()) return out;
  if (!it->is_array()) return fail(Errc::ConfigInvalid, where + ": \"" + key + "\" must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return fail(Errc::ConfigInvalid, where + ": \"" + key + "\" must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// {"audience": ["perm", ...]} objects (roles and client grants).
Result<std::map<std::string, std::vector<std::string>>> get_permission_map(const json& value, const std::string& where) {
  std::map<std::string, std::vector<std::string>> out;
  if (!value.is_object()) return fail(Errc::ConfigInvalid, where + " must be an object of audience -> permissions");
  for (const auto& [aud, perms] : value.items()) {
    if (!perms.is_array()) return fail(Errc::ConfigInvalid, where + "[\"" + aud + "\"] must be an array");
    for (const auto& p : perms) {
      if (!p.is_string()) return fail(Errc::ConfigInvalid, where + "[\"" + aud + "\"] must hold strings");
      out[aud].push_back(p.get<std::string>());
    }
  }
  return out;
}

void merge_unique(std::vector<std::string>& into, const std::vector<std::string>& from) {
  for (const auto& p : from)
    if (std::find(into.begin(), into.end(), p) == into.end()) into.push_back(p);
}

#define DEVIDP_TRY(var, expr)                          \
  auto var = (expr);                                   \
  if (!var) return tl::unexpected(var.error())

Result<Client> parse_client(const json& c, std::size_t index, const EnvLookup& env, std::vector<std::string>& notes) {
  const std::string where = "clients[" + std::to_string(index) + "]";
  if (!c.is_object()) return fail(Errc::ConfigInvalid, where + " must be an object");
  Client client;
  DEVIDP_TRY(id, get_string(c, "client_id", where, true));
  if (id->empty()) return fail(Errc::ConfigInvalid, where + ": empty client_id");
  client.client_id = *id;
  DEVIDP_TRY(name, get_string(c, "name", where, false));
  client.name = name->empty() ? client.client_id : *name;
  DEVIDP_TRY(type, get_string(c, "type", where, false));
  if (!type->empty() && *type != "public" && *type != "confidential")
    return fail(Errc::ConfigInvalid, where + ": \"type\" must be \"public\" or \"confidential\"");
  client.confidential = *type == "confidential";
  DEVIDP_TRY(grants, get_strings(c, "grant_types", where));
  for (const auto& g : *grants) {
    if (g != kGrantAuthorizationCode && g != kGrantRefreshToken && g != kGrantClientCredentials && g != kGrantDeviceCode)
      return fail(Errc::ConfigInvalid, where + ": unknown grant type \"" + g + "\"");
    if (g == kGrantClientCredentials && !client.confidential)
      return fail(Errc::ConfigInvalid, where + ": client_credentials needs a confidential client");
    client.grant_types.insert(g);
  }
  DEVIDP_TRY(redirects, get_strings(c, "redirect_uris", where));
  for (const auto& uri : *redirects)
    if (!http::parse_url(uri)) return fail(Errc::ConfigInvalid, where + ": redirect URI \"" + uri + "\" is not a URL");
  client.redirect_uris = *redirects;
  DEVIDP_TRY(logout_urls, get_strings(c, "allowed_logout_urls", where));
  client.allowed_logout_urls = *logout_urls;
  if (auto it = c.find("api_grants"); it != c.end()) {
    DEVIDP_TRY(map, get_permission_map(*it, where + ".api_grants"));
    client.api_grants = *map;
  }
  if (client.confidential) {
    DEVIDP_TRY(secret, get_string(c, "client_secret", where, false));
    DEVIDP_TRY(secret_env, get_string(c, "client_secret_env", where, false));
    std::string value = *secret;
    if (!secret_env->empty()) {
      if (auto from_env = env(*secret_env); from_env && !from_env->empty()) value = *from_env;
    }
    if (value.empty()) {
      client.enabled = false;
      notes.push_back("client " + client.client_id + " is disabled: set " +
                      (secret_env->empty() ? std::string("\"client_secret\"") : *secret_env) + " to enable it");
    } else {
      client.secret_hash = base::sha256(value);
    }
  }
  return client;
}

Result<User> parse_user(const json& u, std::size_t index, const EnvLookup& env,
                        const std::map<std::string, std::map<std::string, std::vector<std::string>>>& roles) {
  const std::string where = "users[" + std::to_string(index) + "]";
  if (!u.is_object()) return fail(Errc::ConfigInvalid, where + " must be an object");
  User user;
  DEVIDP_TRY(username, get_string(u, "username", where, true));
  if (username->empty()) return fail(Errc::ConfigInvalid, where + ": empty username");
  user.username = *username;
  DEVIDP_TRY(password, get_string(u, "password", where, false));
  DEVIDP_TRY(password_env, get_string(u, "password_env", where, false));
  std::string pw = *password;
  if (!password_env->empty())
    if (auto from_env = env(*password_env); from_env && !from_env->empty()) pw = *from_env;
  if (pw.empty()) return fail(Errc::ConfigInvalid, where + ": no password (\"password\" or \"password_env\")");
  user.password_hash = base::sha256(pw);
  DEVIDP_TRY(user_id, get_string(u, "user_id", where, false));
  user.user_id = user_id->empty() ? "auth0|" + user.username : *user_id;
  DEVIDP_TRY(name, get_string(u, "name", where, false));
  user.name = name->empty() ? user.username : *name;
  DEVIDP_TRY(email, get_string(u, "email", where, false));
  user.email = *email;
  DEVIDP_TRY(picture, get_string(u, "picture", where, false));
  user.picture = *picture;
  if (auto it = u.find("email_verified"); it != u.end()) {
    if (!it->is_boolean()) return fail(Errc::ConfigInvalid, where + ": \"email_verified\" must be a boolean");
    user.email_verified = it->get<bool>();
  }
  DEVIDP_TRY(role_names, get_strings(u, "roles", where));
  for (const auto& role : *role_names) {
    auto r = roles.find(role);
    if (r == roles.end()) return fail(Errc::ConfigInvalid, where + ": unknown role \"" + role + "\"");
    for (const auto& [aud, perms] : r->second) merge_unique(user.permissions[aud], perms);
  }
  return user;
}

bool loopback_literal_registration(const http::Url& url) {
  return url.scheme == "http" && (url.host == "127.0.0.1" || url.host == "::1");
}

}  // namespace

bool uri_matches(std::string_view registered, std::string_view candidate) {
  if (registered == candidate) return true;
  auto reg = http::parse_url(registered);
  if (!reg || !loopback_literal_registration(*reg)) return false;
  // A registered loopback URI without an explicit port matches any port (RFC 8252 §7.3).
  auto cand = http::parse_url(candidate);
  if (!cand) return false;
  return cand->scheme == reg->scheme && cand->host == reg->host && cand->path == reg->path &&
         cand->query == reg->query && cand->port != 0;
}

Registry Registry::builtin(const EnvLookup& env) {
  auto registry = from_json(kBuiltinConfig, env);
  // The embedded text is a constant covered by tests; failure is a programming error.
  if (!registry) std::abort();
  return std::move(*registry);
}

Result<Registry> Registry::from_json(std::string_view text, const EnvLookup& env) {
  if (text.size() > 1024 * 1024) return fail(Errc::ConfigInvalid, "config file is larger than 1 MiB");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail(Errc::ConfigInvalid, "config is not a JSON object");
  Registry reg;
  if (auto it = doc.find("apis"); it != doc.end()) {
    if (!it->is_array()) return fail(Errc::ConfigInvalid, "\"apis\" must be an array");
    std::size_t i = 0;
    for (const auto& a : *it) {
      const std::string where = "apis[" + std::to_string(i++) + "]";
      if (!a.is_object()) return fail(Errc::ConfigInvalid, where + " must be an object");
      Api api;
      DEVIDP_TRY(id, get_string(a, "identifier", where, true));
      api.identifier = *id;
      DEVIDP_TRY(name, get_string(a, "name", where, false));
      api.name = name->empty() ? api.identifier : *name;
      DEVIDP_TRY(perms, get_strings(a, "permissions", where));
      api.permissions = *perms;
      if (reg.find_api(api.identifier)) return fail(Errc::ConfigInvalid, where + ": duplicate identifier");
      reg.apis_.push_back(std::move(api));
    }
  }
  std::map<std::string, std::map<std::string, std::vector<std::string>>> roles;
  if (auto it = doc.find("roles"); it != doc.end()) {
    if (!it->is_object()) return fail(Errc::ConfigInvalid, "\"roles\" must be an object");
    for (const auto& [name, value] : it->items()) {
      DEVIDP_TRY(map, get_permission_map(value, "roles[\"" + name + "\"]"));
      roles[name] = *map;
    }
  }
  if (auto it = doc.find("clients"); it != doc.end()) {
    if (!it->is_array()) return fail(Errc::ConfigInvalid, "\"clients\" must be an array");
    std::size_t i = 0;
    for (const auto& c : *it) {
      DEVIDP_TRY(client, parse_client(c, i++, env, reg.notes_));
      if (reg.find_client(client->client_id))
        return fail(Errc::ConfigInvalid, "duplicate client_id \"" + client->client_id + "\"");
      reg.clients_.push_back(std::move(*client));
    }
  }
  if (auto it = doc.find("users"); it != doc.end()) {
    if (!it->is_array()) return fail(Errc::ConfigInvalid, "\"users\" must be an array");
    std::size_t i = 0;
    for (const auto& u : *it) {
      DEVIDP_TRY(user, parse_user(u, i++, env, roles));
      if (reg.find_user(user->username))
        return fail(Errc::ConfigInvalid, "duplicate username \"" + user->username + "\"");
      reg.users_.push_back(std::move(*user));
    }
  }
  return reg;
}

const Client* Registry::find_client(std::string_view client_id) const {
  for (const auto& c : clients_)
    if (c.client_id == client_id) return &c;
  return nullptr;
}

const Api* Registry::find_api(std::string_view identifier) const {
  for (const auto& a : apis_)
    if (a.identifier == identifier) return &a;
  return nullptr;
}

const User* Registry::find_user(std::string_view username) const {
  for (const auto& u : users_)
    if (u.username == username) return &u;
  return nullptr;
}

const User* Registry::find_user_by_id(std::string_view user_id) const {
  for (const auto& u : users_)
    if (u.user_id == user_id) return &u;
  return nullptr;
}

const User* Registry::authenticate(std::string_view username, std::string_view password) const {
  const std::string digest = base::sha256(password);
  const User* user = find_user(username);
  // Compare against a dummy digest for unknown users so both paths do the same work.
  const std::string expected = user ? user->password_hash : base::sha256("\x01unknown-user");
  const bool ok = base::constant_time_equal(digest, expected);
  return ok && user ? user : nullptr;
}

bool Registry::secret_matches(const Client& client, std::string_view secret) {
  if (!client.confidential || client.secret_hash.empty()) return false;
  return base::constant_time_equal(base::sha256(secret), client.secret_hash);
}

bool Registry::redirect_uri_allowed(const Client& client, std::string_view redirect_uri) {
  for (const auto& r : client.redirect_uris)
    if (uri_matches(r, redirect_uri)) return true;
  return false;
}

bool Registry::logout_url_allowed(const Client& client, std::string_view return_to) {
  for (const auto& r : client.allowed_logout_urls)
    if (uri_matches(r, return_to)) return true;
  return false;
}

}  // namespace oauthdemo::devidp
