// In-process HTTP tests: a real ApiServer on a random loopback port, keys from a real loopback
// provider, a FakeClock for everything time-based (tokens, key age, cooldowns).
#include "daemon/server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <doctest/doctest.h>

#include "daemon_test_support.h"
#include "support/fakes.h"

namespace oauthdemo::daemon {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using oauthdemo::testing::FakeClock;
using test::key_for;
using test::mint;

const jose::SigningKey& rsa1() { return key_for(jose::Alg::RS256, "rsa1"); }
const jose::SigningKey& rsa2() { return key_for(jose::Alg::RS256, "rsa2"); }

struct HarnessOptions {
  bool load_keys = true;
  Seconds cooldown{30};
  Seconds max_stale{3600};
  std::vector<std::string> cors_origins;
  std::optional<std::string> required_typ;
  std::vector<const jose::SigningKey*> keys{&rsa1()};
};

struct Harness {
  explicit Harness(HarnessOptions options = {}) : clock(std::chrono::system_clock::now()) {
    idp.set_keys(options.keys);
    JwksCacheOptions o;
    o.jwks_uri = idp.jwks_uri();
    o.kid_refetch_cooldown = options.cooldown;
    o.max_stale_age = options.max_stale;
    cache = std::make_unique<JwksCache>(o, http, clock, nullptr, &metrics);
    auth = std::make_unique<Authenticator>(*cache, clock, &metrics);
    AuthPolicy p;
    p.verify.issuer = idp.issuer();
    p.verify.audiences = {test::kAudience};
    p.verify.required_typ = options.required_typ;
    auth->set_policy(p);
    api = std::make_unique<ApiServer>(*auth, *cache, metrics);
    RouteConfig rc;
    rc.cors_origins = options.cors_origins;
    rc.audience = test::kAudience;
    rc.issuer = idp.issuer();
    api->set_config(rc);
    auto bound = api->bind("127.0.0.1", 0, ServerLimits{}, TlsFiles{});
    REQUIRE(bound);
    port = *bound;
    thread = std::thread([this] { api->listen(); });
    REQUIRE(test::eventually([this] { return api->is_running(); }));
    if (options.load_keys) REQUIRE(cache->refresh());
  }
  ~Harness() {
    api->stop();
    thread.join();
  }

  json claims() const { return test::claims_for(idp.issuer(), to_unix(clock.now())); }
  std::string token(const json& claims, const jose::SigningKey& key = rsa1(), const json& extra = json::object()) {
    return mint(key, claims, extra);
  }
  std::string token() { return token(claims()); }

  httplib::Result get(const std::string& path, httplib::Headers headers = {}) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(std::chrono::seconds(20));
    return client.Get(path.c_str(), headers);
  }
  httplib::Result get_with_token(const std::string& path, const std::string& token) {
    return get(path, {{"Authorization", "Bearer " + token}});
  }
  std::string metadata_url() const {
    return "http://127.0.0.1:" + std::to_string(port) + "/.well-known/oauth-protected-resource";
  }

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

// A throwaway self-signed certificate for 127.0.0.1 (generated per run, never committed).
struct SelfSignedCert {
  std::string cert_file;
  std::string key_file;
  SelfSignedCert() {
    const auto dir = std::filesystem::temp_directory_path();
    cert_file = (dir / ("apid-cert-" + std::to_string(::getpid()) + ".pem")).string();
    key_file = (dir / ("apid-key-" + std::to_string(::getpid()) + ".pem")).string();
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    REQUIRE(pkey);
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    REQUIRE(san);
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    REQUIRE(X509_sign(x, pkey, EVP_sha256()) > 0);
    FILE* c = std::fopen(cert_file.c_str(), "w");
    REQUIRE(c);
    PEM_write_X509(c, x);
    std::fclose(c);
    FILE* k = std::fopen(key_file.c_str(), "w");
    REQUIRE(k);
    PEM_write_PrivateKey(k, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(k);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~SelfSignedCert() {
    std::filesystem::remove(cert_file);
    std::filesystem::remove(key_file);
  }
};

json body_of(const httplib::Result& r) { return json::parse(r->body); }

TEST_SUITE("daemon::server") {
  TEST_CASE("GET /hello with a valid token answers 200 with the verified claims") {
    Harness h;
    auto r = h.get_with_token("/hello", h.token());
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == "application/json");
    CHECK(r->get_header_value("Cache-Control") == "no-store");
    auto body = body_of(r);
    CHECK(body["message"] == "Hello! Your token is valid.");
    CHECK(body["user"]["sub"] == "auth0|alice");
    CHECK(body["user"]["iss"] == h.idp.issuer());
  }

  TEST_CASE("a missing token gets a bare Bearer challenge with resource_metadata") {
    Harness h;
    auto r = h.get("/hello");
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(r->get_header_value("WWW-Authenticate") ==
          "Bearer realm=\"oauthdemo-apid\", resource_metadata=\"" + h.metadata_url() + "\"");
    CHECK(body_of(r)["error"] == "unauthorized");
    CHECK(h.metrics.auth_failures(Reason::TokenMissing) == 1);
    auto basic = h.get("/hello", {{"Authorization", "Basic dXNlcjpwYXNz"}});
    REQUIRE(basic);
    CHECK(basic->status == 401);
    CHECK(basic->get_header_value("WWW-Authenticate").find("error=") == std::string::npos);
  }

  TEST_CASE("every token rejection reason: 401 invalid_token with the reason") {
    Harness h;
    struct Case {
      const char* name;
      std::string token;
      Reason reason;
      const char* description_prefix;
    };
    const auto now = to_unix(h.clock.now());
    auto expired = h.claims();
    expired["exp"] = now - 100;
    auto wrong_aud = h.claims();
    wrong_aud["aud"] = "https://other.example.com";
    auto wrong_iss = h.claims();
    wrong_iss["iss"] = "https://evil.example.com/";
    auto no_exp = h.claims();
    no_exp.erase("exp");
    auto future = h.claims();
    future["nbf"] = now + 1000;
    std::string bad_sig = h.token();
    bad_sig[bad_sig.size() - 20] = bad_sig[bad_sig.size() - 20] == 'A' ? 'B' : 'A';
    const std::vector<Case> cases = {
        {"expired", h.token(expired), Reason::Expired, "The token has expired"},
        {"wrong audience", h.token(wrong_aud), Reason::AudMismatch, "The token has the wrong audience"},
        {"wrong issuer", h.token(wrong_iss), Reason::IssMismatch, "The token has the wrong issuer"},
        {"bad signature", bad_sig, Reason::SigInvalid, "The token's signature is invalid"},
        {"malformed", "abc", Reason::Malformed, "The token is malformed"},
        {"bad base64", "ab+c.def.ghi", Reason::BadBase64, "The token is not valid base64url"},
        {"alg not allowed", h.token(h.claims(), key_for(jose::Alg::ES256, "ec1")), Reason::AlgNotAllowed,
         "The token's algorithm is not allowed"},
        {"crit", h.token(h.claims(), rsa1(), {{"crit", {"exp"}}}), Reason::CritUnsupported,
         "The token has a crit header"},
        {"embedded key", h.token(h.claims(), rsa1(), {{"jku", "http://127.0.0.1:9/x"}}), Reason::EmbeddedKey,
         "The token embeds or references a key"},
        {"missing exp", h.token(no_exp), Reason::ClaimMissing, "The token lacks a required claim"},
        {"not yet valid", h.token(future), Reason::NotYetValid, "The token is not valid yet"},
        {"unknown kid", h.token(h.claims(), key_for(jose::Alg::RS256, "stranger")), Reason::KidUnknown,
         "The token was signed with an unknown key"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      auto r = h.get_with_token("/hello", c.token);
      REQUIRE(r);
      CHECK(r->status == 401);
      const auto challenge = r->get_header_value("WWW-Authenticate");
      CHECK(challenge.starts_with("Bearer realm=\"oauthdemo-apid\", resource_metadata=\"" + h.metadata_url() +
                                  "\", error=\"invalid_token\", error_description=\"" + c.description_prefix));
      auto body = body_of(r);
      CHECK(body["error"] == "invalid_token");
      CHECK(body["error_description"].get<std::string>().starts_with(c.description_prefix));
      CHECK(h.metrics.auth_failures(c.reason) == 1);
      if (c.token.size() > 20) {
        CHECK(r->body.find(c.token.substr(c.token.size() - 20)) == std::string::npos);
        CHECK(challenge.find(c.token.substr(c.token.size() - 20)) == std::string::npos);
      }
    }
  }

  TEST_CASE("no kid while the set has two keys; typ enforcement when configured") {
    SUBCASE("kid missing") {
      Harness h(HarnessOptions{.keys = {&rsa1(), &rsa2()}});
      auto t = test::mint_raw(rsa1(), {{"alg", "RS256"}, {"typ", "JWT"}}, h.claims());
      auto r = h.get_with_token("/hello", t);
      REQUIRE(r);
      CHECK(r->status == 401);
      CHECK(h.metrics.auth_failures(Reason::KidMissing) == 1);
    }
    SUBCASE("typ") {
      Harness h(HarnessOptions{.required_typ = "at+jwt"});
      auto r = h.get_with_token("/hello", h.token());
      REQUIRE(r);
      CHECK(r->status == 401);
      CHECK(h.metrics.auth_failures(Reason::TypMismatch) == 1);
      auto typed = jose::sign_jwt(rsa1(), h.claims(), "at+jwt");
      REQUIRE(typed);
      auto ok = h.get_with_token("/hello", *typed);
      REQUIRE(ok);
      CHECK(ok->status == 200);
    }
  }

  TEST_CASE("malformed requests: 400 invalid_request") {
    Harness h;
    const auto t = h.token();
    SUBCASE("two Authorization headers") {
      auto r = h.get("/hello", {{"Authorization", "Bearer " + t}, {"Authorization", "Bearer " + t}});
      REQUIRE(r);
      CHECK(r->status == 400);
      CHECK(r->get_header_value("WWW-Authenticate").find("error=\"invalid_request\"") != std::string::npos);
      CHECK(body_of(r)["error_description"] == "Malformed request: more than one Authorization header");
    }
    // The front end lifts at most four Authorization lines out of a head: four are all lifted,
    // the fifth stays in the head for cpp-httplib to parse.
    for (const int count : {4, 5}) {
      SUBCASE((std::to_string(count) + " Authorization headers").c_str()) {
        httplib::Headers headers;
        for (int i = 0; i < count; ++i) headers.emplace("Authorization", "Bearer " + t);
        auto r = h.get("/hello", headers);
        REQUIRE(r);
        CHECK(r->status == 400);
        CHECK(body_of(r)["error_description"] == "Malformed request: more than one Authorization header");
      }
    }
    SUBCASE("header and query") {
      auto r = h.get("/hello?access_token=" + t, {{"Authorization", "Bearer " + t}});
      REQUIRE(r);
      CHECK(r->status == 400);
      CHECK(body_of(r)["error"] == "invalid_request");
    }
    SUBCASE("two spaces") {
      auto r = h.get("/hello", {{"Authorization", "Bearer  " + t}});
      REQUIRE(r);
      CHECK(r->status == 400);
    }
    CHECK(h.metrics.auth_failures(Reason::InvalidRequest) == 1);
  }

  TEST_CASE("/admin needs read:admin from permissions or scope") {
    Harness h;
    auto alice = h.claims();
    alice["permissions"] = {"read:messages", "read:admin"};
    auto r = h.get_with_token("/admin", h.token(alice));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(body_of(r)["user"]["permissions"][1] == "read:admin");

    auto bob = h.claims();
    auto denied = h.get_with_token("/admin", h.token(bob));
    REQUIRE(denied);
    CHECK(denied->status == 403);
    CHECK(denied->get_header_value("WWW-Authenticate") ==
          "Bearer realm=\"oauthdemo-apid\", resource_metadata=\"" + h.metadata_url() +
              "\", error=\"insufficient_scope\", error_description=\"The token lacks the required permission: this "
              "route requires the read:admin permission\", scope=\"read:admin\"");
    CHECK(body_of(denied)["error"] == "insufficient_scope");
    // /hello needs no permission.
    CHECK(h.get_with_token("/hello", h.token(bob))->status == 200);

    auto scoped = h.claims();
    scoped.erase("permissions");
    scoped["scope"] = "openid read:admin";
    CHECK(h.get_with_token("/admin", h.token(scoped))->status == 200);
    CHECK(h.metrics.auth_failures(Reason::InsufficientScope) == 1);
  }

  TEST_CASE("CORS: preflight before auth, allow-all by default, exposes WWW-Authenticate") {
    Harness h;
    httplib::Client client("127.0.0.1", h.port);
    httplib::Request req;
    req.method = "OPTIONS";
    req.path = "/hello";
    req.headers = {{"Origin", "http://localhost:3000"},
                   {"Access-Control-Request-Method", "GET"},
                   {"Access-Control-Request-Headers", "authorization"}};
    auto pre = client.send(req);
    REQUIRE(pre);
    CHECK(pre->status == 204);
    CHECK(pre->get_header_value("Access-Control-Allow-Origin") == "*");
    CHECK(pre->get_header_value("Access-Control-Allow-Headers") == "authorization");
    CHECK(pre->get_header_value("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS");
    CHECK(pre->get_header_value("WWW-Authenticate").empty());
    auto r = h.get("/hello", {{"Origin", "http://localhost:3000"}});
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(r->get_header_value("Access-Control-Allow-Origin") == "*");
    CHECK(r->get_header_value("Access-Control-Expose-Headers") == "WWW-Authenticate, Retry-After");
  }

  TEST_CASE("CORS: configured origins are echoed, others get nothing") {
    Harness h(HarnessOptions{.cors_origins = {"https://app.example.com"}});
    auto ok = h.get_with_token("/hello", h.token());
    REQUIRE(ok);
    CHECK(ok->get_header_value("Access-Control-Allow-Origin").empty());  // no Origin sent
    auto allowed = h.get("/hello", {{"Origin", "https://app.example.com"}});
    REQUIRE(allowed);
    CHECK(allowed->get_header_value("Access-Control-Allow-Origin") == "https://app.example.com");
    CHECK(allowed->get_header_value("Vary") == "Origin");
    auto other = h.get("/hello", {{"Origin", "https://evil.example.com"}});
    REQUIRE(other);
    CHECK(other->get_header_value("Access-Control-Allow-Origin").empty());
  }

  TEST_CASE("/readyz and /hello before keys: 503 with Retry-After, then ready") {
    Harness h(HarnessOptions{.load_keys = false});
    h.idp.set_status(503);
    auto ready = h.get("/readyz");
    REQUIRE(ready);
    CHECK(ready->status == 503);
    CHECK(ready->get_header_value("Retry-After") == "5");
    CHECK(h.get("/healthz")->status == 200);
    auto hello = h.get_with_token("/hello", h.token());
    REQUIRE(hello);
    CHECK(hello->status == 503);
    CHECK(hello->get_header_value("Retry-After") == "5");
    CHECK(body_of(hello)["error"] == "temporarily_unavailable");
    CHECK(h.get("/metrics")->body.find("apid_ready 0\n") != std::string::npos);
    CHECK_FALSE(h.cache->refresh());
    CHECK(h.get("/readyz")->body.find("http_bad_status") != std::string::npos);
    h.idp.set_status(200);
    REQUIRE(h.cache->refresh());
    CHECK(h.get("/readyz")->status == 200);
    CHECK(h.get_with_token("/hello", h.token())->status == 200);
    CHECK(h.metrics.auth_failures(Reason::JwksUnavailable) == 1);
  }

  TEST_CASE("key rotation: a new kid causes exactly one refetch and is accepted") {
    Harness h;
    CHECK(h.idp.jwks_requests() == 1);
    h.idp.set_keys({&rsa1(), &rsa2()});
    auto r = h.get_with_token("/hello", h.token(h.claims(), rsa2()));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(h.idp.jwks_requests() == 2);
    CHECK(h.get_with_token("/hello", h.token(h.claims(), rsa2()))->status == 200);
    CHECK(h.get_with_token("/hello", h.token())->status == 200);
    CHECK(h.idp.jwks_requests() == 2);
  }

  TEST_CASE("provider down: stale keys keep working until the maximum stale age") {
    Harness h(HarnessOptions{.max_stale = Seconds{3600}});
    h.idp.stop();
    h.clock.advance(3000s);
    CHECK_FALSE(h.cache->refresh());
    CHECK(h.get_with_token("/hello", h.token())->status == 200);
    CHECK(h.get("/readyz")->status == 200);
    const auto metrics = h.get("/metrics")->body;
    CHECK(metrics.find("apid_jwks_fetches_total{result=\"error\"} 1\n") != std::string::npos);
    CHECK(metrics.find("apid_jwks_age_seconds 3000\n") != std::string::npos);
    h.clock.advance(601s);
    CHECK(h.get("/readyz")->status == 503);
    auto r = h.get_with_token("/hello", h.token());
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->get_header_value("Retry-After") == "5");
  }

  TEST_CASE("kid flood: 1000 made-up kids cost at most one fetch per cooldown") {
    Harness h;
    const auto& stranger = key_for(jose::Alg::RS256, "stranger");
    httplib::Client client("127.0.0.1", h.port);
    client.set_keep_alive(true);
    int rejected = 0;
    for (int i = 0; i < 1000; ++i) {
      auto t = mint(stranger, h.claims(), {{"kid", "made-up-" + std::to_string(i)}});
      auto r = client.Get("/hello", {{"Authorization", "Bearer " + t}});
      REQUIRE(r);
      rejected += r->status == 401 ? 1 : 0;
    }
    CHECK(rejected == 1000);
    CHECK(h.idp.jwks_requests() == 2);  // the initial load + one refetch
    CHECK(h.metrics.auth_failures(Reason::KidUnknown) == 1000);
    CHECK(h.get("/metrics")->body.find("apid_jwks_refetch_suppressed_total 999\n") != std::string::npos);
  }

  TEST_CASE("ETag: an unchanged set is revalidated with 304") {
    Harness h;
    REQUIRE(h.cache->refresh());
    CHECK(h.idp.not_modified() == 1);
    CHECK(h.metrics.jwks_fetches(FetchResult::NotModified) == 1);
    CHECK(h.get_with_token("/hello", h.token())->status == 200);
  }

  TEST_CASE("metrics in Prometheus text format") {
    Harness h;
    CHECK(h.get_with_token("/hello", h.token())->status == 200);
    auto expired = h.claims();
    expired["exp"] = to_unix(h.clock.now()) - 100;
    CHECK(h.get_with_token("/hello", h.token(expired))->status == 401);
    auto r = h.get("/metrics");
    REQUIRE(r);
    CHECK(r->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r->body.find("apid_requests_total{route=\"/hello\",status=\"200\"} 1\n") != std::string::npos);
    CHECK(r->body.find("apid_requests_total{route=\"/hello\",status=\"401\"} 1\n") != std::string::npos);
    CHECK(r->body.find("apid_auth_failures_total{reason=\"expired\"} 1\n") != std::string::npos);
    CHECK(r->body.find("apid_jwks_fetches_total{result=\"ok\"} 1\n") != std::string::npos);
    CHECK(r->body.find("apid_jwks_keys 1\n") != std::string::npos);
    CHECK(r->body.find("apid_request_duration_seconds_count 2\n") != std::string::npos);
    CHECK(r->body.find("apid_token_cache_misses_total 2\n") != std::string::npos);
  }

  TEST_CASE("request bodies over 64 KiB are refused") {
    Harness h;
    httplib::Client client("127.0.0.1", h.port);
    auto r = client.Post("/hello", std::string(100 * 1024, 'x'), "text/plain");
    REQUIRE(r);
    CHECK(r->status == 413);
  }

  TEST_CASE("RFC 9728 protected-resource metadata") {
    Harness h;
    auto r = h.get("/.well-known/oauth-protected-resource");
    REQUIRE(r);
    CHECK(r->status == 200);
    auto body = body_of(r);
    CHECK(body["resource"] == test::kAudience);
    CHECK(body["authorization_servers"] == json::array({h.idp.issuer()}));
    CHECK(body["scopes_supported"] == json::array({"read:admin"}));
    CHECK(body["bearer_methods_supported"] == json::array({"header"}));
  }

  TEST_CASE("keep-alive requests are fast (TCP_NODELAY on, keep-alive not capped at 5)") {
    Harness h;
    const auto t = h.token();
    httplib::Client client("127.0.0.1", h.port);
    client.set_keep_alive(true);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) REQUIRE(client.Get("/hello", {{"Authorization", "Bearer " + t}})->status == 200);
    // With Nagle + delayed ACK each request would take ~40 ms (8 s in all).
    CHECK(std::chrono::steady_clock::now() - start < 4s);
  }

  TEST_CASE("serves HTTPS when given a certificate and key") {
    SelfSignedCert cert;
    test::FakeProvider idp;
    idp.set_keys({&rsa1()});
    FakeClock clock(std::chrono::system_clock::now());
    Metrics metrics;
    http::HttplibClient http;
    JwksCache cache(JwksCacheOptions{.jwks_uri = idp.jwks_uri()}, http, clock, nullptr, &metrics);
    REQUIRE(cache.refresh());
    Authenticator auth(cache, clock, &metrics);
    AuthPolicy p;
    p.verify.issuer = idp.issuer();
    p.verify.audiences = {test::kAudience};
    auth.set_policy(p);
    ApiServer api(auth, cache, metrics);
    auto port = api.bind("127.0.0.1", 0, ServerLimits{}, TlsFiles{cert.cert_file, cert.key_file});
    REQUIRE(port);
    CHECK(api.base_url() == "https://127.0.0.1:" + std::to_string(*port));
    std::thread t([&] { api.listen(); });
    REQUIRE(test::eventually([&] { return api.is_running(); }));
    httplib::SSLClient client("127.0.0.1", *port);
    client.set_ca_cert_path(cert.cert_file.c_str());
    client.enable_server_certificate_verification(true);
    auto r = client.Get("/hello", {{"Authorization", "Bearer " + mint(rsa1(), test::claims_for(idp.issuer()))}});
    api.stop();
    t.join();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(json::parse(r->body)["message"] == "Hello! Your token is valid.");
  }

  TEST_CASE("the access log has method, path, status, sub and reason, never the token") {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
    {
      Harness h;
      const auto good = h.token();
      auto expired = h.claims();
      expired["exp"] = to_unix(h.clock.now()) - 100;
      const auto bad = h.token(expired);
      CHECK(h.get("/hello?access_token=" + good, {{"Authorization", "Bearer " + good}})->status == 400);
      CHECK(h.get_with_token("/hello", good)->status == 200);
      CHECK(h.get_with_token("/hello", bad)->status == 401);
    }
    spdlog::set_default_logger(previous);
    const auto text = out.str();
    CHECK(text.find("GET /hello 200 ") != std::string::npos);
    CHECK(text.find("sub=auth0|alice reason=-") != std::string::npos);
    CHECK(text.find("GET /hello 401 ") != std::string::npos);
    CHECK(text.find("reason=expired") != std::string::npos);
    CHECK(text.find("reason=invalid_request") != std::string::npos);
    CHECK(text.find("eyJ") == std::string::npos);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
