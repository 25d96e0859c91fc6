#pragma once
// An in-process oauthdemo-devidp on 127.0.0.1 and a random port, driven by a FakeClock, plus
// small helpers that play the browser and the client over real HTTP.
#include <httplib.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/http/url.h"
#include "common/jose/verify.h"
#include "devidp/server.h"
#include "support/fakes.h"

namespace oauthdemo::devidp::testing {

// RFC 7636 Appendix B.
inline const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
inline const std::string kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
inline const std::string kCliClient = "oauthdemo-cli";
inline const std::string kCiClient = "oauthdemo-ci";
inline const std::string kCiSecret = "ci-secret-for-tests";
inline const std::string kApi = "https://api.example.com";

inline EnvLookup test_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    if (name == "DEVIDP_CI_CLIENT_SECRET") return kCiSecret;
    return std::nullopt;
  };
}

class TestIdp {
 public:
  explicit TestIdp(ServerOptions options = {}) {
    spdlog::set_level(spdlog::level::warn);  // request lines are covered by the binary tests
    options.host = "127.0.0.1";
    options.port = 0;
    // One RSA key for all in-process servers: key generation dominates test time under ASan.
    static const std::string pem = [] {
      auto key = jose::SigningKey::generate(jose::Alg::RS256, "shared");
      if (!key) throw std::runtime_error("key generation failed");
      return key->private_pem();
    }();
    auto keys = KeyRing::from_pem(pem);
    if (!keys) throw std::runtime_error("key loading failed");
    server_ = std::make_unique<Server>(options, Registry::builtin(test_env()), std::move(*keys), clock, random_);
    auto port = server_->bind();
    if (!port) throw std::runtime_error("bind failed");
    port_ = *port;
    thread_ = std::thread([this] { server_->listen(); });
    while (!server_->is_running()) std::this_thread::yield();
  }
  ~TestIdp() {
    server_->stop();
    thread_.join();
  }
  TestIdp(const TestIdp&) = delete;
  TestIdp& operator=(const TestIdp&) = delete;

  Server& server() { return *server_; }
  const std::string& issuer() const { return server_->issuer(); }
  int port() const { return port_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }

  oauthdemo::testing::FakeClock clock{oauthdemo::testing::kSomeInstant};

 private:
  OpenSslRandom random_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
};

struct AuthorizeParams {
  std::string client_id = kCliClient;
  std::string redirect_uri = "http://127.0.0.1:4567/callback";
  std::string scope = "openid profile email offline_access read:messages";
  std::string audience = kApi;
  std::string state = "state-123";
  std::string nonce = "nonce-456";
  std::optional<std::string> code_challenge = kChallenge;
  std::optional<std::string> code_challenge_method = std::string("S256");
  std::string response_type = "code";
};

inline std::string authorize_path(const AuthorizeParams& p) {
  http::Params q{{"response_type", p.response_type}, {"client_id", p.client_id}, {"redirect_uri", p.redirect_uri},
                 {"scope", p.scope}, {"state", p.state}, {"nonce", p.nonce}};
  if (!p.audience.empty()) q.emplace_back("audience", p.audience);
  if (p.code_challenge) q.emplace_back("code_challenge", *p.code_challenge);
  if (p.code_challenge_method) q.emplace_back("code_challenge_method", *p.code_challenge_method);
  return "/authorize?" + http::form_encode(q);
}

// The value="" of the input named `name` in `html`, unescaped enough for our tokens.
inline std::string field(const std::string& html, const std::string& name) {
  const auto at = html.find("name=\"" + name + "\"");
  if (at == std::string::npos) return {};
  const auto v = html.find("value=\"", at);
  const auto end = v == std::string::npos ? v : html.find('"', v + 7);
  if (v == std::string::npos || end == std::string::npos || html.find('>', at) < v) return {};
  return html.substr(v + 7, end - v - 7);
}

inline std::string cookie_value(const httplib::Result& res, const std::string& name) {
  if (!res) return {};
  for (std::size_t i = 0; i < res->get_header_value_count("Set-Cookie"); ++i) {
    const std::string c = res->get_header_value("Set-Cookie", i);
    if (c.rfind(name + "=", 0) == 0) return c.substr(name.size() + 1, c.find(';') - name.size() - 1);
  }
  return {};
}

// The query parameters of a Location header (or any URL).
inline http::Params query_of(const std::string& url) {
  const auto q = url.find('?');
  if (q == std::string::npos) return {};
  auto parsed = http::parse_form(url.substr(q + 1));
  return parsed ? *parsed : http::Params{};
}
inline std::string qparam(const std::string& url, const std::string& name) {
  return http::param(query_of(url), name).value_or("");
}

// A login page fetched through /authorize (or /activate): the form's hidden fields and cookie.
struct LoginForm {
  std::string txn;
  std::string csrf;
  std::string cookie;
  std::string html;
};

inline std::optional<LoginForm> open_login(httplib::Client& c, const std::string& login_location) {
  auto page = c.Get(login_location.c_str());
  if (!page || page->status != 200) return std::nullopt;
  LoginForm form{field(page->body, "txn"), field(page->body, "csrf"), cookie_value(page, "devidp_csrf"), page->body};
  return form;
}

inline httplib::Result submit_login(httplib::Client& c, const LoginForm& form, const std::string& username,
                                    const std::string& password, const std::string& action = "login",
                                    std::optional<std::string> csrf_override = std::nullopt) {
  httplib::Headers headers{{"Cookie", "devidp_csrf=" + form.cookie}};
  const std::string body = http::form_encode({{"txn", form.txn},
                                              {"csrf", csrf_override.value_or(form.csrf)},
                                              {"username", username},
                                              {"password", password},
                                              {"action", action}});
  return c.Post("/u/login", headers, body, "application/x-www-form-urlencoded");
}

// Runs /authorize + login and returns the redirect Location to the client (code or error).
inline std::string authorize_and_login(TestIdp& idp, const AuthorizeParams& p = {}, const std::string& user = "alice",
                                       const std::string& password = "alice-password",
                                       const std::string& action = "login") {
  auto c = idp.client();
  auto first = c.Get(authorize_path(p).c_str());
  if (!first || first->status != 302) return {};
  const std::string location = first->get_header_value("Location");
  if (location.rfind("/u/login", 0) != 0) return location;
  auto form = open_login(c, location);
  if (!form) return {};
  auto res = submit_login(c, *form, user, password, action);
  if (!res || res->status != 302) return {};
  return res->get_header_value("Location");
}

inline httplib::Result post_form(httplib::Client& c, const std::string& path, const http::Params& params,
                                 httplib::Headers headers = {}) {
  return c.Post(path.c_str(), headers, http::form_encode(params), "application/x-www-form-urlencoded");
}

inline httplib::Result exchange_code(TestIdp& idp, const std::string& code,
                                     const std::string& redirect_uri = "http://127.0.0.1:4567/callback",
                                     const std::string& verifier = kVerifier) {
  auto c = idp.client();
  return post_form(c, "/oauth/token",
                   {{"grant_type", "authorization_code"}, {"client_id", kCliClient}, {"code", code},
                    {"redirect_uri", redirect_uri}, {"code_verifier", verifier}});
}

inline nlohmann::json json_of(const httplib::Result& res) {
  if (!res) return nlohmann::json();
  return nlohmann::json::parse(res->body, nullptr, false);
}

// The claims/header of a compact JWT without verification (tests check our own output).
inline nlohmann::json jwt_claims(const std::string& jwt) {
  auto d = jose::decode_unverified(jwt);
  return d ? d->claims : nlohmann::json();
}
inline nlohmann::json jwt_header(const std::string& jwt) {
  auto d = jose::decode_unverified(jwt);
  return d ? d->header : nlohmann::json();
}

}  // namespace oauthdemo::devidp::testing
