#pragma once
// What the process is attached to, and the small terminal niceties: colour only on a terminal
// without NO_COLOR, a one-line spinner on stderr only when stderr is a terminal, and QR codes.
#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace oauthdemo::cli {

struct TerminalInfo {
  bool stdin_tty = false;
  bool stdout_tty = false;
  bool stderr_tty = false;
  bool no_color = false;  // NO_COLOR set (any value, https://no-color.org) or TERM=dumb
  bool ci = false;        // CI=true / CI=1
  bool ssh = false;       // SSH_CONNECTION / SSH_CLIENT / SSH_TTY
  bool display = false;   // DISPLAY / WAYLAND_DISPLAY, or macOS
  bool wsl = false;       // WSL_DISTRO_NAME

  // Someone can answer a prompt: stdin and stderr are terminals and not CI.
  bool interactive() const { return stdin_tty && stderr_tty && !ci; }
  // A browser on this machine is likely to reach our loopback listener.
  bool browser_likely() const { return (display || wsl) && !ssh && !ci; }
  bool color_stdout() const { return stdout_tty && !no_color; }
  bool color_stderr() const { return stderr_tty && !no_color; }
};

// Reads isatty() for fds 0-2 and the environment. `lookup` is the environment (getenv in
// production, a map in tests).
TerminalInfo detect_terminal(const std::function<std::optional<std::string>(const char*)>& lookup);
TerminalInfo detect_terminal();

// A QR code of `text` (libqrencode, error correction level L) drawn with Unicode half blocks,
// two modules per character row, with a quiet zone of 2 modules. Empty if encoding fails.
std::string render_qr(std::string_view text);

// One line on stderr: "<frame> <message> (4:59 left)", redrawn in place; disabled -> no output.
class Spinner {
 public:
  Spinner(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  ~Spinner() { clear(); }
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;

  void tick(std::string_view message, std::chrono::seconds left);
  void clear();

 private:
  std::ostream& err_;
  bool enabled_;
  bool drawn_ = false;
  unsigned frame_ = 0;
};

// "4:59", "1:02:03" for a countdown.
std::string format_countdown(std::chrono::seconds left);
// "in 59m 58s", "3h 2m ago", for expiry times relative to now.
std::string format_relative(std::chrono::seconds delta);

}  // namespace oauthdemo::cli
