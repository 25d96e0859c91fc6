#include "common/oauth/pkce.h"

#include "common/base/base64url.h"
#include "common/base/digest.h"

namespace oauthdemo::oauth {

bool is_valid_verifier(std::string_view verifier) {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  for (char c : verifier) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (!unreserved) return false;
  }
  return true;
}

Result<std::string> s256_challenge(std::string_view verifier) {
  if (!is_valid_verifier(verifier))
    return fail(Errc::OAuthInvalidRequest, "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]");
  return base::base64url_encode(base::sha256(verifier));
}

Result<PkcePair> make_pkce(RandomSource& random) {
  auto verifier = random_token(random, 32);
  if (!verifier) return tl::unexpected(verifier.error());
  auto challenge = s256_challenge(*verifier);
  if (!challenge) return tl::unexpected(challenge.error());
  return PkcePair{std::move(*verifier), std::move(*challenge)};
}

Result<std::string> make_state(RandomSource& random) { return random_token(random, 32); }
Result<std::string> make_nonce(RandomSource& random) { return random_token(random, 32); }

}  // namespace oauthdemo::oauth
