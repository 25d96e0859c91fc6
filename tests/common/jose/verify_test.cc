#include <doctest/doctest.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "jose_test_keys.h"

using namespace oauthdemo;
using namespace oauthdemo::jose;
using namespace oauthdemo::jose::test;

namespace {

std::string hex_to_bytes(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}
// The order n of P-256 (FIPS 186-4 D.1.2.3).
const std::string kP256Order = hex_to_bytes("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                    reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out, &len) != nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string public_pem(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PUBKEY(bio, pkey) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

// RSA-PSS with an explicit salt length, straight through OpenSSL (the library always uses the digest length).
std::string pss_sign(const SigningKey& key, std::string_view input, int saltlen) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  REQUIRE(EVP_DigestSignInit_ex(ctx, &pctx, "SHA256", nullptr, nullptr, key.pkey(), nullptr) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) == 1);
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  REQUIRE(EVP_DigestSign(ctx, nullptr, &len, in, input.size()) == 1);
  std::string sig(len, '\0');
  REQUIRE(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) == 1);
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return sig;
}

std::string raw_to_der(std::string_view raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const std::size_t half = raw.size() / 2;
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + half), static_cast<int>(half), nullptr);
  REQUIRE(ECDSA_SIG_set0(sig, r, s) == 1);
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  REQUIRE(len > 0);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

TEST_SUITE("jose::verify accepts") {
  TEST_CASE("a valid RS256, ES256 and EdDSA token, returning header and claims") {
    Fixture f;
    for (const SigningKey* key : {&rsa1(), &ec1(), &ed1()}) {
      CAPTURE(key->kid());
      auto r = f.verify(token(valid_claims(), *key));
      REQUIRE(r);
      CHECK(r->alg == key->alg());
      CHECK(r->kid == key->kid());
      CHECK(r->claims == valid_claims());
      CHECK(r->header["typ"] == "JWT");
    }
  }

  TEST_CASE("the claims' JSON text exactly as the token carried it") {
    Fixture f;
    const std::string t = token(valid_claims(), rsa1());
    const auto payload = t.substr(t.find('.') + 1, t.rfind('.') - t.find('.') - 1);
    auto r = f.verify(t);
    REQUIRE(r);
    CHECK(r->claims_json == *base::base64url_decode(payload));
    CHECK(json::parse(r->claims_json) == r->claims);
  }

  TEST_CASE("aud as a plain string, or with ours last in an array") {
    Fixture f;
    CHECK(f.verify(token(claims_with("aud", kAud))));
    CHECK(f.verify(token(claims_with("aud", json::array({"https://other", kAud})))));
  }

  TEST_CASE("no kid when the set holds exactly one key") {
    Fixture f;
    f.keys = Jwks::from_keys({rsa1().public_key()});
    json h{{"alg", "RS256"}};
    CHECK(f.verify(token(h, valid_claims(), rsa1(), Alg::RS256)));
  }

  TEST_CASE("the RFC 9864 name Ed25519 for an EdDSA key") {
    Fixture f;
    json h{{"alg", "Ed25519"}, {"kid", "ed1"}};
    auto r = f.verify(token(h, valid_claims(), ed1(), Alg::EdDSA));
    REQUIRE(r);
    CHECK(r->alg == Alg::EdDSA);
  }

  TEST_CASE("typ at+jwt in any case, with or without application/") {
    Fixture f;
    f.policy.required_typ = "at+jwt";
    for (const char* typ : {"at+jwt", "application/at+jwt", "application/AT+JWT", "AT+JWT"}) {
      CAPTURE(typ);
      CHECK(f.verify(token(rsa_header_with("typ", typ), valid_claims(), rsa1(), Alg::RS256)));
    }
  }

  TEST_CASE("exp may be absent when the policy allows it") {
    Fixture f;
    f.policy.exp = ExpPolicy::Optional;
    CHECK(f.verify(token(claims_without("exp"))));
  }

  TEST_CASE("fractional NumericDates") {
    Fixture f;
    CHECK(f.verify(token(claims_with("exp", static_cast<double>(kNowS) + 0.5))));
    auto r = f.verify(token(claims_with("exp", static_cast<double>(kNowS - 30) + 0.5)));
    CHECK(r);
  }
}

TEST_SUITE("jose::verify must-reject: structure and encoding") {
  TEST_CASE("oversized tokens are refused before parsing") {
    Fixture f;
    const std::string valid = token(valid_claims());
    f.policy.max_token_bytes = valid.size();
    CHECK(f.verify(valid));
    f.policy.max_token_bytes = valid.size() - 1;
    f.expect_reject(valid, Errc::TokenTooLarge);
    f.policy.max_token_bytes = kDefaultMaxTokenBytes;
    f.expect_reject(token(claims_with("pad", std::string(17000, 'x'))), Errc::TokenTooLarge);
    f.expect_reject(std::string(100000, '.'), Errc::TokenTooLarge);
  }

  TEST_CASE("segment count and empty segments") {
    Fixture f;
    const std::string t = token(valid_claims());
    const std::string h = t.substr(0, t.find('.'));
    const std::string p = t.substr(t.find('.') + 1, t.rfind('.') - t.find('.') - 1);
    const std::string s = signature_of(t);
    f.expect_reject(h + "." + p, Errc::TokenMalformed);
    f.expect_reject(h + "." + p + "." + s + ".x.y", Errc::TokenMalformed);
    f.expect_reject(t + ".", Errc::TokenMalformed);
    f.expect_reject("." + p + "." + s, Errc::TokenMalformed);
    f.expect_reject(h + ".." + s, Errc::TokenMalformed);
    f.expect_reject(h + "." + p + ".", Errc::TokenMalformed);
  }

  TEST_CASE("base64url: padding, foreign characters, trailing bits") {
    Fixture f;
    const std::string t = token(valid_claims());
    const std::string s = signature_of(t);
    f.expect_reject(t + "=", Errc::TokenBadBase64);
    f.expect_reject(without_signature(t) + "." + s.substr(0, 10) + "+" + s.substr(11), Errc::TokenBadBase64);
    f.expect_reject(without_signature(t) + "." + s.substr(0, 10) + "/" + s.substr(11), Errc::TokenBadBase64);
    f.expect_reject(without_signature(t) + "." + s.substr(0, 10) + " " + s.substr(11), Errc::TokenBadBase64);
    f.expect_reject("?" + t, Errc::TokenBadBase64);
    // 256 bytes -> 342 chars; the last char carries 4 unused bits, which must be zero.
    std::string tweaked = s;
    REQUIRE(tweaked.size() == 342);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    tweaked.back() = alphabet[alphabet.find(tweaked.back()) | 1];
    if (tweaked.back() == s.back()) tweaked.back() = alphabet[alphabet.find(s.back()) ^ 2];
    f.expect_reject(without_signature(t) + "." + tweaked, Errc::TokenBadBase64);
  }

  TEST_CASE("header and payload JSON strictness") {
    Fixture f;
    const std::string claims = valid_claims().dump();
    SUBCASE("duplicate header member") {
      f.expect_reject(raw_token(R"({"alg":"RS256","kid":"rsa1","kid":"rsa1"})", claims, rsa1(), Alg::RS256),
                      Errc::TokenDuplicateMember);
      f.expect_reject(raw_token(R"({"alg":"none","alg":"RS256","kid":"rsa1"})", claims, rsa1(), Alg::RS256),
                      Errc::TokenDuplicateMember);
    }
    SUBCASE("duplicate payload member, also escaped") {
      std::string dup = claims;
      dup.insert(1, R"("iss":"https://evil/",)");
      f.expect_reject(raw_token(header_for(rsa1(), Alg::RS256).dump(), dup, rsa1(), Alg::RS256),
                      Errc::TokenDuplicateMember);
      std::string escaped = claims;
      escaped.insert(1, R"("\u0069ss":"https://evil/",)");
      f.expect_reject(raw_token(header_for(rsa1(), Alg::RS256).dump(), escaped, rsa1(), Alg::RS256),
                      Errc::TokenDuplicateMember);
    }
    SUBCASE("payload nested 100 deep") {
      json c = valid_claims();
      std::string deep = c.dump();
      deep.pop_back();
      deep += R"(,"x":)" + std::string(100, '[') + std::string(100, ']') + "}";
      f.expect_reject(raw_token(header_for(rsa1(), Alg::RS256).dump(), deep, rsa1(), Alg::RS256), Errc::TokenTooDeep);
    }
    SUBCASE("payload is not an object") {
      for (const char* payload : {"[]", "\"str\"", "123", "null"})
        f.expect_reject(raw_token(header_for(rsa1(), Alg::RS256).dump(), payload, rsa1(), Alg::RS256),
                        Errc::TokenBadJson);
    }
    SUBCASE("invalid UTF-8 in the payload") {
      json c = valid_claims();
      std::string text = c.dump();
      text.insert(text.size() - 1, ",\"name\":\"\xff\"");
      f.expect_reject(raw_token(header_for(rsa1(), Alg::RS256).dump(), text, rsa1(), Alg::RS256), Errc::TokenBadJson);
    }
    SUBCASE("header not an object") {
      f.expect_reject(raw_token("[\"RS256\"]", claims, rsa1(), Alg::RS256), Errc::TokenBadJson);
    }
  }
}

TEST_SUITE("jose::verify must-reject: algorithms, keys and headers") {
  TEST_CASE("alg none in every spelling") {
    Fixture f;
    for (const char* alg : {"none", "None", "NONE", "nOnE", ""}) {
      CAPTURE(alg);
      auto e = f.expect_reject(token(rsa_header_with("alg", alg), valid_claims(), rsa1(), Alg::RS256),
                               Errc::TokenUnsupportedAlg);
      CHECK(e.detail.find("never accepted") != std::string::npos);
    }
    auto e = f.expect_reject(token(rsa_header_with("alg", "none"), valid_claims(), rsa1(), Alg::RS256),
                             Errc::TokenUnsupportedAlg);
    CHECK(e.detail == "alg \"none\" (unsecured JWS) is never accepted");
  }

  TEST_CASE("HS256 MAC'd with the RSA public key as the secret") {
    Fixture f;
    const std::string pem = public_pem(rsa1().pkey());
    const std::string input = b64(rsa_header_with("alg", "HS256").dump()) + "." + b64(valid_claims().dump());
    for (const std::string& secret : {pem, pem.substr(0, pem.size() - 1), rsa1().public_jwk().dump()}) {
      auto e = f.expect_reject(input + "." + b64(hmac_sha256(secret, input)), Errc::TokenUnsupportedAlg);
      CHECK(e.detail == "alg \"HS256\" (HMAC) is never accepted against public keys");
    }
  }

  TEST_CASE("an alg outside the allow-list, even validly signed") {
    Fixture f;
    const SigningKey& rs512 = key_for(Alg::RS512, "rsa512");
    f.keys = Jwks::from_keys({rs512.public_key()});
    f.expect_reject(token(valid_claims(), rs512), Errc::TokenUnsupportedAlg);
    f.policy.allowed_algs.push_back(Alg::RS512);
    CHECK(f.verify(token(valid_claims(), rs512)));
  }

  TEST_CASE("unknown kid, missing kid with several keys, non-string and over-long kid") {
    Fixture f;
    auto unknown = f.expect_reject(token(rsa_header_with("kid", "nope"), valid_claims(), rsa1(), Alg::RS256),
                                   Errc::TokenUnknownKid);
    CHECK(unknown.detail == "no usable key with kid \"nope\"");
    json no_kid = header_for(rsa1(), Alg::RS256);
    no_kid.erase("kid");
    auto missing = f.expect_reject(token(no_kid, valid_claims(), rsa1(), Alg::RS256), Errc::TokenKidMissing);
    CHECK(missing.detail == "token has no kid and the key set holds 3 keys");
    for (const json& kid : {json(1), json::object(), json::array({"rsa1"}), json(nullptr)})
      f.expect_reject(token(rsa_header_with("kid", kid), valid_claims(), rsa1(), Alg::RS256), Errc::TokenMalformed);
    f.expect_reject(token(rsa_header_with("kid", std::string(257, 'k')), valid_claims(), rsa1(), Alg::RS256),
                    Errc::TokenMalformed);
    f.expect_reject(token(rsa_header_with("kid", std::string(256, 'k')), valid_claims(), rsa1(), Alg::RS256),
                    Errc::TokenUnknownKid);
    f.expect_reject(token(rsa_header_with("kid", "../../../../dev/null"), valid_claims(), rsa1(), Alg::RS256),
                    Errc::TokenUnknownKid);
  }

  TEST_CASE("embedded keys and key URLs in the header") {
    Fixture f;
    const SigningKey& attacker = key_for(Alg::RS256, "attacker");
    json h = header_for(rsa1(), Alg::RS256);
    for (const auto& entry : {std::pair<const char*, json>{"jwk", attacker.public_jwk()},
                              {"jku", "http://127.0.0.1:9/evil.json"},
                              {"x5u", "http://127.0.0.1:9/cert.pem"},
                              {"x5c", json::array({"MIIB"})}}) {
      const char* name = entry.first;
      const json& value = entry.second;
      CAPTURE(name);
      json with = h;
      with[name] = value;
      auto e = f.expect_reject(token(with, valid_claims(), attacker, Alg::RS256), Errc::TokenEmbeddedKey);
      CHECK(e.detail == std::string("header \"") + name + "\" is not accepted; keys come from the JWKS");
      // Even when signed by the real key.
      f.expect_reject(token(with, valid_claims(), rsa1(), Alg::RS256), Errc::TokenEmbeddedKey);
    }
  }

  TEST_CASE("crit in any form, and b64") {
    Fixture f;
    for (const json& crit : {json::array({"exp"}), json::array(), json("b64"), json::array({"b64"})}) {
      CAPTURE(crit.dump());
      f.expect_reject(token(rsa_header_with("crit", crit), valid_claims(), rsa1(), Alg::RS256),
                      Errc::TokenCritUnsupported);
    }
    f.expect_reject(token(rsa_header_with("b64", false), valid_claims(), rsa1(), Alg::RS256), Errc::TokenCritUnsupported);
  }

  TEST_CASE("alg does not fit the key: family, curve, declared alg") {
    Fixture f;
    // ES256 header naming the RSA key, signed by the EC key.
    f.expect_reject(token(json{{"alg", "ES256"}, {"kid", "rsa1"}}, valid_claims(), ec1(), Alg::ES256),
                    Errc::TokenKeyMismatch);
    f.expect_reject(token(json{{"alg", "RS256"}, {"kid", "ec1"}}, valid_claims(), rsa1(), Alg::RS256),
                    Errc::TokenKeyMismatch);
    f.expect_reject(token(json{{"alg", "EdDSA"}, {"kid", "ec1"}}, valid_claims(), ed1(), Alg::EdDSA),
                    Errc::TokenKeyMismatch);
    // rsa1's JWK declares RS256, so PS256 (allowed, same family) is refused for it.
    auto e = f.expect_reject(token(json{{"alg", "PS256"}, {"kid", "rsa1"}}, valid_claims(), rsa1(), Alg::PS256),
                             Errc::TokenKeyMismatch);
    CHECK(e.detail == "alg PS256 does not fit the key with kid \"rsa1\"");
    // Curve: an ES256 token whose kid names a P-384 key.
    const SigningKey& p384 = key_for(Alg::ES384, "ec384");
    f.keys = Jwks::from_keys({p384.public_key(), rsa1().public_key()});
    f.expect_reject(token(json{{"alg", "ES256"}, {"kid", "ec384"}}, valid_claims(), ec1(), Alg::ES256),
                    Errc::TokenKeyMismatch);
  }

  TEST_CASE("header swap: T's payload and signature under another header") {
    Fixture f;
    const std::string t = token(valid_claims());
    const std::string swapped_header = b64(rsa_header_with("typ", "at+jwt").dump());
    f.expect_reject(swapped_header + t.substr(t.find('.')), Errc::TokenBadSignature);
    // Same for the payload: any other claims under T's header and signature.
    const std::string other = token(claims_with("sub", "auth0|admin"));
    f.expect_reject(t.substr(0, t.find('.')) + other.substr(other.find('.'), other.rfind('.') - other.find('.')) + "." +
                        signature_of(t),
                    Errc::TokenBadSignature);
  }

  TEST_CASE("every single bit flip of a valid RS256 signature is rejected") {
    Fixture f;
    const std::string t = token(valid_claims());
    auto raw = base::base64url_decode(signature_of(t));
    REQUIRE(raw);
    int rejected = 0;
    for (std::size_t i = 0; i < raw->size() * 8; ++i) {
      std::string flipped = *raw;
      flipped[i / 8] = static_cast<char>(flipped[i / 8] ^ (1 << (i % 8)));
      auto r = f.verify(with_signature(t, flipped));
      if (!r && r.error().code == Errc::TokenBadSignature) ++rejected;
    }
    CHECK(rejected == 2048);
  }

  TEST_CASE("RSA signature of the wrong length") {
    Fixture f;
    const std::string t = token(valid_claims());
    const std::string raw = *base::base64url_decode(signature_of(t));
    f.expect_reject(with_signature(t, std::string(1, '\0') + raw), Errc::TokenBadSignature);
    f.expect_reject(with_signature(t, raw.substr(1)), Errc::TokenBadSignature);
  }

  TEST_CASE("ECDSA psychic signatures and out-of-range values") {
    Fixture f;
    const std::string t = token(valid_claims(), ec1());
    const std::string zero(32, '\0');
    std::string one(32, '\0');
    one.back() = 1;
    std::string n_minus_1 = kP256Order;
    n_minus_1.back() = static_cast<char>(n_minus_1.back() - 1);
    for (const std::string& sig : {zero + zero, zero + one, one + zero, kP256Order + kP256Order, kP256Order + one,
                                   one + kP256Order, std::string(64, '\xff'), n_minus_1 + kP256Order}) {
      auto e = f.expect_reject(with_signature(t, sig), Errc::TokenBadSignature);
      CHECK(e.detail == "ECDSA signature value out of range");
    }
    // In range but wrong.
    f.expect_reject(with_signature(t, one + one), Errc::TokenBadSignature);
  }

  TEST_CASE("ECDSA signature in DER or of the wrong length") {
    Fixture f;
    const std::string t = token(valid_claims(), ec1());
    const std::string raw = *base::base64url_decode(signature_of(t));
    REQUIRE(raw.size() == 64);
    auto der = f.expect_reject(with_signature(t, raw_to_der(raw)), Errc::TokenBadSignature);
    CHECK(der.detail.rfind("ECDSA signature must be 64 bytes (R||S), got 7", 0) == 0);
    f.expect_reject(with_signature(t, raw.substr(1)), Errc::TokenBadSignature);
    f.expect_reject(with_signature(t, raw + std::string(1, '\0')), Errc::TokenBadSignature);
    f.expect_reject(with_signature(t, std::string(1, '\0') + raw), Errc::TokenBadSignature);
  }

  TEST_CASE("Ed25519 signature of the wrong length") {
    Fixture f;
    const std::string t = token(valid_claims(), ed1());
    const std::string raw = *base::base64url_decode(signature_of(t));
    f.expect_reject(with_signature(t, raw.substr(1)), Errc::TokenBadSignature);
    f.expect_reject(with_signature(t, raw + "x"), Errc::TokenBadSignature);
  }

  TEST_CASE("RSA-PSS salt length must equal the digest length") {
    Fixture f;
    const SigningKey& ps = key_for(Alg::PS256, "ps1");
    f.keys = Jwks::from_keys({ps.public_key()});
    const std::string input = b64(header_for(ps, Alg::PS256).dump()) + "." + b64(valid_claims().dump());
    CHECK(f.verify(input + "." + b64(pss_sign(ps, input, 32))));
    CHECK(f.verify(input + "." + b64(pss_sign(ps, input, RSA_PSS_SALTLEN_DIGEST))));
    f.expect_reject(input + "." + b64(pss_sign(ps, input, 0)), Errc::TokenBadSignature);
    f.expect_reject(input + "." + b64(pss_sign(ps, input, 20)), Errc::TokenBadSignature);
    // PKCS#1 v1.5 signature under a PS256 header.
    f.expect_reject(input + "." + b64(*ps.sign_as(Alg::RS256, input)), Errc::TokenBadSignature);
  }

  TEST_CASE("keys the JWKS loader refused cannot verify") {
    Fixture f;
    json enc = key_for(Alg::RS256, "rsa2").public_jwk();
    enc["use"] = "enc";
    json twin = key_for(Alg::RS256, "twin").public_jwk();
    twin["kid"] = "rsa1";
    auto set = Jwks::parse(make_jwks({rsa1().public_jwk(), twin, enc, ec1().public_jwk()}).dump());
    REQUIRE(set);
    f.keys = std::move(*set);
    f.expect_reject(token(valid_claims(), key_for(Alg::RS256, "rsa2")), Errc::TokenUnknownKid);
    auto e = f.expect_reject(token(valid_claims()), Errc::TokenUnknownKid);
    CHECK(e.detail == "kid \"rsa1\" is ambiguous: several keys in the JWKS use it");
    CHECK(f.verify(token(valid_claims(), ec1())));
  }

  TEST_CASE("typ enforcement when required") {
    Fixture f;
    f.policy.required_typ = "at+jwt";
    auto e = f.expect_reject(token(valid_claims()), Errc::TokenWrongType);
    CHECK(e.detail == "header \"typ\" is \"JWT\" but \"at+jwt\" is required");
    json no_typ = header_for(rsa1(), Alg::RS256);
    no_typ.erase("typ");
    f.expect_reject(token(no_typ, valid_claims(), rsa1(), Alg::RS256), Errc::TokenWrongType);
    f.expect_reject(token(rsa_header_with("typ", "jwt"), valid_claims(), rsa1(), Alg::RS256), Errc::TokenWrongType);
  }
}
