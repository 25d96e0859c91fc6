#pragma once
// Usage errors of the three programs' command lines (CLI11), in one shape: "PROGRAM: error: WHAT"
// with the nearest command or flag for a typo, then where the usage is; exit code 2.
#include <string>
#include <string_view>

namespace CLI {
class App;
class ParseError;
}  // namespace CLI

namespace oauthdemo::config {

// The exit code of every usage error (CLI11's own codes, e.g. 105 or 109, are not used).
inline constexpr int kUsageExitCode = 2;

// What went wrong, for a parse error of `app` (already parsed, so it knows the subcommands given):
//   "unknown command 'lgin'; did you mean login?"
//   "unknown command 'shw' for 'oauthdemo token'; did you mean show?"
//   "unknown option '--devcie'; did you mean --device?"
// and otherwise CLI11's own text. `program` names the root (the binary's name).
std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& error, std::string_view program);

// The whole text for stderr: "PROGRAM: error: <describe_parse_error>\n" and
// "PROGRAM: run 'PROGRAM [COMMAND] --help' for the usage\n".
std::string usage_error_text(const CLI::App& app, const CLI::ParseError& error, std::string_view program);

}  // namespace oauthdemo::config
