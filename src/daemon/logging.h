#pragma once
// spdlog set-up for the daemon: text ("2026-.. [info] message") or one JSON object per line for
// journald and log shippers. Messages never contain tokens; callers pass plain text.
#include <string_view>

#include "daemon/settings.h"

namespace oauthdemo::daemon {

// Configures the default logger (stderr). Safe to call again on SIGHUP.
void configure_logging(LogFormat format, std::string_view level);
bool json_logging();

void log_info(std::string_view text);
void log_warn(std::string_view text);
void log_error(std::string_view text);

// For the access log: `fields` is a JSON object's members without braces in JSON mode.
// Access-log lines are buffered (written every 100 ms, at 16 KiB, or with a warning/error).
void log_access(std::string_view text_line, std::string_view json_fields);

// Writes out buffered log lines (called before the process exits).
void flush_logs();

}  // namespace oauthdemo::daemon
