#pragma once
// `oauthdemo status`: logged in or not, as whom, until when, where; exit 0 / 4.
#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace oauthdemo::cli {

struct StatusOptions {
  bool json = false;
};

CLI::App* setup_status(CLI::App& parent, StatusOptions& options);
Result<int> run_status(Context& ctx, const StatusOptions& options);

}  // namespace oauthdemo::cli
