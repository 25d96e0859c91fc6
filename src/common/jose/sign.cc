#include "common/jose/sign.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <utility>

#include "common/base/base64url.h"
#include "common/jose/key_internal.h"
#include "common/jose/ossl.h"

namespace oauthdemo::jose {
namespace {

using json = nlohmann::json;

tl::unexpected<Error> crypto_failure(std::string what) {
  ERR_clear_error();
  return fail(Errc::CryptoFailure, std::move(what));
}

std::string bn_param(EVP_PKEY* pkey, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return {};
  ossl::Bn owned(bn);
  return ossl::bn_bytes(bn, width);
}

// Same family as the key: the declared alg does not matter here (sign_as exists for tests).
bool family_fits(Alg alg, const internal::KeyInfo& info) { return internal::alg_fits(alg, info.type, info.curve); }

}  // namespace

SigningKey::~SigningKey() { EVP_PKEY_free(pkey_); }

SigningKey::SigningKey(SigningKey&& other) noexcept
    : pkey_(std::exchange(other.pkey_, nullptr)),
      alg_(other.alg_),
      kid_(std::move(other.kid_)),
      public_(std::move(other.public_)) {}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(pkey_);
    pkey_ = std::exchange(other.pkey_, nullptr);
    alg_ = other.alg_;
    kid_ = std::move(other.kid_);
    public_ = std::move(other.public_);
  }
  return *this;
}

Result<SigningKey> SigningKey::generate(Alg alg, std::string kid, int rsa_bits) {
  EVP_PKEY* raw = nullptr;
  switch (alg) {
    case Alg::RS256:
    case Alg::RS384:
    case Alg::RS512:
    case Alg::PS256:
    case Alg::PS384:
    case Alg::PS512:
      if (rsa_bits < 2048 || rsa_bits > 16384) return fail(Errc::InvalidArgument, "RSA keys must have 2048..16384 bits");
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits));
      break;
    case Alg::ES256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Alg::ES384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case Alg::ES512:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
      break;
    case Alg::EdDSA:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (raw == nullptr) return crypto_failure("key generation failed");
  SigningKey key;
  key.pkey_ = raw;
  key.alg_ = alg;
  key.kid_ = std::move(kid);
  auto pub = PublicKey::from_jwk(key.public_jwk());
  if (!pub) return fail(Errc::CryptoFailure, "generated key unusable: " + pub.error().detail);
  key.public_ = std::move(*pub);
  return key;
}

Result<SigningKey> SigningKey::from_pem(std::string_view pem, Alg alg, std::string kid) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return crypto_failure("BIO_new_mem_buf failed");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (raw == nullptr) {
    ERR_clear_error();
    return fail(Errc::ConfigInvalid, "not a PEM private key");
  }
  SigningKey key;
  key.pkey_ = raw;
  key.alg_ = alg;
  key.kid_ = std::move(kid);
  auto info = internal::inspect(raw);
  if (!info) return fail(Errc::ConfigInvalid, "private key unusable: " + info.error().detail);
  if (!family_fits(alg, *info))
    return fail(Errc::ConfigInvalid, "private key type does not fit alg " + std::string(to_string(alg)));
  auto pub = PublicKey::from_jwk(key.public_jwk());
  if (!pub) return fail(Errc::ConfigInvalid, "private key unusable: " + pub.error().detail);
  key.public_ = std::move(*pub);
  return key;
}

std::string SigningKey::private_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  std::string out;
  if (PEM_write_bio_PrivateKey(bio, pkey_, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len > 0) out.assign(data, static_cast<std::size_t>(len));
  }
  BIO_free(bio);
  return out;
}

nlohmann::json SigningKey::public_jwk() const {
  json jwk = json::object();
  auto info = internal::inspect(pkey_);
  if (!info) return jwk;
  switch (info->type) {
    case KeyType::RSA:
      jwk["kty"] = "RSA";
      jwk["n"] = base::base64url_encode(bn_param(pkey_, OSSL_PKEY_PARAM_RSA_N));
      jwk["e"] = base::base64url_encode(bn_param(pkey_, OSSL_PKEY_PARAM_RSA_E));
      break;
    case KeyType::EC: {
      const int width = static_cast<int>(internal::field_bytes(info->curve));
      jwk["kty"] = "EC";
      jwk["crv"] = internal::curve_jwk_name(info->curve);
      jwk["x"] = base::base64url_encode(bn_param(pkey_, OSSL_PKEY_PARAM_EC_PUB_X, width));
      jwk["y"] = base::base64url_encode(bn_param(pkey_, OSSL_PKEY_PARAM_EC_PUB_Y, width));
      break;
    }
    case KeyType::OKP: {
      std::string x(32, '\0');
      std::size_t len = x.size();
      if (EVP_PKEY_get_raw_public_key(pkey_, reinterpret_cast<unsigned char*>(x.data()), &len) != 1) return jwk;
      x.resize(len);
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = base::base64url_encode(x);
      break;
    }
  }
  if (!kid_.empty()) jwk["kid"] = kid_;
  jwk["alg"] = std::string(to_string(alg_));
  jwk["use"] = "sig";
  return jwk;
}

std::shared_ptr<const PublicKey> SigningKey::public_key() const { return public_; }

Result<std::string> SigningKey::sign(std::string_view signing_input) const { return sign_as(alg_, signing_input); }

Result<std::string> SigningKey::sign_as(Alg alg, std::string_view signing_input) const {
  auto info = internal::inspect(pkey_);
  if (!info) return fail(Errc::CryptoFailure, info.error().detail);
  if (!family_fits(alg, *info))
    return fail(Errc::InvalidArgument, "alg " + std::string(to_string(alg)) + " does not fit this key");
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, internal::digest_name(alg), nullptr, nullptr, pkey_, nullptr) != 1)
    return crypto_failure("EVP_DigestSignInit failed");
  if (internal::is_pss(alg) &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, internal::digest_name(alg), nullptr) != 1))
    return crypto_failure("RSA-PSS parameters rejected");
  std::size_t len = 0;
  const auto* in = ossl::bytes(signing_input);
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, signing_input.size()) != 1) return crypto_failure("EVP_DigestSign failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, signing_input.size()) != 1)
    return crypto_failure("EVP_DigestSign failed");
  sig.resize(len);
  if (!internal::is_ecdsa(alg)) return sig;
  // OpenSSL produces DER; JWS wants R||S, each left-padded to the field size (RFC 7518 §3.4).
  const auto* p = ossl::bytes(sig);
  ossl::EcdsaSig parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!parsed) return crypto_failure("could not decode the ECDSA signature");
  const int width = static_cast<int>(internal::field_bytes(info->curve));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(parsed.get(), &r, &s);
  std::string raw = ossl::bn_bytes(r, width) + ossl::bn_bytes(s, width);
  if (raw.size() != 2 * static_cast<std::size_t>(width)) return crypto_failure("ECDSA signature too long");
  return raw;
}

Result<std::string> sign_jwt(const SigningKey& key, const nlohmann::json& claims, std::string_view typ,
                             const nlohmann::json& extra_header) {
  if (!claims.is_object()) return fail(Errc::InvalidArgument, "JWT claims must be a JSON object");
  if (!extra_header.is_object()) return fail(Errc::InvalidArgument, "extra header must be a JSON object");
  json header = json::object();
  header["alg"] = std::string(to_string(key.alg()));
  if (!key.kid().empty()) header["kid"] = key.kid();
  if (!typ.empty()) header["typ"] = std::string(typ);
  for (const auto& [name, value] : extra_header.items()) header[name] = value;
  std::string header_text, claims_text;
  try {
    header_text = header.dump();
    claims_text = claims.dump();
  } catch (const json::exception&) {
    return fail(Errc::InvalidArgument, "JWT header or claims hold invalid UTF-8");
  }
  std::string signing_input = base::base64url_encode(header_text) + "." + base::base64url_encode(claims_text);
  auto sig = key.sign(signing_input);
  if (!sig) return tl::unexpected(sig.error());
  return signing_input + "." + base::base64url_encode(*sig);
}

nlohmann::json make_jwks(const std::vector<nlohmann::json>& public_jwks) {
  json keys = json::array();
  for (const auto& jwk : public_jwks) keys.push_back(jwk);
  return json{{"keys", std::move(keys)}};
}

}  // namespace oauthdemo::jose
