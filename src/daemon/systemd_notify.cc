#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>
#include <string>

namespace oauthdemo::daemon {

void SystemdNotifier::send(std::string_view message) {
  const std::string m(message);
  (void)sd_notify(0, m.c_str());
}

void SystemdNotifier::ready(std::string_view status) { send("READY=1\nSTATUS=" + std::string(status)); }

void SystemdNotifier::reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::uint64_t usec = static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading configuration");
}

void SystemdNotifier::stopping() { send("STOPPING=1\nSTATUS=stopping: finishing in-flight requests"); }

void SystemdNotifier::status(std::string_view status) { send("STATUS=" + std::string(status)); }

void SystemdNotifier::watchdog() { send("WATCHDOG=1"); }

void SystemdNotifier::extend_timeout(std::chrono::microseconds extra) {
  send("EXTEND_TIMEOUT_USEC=" + std::to_string(extra.count()));
}

std::optional<std::chrono::microseconds> SystemdNotifier::watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(static_cast<std::int64_t>(usec));
  return std::nullopt;
}

}  // namespace oauthdemo::daemon
