#include "common/jose/jwk.h"

#include <openssl/core_names.h>

#include <array>

#include "common/base/base64url.h"
#include "common/jose/key_internal.h"
#include "common/jose/ossl.h"

namespace oauthdemo::jose {
namespace {

using json = nlohmann::json;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;        // bounds the cost of one verify
constexpr std::size_t kMaxExponentBytes = 4;  // e <= 2^32 - 1; real keys use 65537

tl::unexpected<Error> reject(std::string why) { return fail(Errc::JwksKeyRejected, std::move(why)); }

// A base64url member that must be a non-empty string (RFC 7518 §6).
Result<std::string> b64_member(const json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end()) return reject(std::string("member \"") + name + "\" is missing");
  if (!it->is_string()) return reject(std::string("member \"") + name + "\" is not a string");
  auto decoded = base::base64url_decode(it->get_ref<const std::string&>());
  if (!decoded) return reject(std::string("member \"") + name + "\" is not strict base64url");
  if (decoded->empty()) return reject(std::string("member \"") + name + "\" is empty");
  return decoded;
}

Result<ossl::Pkey> rsa_from_jwk(const json& jwk) {
  auto n = b64_member(jwk, "n");
  if (!n) return tl::unexpected(n.error());
  auto e = b64_member(jwk, "e");
  if (!e) return tl::unexpected(e.error());
  // RFC 7518 §6.3.1: the minimum number of octets, so no leading zero octets.
  if ((*n)[0] == '\0') return reject("RSA modulus \"n\" has leading zero octets");
  if ((*e)[0] == '\0') return reject("RSA exponent \"e\" has leading zero octets");
  if (e->size() > kMaxExponentBytes) return reject("RSA exponent \"e\" is too large");
  const auto e_last = static_cast<unsigned char>(e->back());
  if ((e_last & 1) == 0) return reject("RSA exponent \"e\" is even");
  if (e->size() == 1 && e_last == 1) return reject("RSA exponent \"e\" is 1");
  if (n->size() * 8 > static_cast<std::size_t>(kMaxRsaBits)) return reject("RSA modulus is larger than 16384 bits");

  ossl::Bn bn_n(BN_bin2bn(ossl::bytes(*n), static_cast<int>(n->size()), nullptr));
  ossl::Bn bn_e(BN_bin2bn(ossl::bytes(*e), static_cast<int>(e->size()), nullptr));
  ossl::ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return fail(Errc::CryptoFailure, "could not build RSA key parameters");
  ossl::Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return reject("RSA key could not be imported");
  return ossl::Pkey(raw);
}

Result<ossl::Pkey> ec_from_jwk(const json& jwk, Curve curve) {
  const std::size_t field = internal::field_bytes(curve);
  auto x = b64_member(jwk, "x");
  if (!x) return tl::unexpected(x.error());
  auto y = b64_member(jwk, "y");
  if (!y) return tl::unexpected(y.error());
  // RFC 7518 §6.2.1.2/3: exactly the field size, leading zeros included.
  if (x->size() != field || y->size() != field)
    return reject("EC coordinates must be " + std::to_string(field) + " bytes for " +
                  std::string(internal::curve_jwk_name(curve)));
  std::string point = "\x04" + *x + *y;
  ossl::ParamBld bld(OSSL_PARAM_BLD_new());
  const char* group = internal::curve_ossl_name(curve);
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return fail(Errc::CryptoFailure, "could not build EC key parameters");
  ossl::Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return reject("EC point is not on the curve " + std::string(internal::curve_jwk_name(curve)));
  return ossl::Pkey(raw);
}

Result<ossl::Pkey> okp_from_jwk(const json& jwk) {
  auto x = b64_member(jwk, "x");
  if (!x) return tl::unexpected(x.error());
  if (x->size() != 32) return reject("Ed25519 public key \"x\" must be 32 bytes");
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, ossl::bytes(*x), x->size());
  if (raw == nullptr) return reject("Ed25519 key could not be imported");
  return ossl::Pkey(raw);
}

Result<Curve> curve_member(const json& jwk, std::string_view kty) {
  const auto it = jwk.find("crv");
  if (it == jwk.end() || !it->is_string()) return reject(std::string(kty) + " key without a \"crv\" string");
  const auto& crv = it->get_ref<const std::string&>();
  for (Curve c : {Curve::P256, Curve::P384, Curve::P521, Curve::Ed25519}) {
    if (crv == internal::curve_jwk_name(c)) {
      const bool is_ec = c != Curve::Ed25519;
      if (is_ec != (kty == "EC")) break;
      return c;
    }
  }
  return reject("unsupported " + std::string(kty) + " curve");
}

// use, key_ops and alg (RFC 7517 §4.2-4.4): this must be a signature verification key.
Result<std::optional<Alg>> usage_members(const json& jwk) {
  if (const auto it = jwk.find("use"); it != jwk.end()) {
    if (!it->is_string()) return reject("\"use\" is not a string");
    if (it->get_ref<const std::string&>() != "sig") return reject("\"use\" is not \"sig\"");
  }
  if (const auto it = jwk.find("key_ops"); it != jwk.end()) {
    if (!it->is_array()) return reject("\"key_ops\" is not an array");
    bool verify = false;
    for (const auto& op : *it) {
      if (!op.is_string()) return reject("\"key_ops\" holds a non-string");
      verify = verify || op.get_ref<const std::string&>() == "verify";
    }
    if (!verify) return reject("\"key_ops\" does not include \"verify\"");
  }
  std::optional<Alg> declared;
  if (const auto it = jwk.find("alg"); it != jwk.end()) {
    if (!it->is_string()) return reject("\"alg\" is not a string");
    declared = alg_from_string(it->get_ref<const std::string&>());
    if (!declared) return reject("\"alg\" is not a supported signature algorithm");
  }
  return declared;
}

}  // namespace

PublicKey::PublicKey() = default;

PublicKey::~PublicKey() {
  internal::destroy_verify_cache(cache_);
  EVP_PKEY_free(pkey_);
}

bool PublicKey::accepts(Alg alg) const {
  if (declared_alg_ && *declared_alg_ != alg) return false;
  return internal::alg_fits(alg, type_, curve_);
}

Result<std::shared_ptr<const PublicKey>> PublicKey::from_jwk(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return reject("JWK is not a JSON object");
  std::string kid;
  if (const auto it = jwk.find("kid"); it != jwk.end()) {
    if (!it->is_string()) return reject("\"kid\" is not a string");
    kid = it->get<std::string>();
  }
  const auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) return reject("\"kty\" is missing or not a string");
  const auto& kty = kty_it->get_ref<const std::string&>();
  if (kty == "oct") return reject("symmetric (kty \"oct\") keys are never used");
  // A private or symmetric member means the publisher leaked a secret: refuse the key outright.
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
    if (jwk.contains(secret)) return reject(std::string("JWK carries the private member \"") + secret + "\"");
  auto declared = usage_members(jwk);
  if (!declared) return tl::unexpected(declared.error());

  Result<ossl::Pkey> pkey = reject("unsupported kty");
  if (kty == "RSA") {
    pkey = rsa_from_jwk(jwk);
  } else if (kty == "EC" || kty == "OKP") {
    auto curve = curve_member(jwk, kty);
    if (!curve) return tl::unexpected(curve.error());
    pkey = kty == "EC" ? ec_from_jwk(jwk, *curve) : okp_from_jwk(jwk);
  }
  if (!pkey) return tl::unexpected(pkey.error());
  return from_evp(pkey->get(), std::move(kid), *declared);
}

Result<std::shared_ptr<const PublicKey>> PublicKey::from_evp(EVP_PKEY* pkey, std::string kid,
                                                             std::optional<Alg> declared_alg) {
  if (pkey == nullptr) return fail(Errc::InvalidArgument, "no key");
  auto info = internal::inspect(pkey);
  if (!info) return tl::unexpected(info.error());
  if (declared_alg && !internal::alg_fits(*declared_alg, info->type, info->curve))
    return reject("\"alg\" " + std::string(to_string(*declared_alg)) + " does not fit the key type");
  // OpenSSL's own public-key validation: RSA modulus/exponent sanity, EC point on the curve.
  ossl::PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return reject("public key failed OpenSSL's validation");
  if (EVP_PKEY_up_ref(pkey) != 1) return fail(Errc::CryptoFailure, "EVP_PKEY_up_ref failed");
  std::shared_ptr<PublicKey> key(new PublicKey());
  key->pkey_ = pkey;
  key->kid_ = std::move(kid);
  key->type_ = info->type;
  key->curve_ = info->curve;
  key->bits_ = info->bits;
  key->declared_alg_ = declared_alg;
  key->cache_ = internal::create_verify_cache();
  return std::shared_ptr<const PublicKey>(std::move(key));
}

namespace internal {

bool alg_fits(Alg alg, KeyType type, Curve curve) {
  switch (alg) {
    case Alg::RS256:
    case Alg::RS384:
    case Alg::RS512:
    case Alg::PS256:
    case Alg::PS384:
    case Alg::PS512:
      return type == KeyType::RSA;
    case Alg::ES256:
      return type == KeyType::EC && curve == Curve::P256;
    case Alg::ES384:
      return type == KeyType::EC && curve == Curve::P384;
    case Alg::ES512:
      return type == KeyType::EC && curve == Curve::P521;
    case Alg::EdDSA:
      return type == KeyType::OKP && curve == Curve::Ed25519;
  }
  return false;
}

std::size_t field_bytes(Curve curve) {
  switch (curve) {
    case Curve::P256:
      return 32;
    case Curve::P384:
      return 48;
    case Curve::P521:
      return 66;
    case Curve::Ed25519:
      return 32;
    case Curve::None:
      return 0;
  }
  return 0;
}

const char* curve_jwk_name(Curve curve) {
  switch (curve) {
    case Curve::P256:
      return "P-256";
    case Curve::P384:
      return "P-384";
    case Curve::P521:
      return "P-521";
    case Curve::Ed25519:
      return "Ed25519";
    case Curve::None:
      return "";
  }
  return "";
}

const char* curve_ossl_name(Curve curve) {
  switch (curve) {
    case Curve::P256:
      return "prime256v1";
    case Curve::P384:
      return "secp384r1";
    case Curve::P521:
      return "secp521r1";
    case Curve::Ed25519:
      return "ED25519";
    case Curve::None:
      return "";
  }
  return "";
}

Result<KeyInfo> inspect(EVP_PKEY* pkey) {
  KeyInfo info;
  info.bits = EVP_PKEY_get_bits(pkey);
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      info.type = KeyType::RSA;
      if (info.bits < kMinRsaBits)
        return reject("RSA key has " + std::to_string(info.bits) + " bits; at least 2048 are required");
      if (info.bits > kMaxRsaBits) return reject("RSA modulus is larger than 16384 bits");
      break;
    case EVP_PKEY_EC: {
      info.type = KeyType::EC;
      std::array<char, 64> group{};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &len) != 1)
        return reject("EC key without a named curve");
      const std::string_view name(group.data(), len);
      if (name == "prime256v1" || name == "P-256")
        info.curve = Curve::P256;
      else if (name == "secp384r1" || name == "P-384")
        info.curve = Curve::P384;
      else if (name == "secp521r1" || name == "P-521")
        info.curve = Curve::P521;
      else
        return reject("unsupported EC curve");
      break;
    }
    case EVP_PKEY_ED25519:
      info.type = KeyType::OKP;
      info.curve = Curve::Ed25519;
      break;
    default:
      return reject("unsupported key type");
  }
  return info;
}

}  // namespace internal
}  // namespace oauthdemo::jose
