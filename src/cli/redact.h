#pragma once
// Redaction for --log-http (cli-anchors §4.9): secrets are masked wherever they appear in a
// request or response; a JWT keeps its header and payload (useful to read) but loses its
// signature, so the logged text can never be replayed as a token.
#include <functional>
#include <string>
#include <string_view>

#include "common/http/http_client.h"

namespace oauthdemo::cli {

// Form/query/JSON member names whose values are secrets: code, code_verifier, access_token,
// refresh_token, id_token, client_secret, device_code, token, password, client_assertion,
// subject_token, assertion.
bool is_secret_name(std::string_view name);

// "<header>.<payload>.[signature removed]" for a JWT, "[redacted]" for anything else,
// "" for "".
std::string mask_value(std::string_view value);

// Authorization -> "Bearer " + mask_value(token) (other schemes: "[redacted]"); Cookie and
// Set-Cookie -> "[redacted]"; other headers unchanged.
std::string redact_header_value(std::string_view name, std::string_view value);

// name=value pairs with secret values masked; the rest kept byte for byte.
std::string redact_form(std::string_view body);
// A URL with its query redacted like a form.
std::string redact_url(std::string_view url);
// A JSON document with the string values of secret members masked at any depth; bodies that are
// not JSON come back as "[unparsed body, N bytes]".
std::string redact_json(std::string_view body);
// Chooses by content type (json / form / other text, cut at 2 KiB).
std::string redact_body(std::string_view content_type, std::string_view body);

// Decorator that logs each request and response (redacted) through `sink`, one block each.
class LoggingHttpClient final : public http::HttpClient {
 public:
  LoggingHttpClient(http::HttpClient& inner, std::function<void(const std::string&)> sink);
  Result<http::HttpResponse> send(const http::HttpRequest& request) override;

 private:
  http::HttpClient& inner_;
  std::function<void(const std::string&)> sink_;
};

}  // namespace oauthdemo::cli
