#include <doctest/doctest.h>

#include "common/jose/key_internal.h"
#include "jose_test_keys.h"

using namespace oauthdemo;
using namespace oauthdemo::jose;
using namespace oauthdemo::jose::test;

namespace {

// Published vectors (public test data; only public keys are used here).
// RFC 7515 Appendix A.2 (RS256) and A.3 (ES256); both sign the same JWT claims set.
const char* kRfc7515A2 =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZ"
    "cAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-e"
    "OkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const char* kRfc7515A2N =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const char* kRfc7515A3 =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const json kRfc7515A3Jwk{{"kty", "EC"},
                         {"crv", "P-256"},
                         {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                         {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
// RFC 8037 Appendix A.4/A.5 (Ed25519 over a text payload).
const char* kRfc8037A4 =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
const json kRfc8037Jwk{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
// RFC 7520 §4 (JOSE Cookbook): one text payload signed with RS256 (4.1), PS384 (4.2), ES512 (4.3).
const char* kRfc7520Payload =
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlm"
    "IHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
const json kRfc7520RsaJwk{
    {"kty", "RSA"},
    {"kid", "bilbo.baggins@hobbiton.example"},
    {"use", "sig"},
    {"n",
     "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_"
     "NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0Z"
     "CuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw"},
    {"e", "AQAB"}};
const char* kRfc7520RS256Header = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const char* kRfc7520RS256Sig =
    "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185"
    "hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_d"
    "e3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";
const char* kRfc7520PS384Header = "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const char* kRfc7520PS384Sig =
    "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhi"
    "USMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2"
    "Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw";
const json kRfc7520EcJwk{
    {"kty", "EC"},
    {"kid", "bilbo.baggins@hobbiton.example"},
    {"use", "sig"},
    {"crv", "P-521"},
    {"x", "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt"},
    {"y", "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"}};
const char* kRfc7520ES512Header = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const char* kRfc7520ES512Sig =
    "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7"
    "XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";

std::shared_ptr<const PublicKey> key_from(const json& jwk) {
  auto key = PublicKey::from_jwk(jwk);
  REQUIRE(key);
  return *key;
}

json rfc7515_rsa_jwk() { return json{{"kty", "RSA"}, {"n", kRfc7515A2N}, {"e", "AQAB"}}; }

// A policy matching the RFC 7515 claims: issuer "joe", no audience in the token.
VerifyPolicy rfc7515_policy(Alg alg) {
  VerifyPolicy p;
  p.issuer = "joe";
  p.audiences = {"anything"};
  p.allowed_algs = {alg};
  return p;
}

Result<void> check_vector(const std::string& header, const std::string& sig, const json& jwk, Alg alg) {
  auto decoded = decode_jws(header + "." + kRfc7520Payload + "." + sig);
  REQUIRE(decoded);
  return verify_signature(decoded->signing_input, decoded->signature, *key_from(jwk), alg);
}

}  // namespace

TEST_SUITE("jose::jws vectors") {
  TEST_CASE("RFC 7515 A.2 (RS256) verifies; its claims are checked up to the audience") {
    auto keys = Jwks::from_keys({key_from(rfc7515_rsa_jwk())});
    const auto before_exp = from_unix(1300819380 - 100);
    auto r = verify_jwt(kRfc7515A2, keys, rfc7515_policy(Alg::RS256), before_exp);
    REQUIRE(!r);
    // Signature and iss passed; the vector has no aud, so that is the first failing check.
    CHECK(r.error().code == Errc::TokenWrongAudience);
    auto decoded = decode_jws(kRfc7515A2);
    REQUIRE(decoded);
    CHECK(verify_signature(decoded->signing_input, decoded->signature, *keys.sole_key(), Alg::RS256));
    CHECK_FALSE(verify_signature(decoded->signing_input, decoded->signature, *keys.sole_key(), Alg::RS384));
    auto claims = check_claims(json::parse(decoded->payload_bytes), rfc7515_policy(Alg::RS256), before_exp);
    REQUIRE(!claims);
    CHECK(claims.error().code == Errc::TokenWrongAudience);
  }

  TEST_CASE("RFC 7515 A.2 and A.3 pass every check with an audience-free policy stand-in") {
    for (auto [compact, jwk, alg] : {std::tuple{kRfc7515A2, rfc7515_rsa_jwk(), Alg::RS256},
                                      std::tuple{kRfc7515A3, kRfc7515A3Jwk, Alg::ES256}}) {
      auto decoded = decode_jws(compact);
      REQUIRE(decoded);
      CHECK(decoded->alg_name == to_string(alg));
      CHECK_FALSE(decoded->has_kid);
      auto key = key_from(jwk);
      CHECK(verify_signature(decoded->signing_input, decoded->signature, *key, alg));
      // The claims: iss "joe", exp 1300819380 (checked with a `now` before and after it).
      json claims = json::parse(decoded->payload_bytes);
      claims["aud"] = "anything";
      CHECK(check_claims(claims, rfc7515_policy(alg), from_unix(1300819380 - 31)));
      auto late = check_claims(claims, rfc7515_policy(alg), from_unix(1300819380 + 30));
      REQUIRE(!late);
      CHECK(late.error().code == Errc::TokenExpired);
      CHECK(late.error().detail == "token expired 30s ago (leeway 30s)");
    }
  }

  TEST_CASE("RFC 7515 A.3 (ES256) through verify_jwt reaches the claims") {
    auto keys = Jwks::from_keys({key_from(kRfc7515A3Jwk)});
    auto r = verify_jwt(kRfc7515A3, keys, rfc7515_policy(Alg::ES256), from_unix(1300819000));
    REQUIRE(!r);
    CHECK(r.error().code == Errc::TokenWrongAudience);
    auto expired = verify_jwt(kRfc7515A3, keys, rfc7515_policy(Alg::ES256), kNow);
    REQUIRE(!expired);
    CHECK(expired.error().code == Errc::TokenWrongAudience);  // aud is checked before exp
  }

  TEST_CASE("RFC 8037 A.4/A.5 (Ed25519) verifies; its text payload is not a JWT") {
    auto key = key_from(kRfc8037Jwk);
    auto decoded = decode_jws(kRfc8037A4);
    REQUIRE(decoded);
    CHECK(decoded->payload_bytes == "Example of Ed25519 signing");
    CHECK(verify_signature(decoded->signing_input, decoded->signature, *key, Alg::EdDSA));
    auto keys = Jwks::from_keys({key});
    VerifyPolicy p = rfc7515_policy(Alg::EdDSA);
    auto r = verify_jwt(kRfc8037A4, keys, p, kNow);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::TokenBadJson);  // signature passed; the payload is text
  }

  TEST_CASE("RFC 7520 4.1 (RS256), 4.2 (PS384) and 4.3 (ES512) verify") {
    CHECK(check_vector(kRfc7520RS256Header, kRfc7520RS256Sig, kRfc7520RsaJwk, Alg::RS256));
    CHECK(check_vector(kRfc7520PS384Header, kRfc7520PS384Sig, kRfc7520RsaJwk, Alg::PS384));
    CHECK(check_vector(kRfc7520ES512Header, kRfc7520ES512Sig, kRfc7520EcJwk, Alg::ES512));
    // Crossed: the RS256 signature is not a PS384 one.
    auto crossed = check_vector(kRfc7520PS384Header, kRfc7520RS256Sig, kRfc7520RsaJwk, Alg::PS384);
    REQUIRE(!crossed);
    CHECK(crossed.error().code == Errc::TokenBadSignature);
  }
}

TEST_SUITE("jose::jws decode") {
  TEST_CASE("decodes header, payload, signature and kid") {
    const std::string t = token(valid_claims());
    auto d = decode_jws(t);
    REQUIRE(d);
    CHECK(d->alg_name == "RS256");
    CHECK(d->kid == "rsa1");
    CHECK(d->has_kid);
    CHECK(d->header["typ"] == "JWT");
    CHECK(d->signing_input == t.substr(0, t.rfind('.')));
    CHECK(d->signature.size() == 256);
    CHECK(json::parse(d->payload_bytes) == valid_claims());
  }

  TEST_CASE("checks the size before anything else") {
    auto r = decode_jws(std::string(20000, '!'));
    REQUIRE(!r);
    CHECK(r.error().code == Errc::TokenTooLarge);
    CHECK(r.error().detail == "token is 20000 bytes; the limit is 16384");
    const std::string t = token(valid_claims());
    CHECK(decode_jws(t, t.size()));
    auto over = decode_jws(t, t.size() - 1);
    REQUIRE(!over);
    CHECK(over.error().code == Errc::TokenTooLarge);
  }

  TEST_CASE("structure: exactly three non-empty segments") {
    const std::string t = token(valid_claims());
    const auto d1 = t.find('.');
    const auto d2 = t.rfind('.');
    const std::string h = t.substr(0, d1), p = t.substr(d1 + 1, d2 - d1 - 1), s = t.substr(d2 + 1);
    for (const std::string& bad : {h + "." + p, h + "." + p + "." + s + ".", h + "." + p + "." + s + "." + s + "." + s,
                                   "." + p + "." + s, h + ".." + s, h + "." + p + ".", std::string(".."), std::string()}) {
      CAPTURE(bad.size());
      auto r = decode_jws(bad);
      REQUIRE(!r);
      CHECK(r.error().code == Errc::TokenMalformed);
    }
    CHECK(decode_jws(h + "." + p).error().detail == "token has 2 segments; a JWS has exactly 3");
    CHECK(decode_jws(h + ".a.b.c." + s).error().detail == "token has 5 segments (JWE); only signed JWS is accepted");
    CHECK(decode_jws(h + ".." + s).error().detail == "token has an empty segment");
  }

  TEST_CASE("header must be a strict JSON object with a string alg") {
    const std::string rest = ".e30.AAAA";
    auto code = [&](std::string_view header_text) {
      auto r = decode_jws(b64(header_text) + rest);
      REQUIRE(!r);
      return r.error().code;
    };
    CHECK(code("\"x\"") == Errc::TokenBadJson);
    CHECK(code("[]") == Errc::TokenBadJson);
    CHECK(code("{") == Errc::TokenBadJson);
    CHECK(code(R"({"alg":"RS256"} x)") == Errc::TokenBadJson);
    CHECK(code(R"({"alg":"RS256","alg":"RS256"})") == Errc::TokenDuplicateMember);
    CHECK(code(R"({"alg":"RS256","x":)" + std::string(40, '[') + std::string(40, ']') + "}") == Errc::TokenTooDeep);
    CHECK(code(R"({"typ":"JWT"})") == Errc::TokenMalformed);
    CHECK(code(R"({"alg":256})") == Errc::TokenMalformed);
    CHECK(code(R"({"alg":["RS256"]})") == Errc::TokenMalformed);
    CHECK(code(R"({"alg":null})") == Errc::TokenMalformed);
    CHECK(code(R"({"alg":"RS256","kid":1})") == Errc::TokenMalformed);
  }

  TEST_CASE("kid of 256 bytes is fine, 257 is malformed") {
    const std::string rest = ".e30.AAAA";
    auto ok = decode_jws(b64(json{{"alg", "RS256"}, {"kid", std::string(256, 'k')}}.dump()) + rest);
    REQUIRE(ok);
    CHECK(ok->kid.size() == 256);
    auto bad = decode_jws(b64(json{{"alg", "RS256"}, {"kid", std::string(257, 'k')}}.dump()) + rest);
    REQUIRE(!bad);
    CHECK(bad.error().code == Errc::TokenMalformed);
    CHECK(bad.error().detail == "JWS header \"kid\" is longer than 256 bytes");
  }
}

TEST_SUITE("jose::alg") {
  TEST_CASE("names are exact and case-sensitive") {
    CHECK(alg_from_string("RS256") == Alg::RS256);
    CHECK(alg_from_string("PS512") == Alg::PS512);
    CHECK(alg_from_string("ES512") == Alg::ES512);
    CHECK(alg_from_string("EdDSA") == Alg::EdDSA);
    CHECK(alg_from_string("Ed25519") == Alg::EdDSA);  // RFC 9864 fully-specified name
    for (const char* bad : {"rs256", "none", "None", "HS256", "", "RS256 ", "ES256K", "Ed448"})
      CHECK_FALSE(alg_from_string(bad));
    for (Alg a : {Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384, Alg::PS512, Alg::ES256, Alg::ES384,
                  Alg::ES512, Alg::EdDSA})
      CHECK(alg_from_string(to_string(a)) == a);
  }

  TEST_CASE("parse_alg_list") {
    auto list = parse_alg_list("RS256, ES256,EdDSA");
    REQUIRE(list);
    CHECK(*list == std::vector<Alg>{Alg::RS256, Alg::ES256, Alg::EdDSA});
    CHECK(*parse_alg_list("RS256,RS256") == std::vector<Alg>{Alg::RS256});
    CHECK_FALSE(parse_alg_list(""));
    CHECK_FALSE(parse_alg_list("RS256,"));
    CHECK_FALSE(parse_alg_list("RS256,HS256"));
    CHECK_FALSE(parse_alg_list("none"));
  }
}
