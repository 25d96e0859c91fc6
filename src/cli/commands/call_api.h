#pragma once
// `oauthdemo call-api PATH`: an authenticated request to the API (API_BASE_URL), refreshing the
// token when needed and explaining 401/403 answers from WWW-Authenticate (RFC 6750 §3).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace oauthdemo::cli {

struct CallApiOptions {
  std::string path;
  std::string method;
  std::string data;
  std::vector<std::string> headers;
  bool include = false;
  std::string api_url;
  int timeout_seconds = 30;  // per connect, TLS handshake, write and read
};

CLI::App* setup_call_api(CLI::App& parent, CallApiOptions& options);
std::vector<FlagSetting> call_api_flag_settings(const CallApiOptions& options);
Result<int> run_call_api(Context& ctx, const CallApiOptions& options);

// The auth-params of a Bearer challenge ("Bearer error=\"invalid_token\", scope=\"a b\""),
// names lower-cased; empty if the scheme is not Bearer.
std::map<std::string, std::string> parse_bearer_challenge(std::string_view header);

// The one-line explanation of a 401/403 for stderr.
std::string explain_auth_failure(int status, std::string_view www_authenticate);

}  // namespace oauthdemo::cli
