#include <doctest/doctest.h>

#include "devidp/keys.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp;

TEST_SUITE("devidp::keys") {
  TEST_CASE("rotation keeps older keys published (newest first) up to the cap and changes the ETag") {
    auto ring = KeyRing::generate();
    REQUIRE(ring);
    auto& keys = **ring;
    const std::string first_kid = keys.current()->kid();
    const auto before = keys.published();
    REQUIRE(keys.rotate());
    CHECK(keys.current()->kid() != first_kid);
    const auto after = keys.published();
    CHECK(after.etag != before.etag);
    auto doc = nlohmann::json::parse(after.body);
    REQUIRE(doc["keys"].size() == 2);
    CHECK(doc["keys"][0]["kid"] == keys.current()->kid());
    CHECK(doc["keys"][1]["kid"] == first_kid);
    CHECK(keys.verification_keys()->find(first_kid) != nullptr);
    for (std::size_t i = 0; i < KeyRing::kMaxKeys; ++i) REQUIRE(keys.rotate());
    CHECK(keys.size() == KeyRing::kMaxKeys);
    CHECK(keys.verification_keys()->find(first_kid) == nullptr);
  }

  TEST_CASE("the kid is the key's thumbprint, so the same PEM gives the same kid") {
    auto key = jose::SigningKey::generate(jose::Alg::RS256, "x");
    REQUIRE(key);
    auto a = KeyRing::from_pem(key->private_pem());
    auto b = KeyRing::from_pem(key->private_pem());
    REQUIRE(a);
    REQUIRE(b);
    CHECK((*a)->current()->kid() == (*b)->current()->kid());
    CHECK((*a)->current()->kid().size() == 22);
  }

  TEST_CASE("a PEM that is not a private key is refused") {
    auto r = KeyRing::from_pem("-----BEGIN " "PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::ConfigInvalid);
  }
}
