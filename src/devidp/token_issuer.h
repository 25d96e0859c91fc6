#pragma once
// Turns a Grant into Auth0-shaped JWTs: RS256 access tokens with permissions (RBAC) and OIDC ID
// tokens. Pure apart from the clock and the key ring.
#include <optional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/error.h"
#include "devidp/keys.h"
#include "devidp/registry.h"
#include "devidp/sessions.h"

namespace oauthdemo::devidp {

struct TokenLifetimes {
  Seconds access{3600};
  Seconds id{3600};
};

struct IssuedTokens {
  std::string access_token;
  std::string id_token;  // empty unless "openid" was granted to a user
  Seconds expires_in{};
  std::string scope;
};

// Scope helpers: split on spaces, and membership.
std::vector<std::string> split_scope(std::string_view scope);
bool has_scope(std::string_view scope, std::string_view wanted);

class TokenIssuer {
 public:
  // `issuer` ends with '/'. Borrowed references must outlive the issuer.
  TokenIssuer(std::string issuer, const KeyRing& keys, const Registry& registry, const Clock& clock,
              TokenLifetimes lifetimes);

  // Access token (and ID token when the scope has openid and a user is present).
  // Errc::CryptoFailure, Errc::OAuthServerError (user vanished).
  Result<IssuedTokens> issue(const Grant& grant) const;

  const std::string& issuer() const { return issuer_; }
  std::string userinfo_url() const { return issuer_ + "userinfo"; }

 private:
  nlohmann::json access_claims(const Grant& grant, const User* user, int64_t now) const;
  nlohmann::json id_claims(const Grant& grant, const User& user, int64_t now) const;

  std::string issuer_;
  const KeyRing& keys_;
  const Registry& registry_;
  const Clock& clock_;
  TokenLifetimes lifetimes_;
};

}  // namespace oauthdemo::devidp
