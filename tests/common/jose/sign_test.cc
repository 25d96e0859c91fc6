#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "jose_test_keys.h"

using namespace oauthdemo;
using namespace oauthdemo::jose;
using namespace oauthdemo::jose::test;

namespace {
constexpr Alg kAllAlgs[] = {Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384,
                            Alg::PS512, Alg::ES256, Alg::ES384, Alg::ES512, Alg::EdDSA};

std::size_t signature_size(Alg alg) {
  switch (alg) {
    case Alg::ES256:
      return 64;
    case Alg::ES384:
      return 96;
    case Alg::ES512:
      return 132;
    case Alg::EdDSA:
      return 64;
    default:
      return 256;
  }
}
}  // namespace

TEST_SUITE("jose::sign") {
  TEST_CASE("round trip for every algorithm through sign_jwt and verify_jwt") {
    for (Alg alg : kAllAlgs) {
      CAPTURE(to_string(alg));
      const SigningKey& key = key_for(alg, std::string("k-") + std::string(to_string(alg)));
      auto jwt = sign_jwt(key, valid_claims(), "at+jwt");
      REQUIRE(jwt);
      auto keys = Jwks::parse(make_jwks({key.public_jwk()}).dump());
      REQUIRE(keys);
      VerifyPolicy p = standard_policy();
      p.allowed_algs = {alg};
      p.required_typ = "at+jwt";
      auto r = verify_jwt(*jwt, *keys, p, kNow);
      REQUIRE_MESSAGE(r, (r ? "" : r.error().message()));
      CHECK(r->alg == alg);
      CHECK(r->claims == valid_claims());
      CHECK(r->header == json{{"alg", to_string(alg)}, {"kid", key.kid()}, {"typ", "at+jwt"}});
      auto d = decode_jws(*jwt);
      REQUIRE(d);
      CHECK(d->signature.size() == signature_size(alg));
      // Another key of the same kind does not verify it.
      const SigningKey& other = key_for(alg, "other");
      auto wrong = verify_signature(d->signing_input, d->signature, *other.public_key(), alg);
      REQUIRE(!wrong);
      CHECK(wrong.error().code == Errc::TokenBadSignature);
    }
  }

  TEST_CASE("ECDSA signatures are always exactly R||S of the field size") {
    // About half of all signatures have a short R or S in DER; padding must keep the length fixed.
    const SigningKey& key = ec1();
    for (int i = 0; i < 64; ++i) {
      const std::string input = "input-" + std::to_string(i);
      auto sig = key.sign(input);
      REQUIRE(sig);
      CHECK(sig->size() == 64);
      CHECK(verify_signature(input, *sig, *key.public_key(), Alg::ES256));
    }
  }

  TEST_CASE("sign_as uses another alg of the same family; other families are refused") {
    const SigningKey& key = rsa1();
    auto ps = key.sign_as(Alg::PS384, "x");
    REQUIRE(ps);
    auto plain = PublicKey::from_jwk([&] {
      json j = key.public_jwk();
      j.erase("alg");
      return j;
    }());
    REQUIRE(plain);
    CHECK(verify_signature("x", *ps, **plain, Alg::PS384));
    auto es = key.sign_as(Alg::ES256, "x");
    REQUIRE(!es);
    CHECK(es.error().code == Errc::InvalidArgument);
  }

  TEST_CASE("public_jwk carries kty, key material, kid, alg and use") {
    json rsa = rsa1().public_jwk();
    CHECK(rsa["kty"] == "RSA");
    CHECK(rsa["e"] == "AQAB");
    CHECK(rsa["n"].get<std::string>().size() == 342);
    CHECK(rsa["kid"] == "rsa1");
    CHECK(rsa["alg"] == "RS256");
    CHECK(rsa["use"] == "sig");
    CHECK_FALSE(rsa.contains("d"));
    json ec = key_for(Alg::ES512, "ec521").public_jwk();
    CHECK(ec["kty"] == "EC");
    CHECK(ec["crv"] == "P-521");
    CHECK(ec["x"].get<std::string>().size() == 88);  // 66 bytes
    CHECK(ec["y"].get<std::string>().size() == 88);
    json ed = ed1().public_jwk();
    CHECK(ed == json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", ed["x"]}, {"kid", "ed1"}, {"alg", "EdDSA"}, {"use", "sig"}});
  }

  TEST_CASE("private_pem is PKCS#8 and loads back with from_pem") {
    for (const SigningKey* key : {&rsa1(), &ec1(), &ed1()}) {
      const std::string pem = key->private_pem();
      CHECK(pem.rfind("-----BEGIN " "PRIVATE KEY-----", 0) == 0);
      auto loaded = SigningKey::from_pem(pem, key->alg(), key->kid());
      REQUIRE(loaded);
      CHECK(loaded->public_jwk() == key->public_jwk());
      auto sig = loaded->sign("data");
      REQUIRE(sig);
      CHECK(verify_signature("data", *sig, *key->public_key(), key->alg()));
    }
  }

  TEST_CASE("from_pem refuses junk and a key that does not fit the alg") {
    auto junk = SigningKey::from_pem("-----BEGIN " "PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", Alg::RS256, "k");
    REQUIRE(!junk);
    CHECK(junk.error().code == Errc::ConfigInvalid);
    auto mismatch = SigningKey::from_pem(ec1().private_pem(), Alg::RS256, "k");
    REQUIRE(!mismatch);
    CHECK(mismatch.error().code == Errc::ConfigInvalid);
    CHECK(mismatch.error().detail == "private key type does not fit alg RS256");
  }

  TEST_CASE("generate refuses RSA sizes under 2048 bits") {
    auto small = SigningKey::generate(Alg::RS256, "small", 1024);
    REQUIRE(!small);
    CHECK(small.error().code == Errc::InvalidArgument);
  }

  TEST_CASE("sign_jwt merges extra header members and omits an empty typ") {
    auto jwt = sign_jwt(rsa1(), valid_claims(), "", json{{"cty", "x"}});
    REQUIRE(jwt);
    auto d = decode_jws(*jwt);
    REQUIRE(d);
    CHECK(d->header == json{{"alg", "RS256"}, {"kid", "rsa1"}, {"cty", "x"}});
    auto bad = sign_jwt(rsa1(), json::array());
    REQUIRE(!bad);
    CHECK(bad.error().code == Errc::InvalidArgument);
  }

  TEST_CASE("a moved-from key is empty and the moved-to key signs") {
    auto key = SigningKey::generate(Alg::ES256, "moving");
    REQUIRE(key);
    SigningKey moved = std::move(*key);
    CHECK(moved.kid() == "moving");
    CHECK(moved.sign("x"));
    CHECK(key->pkey() == nullptr);
  }

  TEST_CASE("make_jwks wraps the keys") {
    json doc = make_jwks({rsa1().public_jwk(), ec1().public_jwk()});
    REQUIRE(doc["keys"].is_array());
    CHECK(doc["keys"].size() == 2);
    CHECK(make_jwks({}) == json{{"keys", json::array()}});
  }

  TEST_CASE("verification is safe from several threads sharing one key") {
    const std::string t = token(valid_claims());
    const Jwks keys = standard_jwks();
    const VerifyPolicy p = standard_policy();
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&] {
        for (int j = 0; j < 50; ++j)
          if (verify_jwt(t, keys, p, kNow)) ++ok;
      });
    for (auto& th : threads) th.join();
    CHECK(ok == 200);
  }
}
