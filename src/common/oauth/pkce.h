#pragma once
// PKCE (RFC 7636) and the other one-time values of an authorization request.
#include <string>
#include <string_view>

#include "common/base/error.h"
#include "common/base/random.h"

namespace oauthdemo::oauth {

struct PkcePair {
  std::string verifier;   // 43..128 unreserved characters (RFC 7636 §4.1)
  std::string challenge;  // BASE64URL(SHA256(ASCII(verifier))) (§4.2, S256)
};

// A fresh verifier from 32 random bytes (43 characters, 256 bits) and its S256 challenge.
Result<PkcePair> make_pkce(RandomSource& random);

// The S256 challenge for a verifier. Errc::OAuthInvalidRequest if the verifier is not 43..128
// characters of [A-Za-z0-9-._~].
Result<std::string> s256_challenge(std::string_view verifier);

// True if `verifier` is 43..128 unreserved characters.
bool is_valid_verifier(std::string_view verifier);

// state / nonce: 32 random bytes as base64url (256 bits, >= 128 required).
Result<std::string> make_state(RandomSource& random);
Result<std::string> make_nonce(RandomSource& random);

}  // namespace oauthdemo::oauth
