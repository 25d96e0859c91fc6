#include "cli/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <nlohmann/json.hpp>

#include "common/oauth/token_client.h"

namespace oauthdemo::cli {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void redact_json_value(nlohmann::json& value) {
  if (value.is_object()) {
    for (auto& [key, member] : value.items()) {
      if (member.is_string() && is_secret_name(key)) {
        member = mask_value(member.get<std::string>());
      } else {
        redact_json_value(member);
      }
    }
  } else if (value.is_array()) {
    for (auto& element : value) redact_json_value(element);
  }
}

}  // namespace

bool is_secret_name(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kNames = {
      "code",          "code_verifier", "access_token", "refresh_token",    "id_token",      "client_secret",
      "device_code",   "token",         "password",     "client_assertion", "subject_token", "assertion"};
  const auto n = lower(name);
  return std::find(kNames.begin(), kNames.end(), n) != kNames.end();
}

std::string mask_value(std::string_view value) {
  if (value.empty()) return {};
  if (oauth::looks_like_jwt(value)) {
    const auto last_dot = value.rfind('.');
    return std::string(value.substr(0, last_dot)) + ".[signature removed]";
  }
  return "[redacted]";
}

std::string redact_header_value(std::string_view name, std::string_view value) {
  const auto n = lower(name);
  if (n == "authorization" || n == "proxy-authorization") {
    const auto space = value.find(' ');
    if (space != std::string_view::npos && lower(value.substr(0, space)) == "bearer")
      return std::string(value.substr(0, space)) + " " + mask_value(value.substr(space + 1));
    return "[redacted]";
  }
  if (n == "cookie" || n == "set-cookie") return "[redacted]";
  return std::string(value);
}

std::string redact_form(std::string_view body) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    auto amp = body.find('&', pos);
    std::string_view pair = body.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    const auto eq = pair.find('=');
    if (!out.empty() || pos > 0) out.push_back('&');
    if (eq != std::string_view::npos && is_secret_name(pair.substr(0, eq))) {
      out.append(pair.substr(0, eq + 1));
      // Form values are percent-encoded; a JWT contains no characters that need it.
      out.append(mask_value(pair.substr(eq + 1)));
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

std::string redact_url(std::string_view url) {
  const auto q = url.find('?');
  if (q == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, q + 1)) + redact_form(url.substr(q + 1));
}

std::string redact_json(std::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return "[unparsed body, " + std::to_string(body.size()) + " bytes]";
  redact_json_value(json);
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string redact_body(std::string_view content_type, std::string_view body) {
  if (body.empty()) return {};
  const auto type = lower(content_type);
  if (type.find("json") != std::string::npos) return redact_json(body);
  if (type.find("x-www-form-urlencoded") != std::string::npos) return redact_form(body);
  // Unknown types may still carry tokens (e.g. an error page echoing a request); JSON-looking
  // bodies are treated as JSON.
  if (!body.empty() && (body.front() == '{' || body.front() == '[')) return redact_json(body);
  std::string out(body.substr(0, 2048));
  if (body.size() > 2048) out += "... [" + std::to_string(body.size()) + " bytes]";
  return out;
}

LoggingHttpClient::LoggingHttpClient(http::HttpClient& inner, std::function<void(const std::string&)> sink)
    : inner_(inner), sink_(std::move(sink)) {}

Result<http::HttpResponse> LoggingHttpClient::send(const http::HttpRequest& request) {
  std::string block = "> " + request.method + " " + redact_url(request.url) + "\n";
  for (const auto& [name, value] : request.headers) block += "> " + name + ": " + redact_header_value(name, value) + "\n";
  if (!request.content_type.empty()) block += "> Content-Type: " + request.content_type + "\n";
  if (!request.body.empty()) block += "> " + redact_body(request.content_type, request.body) + "\n";
  sink_(block);
  auto response = inner_.send(request);
  if (!response) {
    sink_("< (no response) " + response.error().message() + "\n");
    return response;
  }
  block = "< HTTP " + std::to_string(response->status) + "\n";
  for (const auto& [name, value] : response->headers) block += "< " + name + ": " + redact_header_value(name, value) + "\n";
  if (!response->body.empty()) block += "< " + redact_body(response->header("Content-Type"), response->body) + "\n";
  sink_(block);
  return response;
}

}  // namespace oauthdemo::cli
