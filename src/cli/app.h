#pragma once
// The CLI's shared runtime: global options, the injected seams (clock, randomness, HTTP,
// browser factory, token store), the terminal facts, and the Errc -> exit code table.
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "cli/browser.h"
#include "cli/settings.h"
#include "cli/terminal.h"
#include "cli/token_store.h"
#include "common/base/clock.h"
#include "common/base/error.h"
#include "common/base/random.h"
#include "common/http/http_client.h"

namespace oauthdemo::cli {

// Exit codes (documented in --help): 0 ok, 1 error, 2 usage, 4 login required or
// authentication failed, 5 denied by the user, 6 the API answered an error, 7 network/TLS
// failure, 130 interrupted.
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitLoginRequired = 4,
  kExitDenied = 5,
  kExitApiError = 6,
  kExitNetwork = 7,
  kExitDeadline = 8,  // no complete answer from a server within the HTTP deadline
  kExitInterrupted = 130,
};

// The one table from Errc to exit code.
int exit_code_for(Errc code);

// The text of the --help footer listing the exit codes.
std::string exit_code_help();

struct Context {
  GlobalOptions global;
  TerminalInfo term;
  std::ostream* out = nullptr;  // machine output (tokens, API bodies, JSON)
  std::ostream* err = nullptr;  // everything for people
  Clock* clock = nullptr;
  RandomSource* random = nullptr;
  http::HttpClient* http = nullptr;
  TokenStore* store = nullptr;
  std::optional<Settings> settings;
  int cancel_fd = -1;  // readable after SIGINT
  // Builds a browser for --browser-command CMD (tests swap in a fake).
  std::function<std::unique_ptr<Browser>(const std::string& command)> command_browser;
  // The platform opener (xdg-open, ...) or nullptr.
  std::function<std::unique_ptr<Browser>()> system_browser;

  // Prompts and browsers are allowed: a terminal on stdin and stderr, not CI, no --non-interactive.
  bool interactive() const { return term.interactive() && !global.non_interactive; }
  std::ostream& o() const { return *out; }
  std::ostream& e() const { return *err; }
};

// Parses argv, wires the real seams and runs the chosen command. Returns the exit code.
int run_app(int argc, char** argv);

}  // namespace oauthdemo::cli
