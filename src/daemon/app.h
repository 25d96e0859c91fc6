#pragma once
// The daemon's life cycle: settings, bind, key loading, sd_notify, signals (SIGTERM drains and
// exits 0, SIGHUP reloads without dropping connections) and the watchdog.
namespace oauthdemo::daemon {

// Runs oauthdemo-apid; returns the process exit code (0 ok, 1 runtime/config error, 2 usage).
// Blocks SIGTERM/SIGINT/SIGHUP in the calling thread before starting any other thread.
int run_daemon(int argc, const char* const* argv);

}  // namespace oauthdemo::daemon
