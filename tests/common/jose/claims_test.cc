#include <doctest/doctest.h>

#include "jose_test_keys.h"

using namespace oauthdemo;
using namespace oauthdemo::jose;
using namespace oauthdemo::jose::test;

TEST_SUITE("jose::verify must-reject: claims") {
  TEST_CASE("issuer must match byte for byte") {
    Fixture f;
    for (const json& iss : {json("https://tenant.example.auth0.com"), json("https://tenant.example.auth0.com//"),
                            json("HTTPS://TENANT.EXAMPLE.AUTH0.COM/"), json(kIss + " "),
                            json("https://tenant.example.auth0.com.evil.com/"), json("http://tenant.example.auth0.com/"),
                            json::array({kIss})}) {
      CAPTURE(iss.dump());
      f.expect_reject(token(claims_with("iss", iss)), Errc::TokenWrongIssuer);
    }
    auto e = f.expect_reject(token(claims_with("iss", "https://tenant.example.auth0.com")), Errc::TokenWrongIssuer);
    CHECK(e.detail ==
          "iss is \"https://tenant.example.auth0.com\" but \"https://tenant.example.auth0.com/\" was expected");
    CHECK(f.expect_reject(token(claims_without("iss")), Errc::TokenWrongIssuer).detail == "claim \"iss\" is missing");
  }

  TEST_CASE("audience: absent, empty, foreign, non-string") {
    Fixture f;
    f.expect_reject(token(claims_without("aud")), Errc::TokenWrongAudience);
    f.expect_reject(token(claims_with("aud", json::array())), Errc::TokenWrongAudience);
    f.expect_reject(token(claims_with("aud", kAud + "/")), Errc::TokenWrongAudience);
    f.expect_reject(token(claims_with("aud", "http://api.example.com")), Errc::TokenWrongAudience);
    f.expect_reject(token(claims_with("aud", json::array({"https://evil", "x"}))), Errc::TokenWrongAudience);
    f.expect_reject(token(claims_with("aud", 123)), Errc::TokenWrongAudience);
    f.expect_reject(token(claims_with("aud", json{{"a", kAud}})), Errc::TokenWrongAudience);
    auto e = f.expect_reject(token(claims_with("aud", json::array({kAud, 123}))), Errc::TokenWrongAudience);
    CHECK(e.detail == "claim \"aud\" holds a non-string member");
  }

  TEST_CASE("exp missing, expired, and the boundary at exactly the leeway") {
    Fixture f;
    CHECK(f.expect_reject(token(claims_without("exp")), Errc::TokenMissingClaim).detail == "claim \"exp\" is missing");
    auto e = f.expect_reject(token(claims_with("exp", kNowS - 42)), Errc::TokenExpired);
    CHECK(e.detail == "token expired 42s ago (leeway 30s)");
    // Reject iff now >= exp + leeway.
    f.expect_reject(token(claims_with("exp", kNowS - 30)), Errc::TokenExpired);
    CHECK(f.verify(token(claims_with("exp", kNowS - 29))));
    f.expect_reject(token(claims_with("exp", kNowS - 31)), Errc::TokenExpired);
    f.policy.leeway = Seconds{0};
    f.expect_reject(token(claims_with("exp", kNowS)), Errc::TokenExpired);
    CHECK(f.verify(token(claims_with("exp", kNowS + 1))));
  }

  TEST_CASE("NumericDate types and ranges") {
    Fixture f;
    for (const json& v : {json("4102444800"), json(true), json(nullptr), json(-1), json(0),
                          json(9007199254740993ULL), json(9007199254740992ULL), json(-1.5),
                          json::array({kNowS + 60})}) {
      CAPTURE(v.dump());
      f.expect_reject(token(claims_with("exp", v)), Errc::TokenClaimType);
    }
    f.expect_reject(token(claims_with("nbf", "0")), Errc::TokenClaimType);
    f.expect_reject(token(claims_with("iat", false)), Errc::TokenClaimType);
    CHECK(f.verify(token(claims_with("exp", 9007199254740991ULL))));
    // 1e400 does not parse at all (nlohmann reports a number overflow).
    std::string text = valid_claims().dump();
    const auto pos = text.find("\"exp\":") + 6;
    text.replace(pos, text.find(',', pos) - pos, "1e400");
    f.expect_reject(raw_token(header_for(rsa1(), Alg::RS256).dump(), text, rsa1(), Alg::RS256), Errc::TokenBadJson);
  }

  TEST_CASE("nbf and iat in the future beyond the leeway") {
    Fixture f;
    CHECK(f.verify(token(claims_with("nbf", kNowS + 30))));
    auto nbf = f.expect_reject(token(claims_with("nbf", kNowS + 31)), Errc::TokenNotYetValid);
    CHECK(nbf.detail == "token is not valid for another 31s (leeway 30s)");
    CHECK(f.verify(token(claims_with("iat", kNowS + 30))));
    auto iat = f.expect_reject(token(claims_with("iat", kNowS + 31)), Errc::TokenIssuedInFuture);
    CHECK(iat.detail == "token was issued 31s in the future (leeway 30s)");
  }

  TEST_CASE("required claims and nonce") {
    Fixture f;
    f.policy.required_claims = {"sub", "scope"};
    CHECK(f.verify(token(valid_claims())));
    auto e = f.expect_reject(token(claims_without("sub")), Errc::TokenMissingClaim);
    CHECK(e.detail == "required claim \"sub\" is missing");
    f.policy.nonce = "n-0S6_WzA2Mj";
    f.expect_reject(token(valid_claims()), Errc::TokenNonceMismatch);
    f.expect_reject(token(claims_with("nonce", "other")), Errc::TokenNonceMismatch);
    CHECK(f.verify(token(claims_with("nonce", "n-0S6_WzA2Mj"))));
  }

  TEST_CASE("checks run in the documented order") {
    Fixture f;
    // Expired and wrong issuer: the issuer is checked first.
    json c = claims_with("exp", kNowS - 100);
    c["iss"] = "https://other/";
    f.expect_reject(token(c), Errc::TokenWrongIssuer);
    // Bad signature and expired: the signature comes first.
    const std::string t = token(claims_with("exp", kNowS - 100));
    auto raw = *base::base64url_decode(signature_of(t));
    raw[0] = static_cast<char>(raw[0] ^ 1);
    f.expect_reject(with_signature(t, raw), Errc::TokenBadSignature);
    // Unsupported alg beats unknown kid.
    f.expect_reject(token(json{{"alg", "HS256"}, {"kid", "nope"}}, valid_claims(), rsa1(), Alg::RS256),
                    Errc::TokenUnsupportedAlg);
    // Embedded key beats key lookup.
    f.expect_reject(token(json{{"alg", "RS256"}, {"kid", "nope"}, {"jku", "x"}}, valid_claims(), rsa1(), Alg::RS256),
                    Errc::TokenEmbeddedKey);
  }
}

TEST_SUITE("jose::decode_unverified") {
  TEST_CASE("returns header and claims without checking anything") {
    const std::string t = token(claims_with("exp", kNowS - 100000), key_for(Alg::RS256, "unpublished"));
    auto r = decode_unverified(t);
    REQUIRE(r);
    CHECK(r->kid == "unpublished");
    CHECK(r->alg == Alg::RS256);
    CHECK(r->claims["sub"] == "auth0|u1");
  }

  TEST_CASE("keeps the format strictness") {
    const std::string t = token(valid_claims());
    CHECK(decode_unverified(t + "=").error().code == Errc::TokenBadBase64);
    CHECK(decode_unverified(t, t.size() - 1).error().code == Errc::TokenTooLarge);
    CHECK(decode_unverified(raw_token(R"({"alg":"RS256"})", "[]", rsa1(), Alg::RS256)).error().code ==
          Errc::TokenBadJson);
    CHECK(decode_unverified(raw_token(R"({"alg":"RS256"})", R"({"a":1,"a":2})", rsa1(), Alg::RS256)).error().code ==
          Errc::TokenDuplicateMember);
    CHECK(decode_unverified(raw_token(R"({"alg":"none"})", "{}", rsa1(), Alg::RS256)).error().code ==
          Errc::TokenUnsupportedAlg);
  }
}
