#include "cli/app.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands/call_api.h"
#include "cli/commands/login.h"
#include "cli/commands/logout.h"
#include "cli/commands/status.h"
#include "cli/commands/token.h"
#include "cli/redact.h"
#include "common/config/usage.h"

namespace oauthdemo::cli {

int exit_code_for(Errc code) {
  switch (code) {
    case Errc::LoginRequired:
    case Errc::StoreNotFound:
    case Errc::OAuthInvalidGrant:
    case Errc::OAuthInvalidClient:
    case Errc::OAuthUnauthorizedClient:
    case Errc::OAuthExpiredToken:
    case Errc::OAuthStateMismatch:
    case Errc::OAuthTimeout:
    case Errc::OAuthIssuerMismatch:
    case Errc::TokenMalformed:
    case Errc::TokenTooLarge:
    case Errc::TokenBadBase64:
    case Errc::TokenBadJson:
    case Errc::TokenDuplicateMember:
    case Errc::TokenTooDeep:
    case Errc::TokenUnsupportedAlg:
    case Errc::TokenCritUnsupported:
    case Errc::TokenEmbeddedKey:
    case Errc::TokenUnknownKid:
    case Errc::TokenKidMissing:
    case Errc::TokenKeyMismatch:
    case Errc::TokenBadSignature:
    case Errc::TokenExpired:
    case Errc::TokenNotYetValid:
    case Errc::TokenIssuedInFuture:
    case Errc::TokenWrongIssuer:
    case Errc::TokenWrongAudience:
    case Errc::TokenMissingClaim:
    case Errc::TokenClaimType:
    case Errc::TokenWrongType:
    case Errc::TokenNonceMismatch:
      return kExitLoginRequired;
    case Errc::OAuthAccessDenied:
      return kExitDenied;
    case Errc::HttpBadStatus:
      return kExitApiError;
    case Errc::HttpConnectFailed:
    case Errc::HttpTimeout:
    case Errc::HttpTlsFailure:
    case Errc::JwksUnavailable:
    case Errc::OAuthDiscoveryFailed:
      return kExitNetwork;
    case Errc::HttpDeadlineExceeded:
      return kExitDeadline;
    case Errc::OAuthInterrupted:
      return kExitInterrupted;
    case Errc::InvalidArgument:
      return kExitUsage;
    default:
      return kExitError;
  }
}

std::string exit_code_help() {
  return "Exit codes:\n"
         "  0    success\n"
         "  1    error (configuration, token store, provider answer)\n"
         "  2    usage error\n"
         "  4    login required or authentication failed (not logged in, session expired,\n"
         "       device code expired, ID token rejected, login timed out)\n"
         "  5    denied by the user (access_denied)\n"
         "  6    the API answered an error status\n"
         "  7    network or TLS failure\n"
         "  8    no complete answer from a server within the HTTP deadline (OAUTHDEMO_HTTP_TIMEOUT)\n"
         "  130  interrupted (Ctrl-C)\n"
         "Settings: flags > environment > ./.env (or --env-file) > <config dir>/config.env\n"
         "(profiles: <config dir>/profiles/NAME.env); <config dir> = $XDG_CONFIG_HOME/oauthdemo or\n"
         "~/.config/oauthdemo. Names: AUTH0_DOMAIN or ISSUER_BASE_URL, AUTH0_CLIENT_ID, API_AUDIENCE,\n"
         "REDIRECT_URI, API_BASE_URL, OAUTHDEMO_SCOPE, OAUTHDEMO_CALLBACK_PORTS, OAUTHDEMO_CLIENT_SECRET,\n"
         "OAUTHDEMO_ACCESS_TOKEN (overrides the store), OAUTHDEMO_HTTP_TIMEOUT, NO_COLOR, CI.";
}

namespace {

int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_waiting = 0;

void on_sigint(int) {
  if (g_signal_pipe[1] >= 0) {
    const char c = 'x';
    [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &c, 1);
  }
  // Outside a wait (e.g. during a plain HTTP call) stop at once with the documented code.
  if (g_waiting == 0) _exit(kExitInterrupted);
}

int install_sigint_pipe() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return g_signal_pipe[0];
}

void configure_logging(const GlobalOptions& global, const TerminalInfo& term) {
  std::shared_ptr<spdlog::logger> logger;
  if (term.color_stderr())
    logger = spdlog::stderr_color_mt("oauthdemo");
  else
    logger = spdlog::stderr_logger_mt("oauthdemo");
  logger->set_pattern("oauthdemo: %^%l%$: %v");
  spdlog::level::level_enum level = spdlog::level::warn;
  if (global.verbosity == 1) level = spdlog::level::info;
  if (global.verbosity >= 2) level = spdlog::level::debug;
  if (!global.log_level.empty()) level = spdlog::level::from_str(global.log_level);
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

void print_error(const Context& ctx, const Error& error) {
  const bool color = ctx.term.color_stderr();
  ctx.e() << (color ? "\033[31moauthdemo: error:\033[0m " : "oauthdemo: error: ")
          << (error.detail.empty() ? std::string(to_string(error.code)) : error.detail) << "\n";
  if (error.code == Errc::HttpTlsFailure && ctx.global.cacert.empty())
    ctx.e() << "oauthdemo: hint: if the server's certificate comes from a private CA, pass --cacert FILE (PEM)\n";
  spdlog::debug("error code {}", to_string(error.code));
}

}  // namespace

int run_app(int argc, char** argv) {
  GlobalOptions global;
  LoginOptions login;
  LogoutOptions logout;
  StatusOptions status;
  TokenOptions token;
  CallApiOptions call_api;

  CLI::App app{"oauthdemo: OAuth 2.0 / OpenID Connect login from the terminal (Auth0 or any OIDC provider)",
               "oauthdemo"};
  app.require_subcommand(1);
  // Global options are accepted after the subcommand too ("oauthdemo login --profile staging"):
  // subcommands created below inherit this and hand the options they do not know to the root.
  app.fallthrough();
  app.add_option("--profile", global.profile, "Settings and token profile (default \"default\")");
  app.add_option("--env-file", global.env_file, "Read settings from this .env file instead of ./.env");
  app.add_option("--config-dir", global.config_dir, "Config and token directory (default $XDG_CONFIG_HOME/oauthdemo)");
  app.add_flag("--non-interactive", global.non_interactive, "Never open a browser or prompt");
  app.add_flag("-v,--verbose", global.verbosity, "More log output on stderr (-vv for debug)");
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_flag("--log-http", global.log_http, "Log HTTP requests and responses to stderr with secrets masked");
  app.add_option("--cacert", global.cacert, "PEM CA bundle for TLS verification (default: the system CAs)")
      ->check(CLI::ExistingFile);
  app.footer(exit_code_help());

  auto* login_cmd = setup_login(app, login);
  auto* logout_cmd = setup_logout(app, logout);
  auto* status_cmd = setup_status(app, status);
  auto [show_cmd, refresh_cmd] = setup_token(app, token);
  auto* call_cmd = setup_call_api(app, call_api);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << config::usage_error_text(app, e, "oauthdemo");
    return kExitUsage;
  }

  Context ctx;
  ctx.global = global;
  ctx.term = detect_terminal();
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  configure_logging(global, ctx.term);

  std::vector<FlagSetting> flags;
  if (login_cmd->parsed()) flags = login_flag_settings(login);
  if (call_cmd->parsed()) flags = call_api_flag_settings(call_api);
  auto settings = Settings::load(global, flags);
  if (!settings) {
    print_error(ctx, settings.error());
    return exit_code_for(settings.error().code);
  }
  ctx.settings = std::move(*settings);

  SystemClock clock;
  OpenSslRandom random;
  auto http_timeout = ctx.settings->http_timeout();
  if (!http_timeout) {
    print_error(ctx, http_timeout.error());
    return exit_code_for(http_timeout.error().code);
  }
  http::HttpClientOptions http_options;
  http_options.ca_file = global.cacert;
  http_options.deadline = *http_timeout;
  http_options.proxy = http::HttpClientOptions::Proxy::FromEnvironment;
  http::HttplibClient real_http(http_options);
  LoggingHttpClient logging_http(real_http, [](const std::string& block) { std::cerr << block << std::flush; });
  FileTokenStore store(ctx.settings->config_dir(), ctx.settings->profile());
  ctx.clock = &clock;
  ctx.random = &random;
  ctx.http = global.log_http ? static_cast<http::HttpClient*>(&logging_http) : &real_http;
  ctx.store = &store;
  ctx.cancel_fd = install_sigint_pipe();
  ctx.command_browser = [](const std::string& command) { return std::make_unique<CommandBrowser>(command); };
  ctx.system_browser = [] { return make_system_browser(); };

  Result<int> result = kExitOk;
  if (login_cmd->parsed()) {
    g_waiting = 1;
    result = run_login(ctx, login);
    g_waiting = 0;
  } else if (logout_cmd->parsed()) {
    result = run_logout(ctx, logout);
  } else if (status_cmd->parsed()) {
    result = run_status(ctx, status);
  } else if (show_cmd->parsed()) {
    result = run_token_show(ctx, token);
  } else if (refresh_cmd->parsed()) {
    result = run_token_refresh(ctx);
  } else if (call_cmd->parsed()) {
    result = run_call_api(ctx, call_api);
  }
  std::cout.flush();
  if (!result) {
    print_error(ctx, result.error());
    return exit_code_for(result.error().code);
  }
  return *result;
}

}  // namespace oauthdemo::cli
