#pragma once
// Signing for the dev authorization server and tests: RS256 (and RS/PS family), ES256, EdDSA.
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/error.h"
#include "common/jose/alg.h"
#include "common/jose/jwk.h"

namespace oauthdemo::jose {

class SigningKey {
 public:
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // A fresh key pair from OpenSSL: RSA 2048 for RS*/PS* (or `rsa_bits`), P-256/384/521 for
  // ES256/384/512, Ed25519 for EdDSA. Errc::CryptoFailure.
  static Result<SigningKey> generate(Alg alg, std::string kid, int rsa_bits = 2048);
  // Loads a PKCS#8 or traditional PEM private key; the key type must fit `alg`.
  // Errc::ConfigInvalid if it does not parse or fit.
  static Result<SigningKey> from_pem(std::string_view pem, Alg alg, std::string kid);

  Alg alg() const { return alg_; }
  const std::string& kid() const { return kid_; }
  // PKCS#8 PEM of the private key (for writing a key file with 0600 permissions).
  std::string private_pem() const;
  // The public JWK with kid, alg and use=sig.
  nlohmann::json public_jwk() const;
  // The public half as a verification key.
  std::shared_ptr<const PublicKey> public_key() const;
  // Raw JWS signature over `signing_input` (ECDSA as R||S). Errc::CryptoFailure.
  Result<std::string> sign(std::string_view signing_input) const;
  // Signature with an explicit alg of the same key family (e.g. PS256 with an RSA key), for tests.
  Result<std::string> sign_as(Alg alg, std::string_view signing_input) const;
  // Borrowed private key, for tests that need raw OpenSSL access (e.g. odd PSS salt lengths).
  EVP_PKEY* pkey() const { return pkey_; }

 private:
  SigningKey() = default;
  EVP_PKEY* pkey_ = nullptr;
  Alg alg_ = Alg::RS256;
  std::string kid_;
  std::shared_ptr<const PublicKey> public_;
};

// Compact JWS of `claims` with header {"alg", "kid", "typ": typ} plus `extra_header` members.
Result<std::string> sign_jwt(const SigningKey& key, const nlohmann::json& claims, std::string_view typ = "JWT",
                             const nlohmann::json& extra_header = nlohmann::json::object());

// Builds a JWKS document {"keys":[...]} from public JWKs.
nlohmann::json make_jwks(const std::vector<nlohmann::json>& public_jwks);

}  // namespace oauthdemo::jose
