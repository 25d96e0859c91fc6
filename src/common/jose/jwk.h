#pragma once
// One public JWK (RFC 7517) as an immutable OpenSSL key, ready for EVP_DigestVerify.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/error.h"
#include "common/jose/alg.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace oauthdemo::jose {

namespace internal {
struct VerifyCache;  // per-alg verify templates (key_verify.cc)
}

enum class KeyType { RSA, EC, OKP };
enum class Curve { None, P256, P384, P521, Ed25519 };

class PublicKey {
 public:
  ~PublicKey();
  PublicKey(const PublicKey&) = delete;
  PublicKey& operator=(const PublicKey&) = delete;

  const std::string& kid() const { return kid_; }
  KeyType type() const { return type_; }
  Curve curve() const { return curve_; }
  int bits() const { return bits_; }
  // The JWK's own "alg", if it declared one; a token's alg must then equal it.
  std::optional<Alg> declared_alg() const { return declared_alg_; }
  // True when `alg` fits this key: RS*/PS* for RSA, ES256/P-256, ES384/P-384, ES512/P-521,
  // EdDSA/Ed25519, and equal to declared_alg() when present.
  bool accepts(Alg alg) const;
  // Borrowed; lives as long as this object.
  EVP_PKEY* pkey() const { return pkey_; }

  // Builds a key from a JWK object. Rules: kty RSA (n, e; >= 2048 bits, e odd and > 1),
  // EC (crv P-256/384/521, x/y of exact length, point on the curve), OKP (crv Ed25519, x of
  // 32 bytes). Rejects private members ("d", "p", ...), "oct" keys, use != "sig", key_ops
  // without "verify". Errc::JwksKeyRejected with the reason.
  static Result<std::shared_ptr<const PublicKey>> from_jwk(const nlohmann::json& jwk);

  // Wraps an existing public EVP_PKEY (takes a reference; used by signing keys and tests).
  static Result<std::shared_ptr<const PublicKey>> from_evp(EVP_PKEY* pkey, std::string kid,
                                                           std::optional<Alg> declared_alg);

  // Checks a raw JWS signature for `alg` (what verify_signature in jws.h calls). Thread-safe:
  // a pre-initialised verify context per alg is built on first use and copied per call, which
  // saves OpenSSL 3's per-call re-initialisation. TokenKeyMismatch / TokenBadSignature.
  Result<void> verify(Alg alg, std::string_view signing_input, std::string_view signature) const;

 private:
  PublicKey();
  EVP_PKEY* pkey_ = nullptr;
  std::string kid_;
  KeyType type_ = KeyType::RSA;
  Curve curve_ = Curve::None;
  int bits_ = 0;
  std::optional<Alg> declared_alg_;
  internal::VerifyCache* cache_ = nullptr;  // owned; see verify()
};

}  // namespace oauthdemo::jose
