#pragma once
// Shared by the daemon tests: keys generated per process (never committed), token minting
// (including raw headers sign_jwt will not write), and a real loopback JWKS/discovery server
// whose answers, status and timing a test controls and whose requests it counts.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/base/base64url.h"
#include "common/base/clock.h"
#include "common/jose/sign.h"
#include "support/loopback_server.h"

namespace oauthdemo::daemon::test {

using json = nlohmann::json;
using jose::Alg;
using jose::SigningKey;

inline const std::string kAudience = "https://api.example.com";

inline const SigningKey& key_for(Alg alg, const std::string& kid) {
  static std::mutex mu;
  static std::map<std::pair<Alg, std::string>, std::unique_ptr<SigningKey>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find({alg, kid});
  if (it == cache.end()) {
    auto generated = SigningKey::generate(alg, kid);
    REQUIRE(generated);
    it = cache.emplace(std::make_pair(alg, kid), std::make_unique<SigningKey>(std::move(*generated))).first;
  }
  return *it->second;
}

inline std::int64_t now_s() { return to_unix(std::chrono::system_clock::now()); }

inline json claims_for(const std::string& issuer, std::int64_t now = now_s()) {
  return json{{"iss", issuer},      {"aud", json::array({kAudience, issuer + "userinfo"})},
              {"sub", "auth0|alice"}, {"iat", now - 10},
              {"exp", now + 3600},  {"permissions", json::array({"read:messages"})}};
}

inline std::string mint(const SigningKey& key, const json& claims, const json& extra_header = json::object()) {
  auto token = jose::sign_jwt(key, claims, "JWT", extra_header);
  REQUIRE(token);
  return *token;
}

// header.payload.signature over exactly these JSON texts.
inline std::string mint_raw(const SigningKey& key, const json& header, const json& claims) {
  const std::string input = base::base64url_encode(header.dump()) + "." + base::base64url_encode(claims.dump());
  auto sig = key.sign(input);
  REQUIRE(sig);
  return input + "." + base::base64url_encode(*sig);
}

// A loopback identity provider: /.well-known/jwks.json and /.well-known/openid-configuration.
class FakeProvider {
 public:
  FakeProvider()
      : server_(std::make_unique<oauthdemo::testing::LoopbackServer>([this](httplib::Server& svr) { routes(svr); })) {
    issuer_ = server_->base_url() + "/";
    discovery_issuer_ = issuer_;
  }
  ~FakeProvider() { stop(); }

  std::string issuer() const { return issuer_; }
  std::string jwks_uri() const { return issuer_ + ".well-known/jwks.json"; }
  int port() const { return server_->port(); }

  void set_keys(const std::vector<const SigningKey*>& keys) {
    std::vector<json> jwks;
    for (const auto* k : keys) jwks.push_back(k->public_jwk());
    std::lock_guard lock(mu_);
    body_ = jose::make_jwks(jwks).dump();
    etag_ = "\"v" + std::to_string(++version_) + "\"";
  }
  void set_status(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  void set_cache_control(std::string value) {
    std::lock_guard lock(mu_);
    cache_control_ = std::move(value);
  }
  void set_discovery_issuer(std::string issuer) {
    std::lock_guard lock(mu_);
    discovery_issuer_ = std::move(issuer);
  }
  // While held, JWKS requests wait (up to 20 s) until release().
  void hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  int jwks_requests() const { return jwks_requests_.load(); }
  int not_modified() const { return not_modified_.load(); }
  int waiting() const { return waiting_.load(); }
  void stop() {
    release();
    server_->stop();
  }

 private:
  void routes(httplib::Server& svr) {
    svr.Get("/.well-known/jwks.json", [this](const httplib::Request& req, httplib::Response& res) {
      jwks_requests_.fetch_add(1);
      std::unique_lock lock(mu_);
      if (held_) {
        waiting_.fetch_add(1);
        cv_.wait_for(lock, std::chrono::seconds(20), [this] { return !held_; });
        waiting_.fetch_sub(1);
      }
      if (status_ != 200) {
        res.status = status_;
        res.set_content("{\"error\":\"down\"}", "application/json");
        return;
      }
      if (!cache_control_.empty()) res.set_header("Cache-Control", cache_control_);
      res.set_header("ETag", etag_);
      if (req.get_header_value("If-None-Match") == etag_) {
        not_modified_.fetch_add(1);
        res.status = 304;
        return;
      }
      res.set_content(body_, "application/json");
    });
    svr.Get("/.well-known/openid-configuration", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      json doc = {{"issuer", discovery_issuer_},
                  {"authorization_endpoint", issuer_ + "authorize"},
                  {"token_endpoint", issuer_ + "oauth/token"},
                  {"jwks_uri", issuer_ + ".well-known/jwks.json"}};
      res.set_content(doc.dump(), "application/json");
    });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::string body_ = R"({"keys":[]})";
  std::string etag_ = "\"v0\"";
  int version_ = 0;
  int status_ = 200;
  std::string cache_control_;
  std::string issuer_;
  std::string discovery_issuer_;
  bool held_ = false;
  std::atomic<int> jwks_requests_{0};
  std::atomic<int> not_modified_{0};
  std::atomic<int> waiting_{0};
  std::unique_ptr<oauthdemo::testing::LoopbackServer> server_;
};

// Polls `condition` until it holds or `deadline` passes.
template <typename F>
bool eventually(F condition, std::chrono::milliseconds deadline = std::chrono::milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

}  // namespace oauthdemo::daemon::test
