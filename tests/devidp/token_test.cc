#include <doctest/doctest.h>

#include "common/base/base64url.h"
#include "idp_fixture.h"

using namespace oauthdemo;
using namespace oauthdemo::devidp;
using namespace oauthdemo::devidp::testing;

namespace {

std::string code_for(TestIdp& idp, const AuthorizeParams& p = {}, const std::string& user = "alice",
                     const std::string& password = "alice-password") {
  return qparam(authorize_and_login(idp, p, user, password), "code");
}

std::string basic(const std::string& id, const std::string& secret) {
  // Standard base64 with padding for HTTP Basic.
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = id + ":" + secret;
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned(uint8_t(in[i])) << 16) | (unsigned(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
  }
  if (in.size() - i == 1) {
    const unsigned v = unsigned(uint8_t(in[i])) << 16;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    const unsigned v = (unsigned(uint8_t(in[i])) << 16) | (unsigned(uint8_t(in[i + 1])) << 8);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
  }
  return "Basic " + out;
}

void check_error(const httplib::Result& res, int status, const std::string& error, const std::string& description) {
  REQUIRE(res);
  CHECK(res->status == status);
  auto body = json_of(res);
  CHECK(body["error"] == error);
  CHECK(body["error_description"] == description);
  CHECK(res->get_header_value("Cache-Control") == "no-store");
}

jose::VerifyPolicy policy_for(TestIdp& idp, const std::string& audience) {
  jose::VerifyPolicy p;
  p.issuer = idp.issuer();
  p.audiences = {audience};
  return p;
}

}  // namespace

TEST_SUITE("devidp::token") {
  TEST_CASE("the code exchange returns Auth0-shaped tokens signed with the published key") {
    TestIdp idp;
    auto res = exchange_code(idp, code_for(idp));
    REQUIRE(res);
    REQUIRE(res->status == 200);
    CHECK(res->get_header_value("Cache-Control") == "no-store");
    CHECK(res->get_header_value("Pragma") == "no-cache");
    auto body = json_of(res);
    CHECK(body["token_type"] == "Bearer");
    CHECK(body["expires_in"] == 3600);
    CHECK(body["scope"] == "openid profile email offline_access read:messages");
    REQUIRE(body["refresh_token"].is_string());
    const std::string at = body["access_token"];
    const std::string idt = body["id_token"];
    auto keys = idp.server().keys().verification_keys();
    auto verified = jose::verify_jwt(at, *keys, policy_for(idp, kApi), idp.clock.now());
    REQUIRE(verified);
    CHECK(verified->header["typ"] == "JWT");
    CHECK(verified->header["kid"] == idp.server().keys().current()->kid());
    const auto& claims = verified->claims;
    CHECK(claims["iss"] == idp.issuer());
    CHECK(claims["sub"] == "auth0|alice");
    CHECK(claims["aud"] == nlohmann::json::array({kApi, idp.issuer() + "userinfo"}));
    CHECK(claims["azp"] == kCliClient);
    CHECK(claims["permissions"] == nlohmann::json::array({"read:messages", "read:admin"}));
    CHECK(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>() == 3600);
    auto id = jose::verify_jwt(idt, *keys, policy_for(idp, kCliClient), idp.clock.now());
    REQUIRE(id);
    CHECK(id->claims["nonce"] == "nonce-456");
    CHECK(id->claims["name"] == "Alice Example");
    CHECK(id->claims["email"] == "alice@example.com");
    CHECK(id->claims["email_verified"] == true);
    CHECK(id->claims["auth_time"] == to_unix(idp.clock.now()));
  }

  TEST_CASE("bob's token has read:messages only; read:admin is dropped from the scope") {
    TestIdp idp;
    AuthorizeParams p;
    p.scope = "openid read:messages read:admin";
    auto body = json_of(exchange_code(idp, code_for(idp, p, "bob", "bob-password")));
    auto claims = jwt_claims(body["access_token"]);
    CHECK(claims["sub"] == "auth0|bob");
    CHECK(claims["permissions"] == nlohmann::json::array({"read:messages"}));
    CHECK(claims["scope"] == "openid read:messages");
    CHECK_FALSE(body.contains("refresh_token"));  // no offline_access
  }

  TEST_CASE("without openid the audience is a string and there is no ID token") {
    TestIdp idp;
    AuthorizeParams p;
    p.scope = "read:messages";
    auto body = json_of(exchange_code(idp, code_for(idp, p)));
    CHECK(jwt_claims(body["access_token"])["aud"] == kApi);
    CHECK_FALSE(body.contains("id_token"));
  }

  TEST_CASE("without an audience the access token is for /userinfo only and has no permissions") {
    TestIdp idp;
    AuthorizeParams p;
    p.audience.clear();
    p.scope = "openid";
    auto body = json_of(exchange_code(idp, code_for(idp, p)));
    auto claims = jwt_claims(body["access_token"]);
    CHECK(claims["aud"] == idp.issuer() + "userinfo");
    CHECK_FALSE(claims.contains("permissions"));
    // openid alone: userinfo answers sub only; the ID token has no profile claims.
    auto c = idp.client();
    auto info = json_of(c.Get("/userinfo", {{"Authorization", "Bearer " + body["access_token"].get<std::string>()}}));
    CHECK(info == nlohmann::json{{"sub", "auth0|alice"}});
    CHECK_FALSE(jwt_claims(body["id_token"]).contains("email"));
  }

  TEST_CASE("userinfo refuses a token without openid with 403 insufficient_scope") {
    TestIdp idp;
    AuthorizeParams p;
    p.audience.clear();
    p.scope = "offline_access";
    auto body = json_of(exchange_code(idp, code_for(idp, p)));
    auto c = idp.client();
    auto res = c.Get("/userinfo", {{"Authorization", "Bearer " + body["access_token"].get<std::string>()}});
    REQUIRE(res);
    CHECK(res->status == 403);
    CHECK(json_of(res)["error"] == "insufficient_scope");
  }

  TEST_CASE("PKCE: a wrong or malformed verifier fails") {
    TestIdp idp;
    SUBCASE("mismatch") {
      check_error(exchange_code(idp, code_for(idp), "http://127.0.0.1:4567/callback", std::string(43, 'x')), 400,
                  "invalid_grant", "code_verifier does not match the code_challenge");
    }
    SUBCASE("too short") {
      check_error(exchange_code(idp, code_for(idp), "http://127.0.0.1:4567/callback", "short"), 400, "invalid_grant",
                  "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]");
    }
    SUBCASE("missing") {
      auto c = idp.client();
      check_error(post_form(c, "/oauth/token",
                            {{"grant_type", "authorization_code"}, {"client_id", kCliClient}, {"code", code_for(idp)},
                             {"redirect_uri", "http://127.0.0.1:4567/callback"}}),
                  400, "invalid_request", "Missing required parameter: code_verifier");
    }
  }

  TEST_CASE("the redirect_uri must equal the one of the authorization request") {
    TestIdp idp;
    check_error(exchange_code(idp, code_for(idp), "http://127.0.0.1:4568/callback"), 400, "invalid_grant",
                "redirect_uri does not match the one used in /authorize");
  }

  TEST_CASE("a replayed code is refused and revokes the refresh token issued from it") {
    TestIdp idp;
    const std::string code = code_for(idp);
    auto first = json_of(exchange_code(idp, code));
    REQUIRE(first["refresh_token"].is_string());
    check_error(exchange_code(idp, code), 400, "invalid_grant", "authorization code has already been used");
    auto c = idp.client();
    check_error(post_form(c, "/oauth/token",
                          {{"grant_type", "refresh_token"}, {"client_id", kCliClient},
                           {"refresh_token", first["refresh_token"]}}),
                400, "invalid_grant", "refresh token has been revoked");
  }

  TEST_CASE("a code expires after --code-ttl") {
    TestIdp idp;
    const std::string code = code_for(idp);
    idp.clock.advance(std::chrono::seconds(61));
    check_error(exchange_code(idp, code), 400, "invalid_grant", "authorization code has expired");
  }

  TEST_CASE("refresh rotates and a reused refresh token revokes the family") {
    TestIdp idp;
    auto first = json_of(exchange_code(idp, code_for(idp)));
    auto c = idp.client();
    auto refresh = [&](const std::string& rt) {
      return post_form(c, "/oauth/token", {{"grant_type", "refresh_token"}, {"client_id", kCliClient}, {"refresh_token", rt}});
    };
    auto second = refresh(first["refresh_token"]);
    REQUIRE(second);
    REQUIRE(second->status == 200);
    auto second_body = json_of(second);
    CHECK(second_body["refresh_token"] != first["refresh_token"]);
    CHECK(jwt_claims(second_body["access_token"])["sub"] == "auth0|alice");
    CHECK(second_body["id_token"].is_string());
    check_error(refresh(first["refresh_token"]), 400, "invalid_grant",
                "refresh token reuse detected; the token family has been revoked");
    check_error(refresh(second_body["refresh_token"]), 400, "invalid_grant", "refresh token has been revoked");
  }

  TEST_CASE("token endpoint request errors") {
    TestIdp idp;
    auto c = idp.client();
    SUBCASE("unsupported grant") {
      check_error(post_form(c, "/oauth/token", {{"grant_type", "password"}, {"client_id", kCliClient}}), 400,
                  "unsupported_grant_type", "grant type 'password' is not supported");
    }
    SUBCASE("grant not allowed for the client") {
      check_error(post_form(c, "/oauth/token", {{"grant_type", "client_credentials"}, {"client_id", kCliClient}}), 400,
                  "unauthorized_client", "client oauthdemo-cli may not use the client_credentials grant");
    }
    SUBCASE("missing grant_type") {
      check_error(post_form(c, "/oauth/token", {{"client_id", kCliClient}}), 400, "invalid_request",
                  "Missing required parameter: grant_type");
    }
    SUBCASE("repeated parameter") {
      auto res = c.Post("/oauth/token", "grant_type=refresh_token&grant_type=refresh_token&client_id=oauthdemo-cli",
                        "application/x-www-form-urlencoded");
      REQUIRE(res);
      CHECK(res->status == 400);
      CHECK(json_of(res)["error"] == "invalid_request");
    }
    SUBCASE("unknown client") {
      check_error(post_form(c, "/oauth/token", {{"grant_type", "refresh_token"}, {"client_id", "nope"}}), 401,
                  "invalid_client", "unknown client");
    }
    SUBCASE("public client sending a secret") {
      check_error(post_form(c, "/oauth/token",
                            {{"grant_type", "refresh_token"}, {"client_id", kCliClient}, {"client_secret", "x"}}),
                  401, "invalid_client", "public client oauthdemo-cli must not send a client secret");
    }
    SUBCASE("not a form body") {
      auto res = c.Post("/oauth/token", "{}", "application/json");
      check_error(res, 400, "invalid_request", "the body must be application/x-www-form-urlencoded");
    }
  }

  TEST_CASE("client_credentials with client_secret_basic and client_secret_post") {
    TestIdp idp;
    auto c = idp.client();
    const http::Params params{{"grant_type", "client_credentials"}, {"audience", kApi}};
    auto check_ok = [&](const httplib::Result& res) {
      REQUIRE(res);
      REQUIRE(res->status == 200);
      auto body = json_of(res);
      CHECK_FALSE(body.contains("id_token"));
      CHECK_FALSE(body.contains("refresh_token"));
      auto claims = jwt_claims(body["access_token"]);
      CHECK(claims["sub"] == "oauthdemo-ci@clients");
      CHECK(claims["aud"] == kApi);
      CHECK(claims["gty"] == "client-credentials");
      CHECK(claims["permissions"] == nlohmann::json::array({"read:messages"}));
    };
    SUBCASE("basic") { check_ok(post_form(c, "/oauth/token", params, {{"Authorization", basic(kCiClient, kCiSecret)}})); }
    SUBCASE("post") {
      auto p = params;
      p.emplace_back("client_id", kCiClient);
      p.emplace_back("client_secret", kCiSecret);
      check_ok(post_form(c, "/oauth/token", p));
    }
    SUBCASE("both methods") {
      auto p = params;
      p.emplace_back("client_secret", kCiSecret);
      check_error(post_form(c, "/oauth/token", p, {{"Authorization", basic(kCiClient, kCiSecret)}}), 400,
                  "invalid_request", "use either HTTP Basic or client_secret in the body, not both");
    }
    SUBCASE("wrong secret with basic") {
      auto res = post_form(c, "/oauth/token", params, {{"Authorization", basic(kCiClient, kCiSecret + "x")}});
      check_error(res, 401, "invalid_client", "client authentication failed");
      CHECK(res->get_header_value("WWW-Authenticate") == "Basic realm=\"oauthdemo-devidp\"");
    }
    SUBCASE("wrong secret with post") {
      auto p = params;
      p.emplace_back("client_id", kCiClient);
      p.emplace_back("client_secret", "nope");
      auto res = post_form(c, "/oauth/token", p);
      check_error(res, 401, "invalid_client", "client authentication failed");
      CHECK_FALSE(res->has_header("WWW-Authenticate"));
    }
    SUBCASE("missing audience") {
      check_error(post_form(c, "/oauth/token", {{"grant_type", "client_credentials"}},
                            {{"Authorization", basic(kCiClient, kCiSecret)}}),
                  400, "invalid_request", "Missing required parameter: audience");
    }
    SUBCASE("scope not granted") {
      auto p = params;
      p.emplace_back("scope", "read:admin");
      check_error(post_form(c, "/oauth/token", p, {{"Authorization", basic(kCiClient, kCiSecret)}}), 400,
                  "invalid_scope", "scope 'read:admin' is not granted to oauthdemo-ci");
    }
  }

  TEST_CASE("userinfo answers for a valid access token and refuses others") {
    TestIdp idp;
    auto body = json_of(exchange_code(idp, code_for(idp)));
    auto c = idp.client();
    auto ok = c.Get("/userinfo", {{"Authorization", "Bearer " + body["access_token"].get<std::string>()}});
    REQUIRE(ok);
    REQUIRE(ok->status == 200);
    auto info = json_of(ok);
    CHECK(info["sub"] == "auth0|alice");
    CHECK(info["email"] == "alice@example.com");
    CHECK(info["name"] == "Alice Example");
    auto missing = c.Get("/userinfo");
    REQUIRE(missing);
    CHECK(missing->status == 401);
    CHECK(missing->get_header_value("WWW-Authenticate") == "Bearer realm=\"oauthdemo-devidp\"");
    auto id_token = c.Get("/userinfo", {{"Authorization", "Bearer " + body["id_token"].get<std::string>()}});
    REQUIRE(id_token);
    CHECK(id_token->status == 401);
    CHECK(json_of(id_token)["error"] == "invalid_token");
    idp.clock.advance(std::chrono::seconds(3601));
    auto expired = c.Get("/userinfo", {{"Authorization", "Bearer " + body["access_token"].get<std::string>()}});
    REQUIRE(expired);
    CHECK(expired->status == 401);
  }

  TEST_CASE("revocation: 200 for unknown tokens, and the refresh family stops working") {
    TestIdp idp;
    auto body = json_of(exchange_code(idp, code_for(idp)));
    auto c = idp.client();
    auto unknown = post_form(c, "/oauth/revoke", {{"client_id", kCliClient}, {"token", "not-a-token"}});
    REQUIRE(unknown);
    CHECK(unknown->status == 200);
    auto missing = post_form(c, "/oauth/revoke", {{"client_id", kCliClient}});
    check_error(missing, 400, "invalid_request", "Missing required parameter: token");
    auto revoked = post_form(c, "/oauth/revoke", {{"client_id", kCliClient}, {"token", body["refresh_token"]}});
    REQUIRE(revoked);
    CHECK(revoked->status == 200);
    check_error(post_form(c, "/oauth/token",
                          {{"grant_type", "refresh_token"}, {"client_id", kCliClient}, {"refresh_token", body["refresh_token"]}}),
                400, "invalid_grant", "refresh token has been revoked");
  }
}
