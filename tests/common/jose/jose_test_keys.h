#pragma once
// Shared by the tests in tests/common/jose: keys generated once per process (never committed),
// raw token builders that can express what sign_jwt refuses to (duplicate members, odd headers),
// and the standard valid claims around kSomeInstant.
#include <openssl/evp.h>

#include <map>
#include <string>
#include <string_view>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/base/base64url.h"
#include "common/jose/jwks.h"
#include "common/jose/sign.h"
#include "common/jose/verify.h"
#include "support/fakes.h"

namespace oauthdemo::jose::test {

using json = nlohmann::json;

inline const std::string kIss = "https://tenant.example.auth0.com/";
inline const std::string kAud = "https://api.example.com";
inline const SystemTime kNow = oauthdemo::testing::kSomeInstant;
inline const int64_t kNowS = to_unix(oauthdemo::testing::kSomeInstant);

// One key per (alg, kid), generated on first use and kept for the whole test run.
inline const SigningKey& key_for(Alg alg, const std::string& kid) {
  static std::map<std::pair<Alg, std::string>, SigningKey> cache;
  auto it = cache.find({alg, kid});
  if (it == cache.end()) {
    auto generated = SigningKey::generate(alg, kid);
    REQUIRE(generated);
    it = cache.emplace(std::make_pair(alg, kid), std::move(*generated)).first;
  }
  return it->second;
}
inline const SigningKey& rsa1() { return key_for(Alg::RS256, "rsa1"); }
inline const SigningKey& ec1() { return key_for(Alg::ES256, "ec1"); }
inline const SigningKey& ed1() { return key_for(Alg::EdDSA, "ed1"); }

inline std::string b64(std::string_view s) { return base::base64url_encode(s); }

// header.payload.signature over exactly the given JSON texts, signed with `key` as `alg`.
inline std::string raw_token(std::string_view header_text, std::string_view payload_text, const SigningKey& key,
                             Alg alg) {
  const std::string input = b64(header_text) + "." + b64(payload_text);
  auto sig = key.sign_as(alg, input);
  REQUIRE(sig);
  return input + "." + b64(*sig);
}

inline json valid_claims() {
  return json{{"iss", kIss},         {"aud", json::array({kAud, kIss + "userinfo"})},
              {"sub", "auth0|u1"},   {"iat", kNowS - 10},
              {"exp", kNowS + 3600}, {"scope", "openid read:messages"}};
}

inline json header_for(const SigningKey& key, Alg alg) {
  return json{{"alg", std::string(to_string(alg))}, {"kid", key.kid()}, {"typ", "JWT"}};
}

inline std::string token(const json& header, const json& claims, const SigningKey& key, Alg alg) {
  return raw_token(header.dump(), claims.dump(), key, alg);
}
inline std::string token(const json& claims, const SigningKey& key = rsa1()) {
  return token(header_for(key, key.alg()), claims, key, key.alg());
}

inline Jwks standard_jwks() {
  auto parsed = Jwks::parse(make_jwks({rsa1().public_jwk(), ec1().public_jwk(), ed1().public_jwk()}).dump());
  REQUIRE(parsed);
  return std::move(*parsed);
}

inline VerifyPolicy standard_policy() {
  VerifyPolicy p;
  p.issuer = kIss;
  p.audiences = {kAud};
  p.allowed_algs = {Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA};
  p.leeway = Seconds{30};
  return p;
}

// The standard key set and policy (ISS, AUD, allow-list RS256/PS256/ES256/EdDSA, leeway 30 s).
struct Fixture {
  Jwks keys = standard_jwks();
  VerifyPolicy policy = standard_policy();

  Result<VerifiedJwt> verify(const std::string& compact) const { return verify_jwt(compact, keys, policy, kNow); }

  // Asserts the exact reason and that the human detail never echoes the token or its parts.
  Error expect_reject(const std::string& compact, Errc code) const {
    auto r = verify(compact);
    REQUIRE_MESSAGE(!r, "token unexpectedly accepted");
    CHECK_MESSAGE(r.error().code == code, "got " << to_string(r.error().code) << ": " << r.error().detail);
    const auto last_dot = compact.rfind('.');
    if (last_dot != std::string::npos && compact.size() - last_dot > 8)
      CHECK(r.error().detail.find(compact.substr(last_dot + 1)) == std::string::npos);
    if (compact.size() > 8) CHECK(r.error().detail.find(compact) == std::string::npos);
    return r.error();
  }
};

inline std::string signature_of(const std::string& compact) { return compact.substr(compact.rfind('.') + 1); }
inline std::string without_signature(const std::string& compact) { return compact.substr(0, compact.rfind('.')); }
inline std::string with_signature(const std::string& compact, std::string_view raw_sig) {
  return without_signature(compact) + "." + b64(raw_sig);
}

inline json claims_with(const char* name, json value) {
  json c = valid_claims();
  c[name] = std::move(value);
  return c;
}
inline json claims_without(const char* name) {
  json c = valid_claims();
  c.erase(name);
  return c;
}
inline json rsa_header_with(const char* name, json value) {
  json h = header_for(rsa1(), Alg::RS256);
  h[name] = std::move(value);
  return h;
}

}  // namespace oauthdemo::jose::test
