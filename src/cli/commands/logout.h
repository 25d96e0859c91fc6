#pragma once
// `oauthdemo logout`: revoke the refresh token (RFC 7009), delete the stored tokens, and
// optionally print the provider's logout URL.
#include <string>

#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace oauthdemo::cli {

struct LogoutOptions {
  bool no_revoke = false;
  bool print_logout_url = false;
  std::string return_to;
};

CLI::App* setup_logout(CLI::App& parent, LogoutOptions& options);
Result<int> run_logout(Context& ctx, const LogoutOptions& options);

}  // namespace oauthdemo::cli
