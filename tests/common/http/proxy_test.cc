#include "common/http/proxy.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

using namespace oauthdemo;

namespace {

using Vars = std::map<std::string, std::string, std::less<>>;

http::EnvLookup lookup(const Vars& vars) {
  return [vars](std::string_view name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
}

http::Url url(const std::string& text) {
  auto u = http::parse_url(text);
  REQUIRE(u);
  return *u;
}

// The proxy's "host:port from VARIABLE", or "direct".
std::string route(const std::string& target, const Vars& vars) {
  auto r = http::proxy_for(url(target), lookup(vars));
  REQUIRE_MESSAGE(r, r.error().detail);
  if (!*r) return "direct";
  return (*r)->host + ":" + std::to_string((*r)->port) + " from " + (*r)->variable;
}

std::string error_of(const std::string& target, const Vars& vars) {
  auto r = http::proxy_for(url(target), lookup(vars));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::HttpBadUrl);
  return r.error().detail;
}

const std::string kApi = "https://api.example.test:8443/hello";

}  // namespace

TEST_SUITE("http::proxy") {
  TEST_CASE("NO_PROXY matches names and their subdomains on label boundaries") {
    CHECK(http::no_proxy_matches("api.example.test", 443, "example.test"));
    CHECK(http::no_proxy_matches("example.test", 443, "example.test"));
    CHECK(http::no_proxy_matches("api.example.test", 443, ".example.test"));
    CHECK(http::no_proxy_matches("example.test", 443, ".example.test"));
    CHECK(http::no_proxy_matches("api.example.test", 443, "*.example.test"));
    CHECK(http::no_proxy_matches("a.b.example.test", 443, "example.test"));
    CHECK_FALSE(http::no_proxy_matches("notexample.test", 443, "example.test"));
    CHECK_FALSE(http::no_proxy_matches("example.test.evil", 443, "example.test"));
    CHECK_FALSE(http::no_proxy_matches("example.test", 443, "api.example.test"));
  }
  TEST_CASE("NO_PROXY is a comma list, case-insensitive, spaces ignored, empty entries skipped") {
    CHECK(http::no_proxy_matches("api.example.test", 443, "other.test, ,EXAMPLE.Test "));
    CHECK(http::no_proxy_matches("API.example.test", 443, "example.test"));
    CHECK(http::no_proxy_matches("api.example.test.", 443, "example.test"));
    CHECK_FALSE(http::no_proxy_matches("api.example.test", 443, ""));
    CHECK_FALSE(http::no_proxy_matches("api.example.test", 443, ",,"));
    CHECK_FALSE(http::no_proxy_matches("api.example.test", 443, "."));
  }
  TEST_CASE("NO_PROXY=* matches every host, but only as a whole entry") {
    CHECK(http::no_proxy_matches("api.example.test", 443, "*"));
    CHECK(http::no_proxy_matches("10.1.2.3", 443, "other.test,*"));
    CHECK_FALSE(http::no_proxy_matches("api.example.test", 443, "*x"));
  }
  TEST_CASE("NO_PROXY host:port entries match that port only") {
    CHECK(http::no_proxy_matches("api.example.test", 8443, "example.test:8443"));
    CHECK_FALSE(http::no_proxy_matches("api.example.test", 443, "example.test:8443"));
    CHECK_FALSE(http::no_proxy_matches("api.example.test", 8443, "example.test:notaport"));
    CHECK(http::no_proxy_matches("2001:db8::1", 443, "[2001:db8::1]:443"));
    CHECK_FALSE(http::no_proxy_matches("2001:db8::1", 8443, "[2001:db8::1]:443"));
  }
  TEST_CASE("NO_PROXY IP literals match exactly, never as suffixes; CIDR ranges match nothing") {
    CHECK(http::no_proxy_matches("10.0.0.1", 443, "10.0.0.1"));
    CHECK(http::no_proxy_matches("2001:db8::1", 443, "2001:db8::1"));
    CHECK(http::no_proxy_matches("2001:db8::1", 443, "[2001:db8::1]"));
    CHECK_FALSE(http::no_proxy_matches("10.0.0.1", 443, "0.0.1"));
    CHECK_FALSE(http::no_proxy_matches("10.0.0.1", 443, ".0.0.1"));
    CHECK_FALSE(http::no_proxy_matches("10.0.0.1", 443, "10.0.0.0/8"));
  }

  TEST_CASE("https requests use HTTPS_PROXY, else https_proxy; http requests HTTP_PROXY, else http_proxy") {
    CHECK(route(kApi, {{"HTTPS_PROXY", "http://proxy.test:3128"}}) == "proxy.test:3128 from HTTPS_PROXY");
    CHECK(route(kApi, {{"https_proxy", "http://proxy.test:3128"}}) == "proxy.test:3128 from https_proxy");
    CHECK(route(kApi, {{"HTTPS_PROXY", "http://upper.test:1"}, {"https_proxy", "http://lower.test:2"}}) ==
          "upper.test:1 from HTTPS_PROXY");
    CHECK(route(kApi, {{"HTTPS_PROXY", ""}, {"https_proxy", "http://lower.test:2"}}) ==
          "lower.test:2 from https_proxy");
    CHECK(route(kApi, {{"HTTP_PROXY", "http://proxy.test:3128"}}) == "direct");
    CHECK(route("http://api.example.test/", {{"HTTP_PROXY", "http://proxy.test:3128"}}) ==
          "proxy.test:3128 from HTTP_PROXY");
    CHECK(route("http://api.example.test/", {{"http_proxy", "http://proxy.test:3128"}}) ==
          "proxy.test:3128 from http_proxy");
    CHECK(route("http://api.example.test/", {{"HTTPS_PROXY", "http://proxy.test:3128"}}) == "direct");
    CHECK(route(kApi, {}) == "direct");
  }
  TEST_CASE("loopback targets never use a proxy") {
    const Vars vars{{"HTTPS_PROXY", "http://proxy.test:3128"}, {"HTTP_PROXY", "http://proxy.test:3128"}};
    CHECK(route("https://127.0.0.1:8443/", vars) == "direct");
    CHECK(route("https://127.0.0.2:8443/", vars) == "direct");
    CHECK(route("https://[::1]:8443/", vars) == "direct");
    CHECK(route("https://localhost:8443/", vars) == "direct");
    CHECK(route("http://localhost:3001/", vars) == "direct");
    CHECK(route("https://localhost.example.test/", vars) == "proxy.test:3128 from HTTPS_PROXY");
  }
  TEST_CASE("NO_PROXY, else no_proxy, exempts matching hosts") {
    const Vars proxy{{"HTTPS_PROXY", "http://proxy.test:3128"}};
    auto with = [&](const std::string& name, const std::string& value) {
      Vars v = proxy;
      v[name] = value;
      return v;
    };
    CHECK(route(kApi, with("NO_PROXY", "example.test")) == "direct");
    CHECK(route(kApi, with("NO_PROXY", ".example.test")) == "direct");
    CHECK(route(kApi, with("NO_PROXY", "*")) == "direct");
    CHECK(route(kApi, with("no_proxy", "example.test")) == "direct");
    CHECK(route(kApi, with("NO_PROXY", "example.test:8443")) == "direct");
    CHECK(route(kApi, with("NO_PROXY", "example.test:443")) == "proxy.test:3128 from HTTPS_PROXY");
    CHECK(route(kApi, with("NO_PROXY", "other.test")) == "proxy.test:3128 from HTTPS_PROXY");
    Vars both = with("NO_PROXY", "other.test");
    both["no_proxy"] = "example.test";  // NO_PROXY is set, so no_proxy is not read
    CHECK(route(kApi, both) == "proxy.test:3128 from HTTPS_PROXY");
  }
  TEST_CASE("a proxy value without a scheme is http://, without a port :80") {
    CHECK(route(kApi, {{"HTTPS_PROXY", "proxy.test:3128"}}) == "proxy.test:3128 from HTTPS_PROXY");
    CHECK(route(kApi, {{"HTTPS_PROXY", "http://proxy.test"}}) == "proxy.test:80 from HTTPS_PROXY");
    CHECK(route(kApi, {{"HTTPS_PROXY", " http://proxy.test:3128/ "}}) == "proxy.test:3128 from HTTPS_PROXY");
    CHECK(route(kApi, {{"HTTPS_PROXY", "HTTP://[2001:db8::2]:3128"}}) == "2001:db8::2:3128 from HTTPS_PROXY");
  }
  TEST_CASE("proxy credentials are percent-decoded and kept out of describe()") {
    auto r = http::proxy_for(url(kApi), lookup({{"HTTPS_PROXY", "http://us%65r:p%40ss+w%3Ard@proxy.test:3128"}}));
    REQUIRE(r);
    REQUIRE(*r);
    CHECK((*r)->username == "user");
    CHECK((*r)->password == "p@ss+w:rd");
    CHECK((*r)->describe() == "http://proxy.test:3128 (from HTTPS_PROXY)");
    auto user_only = http::proxy_for(url(kApi), lookup({{"HTTPS_PROXY", "http://user@proxy.test:3128"}}));
    REQUIRE(user_only);
    CHECK((*user_only)->username == "user");
    CHECK((*user_only)->password.empty());
    auto v6 = http::proxy_for(url(kApi), lookup({{"HTTPS_PROXY", "http://[2001:db8::2]:3128"}}));
    REQUIRE(v6);
    CHECK((*v6)->describe() == "http://[2001:db8::2]:3128 (from HTTPS_PROXY)");
  }
  TEST_CASE("an unusable proxy value is an error naming the variable, with credentials masked") {
    CHECK(error_of(kApi, {{"HTTPS_PROXY", "http://proxy.test:99999"}}) ==
          "HTTPS_PROXY (http://proxy.test:99999) is not a valid proxy URL: URL port must be a number from 0 to 65535");
    CHECK(error_of(kApi, {{"https_proxy", "http://proxy.test:0"}}) ==
          "https_proxy (http://proxy.test:0) is not a valid proxy URL: port 0");
    CHECK(error_of(kApi, {{"HTTPS_PROXY", "socks5://proxy.test:1080"}}) ==
          "HTTPS_PROXY (socks5://proxy.test:1080) is not a valid proxy URL: URL scheme must be http or https, not "
          "'socks5'");
    CHECK(error_of(kApi, {{"HTTPS_PROXY", "https://proxy.test:3128"}}) ==
          "HTTPS_PROXY (https://proxy.test:3128): https:// proxies are not supported; use the proxy's http:// URL "
          "(the connection to the server is still TLS, tunnelled with CONNECT)");
    CHECK(error_of(kApi, {{"HTTPS_PROXY", "http://user:secret@proxy.test:x"}}) ==
          "HTTPS_PROXY (http://***@proxy.test:x) is not a valid proxy URL: URL port must be a number from 0 to 65535");
    CHECK(error_of("http://api.example.test/", {{"HTTP_PROXY", "http://"}}) ==
          "HTTP_PROXY (http://) is not a valid proxy URL: URL has no host");
  }
  TEST_CASE("an unusable proxy value is not read for hosts that bypass it") {
    CHECK(route("https://127.0.0.1:8443/", {{"HTTPS_PROXY", "http://proxy.test:99999"}}) == "direct");
    CHECK(route(kApi, {{"HTTPS_PROXY", "http://proxy.test:99999"}, {"NO_PROXY", "*"}}) == "direct");
  }
}
