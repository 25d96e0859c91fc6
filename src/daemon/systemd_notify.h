#pragma once
// sd_notify(3) messages for Type=notify (systemd 252: no Type=notify-reload, so RELOADING=1 and
// READY=1 are sent by us around a SIGHUP reload). All calls are no-ops without NOTIFY_SOCKET.
#include <chrono>
#include <optional>
#include <string_view>

namespace oauthdemo::daemon {

class SystemdNotifier {
 public:
  void ready(std::string_view status);      // READY=1 + STATUS=
  void reloading();                         // RELOADING=1 + MONOTONIC_USEC= (systemd >= 253 needs it)
  void stopping();                          // STOPPING=1
  void status(std::string_view status);     // STATUS=
  void watchdog();                          // WATCHDOG=1
  void extend_timeout(std::chrono::microseconds extra);  // EXTEND_TIMEOUT_USEC=
  // The watchdog interval (WATCHDOG_USEC for this PID), if enabled.
  static std::optional<std::chrono::microseconds> watchdog_interval();

 private:
  static void send(std::string_view message);
};

}  // namespace oauthdemo::daemon
