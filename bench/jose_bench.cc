// Micro-benchmark: full JWT validation (decode, strict JSON, key lookup, signature, claims)
// against OpenSSL's bare EVP_DigestVerify on the same key and the same signing input.
// Run from a Release build without sanitizers: scripts/bench-micro.sh.
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include "common/base/base64url.h"
#include "common/jose/jwks.h"
#include "common/jose/sign.h"
#include "common/jose/verify.h"

namespace {

using namespace oauthdemo;
using namespace oauthdemo::jose;
using json = nlohmann::json;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
const std::string kIss = "https://tenant.example.auth0.com/";
const std::string kAud = "https://api.example.com";

// An Auth0-style access token's claims (the RS256 token is ~850 bytes, its signing input ~500).
json realistic_claims() {
  return json{{"iss", kIss},
              {"sub", "auth0|64f1c0ffee0123456789abcd"},
              {"aud", json::array({kAud, kIss + "userinfo"})},
              {"iat", kNow - 10},
              {"exp", kNow + 86400},
              {"azp", "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"},
              {"scope", "openid profile email read:messages write:messages"},
              {"permissions", json::array({"read:messages", "write:messages"})}};
}

struct Fixture {
  SigningKey key;
  Jwks keys;
  VerifyPolicy policy;
  std::string token;
  std::string signing_input;
  std::string signature;
};

Fixture make_fixture(Alg alg, const char* kid) {
  auto key = SigningKey::generate(alg, kid);
  if (!key) std::abort();
  auto keys = Jwks::parse(make_jwks({key->public_jwk()}).dump());
  if (!keys) std::abort();
  VerifyPolicy policy;
  policy.issuer = kIss;
  policy.audiences = {kAud};
  policy.allowed_algs = {Alg::RS256, Alg::ES256, Alg::EdDSA};
  auto token = sign_jwt(*key, realistic_claims());
  if (!token) std::abort();
  auto decoded = decode_jws(*token);
  if (!decoded || !verify_jwt(*token, *keys, policy, from_unix(kNow))) std::abort();
  return Fixture{std::move(*key), std::move(*keys), std::move(policy), *token, decoded->signing_input,
                 decoded->signature};
}

const Fixture& fixture(Alg alg) {
  static const Fixture rsa = make_fixture(Alg::RS256, "rsa1");
  static const Fixture ec = make_fixture(Alg::ES256, "ec1");
  static const Fixture ed = make_fixture(Alg::EdDSA, "ed1");
  return alg == Alg::RS256 ? rsa : alg == Alg::ES256 ? ec : ed;
}

const unsigned char* bytes(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// What a naive OpenSSL 3 caller does: a fresh context and EVP_DigestVerifyInit per signature.
// For ES256 the signature is converted from R||S to DER once, outside the loop (in its favour).
void bare_fresh(benchmark::State& state, Alg alg, const EVP_MD* md, const std::string& sig) {
  const Fixture& f = fixture(alg);
  EVP_PKEY* pkey = f.key.public_key()->pkey();
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pkey);
    const int rc = EVP_DigestVerify(ctx, bytes(sig), sig.size(), bytes(f.signing_input), f.signing_input.size());
    EVP_MD_CTX_free(ctx);
    if (rc != 1) state.SkipWithError("bare verify failed");
  }
  state.SetLabel(std::to_string(f.signing_input.size()) + "-byte signing input");
}

std::string der_signature(const Fixture& f) {
  // Let OpenSSL produce a DER ECDSA signature over the same input with the same key.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, f.key.pkey());
  std::size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, bytes(f.signing_input), f.signing_input.size());
  std::string der(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len, bytes(f.signing_input),
                 f.signing_input.size());
  EVP_MD_CTX_free(ctx);
  der.resize(len);
  return der;
}

void BM_BareRsa2048Verify(benchmark::State& state) {
  bare_fresh(state, Alg::RS256, EVP_sha256(), fixture(Alg::RS256).signature);
}
BENCHMARK(BM_BareRsa2048Verify);

// Best case for OpenSSL 3: one pre-initialised context per key, copied per signature.
void BM_BareRsa2048VerifyPreInit(benchmark::State& state) {
  const Fixture& f = fixture(Alg::RS256);
  EVP_MD_CTX* tmpl = EVP_MD_CTX_new();
  EVP_DigestVerifyInit(tmpl, nullptr, EVP_sha256(), nullptr, f.key.public_key()->pkey());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  for (auto _ : state) {
    EVP_MD_CTX_copy_ex(ctx, tmpl);
    const int rc =
        EVP_DigestVerify(ctx, bytes(f.signature), f.signature.size(), bytes(f.signing_input), f.signing_input.size());
    if (rc != 1) state.SkipWithError("bare verify failed");
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_CTX_free(tmpl);
}
BENCHMARK(BM_BareRsa2048VerifyPreInit);

// Another low-level variant: SHA-256 once, then EVP_PKEY_verify on a context kept initialised.
void BM_BareRsa2048VerifyPkeyCtx(benchmark::State& state) {
  const Fixture& f = fixture(Alg::RS256);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_pkey(nullptr, f.key.public_key()->pkey(), nullptr);
  EVP_PKEY_verify_init(pctx);
  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
  EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256());
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  for (auto _ : state) {
    unsigned char digest[32];
    unsigned int len = 0;
    EVP_Digest(f.signing_input.data(), f.signing_input.size(), digest, &len, sha256, nullptr);
    if (EVP_PKEY_verify(pctx, bytes(f.signature), f.signature.size(), digest, len) != 1)
      state.SkipWithError("bare verify failed");
  }
  EVP_MD_free(sha256);
  EVP_PKEY_CTX_free(pctx);
}
BENCHMARK(BM_BareRsa2048VerifyPkeyCtx);

void BM_VerifySignatureRS256(benchmark::State& state) {
  const Fixture& f = fixture(Alg::RS256);
  const PublicKey& key = *f.keys.sole_key();
  for (auto _ : state)
    if (!verify_signature(f.signing_input, f.signature, key, Alg::RS256)) state.SkipWithError("verify failed");
}
BENCHMARK(BM_VerifySignatureRS256);

void full(benchmark::State& state, Alg alg) {
  const Fixture& f = fixture(alg);
  const SystemTime now = from_unix(kNow);
  for (auto _ : state) {
    auto r = verify_jwt(f.token, f.keys, f.policy, now);
    if (!r) state.SkipWithError("verify_jwt failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::to_string(f.token.size()) + "-byte token");
}

void BM_VerifyJwtRS256(benchmark::State& state) { full(state, Alg::RS256); }
BENCHMARK(BM_VerifyJwtRS256);

// Everything but the signature: decode + strict JSON of header and claims + claim checks.
void BM_DecodeAndClaimsRS256(benchmark::State& state) {
  const Fixture& f = fixture(Alg::RS256);
  const SystemTime now = from_unix(kNow);
  for (auto _ : state) {
    auto d = decode_jws(f.token);
    auto claims = parse_strict_object(d->payload_bytes);
    auto ok = check_claims(*claims, f.policy, now);
    if (!ok) state.SkipWithError("claims failed");
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_DecodeAndClaimsRS256);

// The strict JSON parse of the claims alone, and nlohmann's own (non-strict) parse for reference.
void BM_ParseClaimsStrict(benchmark::State& state) {
  const Fixture& f = fixture(Alg::RS256);
  const std::string payload = decode_jws(f.token)->payload_bytes;
  for (auto _ : state) benchmark::DoNotOptimize(parse_strict_object(payload));
}
BENCHMARK(BM_ParseClaimsStrict);

void BM_ParseClaimsNlohmann(benchmark::State& state) {
  const Fixture& f = fixture(Alg::RS256);
  const std::string payload = decode_jws(f.token)->payload_bytes;
  for (auto _ : state) benchmark::DoNotOptimize(json::parse(payload));
}
BENCHMARK(BM_ParseClaimsNlohmann);

// The daemon's claims echo for /hello: serialising the verified claims again (what it did per
// uncached request) against keeping the verified payload text (VerifiedJwt::claims_json).
void BM_DumpClaims(benchmark::State& state) {
  const Fixture& f = fixture(Alg::RS256);
  const auto claims = *parse_strict_object(decode_jws(f.token)->payload_bytes);
  for (auto _ : state) benchmark::DoNotOptimize(claims.dump(-1, ' ', false, json::error_handler_t::replace));
}
BENCHMARK(BM_DumpClaims);

void BM_BareEs256Verify(benchmark::State& state) {
  bare_fresh(state, Alg::ES256, EVP_sha256(), der_signature(fixture(Alg::ES256)));
}
BENCHMARK(BM_BareEs256Verify);

void BM_VerifyJwtES256(benchmark::State& state) { full(state, Alg::ES256); }
BENCHMARK(BM_VerifyJwtES256);

void BM_BareEd25519Verify(benchmark::State& state) {
  bare_fresh(state, Alg::EdDSA, nullptr, fixture(Alg::EdDSA).signature);
}
BENCHMARK(BM_BareEd25519Verify);

void BM_VerifyJwtEdDSA(benchmark::State& state) { full(state, Alg::EdDSA); }
BENCHMARK(BM_VerifyJwtEdDSA);

}  // namespace

BENCHMARK_MAIN();
