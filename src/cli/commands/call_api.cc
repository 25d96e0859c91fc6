#include "cli/commands/call_api.h"

#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>

#include <spdlog/spdlog.h>

#include "cli/session.h"
#include "common/http/url.h"

namespace oauthdemo::cli {
namespace {

constexpr std::size_t kMaxRequestBody = 10 * 1024 * 1024;

Result<std::string> read_data(const std::string& data) {
  if (data.empty() || data.front() != '@') {
    if (data == "-") {
      std::string body((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      if (body.size() > kMaxRequestBody) return fail(Errc::InvalidArgument, "-d -: stdin holds more than 10 MiB");
      return body;
    }
    return data;
  }
  const std::string path = data.substr(1);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::InvalidArgument, "-d @" + path + ": cannot read the file");
  std::string body;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    body.append(buf, static_cast<std::size_t>(in.gcount()));
    if (body.size() > kMaxRequestBody) return fail(Errc::InvalidArgument, "-d @" + path + " is larger than 10 MiB");
  }
  return body;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

std::map<std::string, std::string> parse_bearer_challenge(std::string_view header) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (i < header.size() && header[i] == ' ') ++i;
  if (header.size() < i + 6 || !iequals(header.substr(i, 6), "bearer")) return out;
  i += 6;
  while (i < header.size() && out.size() < 16) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    std::size_t name_start = i;
    while (i < header.size() && header[i] != '=' && header[i] != ' ' && header[i] != ',') ++i;
    std::string name(header.substr(name_start, i - name_start));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (i >= header.size() || header[i] != '=') {
      if (name.empty()) break;
      continue;
    }
    ++i;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value.push_back(header[i++]);
      }
      ++i;
    } else {
      while (i < header.size() && header[i] != ',' && header[i] != ' ') value.push_back(header[i++]);
    }
    if (!name.empty()) out[name] = value.substr(0, 500);
  }
  return out;
}

std::string explain_auth_failure(int status, std::string_view www_authenticate) {
  auto params = parse_bearer_challenge(www_authenticate);
  const std::string error = params.count("error") ? params["error"] : "";
  const std::string description = params.count("error_description") ? params["error_description"] : "";
  const std::string suffix = description.empty() ? "" : " (" + description + ")";
  if (error == "insufficient_scope") {
    const std::string scope = params.count("scope") ? params["scope"] : "";
    return "the API refused the request: the token lacks the required permission" +
           (scope.empty() ? std::string() : " '" + scope + "'") + suffix +
           ". Log in as a user who has it" +
           (scope.empty() ? std::string(".") : ", or request it: oauthdemo login --scope \"openid profile email offline_access " + scope + "\".");
  }
  if (error == "invalid_token")
    return "the API rejected the access token" + suffix + ". Run: oauthdemo login";
  if (status == 401)
    return "the API requires authentication (HTTP 401" + (error.empty() ? std::string() : ", " + error) + ")" + suffix +
           ". Run: oauthdemo login";
  return "the API answered HTTP 403 (forbidden)" + suffix + ".";
}

CLI::App* setup_call_api(CLI::App& parent, CallApiOptions& options) {
  auto* cmd = parent.add_subcommand("call-api", "Call the API with the stored access token");
  cmd->add_option("path", options.path, "Path under the API base URL, e.g. /hello")->required();
  cmd->add_option("-X,--request", options.method, "HTTP method (default GET, or POST with -d)");
  cmd->add_option("-d,--data", options.data, "Request body; @FILE reads a file, - reads stdin");
  cmd->add_option("-H,--header", options.headers, "Extra header 'Name: value' (repeatable)");
  cmd->add_flag("-i,--include", options.include, "Print the status line and headers before the body");
  cmd->add_option("--api-url", options.api_url, "API base URL (API_BASE_URL, default http://localhost:3001)");
  cmd->add_option("--timeout", options.timeout_seconds,
                  "Seconds to wait for the connection and for each read or write (default 30)")
      ->check(CLI::Range(1, 3600));
  cmd->footer(
      "Examples:\n  oauthdemo call-api /hello\n  oauthdemo call-api -i /admin\n"
      "  oauthdemo call-api -X POST -d @body.json -H 'Content-Type: application/json' /messages");
  return cmd;
}

std::vector<FlagSetting> call_api_flag_settings(const CallApiOptions& options) {
  return {{"API_BASE_URL", "--api-url", options.api_url}};
}

Result<int> run_call_api(Context& ctx, const CallApiOptions& options) {
  if (options.path.empty() || options.path.front() != '/')
    return fail(Errc::InvalidArgument, "PATH must start with '/', e.g. /hello");
  const auto base = ctx.settings->api_base_url();
  auto base_url = http::parse_url(base.value);
  if (!base_url)
    return fail(Errc::ConfigInvalid, "API_BASE_URL (" + base.origin + ") is not a valid URL: " + base_url.error().detail);
  std::string prefix = base.value;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();

  http::HttpRequest request;
  request.url = prefix + options.path;
  request.timeout = std::chrono::seconds(options.timeout_seconds);
  request.max_response_bytes = 10 * 1024 * 1024;
  if (!options.data.empty()) {
    auto body = read_data(options.data);
    if (!body) return tl::unexpected(body.error());
    request.body = std::move(*body);
    request.content_type = !request.body.empty() && (request.body.front() == '{' || request.body.front() == '[')
                               ? "application/json"
                               : "application/x-www-form-urlencoded";
  }
  request.method = options.method.empty() ? (options.data.empty() ? "GET" : "POST") : options.method;
  for (auto& c : request.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  bool custom_authorization = false;
  for (const auto& h : options.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return fail(Errc::InvalidArgument, "-H needs 'Name: value', got '" + h.substr(0, 40) + "'");
    std::string name = h.substr(0, colon);
    std::string value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name.find_first_of("\r\n ") != std::string::npos || value.find_first_of("\r\n") != std::string::npos)
      return fail(Errc::InvalidArgument, "-H header names and values must not contain line breaks");
    if (iequals(name, "content-type")) {
      request.content_type = value;
      continue;
    }
    if (iequals(name, "authorization")) custom_authorization = true;
    request.headers.emplace_back(name, value);
  }
  request.headers.emplace_back("Accept", "application/json");

  CurrentTokens current;
  if (!custom_authorization) {
    auto tokens = current_fresh_tokens(ctx);
    if (!tokens) return tl::unexpected(tokens.error());
    current = std::move(*tokens);
    request.headers.emplace_back("Authorization", "Bearer " + current.tokens.access_token);
  }

  auto response = ctx.http->send(request);
  if (!response) return tl::unexpected(response.error());
  if (response->status == 401 && !custom_authorization && current.source == TokenSource::Store &&
      !current.tokens.refresh_token.empty()) {
    spdlog::info("the API answered 401; refreshing the token once and retrying");
    auto refreshed = refresh_tokens(ctx, RefreshMode::Force, current.tokens.access_token);
    if (refreshed) {
      request.headers.back().second = "Bearer " + refreshed->access_token;
      response = ctx.http->send(request);
      if (!response) return tl::unexpected(response.error());
    } else {
      spdlog::warn("refresh failed: {}", refreshed.error().detail);
    }
  }

  auto& o = ctx.o();
  if (options.include) {
    o << "HTTP/1.1 " << response->status << "\n";
    for (const auto& [name, value] : response->headers) o << name << ": " << value << "\n";
    o << "\n";
  }
  const std::string content_type = response->header("Content-Type");
  bool printed = false;
  if (ctx.term.stdout_tty && content_type.find("json") != std::string::npos) {
    auto json = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_discarded()) {
      o << json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      printed = true;
    }
  }
  if (!printed) {
    o << response->body;
    if (!response->body.empty() && response->body.back() != '\n' && ctx.term.stdout_tty) o << "\n";
  }
  o.flush();
  if (response->status >= 400) {
    if (response->status == 401 || response->status == 403)
      ctx.e() << "oauthdemo: " << explain_auth_failure(response->status, response->header("WWW-Authenticate")) << "\n";
    else
      ctx.e() << "oauthdemo: the API answered HTTP " << response->status << "\n";
    return kExitApiError;
  }
  return kExitOk;
}

}  // namespace oauthdemo::cli
