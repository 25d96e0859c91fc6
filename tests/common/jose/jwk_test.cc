#include <doctest/doctest.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "common/base/base64url.h"
#include "jose_test_keys.h"

using namespace oauthdemo;
using namespace oauthdemo::jose;
using namespace oauthdemo::jose::test;

namespace {

Error rejection(const json& jwk) {
  auto r = PublicKey::from_jwk(jwk);
  REQUIRE(!r);
  return r.error();
}

std::string bn_b64(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1);
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return b64(out);
}

}  // namespace

TEST_SUITE("jose::jwk") {
  TEST_CASE("imports RSA, EC and OKP public keys") {
    for (const SigningKey* key : {&rsa1(), &ec1(), &ed1(), &key_for(Alg::ES384, "ec384"), &key_for(Alg::ES512, "ec521")}) {
      auto pub = PublicKey::from_jwk(key->public_jwk());
      REQUIRE(pub);
      CHECK((*pub)->kid() == key->kid());
      CHECK((*pub)->declared_alg() == key->alg());
      CHECK((*pub)->accepts(key->alg()));
      CHECK(EVP_PKEY_eq((*pub)->pkey(), key->pkey()) == 1);
    }
    auto rsa = PublicKey::from_jwk(rsa1().public_jwk());
    CHECK((*rsa)->type() == KeyType::RSA);
    CHECK((*rsa)->bits() == 2048);
    auto ec = PublicKey::from_jwk(ec1().public_jwk());
    CHECK((*ec)->type() == KeyType::EC);
    CHECK((*ec)->curve() == Curve::P256);
    auto ed = PublicKey::from_jwk(ed1().public_jwk());
    CHECK((*ed)->type() == KeyType::OKP);
    CHECK((*ed)->curve() == Curve::Ed25519);
  }

  TEST_CASE("the key type and curve decide which algs a key accepts") {
    json jwk = rsa1().public_jwk();
    jwk.erase("alg");
    auto rsa = PublicKey::from_jwk(jwk);
    REQUIRE(rsa);
    for (Alg a : {Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384, Alg::PS512}) CHECK((*rsa)->accepts(a));
    for (Alg a : {Alg::ES256, Alg::ES384, Alg::ES512, Alg::EdDSA}) CHECK_FALSE((*rsa)->accepts(a));
    json ecj = ec1().public_jwk();
    ecj.erase("alg");
    auto ec = PublicKey::from_jwk(ecj);
    REQUIRE(ec);
    CHECK((*ec)->accepts(Alg::ES256));
    for (Alg a : {Alg::ES384, Alg::ES512, Alg::RS256, Alg::EdDSA}) CHECK_FALSE((*ec)->accepts(a));
    // A declared alg narrows the RSA family to exactly that alg.
    auto declared = PublicKey::from_jwk(rsa1().public_jwk());
    CHECK((*declared)->accepts(Alg::RS256));
    CHECK_FALSE((*declared)->accepts(Alg::PS256));
  }

  TEST_CASE("rejects RSA keys under 2048 bits") {
    EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024));
    REQUIRE(small != nullptr);
    json jwk{{"kty", "RSA"}, {"kid", "rsa1024"}, {"n", bn_b64(small, OSSL_PKEY_PARAM_RSA_N)},
             {"e", bn_b64(small, OSSL_PKEY_PARAM_RSA_E)}};
    EVP_PKEY_free(small);
    auto e = rejection(jwk);
    CHECK(e.code == Errc::JwksKeyRejected);
    CHECK(e.detail == "RSA key has 1024 bits; at least 2048 are required");
  }

  TEST_CASE("rejects bad RSA exponents and padded moduli") {
    json base = rsa1().public_jwk();
    SUBCASE("e = 1") {
      base["e"] = b64(std::string("\x01", 1));
      CHECK(rejection(base).detail == "RSA exponent \"e\" is 1");
    }
    SUBCASE("even e") {
      base["e"] = b64(std::string("\x01\x00\x00", 3));
      CHECK(rejection(base).detail == "RSA exponent \"e\" is even");
    }
    SUBCASE("leading zero in n") {
      base["n"] = b64(std::string(1, '\0') + *base::base64url_decode(base["n"].get<std::string>()));
      CHECK(rejection(base).detail == "RSA modulus \"n\" has leading zero octets");
    }
    SUBCASE("n not base64url") {
      base["n"] = base["n"].get<std::string>() + "=";
      CHECK(rejection(base).detail == "member \"n\" is not strict base64url");
    }
    SUBCASE("n missing") {
      base.erase("n");
      CHECK(rejection(base).detail == "member \"n\" is missing");
    }
  }

  TEST_CASE("rejects an EC point that is not on the curve") {
    json jwk = ec1().public_jwk();
    std::string y = *base::base64url_decode(jwk["y"].get<std::string>());
    y.back() = static_cast<char>(y.back() ^ 1);
    jwk["y"] = b64(y);
    auto e = rejection(jwk);
    CHECK(e.code == Errc::JwksKeyRejected);
    CHECK(e.detail.find("not on the curve") != std::string::npos);
  }

  TEST_CASE("rejects EC coordinates of the wrong length and unknown curves") {
    json jwk = ec1().public_jwk();
    SUBCASE("short x") {
      jwk["x"] = b64(base::base64url_decode(jwk["x"].get<std::string>())->substr(1));
      CHECK(rejection(jwk).detail == "EC coordinates must be 32 bytes for P-256");
    }
    SUBCASE("secp256k1") {
      jwk["crv"] = "secp256k1";
      jwk.erase("alg");
      CHECK(rejection(jwk).detail == "unsupported EC curve");
    }
    SUBCASE("Ed25519 crv on an EC key") {
      jwk["crv"] = "Ed25519";
      jwk.erase("alg");
      CHECK(rejection(jwk).detail == "unsupported EC curve");
    }
  }

  TEST_CASE("rejects Ed25519 keys of the wrong size and other OKP curves") {
    json jwk = ed1().public_jwk();
    SUBCASE("31 bytes") {
      jwk["x"] = b64(std::string(31, 'a'));
      CHECK(rejection(jwk).detail == "Ed25519 public key \"x\" must be 32 bytes");
    }
    SUBCASE("X25519") {
      jwk["crv"] = "X25519";
      jwk.erase("alg");
      CHECK(rejection(jwk).detail == "unsupported OKP curve");
    }
  }

  TEST_CASE("rejects private, symmetric and non-signing keys") {
    for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "k"}) {
      CAPTURE(member);
      json jwk = rsa1().public_jwk();
      jwk[member] = "AQAB";
      CHECK(rejection(jwk).detail == std::string("JWK carries the private member \"") + member + "\"");
    }
    CHECK(rejection(json{{"kty", "oct"}, {"k", "c2VjcmV0"}}).detail == "symmetric (kty \"oct\") keys are never used");
    json enc = rsa1().public_jwk();
    enc["use"] = "enc";
    CHECK(rejection(enc).detail == "\"use\" is not \"sig\"");
    json ops = rsa1().public_jwk();
    ops["key_ops"] = json::array({"encrypt"});
    CHECK(rejection(ops).detail == "\"key_ops\" does not include \"verify\"");
    json ops_ok = rsa1().public_jwk();
    ops_ok["key_ops"] = json::array({"verify"});
    CHECK(PublicKey::from_jwk(ops_ok));
  }

  TEST_CASE("rejects a declared alg that does not fit the key") {
    json jwk = rsa1().public_jwk();
    jwk["alg"] = "ES256";
    CHECK(rejection(jwk).detail == "\"alg\" ES256 does not fit the key type");
    jwk["alg"] = "HS256";
    CHECK(rejection(jwk).detail == "\"alg\" is not a supported signature algorithm");
    jwk["alg"] = "RSA-OAEP";
    CHECK(rejection(jwk).detail == "\"alg\" is not a supported signature algorithm");
    json ec = ec1().public_jwk();
    ec["alg"] = "ES384";
    CHECK(rejection(ec).detail == "\"alg\" ES384 does not fit the key type");
  }

  TEST_CASE("rejects non-objects, missing kty and non-string kid") {
    CHECK(rejection(json::array()).detail == "JWK is not a JSON object");
    json no_kty = rsa1().public_jwk();
    no_kty.erase("kty");
    CHECK(rejection(no_kty).detail == "\"kty\" is missing or not a string");
    json kid = rsa1().public_jwk();
    kid["kid"] = 7;
    CHECK(rejection(kid).detail == "\"kid\" is not a string");
    json unknown = rsa1().public_jwk();
    unknown["kty"] = "DSA";
    CHECK(rejection(unknown).detail == "unsupported kty");
  }
}

TEST_SUITE("jose::jwks") {
  TEST_CASE("keeps usable keys and records skipped ones with reasons") {
    json enc = key_for(Alg::RS256, "rsa2").public_jwk();
    enc["use"] = "enc";
    json doc = make_jwks({rsa1().public_jwk(), enc, json{{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}},
                          ec1().public_jwk(), json("not a key")});
    auto set = Jwks::parse(doc.dump());
    REQUIRE(set);
    CHECK(set->size() == 2);
    REQUIRE(set->skipped().size() == 3);
    CHECK(set->skipped()[0].kid == "rsa2");
    CHECK(set->skipped()[0].reason.detail == "\"use\" is not \"sig\"");
    CHECK(set->skipped()[1].kid == "hmac");
    CHECK(set->skipped()[2].kid == "");
    CHECK(set->find("rsa1") != nullptr);
    CHECK(set->find("ec1") != nullptr);
    CHECK(set->find("rsa2") == nullptr);
    CHECK(set->sole_key() == nullptr);
  }

  TEST_CASE("a kid shared by two different keys is ambiguous") {
    json twin = key_for(Alg::RS256, "twin").public_jwk();
    twin["kid"] = "rsa1";
    auto set = Jwks::parse(make_jwks({rsa1().public_jwk(), twin, ec1().public_jwk()}).dump());
    REQUIRE(set);
    CHECK(set->is_ambiguous("rsa1"));
    CHECK(set->find("rsa1") == nullptr);
    CHECK_FALSE(set->is_ambiguous("ec1"));
    CHECK(set->find("ec1") != nullptr);
  }

  TEST_CASE("the same key listed twice is kept once") {
    auto set = Jwks::parse(make_jwks({rsa1().public_jwk(), rsa1().public_jwk()}).dump());
    REQUIRE(set);
    CHECK(set->size() == 1);
    CHECK_FALSE(set->is_ambiguous("rsa1"));
    REQUIRE(set->skipped().size() == 1);
    CHECK(set->skipped()[0].reason.detail == "the same key is listed twice under one kid");
  }

  TEST_CASE("sole_key is the only key") {
    auto set = Jwks::parse(make_jwks({ec1().public_jwk()}).dump());
    REQUIRE(set);
    REQUIRE(set->sole_key() != nullptr);
    CHECK(set->sole_key()->kid() == "ec1");
  }

  TEST_CASE("malformed documents and limits") {
    auto expect = [](std::string_view text, Errc code, const JwksLimits& limits = {}) {
      auto r = Jwks::parse(text, limits);
      REQUIRE(!r);
      CHECK(r.error().code == code);
      return r.error().detail;
    };
    expect("not json", Errc::JwksMalformed);
    expect("[]", Errc::JwksMalformed);
    CHECK(expect(R"({"keys":"x"})", Errc::JwksMalformed) == "JWKS has no \"keys\" array");
    expect(R"({"keys":[],"keys":[]})", Errc::JwksMalformed);
    CHECK(expect(R"({"keys":[]})", Errc::JwksNoUsableKeys) == "JWKS has no usable signing key");
    CHECK(expect(R"({"keys":[{"kty":"oct","k":"AA"}]})", Errc::JwksNoUsableKeys) ==
          "JWKS has no usable signing key (first skipped: symmetric (kty \"oct\") keys are never used)");
    const std::string doc = make_jwks({rsa1().public_jwk(), ec1().public_jwk()}).dump();
    CHECK(expect(doc, Errc::JwksMalformed, JwksLimits{.max_bytes = doc.size() - 1}) ==
          "JWKS is " + std::to_string(doc.size()) + " bytes; the limit is " + std::to_string(doc.size() - 1));
    CHECK(Jwks::parse(doc, JwksLimits{.max_bytes = doc.size()}));
    CHECK(expect(doc, Errc::JwksMalformed, JwksLimits{.max_keys = 1}) == "JWKS holds 2 keys; the limit is 1");
  }

  TEST_CASE("from_keys builds a set from keys in hand") {
    auto set = Jwks::from_keys({rsa1().public_key(), ed1().public_key()});
    CHECK(set.size() == 2);
    CHECK(set.find("ed1") == ed1().public_key().get());
  }
}

TEST_SUITE("jose::jwks auth0 shape") {
  TEST_CASE("an Auth0-style JWKS entry with x5t and x5c is usable (the certificate is ignored)") {
    json jwk = rsa1().public_jwk();
    jwk["x5t"] = "bm90LWEtcmVhbC10aHVtYnByaW50";
    jwk["x5c"] = json::array({"TUlJQ0FBQUFBQUFB"});
    jwk["kid"] = "abc123";
    auto set = Jwks::parse(json{{"keys", json::array({jwk})}}.dump());
    REQUIRE(set);
    REQUIRE(set->find("abc123") != nullptr);
    CHECK(set->find("abc123")->declared_alg() == Alg::RS256);
    CHECK(set->skipped().empty());
  }
}
