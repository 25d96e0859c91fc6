#pragma once
// `oauthdemo login`: Authorization Code + PKCE through the loopback receiver (default),
// --device (RFC 8628) or --client-credentials (RFC 6749 §4.4).
#include <string>

#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace oauthdemo::cli {

struct LoginOptions {
  bool device = false;
  bool client_credentials = false;
  bool no_browser = false;
  bool paste = false;
  std::string browser_command;
  std::string port_list;
  int timeout_seconds = 300;
  std::string scope;
  std::string audience;
  std::string client_id;
  std::string client_secret_file;
  bool client_secret_stdin = false;
  std::string prompt;
};

CLI::App* setup_login(CLI::App& parent, LoginOptions& options);
std::vector<FlagSetting> login_flag_settings(const LoginOptions& options);
Result<int> run_login(Context& ctx, const LoginOptions& options);

// "8400,8401" -> ports; Errc::InvalidArgument naming `origin` for anything else.
Result<std::vector<uint16_t>> parse_port_list(const std::string& text, const std::string& origin);

// The authorization request URL (RFC 6749 §4.1.1 + RFC 7636 §4.3 + OIDC nonce + Auth0 audience).
std::string build_authorization_url(const std::string& endpoint, const std::string& client_id,
                                    const std::string& redirect_uri, const std::string& scope,
                                    const std::string& state, const std::string& nonce,
                                    const std::string& code_challenge, const std::string& audience,
                                    const std::string& prompt = "");

// The prompt to send: --prompt / OAUTHDEMO_PROMPT when set ("none" clears it); otherwise
// "consent" when offline_access is requested from a non-Auth0 provider, as OIDC Core §11
// requires for refresh tokens (oidc-provider drops offline_access without it; Auth0 does not
// need it and would show a consent screen).
std::string choose_prompt(const std::string& configured, const std::string& scope, bool is_auth0);

}  // namespace oauthdemo::cli
