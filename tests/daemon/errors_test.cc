#include "daemon/errors.h"

#include <doctest/doctest.h>

namespace oauthdemo::daemon {
namespace {

TEST_SUITE("daemon::errors") {
  TEST_CASE("maps every token error to 401 invalid_token") {
    for (Errc code : {Errc::TokenMalformed, Errc::TokenExpired, Errc::TokenWrongAudience, Errc::TokenUnknownKid,
                      Errc::TokenBadSignature, Errc::TokenUnsupportedAlg, Errc::TokenWrongIssuer}) {
      CAPTURE(to_string(code));
      const auto m = http_error_for(code);
      CHECK(m.status == 401);
      CHECK(m.error == "invalid_token");
    }
    CHECK(to_label(http_error_for(Errc::TokenExpired).reason) == "expired");
    CHECK(to_label(http_error_for(Errc::TokenUnknownKid).reason) == "kid_unknown");
  }

  TEST_CASE("missing token, bad request, scope and outage get their own answers") {
    CHECK(http_error_for(Errc::LoginRequired).status == 401);
    CHECK(http_error_for(Errc::LoginRequired).error.empty());
    CHECK(http_error_for(Errc::OAuthInvalidRequest).status == 400);
    CHECK(http_error_for(Errc::OAuthInvalidRequest).error == "invalid_request");
    CHECK(http_error_for(Errc::OAuthInvalidScope).status == 403);
    CHECK(http_error_for(Errc::OAuthInvalidScope).error == "insufficient_scope");
    CHECK(http_error_for(Errc::JwksUnavailable).status == 503);
    CHECK(http_error_for(Errc::JwksUnavailable).error == "temporarily_unavailable");
    CHECK(http_error_for(Errc::IoError).status == 500);
  }

  TEST_CASE("describe appends the detail and keeps RFC 6750 characters only") {
    CHECK(describe(Error{Errc::TokenExpired, "expired 12s ago"}, "") == "The token has expired: expired 12s ago");
    CHECK(describe(Error{Errc::TokenWrongIssuer, "iss \"x\\y\"\n"}, "") ==
          "The token has the wrong issuer: iss 'x'y'?");
    CHECK(describe(Error{Errc::IoError, "secret path"}, "") == "Internal error");
    CHECK(describe(Error{Errc::TokenMalformed, std::string(500, 'a')}, "").size() == 200);
  }

  TEST_CASE("describe never repeats the token or one of its segments") {
    const std::string token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLWJ5dGVz";
    const auto text = describe(Error{Errc::TokenBadSignature, "bad: " + token + " / eyJzdWIiOiJhIn0"}, token);
    CHECK(text.find("eyJ") == std::string::npos);
    CHECK(text.find("[redacted]") != std::string::npos);
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
