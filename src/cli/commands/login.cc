#include "cli/commands/login.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iostream>
#include <ostream>

#include <spdlog/spdlog.h>

#include "cli/device_flow.h"
#include "cli/loopback_receiver.h"
#include "cli/session.h"
#include "common/http/url.h"
#include "common/oauth/pkce.h"

namespace oauthdemo::cli {
namespace {

constexpr const char* kNoTerminalRemedy =
    "cannot log in interactively here (no terminal, CI=true or --non-interactive): use `oauthdemo login "
    "--client-credentials`, set OAUTHDEMO_ACCESS_TOKEN, or pass --browser-command";

std::string who(const nlohmann::json& claims) {
  auto str = [&](const char* name) {
    return claims.contains(name) && claims[name].is_string() ? claims[name].get<std::string>() : std::string();
  };
  std::string out = str("name");
  if (out.empty()) out = str("nickname");
  if (auto email = str("email"); !email.empty()) out += out.empty() ? email : " <" + email + ">";
  if (auto sub = str("sub"); !sub.empty()) out += out.empty() ? sub : " (" + sub + ")";
  return out.empty() ? "an unnamed user" : out;
}

// After tokens arrive: ID token check, store, and the summary.
Result<int> finish_login(Context& ctx, const oauth::ProviderMetadata& metadata, const std::string& client_id,
                         const oauth::TokenResponse& response, const std::string& scope, const std::string& audience,
                         const std::string& grant, const std::optional<std::string>& nonce) {
  nlohmann::json id_claims = nlohmann::json::object();
  if (!response.id_token.empty()) {
    auto claims = verify_id_token(ctx, metadata, client_id, response.id_token, nonce);
    if (!claims) return tl::unexpected(claims.error());
    id_claims = std::move(*claims);
  } else if (grant != "client_credentials" && scope.find("openid") != std::string::npos) {
    ctx.e() << "warning: the provider returned no ID token although the openid scope was requested\n";
  }
  const auto now = ctx.clock->now();
  auto tokens = tokens_from_response(response, metadata.issuer, client_id, audience, scope, grant, now);
  auto lock = ctx.store->lock();
  if (!lock) return tl::unexpected(lock.error());
  auto saved = ctx.store->save(tokens, *lock);
  if (!saved) return tl::unexpected(saved.error());

  if (grant == "client_credentials") {
    ctx.e() << "Logged in as client " << client_id << " at " << metadata.issuer << ".\n";
  } else {
    ctx.e() << "Logged in as " << who(id_claims.empty() ? peek_claims(response.access_token) : id_claims) << " at "
            << metadata.issuer << ".\n";
  }
  ctx.e() << "Access token expires " << describe_expiry(tokens.expires_at, now) << "; "
          << (tokens.refresh_token.empty() ? "no refresh token" : "refresh token stored") << " in "
          << ctx.store->location() << ".\n";
  if (!audience.empty() && !oauth::looks_like_jwt(response.access_token))
    ctx.e() << "warning: an audience (" << audience
            << ") was requested but the access token is not a JWT: the provider applied no audience/API. With "
               "Auth0, check that an API with exactly this identifier exists.\n";
  if (audience.empty() && ctx.settings->is_auth0())
    ctx.e() << "note: no API_AUDIENCE is set, so Auth0 issues an opaque access token usable only at /userinfo.\n";
  if (tokens.refresh_token.empty() && grant != "client_credentials" &&
      scope.find("offline_access") != std::string::npos)
    ctx.e() << "note: no refresh token came back although offline_access was requested (with Auth0, enable "
               "\"Allow Offline Access\" on the API and the Refresh Token grant on the application).\n";
  return kExitOk;
}

// "http://localhost:3000/cb" -> true; "http://127.0.0.1/cb" and "http://[::1]/cb" -> false (then
// any free port is used, RFC 8252 §7.3).
bool has_explicit_port(const std::string& url) {
  const auto start = url.find("://");
  if (start == std::string::npos) return false;
  const std::string authority = url.substr(start + 3, url.find_first_of("/?", start + 3) - (start + 3));
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  return colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
}

Result<std::string> read_secret_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(Errc::ConfigFileUnreadable, "--client-secret-file " + path + " does not exist");
  if (st.st_size > 4096) return fail(Errc::ConfigInvalid, "--client-secret-file " + path + " is larger than 4 KiB");
  if ((st.st_mode & 077) != 0) spdlog::warn("{} is readable by other users; chmod 600 it", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::ConfigFileUnreadable, "cannot read --client-secret-file " + path);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.empty()) return fail(Errc::ConfigInvalid, "--client-secret-file " + path + " is empty");
  return secret;
}

Result<int> login_client_credentials(Context& ctx, const LoginOptions& options, const std::string& issuer,
                                     const std::string& client_id) {
  std::string secret;
  if (options.client_secret_stdin) {
    std::string line;
    std::getline(std::cin, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.size() > 4096)
      return fail(Errc::ConfigInvalid, "--client-secret-stdin read no secret (one line, at most 4 KiB)");
    secret = std::move(line);
  } else if (!options.client_secret_file.empty()) {
    auto s = read_secret_file(options.client_secret_file);
    if (!s) return tl::unexpected(s.error());
    secret = *s;
  } else if (const char* env = std::getenv("OAUTHDEMO_CLIENT_SECRET"); env != nullptr && *env != '\0') {
    secret = env;
  } else {
    return fail(Errc::ConfigMissing,
                "client credentials need a secret: set OAUTHDEMO_CLIENT_SECRET or pass --client-secret-file FILE "
                "or --client-secret-stdin "
                "(never on the command line, where ps and shell history would show it)");
  }
  auto metadata = discover(ctx, issuer, ctx.settings->is_auth0());
  if (!metadata) return tl::unexpected(metadata.error());
  const auto audience = ctx.settings->audience();
  auto response = oauth::request_token(
      *ctx.http, oauth::client_credentials_request(metadata->token_endpoint, {client_id, secret}, audience, options.scope));
  if (!response) return tl::unexpected(response.error());
  return finish_login(ctx, *metadata, client_id, *response, options.scope, audience, "client_credentials",
                      std::nullopt);
}

std::unique_ptr<Browser> pick_browser(Context& ctx, const LoginOptions& options) {
  if (!options.browser_command.empty()) return ctx.command_browser(options.browser_command);
  if (options.no_browser || !ctx.interactive() || !ctx.term.browser_likely()) return nullptr;
  return ctx.system_browser ? ctx.system_browser() : nullptr;
}

void open_in_browser(Context& ctx, Browser* browser, const std::string& url) {
  if (browser == nullptr) return;
  if (auto opened = browser->open(url); !opened)
    ctx.e() << "warning: could not open the browser (" << opened.error().detail << "); open the URL yourself.\n";
  else
    spdlog::info("opened the URL with {}", browser->describe());
}

Result<int> login_device(Context& ctx, const LoginOptions& options, const std::string& issuer,
                         const std::string& client_id) {
  auto metadata = discover(ctx, issuer, ctx.settings->is_auth0());
  if (!metadata) return tl::unexpected(metadata.error());
  DeviceFlowRequest request;
  request.device_authorization_endpoint = metadata->device_authorization_endpoint;
  if (request.device_authorization_endpoint.empty() && ctx.settings->is_auth0())
    request.device_authorization_endpoint = metadata->issuer + "oauth/device/code";
  request.token_endpoint = metadata->token_endpoint;
  request.client = {client_id, ""};
  request.scope = ctx.settings->scope();
  request.audience = ctx.settings->audience();
  auto browser = pick_browser(ctx, options);
  Spinner spinner(ctx.e(), ctx.term.stderr_tty);
  auto show = [&](const oauth::DeviceAuthorization& a) {
    const auto& complete = a.verification_uri_complete.empty() ? a.verification_uri : a.verification_uri_complete;
    ctx.e() << "To log in, open " << a.verification_uri << " on any device and enter the code:\n\n    "
            << a.user_code << "\n\n";
    if (!a.verification_uri_complete.empty()) ctx.e() << "Or open this URL directly: " << a.verification_uri_complete << "\n";
    if (ctx.term.stderr_tty) {
      auto qr = render_qr(complete);
      if (!qr.empty()) ctx.e() << "\n" << qr << "\n";
    }
    ctx.e() << std::flush;
    open_in_browser(ctx, browser.get(), complete);
  };
  PollSleeper sleeper(ctx.cancel_fd, [&](Seconds left) -> std::optional<Error> {
    spinner.tick("Waiting for approval", left);
    // A scripted --browser-command that failed will not approve anything: stop waiting.
    if (browser && !options.browser_command.empty()) {
      if (auto status = browser->finished_status(); status && *status != 0)
        return Error{Errc::LoginRequired, browser->describe() + " exited with status " + std::to_string(*status) +
                                              " before the device was approved"};
    }
    return std::nullopt;
  });
  auto response = run_device_flow(*ctx.http, *ctx.clock, sleeper, request, show);
  spinner.clear();
  if (!response) return tl::unexpected(response.error());
  return finish_login(ctx, *metadata, client_id, *response, request.scope, request.audience, "device_code",
                      std::nullopt);
}

Result<int> login_browser(Context& ctx, const LoginOptions& options, const std::string& issuer,
                          const std::string& client_id) {
  // Redirect: REDIRECT_URI if configured (loopback only), else 127.0.0.1 and the port list.
  ReceiverConfig receiver_config;
  if (auto redirect = ctx.settings->get("REDIRECT_URI")) {
    auto url = http::parse_url(redirect->value);
    if (!url || url->scheme != "http" || !http::is_loopback_host(url->host) || !url->query.empty())
      return fail(Errc::ConfigInvalid, "REDIRECT_URI (" + redirect->origin +
                                           ") must be an http://127.0.0.1, http://[::1] or http://localhost URL "
                                           "with a port and no query (RFC 8252 §7.3)");
    receiver_config.host = url->host;
    receiver_config.path = url->path;
    receiver_config.ports = {has_explicit_port(redirect->value) ? url->port : uint16_t{0}};
  } else {
    std::string list = options.port_list;
    std::string origin = "--port-list";
    if (list.empty()) {
      auto setting = ctx.settings->get("OAUTHDEMO_CALLBACK_PORTS");
      list = setting ? setting->value : std::string(kDefaultCallbackPorts);
      origin = setting ? setting->origin : "the default port list";
    }
    auto ports = parse_port_list(list, origin);
    if (!ports) return tl::unexpected(ports.error());
    receiver_config.ports = *ports;
  }
  auto metadata = discover(ctx, issuer, ctx.settings->is_auth0());
  if (!metadata) return tl::unexpected(metadata.error());

  auto pkce = oauth::make_pkce(*ctx.random);
  if (!pkce) return tl::unexpected(pkce.error());
  auto state = oauth::make_state(*ctx.random);
  if (!state) return tl::unexpected(state.error());
  auto nonce = oauth::make_nonce(*ctx.random);
  if (!nonce) return tl::unexpected(nonce.error());

  auto receiver = LoopbackReceiver::bind(receiver_config);
  if (!receiver) return tl::unexpected(receiver.error());
  const std::string redirect_uri = (*receiver)->redirect_uri();
  const std::string scope = ctx.settings->scope();
  const std::string audience = ctx.settings->audience();
  std::string configured_prompt = options.prompt;
  if (configured_prompt.empty()) {
    if (auto setting = ctx.settings->get("OAUTHDEMO_PROMPT")) configured_prompt = setting->value;
  }
  const std::string prompt = choose_prompt(configured_prompt, scope, ctx.settings->is_auth0());
  const std::string url = build_authorization_url(metadata->authorization_endpoint, client_id, redirect_uri, scope,
                                                  *state, *nonce, pkce->challenge, audience, prompt);

  const bool paste = options.paste || ctx.interactive();
  ctx.e() << "Open this URL in a browser to log in:\n\n  " << url << "\n\n";
  if (ctx.term.ssh) {
    const auto port = std::to_string((*receiver)->port());
    ctx.e() << "You are connected over SSH: forward the callback port first (ssh -L " << port << ":127.0.0.1:" << port
            << " <this host>)" << (paste ? ", or paste the address the browser was sent to here." : ".") << "\n";
  } else if (paste) {
    ctx.e() << "If the browser cannot reach this machine, paste the address it was redirected to here and press "
               "Enter.\n";
  }
  ctx.e() << std::flush;
  auto browser = pick_browser(ctx, options);
  open_in_browser(ctx, browser.get(), url);

  Spinner spinner(ctx.e(), ctx.term.stderr_tty);
  WaitOptions wait;
  wait.expected_state = *state;
  wait.timeout = std::chrono::seconds(options.timeout_seconds);
  wait.cancel_fd = ctx.cancel_fd;
  wait.paste_fd = paste ? STDIN_FILENO : -1;
  wait.notice = [&](const std::string& text) {
    spinner.clear();
    ctx.e() << text << "\n";
  };
  wait.tick = [&](Seconds left) -> std::optional<Error> {
    spinner.tick("Waiting for the browser", left);
    if (browser) {
      if (auto status = browser->finished_status(); status && *status != 0 && !paste)
        return Error{Errc::LoginRequired, browser->describe() + " exited with status " + std::to_string(*status) +
                                              " before the login completed"};
    }
    return std::nullopt;
  };
  auto callback = (*receiver)->wait(wait);
  spinner.clear();
  if (!callback) {
    if (callback.error().code == Errc::OAuthAccessDenied)
      return fail(Errc::OAuthAccessDenied, "the login was denied: " + callback.error().detail);
    return tl::unexpected(callback.error());
  }
  // RFC 9207: when the provider names itself in the response, it must be our issuer (mix-up).
  if (!callback->iss.empty() && callback->iss != metadata->issuer)
    return fail(Errc::OAuthIssuerMismatch, "the authorization response came from issuer " + callback->iss +
                                               ", not " + metadata->issuer);
  auto response = oauth::request_token(
      *ctx.http, oauth::authorization_code_request(metadata->token_endpoint, {client_id, ""}, callback->code,
                                                   redirect_uri, pkce->verifier));
  if (!response) return tl::unexpected(response.error());
  return finish_login(ctx, *metadata, client_id, *response, scope, audience, "authorization_code", *nonce);
}

}  // namespace

Result<std::vector<uint16_t>> parse_port_list(const std::string& text, const std::string& origin) {
  std::vector<uint16_t> ports;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc{} || ptr != item.data() + item.size() || value > 65535)
      return fail(Errc::InvalidArgument, origin + " must be a comma-separated list of ports (0 = any free port), "
                                                  "e.g. 8400,8401,8402");
    ports.push_back(static_cast<uint16_t>(value));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (ports.empty() || ports.size() > 32)
    return fail(Errc::InvalidArgument, origin + " must list 1 to 32 ports");
  return ports;
}

std::string build_authorization_url(const std::string& endpoint, const std::string& client_id,
                                    const std::string& redirect_uri, const std::string& scope,
                                    const std::string& state, const std::string& nonce,
                                    const std::string& code_challenge, const std::string& audience,
                                    const std::string& prompt) {
  http::Params params{{"response_type", "code"},
                      {"client_id", client_id},
                      {"redirect_uri", redirect_uri},
                      {"scope", scope},
                      {"state", state},
                      {"nonce", nonce},
                      {"code_challenge", code_challenge},
                      {"code_challenge_method", "S256"}};
  if (!audience.empty()) params.emplace_back("audience", audience);
  if (!prompt.empty()) params.emplace_back("prompt", prompt);
  return endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") + http::form_encode(params);
}

std::string choose_prompt(const std::string& configured, const std::string& scope, bool is_auth0) {
  if (configured == "none") return "";
  if (!configured.empty()) return configured;
  const bool offline = (" " + scope + " ").find(" offline_access ") != std::string::npos;
  return offline && !is_auth0 ? "consent" : "";
}

CLI::App* setup_login(CLI::App& parent, LoginOptions& options) {
  auto* cmd = parent.add_subcommand("login", "Log in and store tokens (browser + PKCE by default)");
  auto* device = cmd->add_flag("--device", options.device, "Use the device grant (RFC 8628): enter a code on any device");
  auto* cc = cmd->add_flag("--client-credentials", options.client_credentials,
                           "Machine login with a client secret (OAUTHDEMO_CLIENT_SECRET or --client-secret-file)");
  device->excludes(cc);
  cmd->add_flag("--no-browser", options.no_browser, "Only print the URL; do not open a browser");
  cmd->add_option("--browser-command", options.browser_command,
                  "Run CMD '<url>' through /bin/sh -c instead of the system browser");
  cmd->add_flag("--paste", options.paste, "Also accept the redirected URL pasted on stdin (automatic on a terminal)");
  cmd->add_option("--port-list", options.port_list,
                  "Callback ports to try in order (default 8400,8401,8402; 0 = any free port)");
  cmd->add_option("--timeout", options.timeout_seconds, "Seconds to wait for the browser (default 300)")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--scope", options.scope, "Scopes (default \"openid profile email offline_access\")");
  cmd->add_option("--prompt", options.prompt,
                  "prompt= for the authorization request (OAUTHDEMO_PROMPT; default: consent when offline_access is "
                  "requested from a non-Auth0 provider; \"none\" sends nothing)");
  cmd->add_option("--audience", options.audience, "API identifier to request a token for (API_AUDIENCE)");
  cmd->add_option("--client-id", options.client_id, "Client ID (AUTH0_CLIENT_ID)");
  cmd->add_option("--client-secret-file", options.client_secret_file,
                  "File holding the client secret for --client-credentials");
  auto* secret_stdin = cmd->add_flag("--client-secret-stdin", options.client_secret_stdin,
                                     "Read the client secret for --client-credentials from the first line of stdin");
  secret_stdin->excludes(cmd->get_option("--client-secret-file"));
  cmd->footer(
      "Examples:\n"
      "  oauthdemo login                       # browser on this machine\n"
      "  oauthdemo login --device              # show a code to enter elsewhere\n"
      "  OAUTHDEMO_CLIENT_SECRET=... oauthdemo login --client-credentials --client-id ci-app\n"
      "Register http://127.0.0.1:PORT/callback at the provider for each port of --port-list.");
  return cmd;
}

std::vector<FlagSetting> login_flag_settings(const LoginOptions& options) {
  return {{"OAUTHDEMO_SCOPE", "--scope", options.scope},
          {"API_AUDIENCE", "--audience", options.audience},
          {"AUTH0_CLIENT_ID", "--client-id", options.client_id}};
}

Result<int> run_login(Context& ctx, const LoginOptions& options) {
  auto issuer = ctx.settings->issuer();
  if (!issuer) return tl::unexpected(issuer.error());
  auto client_id = ctx.settings->client_id();
  if (!client_id) return tl::unexpected(client_id.error());
  // A store we could not write (a config directory open to others, say) is reported before the
  // user spends time in a browser, not after.
  if (auto writable = ctx.store->lock(); !writable) return tl::unexpected(writable.error());
  if (options.client_credentials) return login_client_credentials(ctx, options, *issuer, *client_id);
  if (!ctx.interactive() && options.browser_command.empty() && !options.paste)
    return fail(Errc::LoginRequired, kNoTerminalRemedy);
  if (options.device) return login_device(ctx, options, *issuer, *client_id);
  return login_browser(ctx, options, *issuer, *client_id);
}

}  // namespace oauthdemo::cli
