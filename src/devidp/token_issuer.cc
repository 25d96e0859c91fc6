#include "devidp/token_issuer.h"

#include "common/jose/sign.h"

namespace oauthdemo::devidp {

std::vector<std::string> split_scope(std::string_view scope) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < scope.size()) {
    const auto end = scope.find(' ', pos);
    const auto item = scope.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (!item.empty()) out.emplace_back(item);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

bool has_scope(std::string_view scope, std::string_view wanted) {
  for (const auto& s : split_scope(scope))
    if (s == wanted) return true;
  return false;
}

TokenIssuer::TokenIssuer(std::string issuer, const KeyRing& keys, const Registry& registry, const Clock& clock,
                         TokenLifetimes lifetimes)
    : issuer_(std::move(issuer)), keys_(keys), registry_(registry), clock_(clock), lifetimes_(lifetimes) {}

nlohmann::json TokenIssuer::access_claims(const Grant& grant, const User* user, int64_t now) const {
  nlohmann::json claims = nlohmann::json::object();
  claims["iss"] = issuer_;
  const bool openid = user && has_scope(grant.scope, "openid");
  // Auth0: the API audience, plus the userinfo URL when openid was granted; without an audience
  // the token is only good for /userinfo.
  if (grant.audience.empty())
    claims["aud"] = userinfo_url();
  else if (openid)
    claims["aud"] = nlohmann::json::array({grant.audience, userinfo_url()});
  else
    claims["aud"] = grant.audience;
  claims["iat"] = now;
  claims["exp"] = now + lifetimes_.access.count();
  claims["scope"] = grant.scope;
  claims["azp"] = grant.client_id;
  nlohmann::json permissions = nlohmann::json::array();
  if (user) {
    claims["sub"] = user->user_id;
    if (auto it = user->permissions.find(grant.audience); it != user->permissions.end())
      for (const auto& p : it->second) permissions.push_back(p);
  } else {
    // Machine-to-machine tokens, as Auth0 shapes them.
    claims["sub"] = grant.client_id + "@clients";
    claims["gty"] = "client-credentials";
    for (const auto& s : split_scope(grant.scope)) permissions.push_back(s);
  }
  if (!grant.audience.empty()) claims["permissions"] = permissions;
  return claims;
}

nlohmann::json TokenIssuer::id_claims(const Grant& grant, const User& user, int64_t now) const {
  nlohmann::json claims = nlohmann::json::object();
  claims["iss"] = issuer_;
  claims["sub"] = user.user_id;
  claims["aud"] = grant.client_id;
  claims["iat"] = now;
  claims["exp"] = now + lifetimes_.id.count();
  claims["azp"] = grant.client_id;
  claims["auth_time"] = to_unix(grant.auth_time);
  if (!grant.nonce.empty()) claims["nonce"] = grant.nonce;
  if (has_scope(grant.scope, "profile")) {
    claims["name"] = user.name;
    claims["nickname"] = user.username;
    claims["picture"] = user.picture;
  }
  if (has_scope(grant.scope, "email")) {
    claims["email"] = user.email;
    claims["email_verified"] = user.email_verified;
  }
  return claims;
}

Result<IssuedTokens> TokenIssuer::issue(const Grant& grant) const {
  const int64_t now = to_unix(clock_.now());
  const User* user = nullptr;
  if (!grant.username.empty()) {
    user = registry_.find_user(grant.username);
    if (!user) return fail(Errc::OAuthServerError, "the user of this grant no longer exists");
  }
  const auto key = keys_.current();
  IssuedTokens out;
  auto access = jose::sign_jwt(*key, access_claims(grant, user, now), "JWT");
  if (!access) return tl::unexpected(access.error());
  out.access_token = std::move(*access);
  if (user && has_scope(grant.scope, "openid")) {
    auto id = jose::sign_jwt(*key, id_claims(grant, *user, now), "JWT");
    if (!id) return tl::unexpected(id.error());
    out.id_token = std::move(*id);
  }
  out.expires_in = lifetimes_.access;
  out.scope = grant.scope;
  return out;
}

}  // namespace oauthdemo::devidp
