// The daemon's must-reject corpus (issue 8): every attack token goes through a real ApiServer on a
// random loopback port (keys from a real loopback provider) and must be answered with the expected
// status, the expected error_description text and exactly one increment of the expected
// apid_auth_failures_total{reason} counter; every valid token in the corpus must be accepted.
// Tokens and keys are generated per run; nothing is committed.
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <array>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/authenticator.h"
#include "daemon/daemon_test_support.h"
#include "daemon/errors.h"
#include "daemon/jwks_cache.h"
#include "daemon/metrics.h"
#include "daemon/server.h"
#include "support/fakes.h"

namespace oauthdemo::daemon {
namespace {

using nlohmann::json;
using oauthdemo::testing::FakeClock;
using test::key_for;

const jose::SigningKey& rsa1() { return key_for(jose::Alg::RS256, "rel-rsa1"); }
const jose::SigningKey& rsa2() { return key_for(jose::Alg::RS256, "rel-rsa2"); }
const jose::SigningKey& ec1() { return key_for(jose::Alg::ES256, "rel-ec1"); }
const jose::SigningKey& attacker() { return key_for(jose::Alg::RS256, "rel-attacker"); }

std::string b64(std::string_view bytes) { return base::base64url_encode(bytes); }

// header.payload.signature over exactly these texts, signed by `key` (its own alg).
std::string signed_raw(const jose::SigningKey& key, const std::string& header, const std::string& payload) {
  const std::string input = b64(header) + "." + b64(payload);
  auto sig = key.sign(input);
  REQUIRE(sig);
  return input + "." + b64(*sig);
}

std::string hmac(const EVP_MD* md, const std::string& secret, const std::string& input) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  REQUIRE(HMAC(md, secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
               input.size(), out.data(), &len) != nullptr);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string public_pem(const jose::SigningKey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(bio);
  REQUIRE(PEM_write_bio_PUBKEY(bio, key.pkey()) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return pem;
}

// DER (ASN.1 SEQUENCE of INTEGERs) ECDSA signature, as OpenSSL produces by default.
std::string der_ecdsa(const jose::SigningKey& key, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  REQUIRE(ctx);
  REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey()) == 1);
  std::size_t len = 0;
  REQUIRE(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
  std::string sig(len, '\0');
  REQUIRE(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

struct Case {
  std::string name;
  std::string token;
  std::optional<Reason> reason;  // nullopt = must be accepted (200)
  int status = 401;
};

struct Harness {
  Harness() : clock(std::chrono::system_clock::now()) {
    idp.set_keys({&rsa1(), &rsa2(), &ec1()});
    JwksCacheOptions o;
    o.jwks_uri = idp.jwks_uri();
    o.kid_refetch_cooldown = Seconds{30};
    cache = std::make_unique<JwksCache>(o, http, clock, nullptr, &metrics);
    auth = std::make_unique<Authenticator>(*cache, clock, &metrics);
    AuthPolicy p;
    p.verify.issuer = idp.issuer();
    p.verify.audiences = {test::kAudience};
    p.verify.allowed_algs = {jose::Alg::RS256, jose::Alg::ES256};
    p.verify.leeway = Seconds{30};
    auth->set_policy(p);
    api = std::make_unique<ApiServer>(*auth, *cache, metrics);
    RouteConfig rc;
    rc.audience = test::kAudience;
    rc.issuer = idp.issuer();
    rc.access_log = false;
    api->set_config(rc);
    auto bound = api->bind("127.0.0.1", 0, ServerLimits{}, TlsFiles{});
    REQUIRE(bound);
    port = *bound;
    thread = std::thread([this] { api->listen(); });
    REQUIRE(test::eventually([this] { return api->is_running(); }));
    REQUIRE(cache->refresh());
  }
  ~Harness() {
    api->stop();
    thread.join();
  }
  std::int64_t now() const { return to_unix(clock.now()); }
  std::string iss() const { return idp.issuer(); }

  test::FakeProvider idp;
  FakeClock clock;
  Metrics metrics;
  http::HttplibClient http;
  std::unique_ptr<JwksCache> cache;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<ApiServer> api;
  std::thread thread;
  int port = 0;
};

std::vector<Case> build_corpus(const Harness& h) {
  const std::int64_t now = h.now();
  const std::string iss = h.iss();
  const std::string aud = test::kAudience;
  auto claims = [&](json extra = json::object()) {
    json c = {{"iss", iss},      {"aud", aud},        {"sub", "auth0|alice"},
              {"iat", now - 10}, {"exp", now + 3600}, {"scope", "read:messages"}};
    for (auto& [k, v] : extra.items()) {
      if (v.is_null())
        c.erase(k);
      else
        c[k] = v;
    }
    return c;
  };
  auto rs_hdr = [](json extra = json::object()) {
    json hd = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "rel-rsa1"}};
    for (auto& [k, v] : extra.items()) {
      if (v.is_null())
        hd.erase(k);
      else
        hd[k] = v;
    }
    return hd;
  };
  auto rs = [&](json payload, json hdr_extra = json::object()) {
    return signed_raw(rsa1(), rs_hdr(std::move(hdr_extra)).dump(), payload.dump());
  };
  auto rs_text = [&](const std::string& payload_text) { return signed_raw(rsa1(), rs_hdr().dump(), payload_text); };
  const std::string es_hdr = json{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", "rel-ec1"}}.dump();
  const std::string es_input = b64(es_hdr) + "." + b64(claims().dump());
  auto hs = [&](const char* alg, const EVP_MD* md, const std::string& secret, json hdr_extra = json::object()) {
    json hd = {{"alg", alg}, {"typ", "JWT"}, {"kid", "rel-rsa1"}};
    for (auto& [k, v] : hdr_extra.items()) hd[k] = v;
    const std::string input = b64(hd.dump()) + "." + b64(claims().dump());
    return input + "." + b64(hmac(md, secret, input));
  };
  auto unsigned_tok = [&](json hd, const std::string& sig) {
    return b64(hd.dump()) + "." + b64(claims().dump()) + "." + sig;
  };
  auto flip_last = [](std::string token) {
    const auto dot = token.rfind('.');
    auto sig = base::base64url_decode(std::string_view(token).substr(dot + 1));
    REQUIRE(sig);
    sig->back() = static_cast<char>(sig->back() ^ 0x01);
    return token.substr(0, dot + 1) + b64(*sig);
  };
  const std::string valid = rs(claims());
  const std::string pem = public_pem(rsa1());
  const std::string jwk_text = rsa1().public_jwk().dump();
  const std::string n_bytes = [&] {
    auto n = base::base64url_decode(rsa1().public_jwk().at("n").get<std::string>());
    REQUIRE(n);
    return *n;
  }();
  const std::string p256_order = from_hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  const std::string one32 = std::string(31, '\0') + "\x01";
  std::string deep = "1";
  for (int i = 0; i < 100; ++i) deep = "[" + deep + "]";
  const auto parts = [&](const std::string& t) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
      auto dot = t.find('.', start);
      out.push_back(t.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return out;
  }(valid);
  const std::string& H = parts[0];
  const std::string& P = parts[1];
  const std::string& S = parts[2];

  std::vector<Case> c;
  auto accept = [&](std::string name, std::string token) {
    c.push_back({std::move(name), std::move(token), std::nullopt, 200});
  };
  auto reject = [&](std::string name, std::string token, Reason r, int status = 401) {
    c.push_back({std::move(name), std::move(token), r, status});
  };

  // --- accepted ---
  accept("valid RS256", valid);
  accept("valid ES256 (raw R||S)", es_input + "." + b64(*ec1().sign(es_input)));
  accept("valid RS256 second key", signed_raw(rsa2(), rs_hdr({{"kid", "rel-rsa2"}}).dump(), claims().dump()));
  accept("valid typ at+jwt", rs(claims(), {{"typ", "at+jwt"}}));
  accept("valid aud list containing ours", rs(claims({{"aud", json::array({"https://other.example", aud})}})));
  accept("valid exp passed but within leeway", rs(claims({{"exp", now - 10}})));
  accept("valid nbf/iat within leeway", rs(claims({{"nbf", now + 10}, {"iat", now + 10}})));

  // --- alg none / HMAC confusion ---
  for (const char* none : {"none", "None", "NONE", "nOnE"})
    reject(std::string("alg ") + none + " with junk signature", unsigned_tok({{"alg", none}, {"typ", "JWT"}}, "AAAA"),
           Reason::AlgNotAllowed);
  reject("alg none with empty signature", unsigned_tok({{"alg", "none"}, {"typ", "JWT"}}, ""), Reason::Malformed);
  reject("HS256 keyed with the RSA public key PEM", hs("HS256", EVP_sha256(), pem), Reason::AlgNotAllowed);
  reject("HS384 keyed with the RSA public key PEM", hs("HS384", EVP_sha384(), pem), Reason::AlgNotAllowed);
  reject("HS512 keyed with the RSA public key PEM", hs("HS512", EVP_sha512(), pem), Reason::AlgNotAllowed);
  reject("HS256 keyed with the RSA public JWK JSON", hs("HS256", EVP_sha256(), jwk_text), Reason::AlgNotAllowed);
  reject("HS256 keyed with the RSA modulus bytes", hs("HS256", EVP_sha256(), n_bytes), Reason::AlgNotAllowed);
  reject("HS256 naming the second key, keyed with PEM", hs("HS256", EVP_sha256(), pem, {{"kid", "rel-rsa2"}}),
         Reason::AlgNotAllowed);
  reject(
      "PS256 (not in ALLOWED_ALGS)",
      [&] {
        const std::string input = b64(rs_hdr({{"alg", "PS256"}}).dump()) + "." + b64(claims().dump());
        return input + "." + b64(*rsa1().sign_as(jose::Alg::PS256, input));
      }(),
      Reason::AlgNotAllowed);

  // --- kid ---
  reject("unknown kid", rs(claims(), {{"kid", "no-such-kid"}}), Reason::KidUnknown);
  reject("absent kid with several keys", rs(claims(), {{"kid", nullptr}}), Reason::KidMissing);
  reject("kid path traversal", rs(claims(), {{"kid", "../../../../dev/null"}}), Reason::KidUnknown);
  reject("kid SQL injection", rs(claims(), {{"kid", "' OR '1'='1' --"}}), Reason::KidUnknown);
  reject("kid with CRLF and NUL", rs(claims(), {{"kid", std::string("rel-rsa1\r\nX-Injected: 1\0", 24)}}),
         Reason::KidUnknown);
  reject("kid shell metacharacters", rs(claims(), {{"kid", "$(touch /tmp/pwned);`id`|"}}), Reason::KidUnknown);
  reject("kid as a number", rs(claims(), {{"kid", 1}}), Reason::Malformed);
  reject("RS256 header naming the EC key", rs(claims(), {{"kid", "rel-ec1"}}), Reason::KeyMismatch);
  reject(
      "ES256 header naming an RSA key",
      [&] {
        const std::string input = b64(json{{"alg", "ES256"}, {"kid", "rel-rsa1"}}.dump()) + "." + b64(claims().dump());
        return input + "." + b64(*ec1().sign(input));
      }(),
      Reason::KeyMismatch);

  // --- embedded / referenced keys (attacker-signed) ---
  const json attacker_jwk = attacker().public_jwk();
  auto attack = [&](json extra) {
    json hd = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "rel-attacker"}};
    for (auto& [k, v] : extra.items()) hd[k] = v;
    return signed_raw(attacker(), hd.dump(), claims().dump());
  };
  reject("embedded jwk", attack({{"jwk", attacker_jwk}}), Reason::EmbeddedKey);
  reject("embedded jwk with our kid", attack({{"jwk", attacker_jwk}, {"kid", "rel-rsa1"}}), Reason::EmbeddedKey);
  reject("jku to attacker", attack({{"jku", "https://attacker.example/jwks.json"}}), Reason::EmbeddedKey);
  reject("x5u to attacker", attack({{"x5u", "https://attacker.example/cert.pem"}}), Reason::EmbeddedKey);
  reject("x5c chain", attack({{"x5c", json::array({"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"})}}),
         Reason::EmbeddedKey);

  // --- crit ---
  reject("crit unknown extension", rs(claims(), {{"crit", json::array({"exp"})}, {"exp", now + 10}}),
         Reason::CritUnsupported);
  reject("crit b64=false (RFC 7797)", rs(claims(), {{"crit", json::array({"b64"})}, {"b64", false}}),
         Reason::CritUnsupported);

  // --- signatures ---
  reject("ES256 all-zero signature", es_input + "." + b64(std::string(64, '\0')), Reason::SigInvalid);
  reject("ES256 r = curve order, s = 1", es_input + "." + b64(p256_order + one32), Reason::SigInvalid);
  reject("ES256 r = s = 0xff..ff", es_input + "." + b64(std::string(64, '\xff')), Reason::SigInvalid);
  reject("ES256 DER-encoded signature", es_input + "." + b64(der_ecdsa(ec1(), es_input)), Reason::SigInvalid);
  reject("ES256 63-byte signature", es_input + "." + b64(ec1().sign(es_input)->substr(1)), Reason::SigInvalid);
  reject("RS256 one flipped signature bit", flip_last(valid), Reason::SigInvalid);
  reject("RS256 signature of another token", H + "." + b64(claims({{"sub", "auth0|mallory"}}).dump()) + "." + S,
         Reason::SigInvalid);
  reject("RS256 signed by an unlisted key with our kid", signed_raw(attacker(), rs_hdr().dump(), claims().dump()),
         Reason::SigInvalid);
  reject(
      "RS256 signature missing its last 3 bytes",
      [&] {
        auto sig = base::base64url_decode(S);
        REQUIRE(sig);
        return H + "." + P + "." + b64(sig->substr(0, sig->size() - 3));
      }(),
      Reason::SigInvalid);
  reject("RS256 signature with non-canonical trailing bits",
         H + "." + P + "." + S.substr(0, S.size() - 1) + (S.back() == 'B' ? "C" : "B"), Reason::BadBase64);

  // --- issuer ---
  std::string no_slash = iss;
  no_slash.pop_back();
  reject("iss without trailing slash", rs(claims({{"iss", no_slash}})), Reason::IssMismatch);
  reject("iss with double trailing slash", rs(claims({{"iss", iss + "/"}})), Reason::IssMismatch);
  reject("iss of another tenant", rs(claims({{"iss", "https://evil.example.auth0.com/"}})), Reason::IssMismatch);
  reject("iss upper-case scheme", rs(claims({{"iss", "HTTP" + iss.substr(4)}})), Reason::IssMismatch);
  reject("iss absent", rs(claims({{"iss", nullptr}})), Reason::IssMismatch);

  // --- audience ---
  reject("aud absent", rs(claims({{"aud", nullptr}})), Reason::AudMismatch);
  reject("aud list without ours", rs(claims({{"aud", json::array({"https://other.example", iss + "userinfo"})}})),
         Reason::AudMismatch);
  reject("aud with trailing slash", rs(claims({{"aud", aud + "/"}})), Reason::AudMismatch);
  reject("aud empty list", rs(claims({{"aud", json::array()}})), Reason::AudMismatch);

  // --- time ---
  reject("expired", rs(claims({{"exp", now - 100}})), Reason::Expired);
  reject("nbf beyond leeway", rs(claims({{"nbf", now + 100}})), Reason::NotYetValid);
  reject("iat beyond leeway", rs(claims({{"iat", now + 100}})), Reason::IatFuture);
  reject("exp missing", rs(claims({{"exp", nullptr}})), Reason::ClaimMissing);
  reject("exp as a string", rs(claims({{"exp", std::to_string(now + 3600)}})), Reason::ClaimType);
  reject("exp beyond 2^53", rs(claims({{"exp", 1e20}})), Reason::ClaimType);

  // --- payload / header JSON ---
  reject("payload not JSON", rs_text("hello"), Reason::BadJson);
  reject("payload a JSON array", rs_text("[1,2]"), Reason::BadJson);
  reject("payload JSON null", rs_text("null"), Reason::BadJson);
  reject("payload trailing garbage", rs_text(claims().dump() + "x"), Reason::BadJson);
  reject("payload invalid UTF-8", rs_text("{\"sub\":\"\xc3\x28\"}"), Reason::BadJson);
  reject("payload duplicate exp",
         rs_text("{\"iss\":\"" + iss + "\",\"aud\":\"" + aud + "\",\"exp\":" + std::to_string(now + 3600) +
                 ",\"exp\":" + std::to_string(now + 3600) + "}"),
         Reason::DupMember);
  reject("payload duplicate via escape",
         rs_text("{\"iss\":\"" + iss + "\",\"aud\":\"" + aud +
                 "\",\"exp\":1,\"\\u0065xp\":" + std::to_string(now + 3600) + "}"),
         Reason::DupMember);
  reject("header duplicate alg",
         signed_raw(rsa1(), "{\"alg\":\"RS256\",\"kid\":\"rel-rsa1\",\"alg\":\"none\"}", claims().dump()),
         Reason::DupMember);
  reject("payload nested 100 deep",
         rs_text("{\"iss\":\"" + iss + "\",\"aud\":\"" + aud + "\",\"exp\":" + std::to_string(now + 3600) +
                 ",\"x\":" + deep + "}"),
         Reason::TooDeep);
  reject("header not an object", b64("[\"RS256\"]") + "." + P + "." + S, Reason::BadJson);

  // --- encoding / structure ---
  reject("padding in signature", H + "." + P + "." + S + "=", Reason::BadBase64);
  reject("standard-base64 '+' in header", "+" + H.substr(1) + "." + P + "." + S, Reason::BadBase64);
  reject("standard-base64 '/' in payload", H + "." + "/" + P.substr(1) + "." + S, Reason::BadBase64);
  reject("character outside b64token", H + "." + P + "!" + "." + S, Reason::InvalidRequest, 400);
  reject("empty header segment", "." + P + "." + S, Reason::Malformed);
  reject("empty payload segment", H + ".." + S, Reason::Malformed);
  reject("all segments empty", "..", Reason::Malformed);
  reject("two segments", H + "." + P, Reason::Malformed);
  reject("four segments", valid + ".AAAA", Reason::Malformed);
  reject("five-segment JWE", b64(R"({"alg":"RSA-OAEP","enc":"A256GCM","kid":"rel-rsa1"})") + ".AAAA.AAAA.AAAA.AAAA",
         Reason::Malformed);
  return c;
}

std::uint64_t total_failures(const Metrics& m) {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kReasonCount; ++i) total += m.auth_failures(static_cast<Reason>(i));
  return total;
}

std::string expected_description(Reason reason) {
  // The fixed table text the daemon puts first in error_description.
  for (Errc e :
       {Errc::TokenMalformed,       Errc::TokenTooLarge,      Errc::TokenBadBase64,      Errc::TokenBadJson,
        Errc::TokenDuplicateMember, Errc::TokenTooDeep,       Errc::TokenUnsupportedAlg, Errc::TokenCritUnsupported,
        Errc::TokenEmbeddedKey,     Errc::TokenUnknownKid,    Errc::TokenKidMissing,     Errc::TokenKeyMismatch,
        Errc::TokenBadSignature,    Errc::TokenExpired,       Errc::TokenNotYetValid,    Errc::TokenIssuedInFuture,
        Errc::TokenWrongIssuer,     Errc::TokenWrongAudience, Errc::TokenMissingClaim,   Errc::TokenClaimType}) {
    const auto he = http_error_for(e);
    if (he.reason == reason) return std::string(he.description);
  }
  return {};
}

TEST_CASE("must-reject corpus through the daemon: every attack refused with its reason, every valid token accepted") {
  Harness h;
  const auto corpus = build_corpus(h);
  std::size_t rejects = 0;
  std::size_t accepts = 0;
  std::set<std::string> names;
  httplib::Client client("127.0.0.1", h.port);
  client.set_read_timeout(std::chrono::seconds(20));
  for (const auto& tc : corpus) {
    CAPTURE(tc.name);
    REQUIRE(names.insert(tc.name).second);
    const auto before_total = total_failures(h.metrics);
    const auto before = tc.reason ? h.metrics.auth_failures(*tc.reason) : 0;
    auto res = client.Get("/hello", {{"Authorization", "Bearer " + tc.token}});
    REQUIRE(res);
    CHECK(res->status == tc.status);
    if (!tc.reason) {
      ++accepts;
      CHECK(res->body.find("Hello! Your token is valid.") != std::string::npos);
      CHECK(total_failures(h.metrics) == before_total);
      continue;
    }
    ++rejects;
    const std::string label(to_label(*tc.reason));
    CAPTURE(label);
    CHECK(h.metrics.auth_failures(*tc.reason) == before + 1);
    CHECK(total_failures(h.metrics) == before_total + 1);
    const std::string challenge = res->get_header_value("WWW-Authenticate");
    CAPTURE(challenge);
    if (tc.status == 401) {
      CHECK(challenge.find("error=\"invalid_token\"") != std::string::npos);
      const std::string text = expected_description(*tc.reason);
      REQUIRE(!text.empty());
      CHECK(challenge.find("error_description=\"" + text) != std::string::npos);
    } else {
      CHECK(challenge.find("error=\"invalid_request\"") != std::string::npos);
    }
    // The token (and each of its segments of any length) never comes back.
    CHECK(res->body.find(tc.token) == std::string::npos);
    CHECK(challenge.find(tc.token) == std::string::npos);
  }
  MESSAGE("corpus: " << rejects << " must-reject tokens, " << accepts << " valid tokens");
  CHECK(rejects >= 40);
  CHECK(accepts >= 5);
}

TEST_CASE("oversized tokens: refused before decoding with too_large, in-process and over HTTP") {
  Harness h;
  const std::string big = std::string(9000, 'A') + "." + std::string(100, 'B') + "." + std::string(100, 'C');
  // In-process (no HTTP header limit in the way): the size cap answers first.
  Credentials cred;
  const std::string header = "Bearer " + big;
  cred.authorization_count = 1;
  cred.authorization = header;
  auto r = h.auth->authenticate(cred);
  REQUIRE(!r);
  CHECK(http_error_for(r.error().code).reason == Reason::TooLarge);

  // Over HTTP the front end refuses an Authorization line over 8 KiB with the same answer
  // (401 invalid_token, too_large counted) before parsing it; the server keeps serving.
  httplib::Client client("127.0.0.1", h.port);
  client.set_read_timeout(std::chrono::seconds(20));
  for (std::size_t size : {std::size_t{8200}, std::size_t{9000}, std::size_t{100000}}) {
    CAPTURE(size);
    const auto before = h.metrics.auth_failures(Reason::TooLarge);
    auto res = client.Get("/hello", {{"Authorization", "Bearer " + std::string(size, 'A') + ".B.C"}});
    REQUIRE(res);
    CHECK(res->status == 401);
    const std::string challenge = res->get_header_value("WWW-Authenticate");
    CHECK(challenge.rfind("Bearer ", 0) == 0);
    CHECK(challenge.find("error=\"invalid_token\"") != std::string::npos);
    CHECK(challenge.find("The token is too large") != std::string::npos);
    CHECK(h.metrics.auth_failures(Reason::TooLarge) == before + 1);
    auto ok = httplib::Client("127.0.0.1", h.port).Get("/healthz");
    REQUIRE(ok);
    CHECK(ok->status == 200);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
