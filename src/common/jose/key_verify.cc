// PublicKey::verify: the EVP_DigestVerify side of JWS (RFC 7518 §3.3-3.5, RFC 8037 §3.1).
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

#include "common/jose/jwk.h"
#include "common/jose/key_internal.h"
#include "common/jose/ossl.h"

namespace oauthdemo::jose {
namespace internal {

constexpr std::size_t kAlgCount = 10;

// OpenSSL 3 spends a large share of each RSA verify in EVP_DigestVerifyInit (provider lookups,
// context allocation). We initialise one context per (key, alg) once and EVP_MD_CTX_copy_ex it
// per call. The templates are never used directly, only copied (a read), so they are shared by
// all threads; creation is guarded by a mutex and published through an atomic pointer.
struct VerifyCache {
  std::mutex mu;
  std::array<std::atomic<EVP_MD_CTX*>, kAlgCount> templates{};
  std::array<std::atomic<bool>, kAlgCount> no_template{};  // copying unsupported: init per call

  ~VerifyCache() {
    for (auto& t : templates) EVP_MD_CTX_free(t.load());
  }
};

VerifyCache* create_verify_cache() { return new VerifyCache(); }
void destroy_verify_cache(VerifyCache* cache) { delete cache; }

const char* digest_name(Alg alg) {
  switch (alg) {
    case Alg::RS256:
    case Alg::PS256:
    case Alg::ES256:
      return "SHA256";
    case Alg::RS384:
    case Alg::PS384:
    case Alg::ES384:
      return "SHA384";
    case Alg::RS512:
    case Alg::PS512:
    case Alg::ES512:
      return "SHA512";
    case Alg::EdDSA:
      return nullptr;
  }
  return nullptr;
}

bool is_pss(Alg alg) { return alg == Alg::PS256 || alg == Alg::PS384 || alg == Alg::PS512; }
bool is_ecdsa(Alg alg) { return alg == Alg::ES256 || alg == Alg::ES384 || alg == Alg::ES512; }

namespace {

// Initialises `ctx` for verifying `alg` with `pkey`; RSA-PSS pinned to RFC 7518 §3.5 parameters
// (OpenSSL's default would accept any salt length).
bool init_verify(EVP_MD_CTX* ctx, EVP_PKEY* pkey, Alg alg) {
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit_ex(ctx, &pctx, digest_name(alg), nullptr, nullptr, pkey, nullptr) != 1) return false;
  if (is_pss(alg)) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, digest_name(alg), nullptr) != 1)
      return false;
  }
  return true;
}

// The group order n of each NIST curve, big-endian, padded to the field size (for the 1 <= r,s < n
// check of FIPS 186-4 §6.4; OpenSSL checks it too, we do not rely on that alone: CVE-2022-21449).
struct CurveOrders {
  std::string p256, p384, p521;
  CurveOrders() {
    p256 = order(NID_X9_62_prime256v1, 32);
    p384 = order(NID_secp384r1, 48);
    p521 = order(NID_secp521r1, 66);
  }
  static std::string order(int nid, int width) {
    EC_GROUP* group = EC_GROUP_new_by_curve_name(nid);
    if (group == nullptr) return {};
    std::string out = ossl::bn_bytes(EC_GROUP_get0_order(group), width);
    EC_GROUP_free(group);
    return out;
  }
  const std::string& of(Curve c) const { return c == Curve::P256 ? p256 : c == Curve::P384 ? p384 : p521; }
};

const CurveOrders& curve_orders() {
  static const CurveOrders orders;
  return orders;
}

bool in_scalar_range(std::string_view v, const std::string& order) {
  if (order.size() != v.size()) return false;
  bool nonzero = false;
  for (char c : v) nonzero = nonzero || c != '\0';
  return nonzero && std::memcmp(v.data(), order.data(), v.size()) < 0;
}

// JWS ECDSA signatures are R||S of fixed length (RFC 7518 §3.4); OpenSSL wants DER.
Result<std::string> ecdsa_raw_to_der(std::string_view raw, Curve curve) {
  const std::size_t half = field_bytes(curve);
  if (raw.size() != 2 * half)
    return fail(Errc::TokenBadSignature, "ECDSA signature must be " + std::to_string(2 * half) + " bytes (R||S), got " +
                                             std::to_string(raw.size()));
  const auto r = raw.substr(0, half);
  const auto s = raw.substr(half);
  const auto& order = curve_orders().of(curve);
  if (!in_scalar_range(r, order) || !in_scalar_range(s, order))
    return fail(Errc::TokenBadSignature, "ECDSA signature value out of range");
  ossl::EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* bn_r = BN_bin2bn(ossl::bytes(r), static_cast<int>(r.size()), nullptr);
  BIGNUM* bn_s = BN_bin2bn(ossl::bytes(s), static_cast<int>(s.size()), nullptr);
  if (!sig || bn_r == nullptr || bn_s == nullptr || ECDSA_SIG_set0(sig.get(), bn_r, bn_s) != 1) {
    BN_free(bn_r);
    BN_free(bn_s);
    return fail(Errc::CryptoFailure, "could not build an ECDSA signature");
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return fail(Errc::CryptoFailure, "could not encode an ECDSA signature");
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return fail(Errc::CryptoFailure, "could not encode an ECDSA signature");
  return der;
}

// A per-thread scratch context the template is copied into (EVP_MD_CTX_copy_ex resets it first).
EVP_MD_CTX* scratch_ctx() {
  thread_local ossl::MdCtx ctx(EVP_MD_CTX_new());
  return ctx.get();
}

}  // namespace
}  // namespace internal

Result<void> PublicKey::verify(Alg alg, std::string_view signing_input, std::string_view signature) const {
  using namespace internal;
  if (!accepts(alg))
    return fail(Errc::TokenKeyMismatch, "alg " + std::string(to_string(alg)) + " does not fit the key");
  std::string der;
  if (is_ecdsa(alg)) {
    auto converted = ecdsa_raw_to_der(signature, curve_);
    if (!converted) return tl::unexpected(converted.error());
    der = std::move(*converted);
    signature = der;
  }
  EVP_MD_CTX* ctx = scratch_ctx();
  if (ctx == nullptr) return fail(Errc::CryptoFailure, "EVP_MD_CTX_new failed");
  const auto index = static_cast<std::size_t>(alg);
  bool ready = false;
  if (cache_ != nullptr && !cache_->no_template[index].load(std::memory_order_acquire)) {
    EVP_MD_CTX* tmpl = cache_->templates[index].load(std::memory_order_acquire);
    if (tmpl == nullptr) {
      std::lock_guard lock(cache_->mu);
      tmpl = cache_->templates[index].load(std::memory_order_acquire);
      if (tmpl == nullptr && !cache_->no_template[index].load()) {
        ossl::MdCtx fresh(EVP_MD_CTX_new());
        // Probe once that copying works for this algorithm (providers without dupctx cannot).
        if (fresh && init_verify(fresh.get(), pkey_, alg) && EVP_MD_CTX_copy_ex(ctx, fresh.get()) == 1) {
          tmpl = fresh.release();
          cache_->templates[index].store(tmpl, std::memory_order_release);
        } else {
          cache_->no_template[index].store(true, std::memory_order_release);
        }
      }
    }
    ready = tmpl != nullptr && EVP_MD_CTX_copy_ex(ctx, tmpl) == 1;
  }
  if (!ready) {
    EVP_MD_CTX_reset(ctx);
    if (!init_verify(ctx, pkey_, alg)) return fail(Errc::CryptoFailure, "EVP_DigestVerifyInit failed");
  }
  // This context is used for exactly one verification: let EVP_DigestVerifyFinal finish in place
  // instead of duplicating the provider context first (OpenSSL 3 does that to allow reuse).
  EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
  const int rc = EVP_DigestVerify(ctx, ossl::bytes(signature), signature.size(), ossl::bytes(signing_input),
                                  signing_input.size());
  if (rc != 1) {
    ERR_clear_error();  // a bad signature is an answer, not an OpenSSL failure to keep queued
    return fail(Errc::TokenBadSignature, "signature verification failed");
  }
  return {};
}

}  // namespace oauthdemo::jose
