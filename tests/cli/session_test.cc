#include "cli/session.h"

#include "cli/commands/call_api.h"

#include <doctest/doctest.h>

#include <sstream>

#include "common/jose/sign.h"
#include "support/fakes.h"
#include "support/temp_dir.h"

using namespace oauthdemo;
using namespace oauthdemo::cli;
using namespace std::chrono_literals;

namespace {

const std::string kIssuer = "https://idp.example/";
const std::string kDiscovery = "https://idp.example/.well-known/openid-configuration";
const std::string kJwks = "https://idp.example/.well-known/jwks.json";
const std::string kToken = "https://idp.example/oauth/token";

struct Fixture {
  testing::TempDir tmp;
  testing::FakeClock clock;
  testing::FixedRandom random;
  testing::FakeHttpClient http;
  std::ostringstream out, err;
  std::unique_ptr<FileTokenStore> store;
  jose::SigningKey key = *jose::SigningKey::generate(jose::Alg::RS256, "k1");
  Context ctx;

  Fixture() {
    http.respond(kDiscovery, 200,
                 nlohmann::json{{"issuer", kIssuer},
                                {"authorization_endpoint", kIssuer + "authorize"},
                                {"token_endpoint", kToken},
                                {"jwks_uri", kJwks},
                                {"revocation_endpoint", kIssuer + "oauth/revoke"},
                                {"id_token_signing_alg_values_supported", {"RS256"}}}
                     .dump());
    http.respond(kJwks, 200, jose::make_jwks({key.public_jwk()}).dump());
    GlobalOptions global;
    global.config_dir = tmp.path() + "/oauthdemo";
    auto settings = Settings::load(global, {});
    REQUIRE(settings);
    ctx.settings = std::move(*settings);
    store = std::make_unique<FileTokenStore>(global.config_dir, "default");
    ctx.out = &out;
    ctx.err = &err;
    ctx.clock = &clock;
    ctx.random = &random;
    ctx.http = &http;
    ctx.store = store.get();
  }

  nlohmann::json id_claims() const {
    const auto now = to_unix(clock.now());
    return {{"iss", kIssuer}, {"aud", "cli"},      {"sub", "auth0|alice"}, {"iat", now},
            {"exp", now + 3600}, {"nonce", "N1"}, {"name", "Alice"}};
  }
  std::string sign(const nlohmann::json& claims) { return *jose::sign_jwt(key, claims); }
  oauth::ProviderMetadata metadata() { return *discover(ctx, kIssuer, false); }

  void store_tokens(const std::string& at, const std::string& rt, int64_t expires_in) {
    StoredTokens t;
    t.issuer = kIssuer;
    t.client_id = "cli";
    t.access_token = at;
    t.refresh_token = rt;
    t.expires_at = to_unix(clock.now()) + expires_in;
    auto lock = store->lock();
    REQUIRE(lock);
    REQUIRE(store->save(t, *lock));
  }
  std::size_t token_posts() const {
    std::size_t n = 0;
    for (const auto& r : http.requests()) n += (r.method == "POST" && r.url == kToken) ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_SUITE("cli::session") {
  TEST_CASE("verifies a good ID token and returns its claims") {
    Fixture f;
    auto claims = verify_id_token(f.ctx, f.metadata(), "cli", f.sign(f.id_claims()), std::string("N1"));
    REQUIRE(claims);
    CHECK((*claims)["name"] == "Alice");
    CHECK(f.http.requests_to(kJwks) == 1);
  }

  TEST_CASE("rejects a wrong nonce") {
    Fixture f;
    auto claims = verify_id_token(f.ctx, f.metadata(), "cli", f.sign(f.id_claims()), std::string("OTHER"));
    REQUIRE_FALSE(claims);
    CHECK(claims.error().code == Errc::TokenNonceMismatch);
    CHECK(claims.error().detail.rfind("the ID token did not verify: ", 0) == 0);
  }

  TEST_CASE("a clock-skew failure says so") {
    Fixture f;
    auto c = f.id_claims();
    c["iat"] = to_unix(f.clock.now()) + 300;
    auto claims = verify_id_token(f.ctx, f.metadata(), "cli", f.sign(c), std::string("N1"));
    REQUIRE_FALSE(claims);
    CHECK(claims.error().code == Errc::TokenIssuedInFuture);
    CHECK(claims.error().detail.find("this machine's clock is probably off by more than 60 s — check it") !=
          std::string::npos);
    SUBCASE("and names the difference from the provider's Date header") {
      f.http.respond(kJwks, 200, jose::make_jwks({f.key.public_jwk()}).dump(),
                     {{"Date", "Thu, 01 Jan 2026 00:05:00 GMT"}});
      auto again = verify_id_token(f.ctx, f.metadata(), "cli", f.sign(c), std::string("N1"));
      REQUIRE_FALSE(again);
      CHECK(again.error().detail.find("(the provider's clock is 300 s ahead of this machine's)") != std::string::npos);
    }
    SUBCASE("but 30 s of skew is within the leeway") {
      c["iat"] = to_unix(f.clock.now()) + 30;
      CHECK(verify_id_token(f.ctx, f.metadata(), "cli", f.sign(c), std::string("N1")));
    }
  }

  TEST_CASE("azp must be this client") {
    Fixture f;
    auto c = f.id_claims();
    c["aud"] = {"cli", "other"};
    c["azp"] = "other";
    auto claims = verify_id_token(f.ctx, f.metadata(), "cli", f.sign(c), std::string("N1"));
    REQUIRE_FALSE(claims);
    CHECK(claims.error().code == Errc::TokenWrongAudience);
    CHECK(claims.error().detail == "the ID token's azp is not this client (cli)");
  }

  TEST_CASE("an ID token for another audience is refused") {
    Fixture f;
    auto c = f.id_claims();
    c["aud"] = "someone-else";
    auto claims = verify_id_token(f.ctx, f.metadata(), "cli", f.sign(c), std::string("N1"));
    REQUIRE_FALSE(claims);
    CHECK(claims.error().code == Errc::TokenWrongAudience);
  }

  TEST_CASE("refresh spends the stored refresh token and stores the rotated one") {
    Fixture f;
    f.store_tokens("AT1", "RT1", 3600);
    f.http.respond(kToken, 200, R"({"access_token":"AT2","refresh_token":"RT2","token_type":"Bearer","expires_in":600})",
                   {}, "POST");
    auto next = refresh_tokens(f.ctx, RefreshMode::Force, "AT1");
    REQUIRE(next);
    CHECK(next->access_token == "AT2");
    auto stored = f.store->load();
    REQUIRE(stored);
    CHECK(stored->refresh_token == "RT2");
    CHECK(stored->expires_at == to_unix(f.clock.now()) + 600);
    CHECK(f.token_posts() == 1);
    CHECK(f.http.requests().back().body == "grant_type=refresh_token&refresh_token=RT1&client_id=cli");
  }

  TEST_CASE("refresh if needed uses tokens another process already refreshed") {
    Fixture f;
    f.store_tokens("AT-NEW", "RT2", 3600);
    auto next = refresh_tokens(f.ctx, RefreshMode::IfNeeded, "AT-OLD");
    REQUIRE(next);
    CHECK(next->access_token == "AT-NEW");
    CHECK(f.token_posts() == 0);
  }

  TEST_CASE("current tokens are refreshed when they expire within 60 s") {
    Fixture f;
    f.store_tokens("AT1", "RT1", 59);
    f.http.respond(kToken, 200, R"({"access_token":"AT2","refresh_token":"RT2","token_type":"Bearer","expires_in":600})",
                   {}, "POST");
    auto current = current_fresh_tokens(f.ctx);
    REQUIRE(current);
    CHECK(current->tokens.access_token == "AT2");
    CHECK(f.token_posts() == 1);
    SUBCASE("and left alone otherwise") {
      auto again = current_fresh_tokens(f.ctx);
      REQUIRE(again);
      CHECK(again->tokens.access_token == "AT2");
      CHECK(f.token_posts() == 1);
    }
  }

  TEST_CASE("invalid_grant ends the session with the remedy") {
    Fixture f;
    f.store_tokens("AT1", "RT1", 0);
    f.http.respond(kToken, 400, R"({"error":"invalid_grant","error_description":"Unknown or invalid refresh token."})", {},
                   "POST");
    auto next = refresh_tokens(f.ctx, RefreshMode::IfNeeded, "AT1");
    REQUIRE_FALSE(next);
    CHECK(next.error().code == Errc::LoginRequired);
    CHECK(next.error().detail ==
          "the session has ended: the provider rejected the refresh token (invalid_grant: Unknown or invalid refresh "
          "token.); run: oauthdemo login");
  }

  TEST_CASE("an expired token without a refresh token needs a new login") {
    Fixture f;
    f.store_tokens("AT1", "", 0);
    auto current = current_fresh_tokens(f.ctx);
    REQUIRE_FALSE(current);
    CHECK(current.error().code == Errc::LoginRequired);
    CHECK(current.error().detail ==
          "the access token has expired and no refresh token is stored (request the offline_access scope to get "
          "one); run: oauthdemo login");
  }

  TEST_CASE("HTTP dates") {
    CHECK(parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT") == testing::kSomeInstant);
    CHECK_FALSE(parse_http_date("yesterday"));
    CHECK_FALSE(parse_http_date(""));
  }

  TEST_CASE("nothing stored is login required") {
    Fixture f;
    auto current = load_current(f.ctx);
    REQUIRE_FALSE(current);
    CHECK(current.error().detail == "not logged in (profile default); run: oauthdemo login");
  }
}

namespace {
// Answers the API URL from a list (in order) and everything else from the fixture's fake.
class ApiScript final : public http::HttpClient {
 public:
  ApiScript(http::HttpClient& rest, std::string api_url) : rest_(rest), api_url_(std::move(api_url)) {}
  std::vector<http::HttpResponse> answers;
  std::vector<std::string> authorizations;
  Result<http::HttpResponse> send(const http::HttpRequest& request) override {
    if (request.url != api_url_) return rest_.send(request);
    for (const auto& [n, v] : request.headers)
      if (n == "Authorization") authorizations.push_back(v);
    auto next = answers.front();
    if (answers.size() > 1) answers.erase(answers.begin());
    return next;
  }

 private:
  http::HttpClient& rest_;
  std::string api_url_;
};
}  // namespace

TEST_SUITE("cli::call_api") {
  TEST_CASE("a 401 with a refreshable token refreshes once and retries") {
    Fixture f;
    GlobalOptions global;
    global.config_dir = f.tmp.path() + "/oauthdemo";
    auto settings = Settings::load(global, {{"API_BASE_URL", "--api-url", "https://api.example"}});
    REQUIRE(settings);
    f.ctx.settings = std::move(*settings);
    f.store_tokens("AT1", "RT1", 3600);
    f.http.respond(kToken, 200, R"({"access_token":"AT2","refresh_token":"RT2","token_type":"Bearer","expires_in":600})",
                   {}, "POST");
    ApiScript api(f.http, "https://api.example/hello");
    api.answers = {http::HttpResponse{401, {{"WWW-Authenticate", R"(Bearer error="invalid_token")"}}, "{}"},
                   http::HttpResponse{200, {{"Content-Type", "application/json"}}, R"({"message":"hi"})"}};
    f.ctx.http = &api;
    CallApiOptions options;
    options.path = "/hello";
    auto code = run_call_api(f.ctx, options);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(api.authorizations == std::vector<std::string>{"Bearer AT1", "Bearer AT2"});
    CHECK(f.out.str() == R"({"message":"hi"})");
    CHECK(f.token_posts() == 1);
  }

  TEST_CASE("a remaining 403 is explained and exits 6") {
    Fixture f;
    GlobalOptions global;
    global.config_dir = f.tmp.path() + "/oauthdemo";
    auto settings = Settings::load(global, {{"API_BASE_URL", "--api-url", "https://api.example/"}});
    REQUIRE(settings);
    f.ctx.settings = std::move(*settings);
    f.store_tokens("AT1", "RT1", 3600);
    ApiScript api(f.http, "https://api.example/admin");
    api.answers = {http::HttpResponse{
        403, {{"WWW-Authenticate", R"(Bearer error="insufficient_scope", scope="read:admin")"}}, "{}"}};
    f.ctx.http = &api;
    CallApiOptions options;
    options.path = "/admin";
    auto code = run_call_api(f.ctx, options);
    REQUIRE(code);
    CHECK(*code == 6);
    CHECK(f.err.str() ==
          "oauthdemo: the API refused the request: the token lacks the required permission 'read:admin'. Log in as a "
          "user who has it, or request it: oauthdemo login --scope \"openid profile email offline_access "
          "read:admin\".\n");
    CHECK(f.token_posts() == 0);
  }
}
