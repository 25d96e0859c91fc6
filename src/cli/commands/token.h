#pragma once
// `oauthdemo token show` and `oauthdemo token refresh`.
#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace oauthdemo::cli {

struct TokenOptions {
  bool json = false;
  bool raw = false;
  bool header = false;
  bool env = false;
  bool include_refresh = false;
};

// Adds `token` with `show` and `refresh`; returns {show, refresh}.
std::pair<CLI::App*, CLI::App*> setup_token(CLI::App& parent, TokenOptions& options);
Result<int> run_token_show(Context& ctx, const TokenOptions& options);
Result<int> run_token_refresh(Context& ctx);

}  // namespace oauthdemo::cli
