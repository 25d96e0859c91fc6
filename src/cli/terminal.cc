#include "cli/terminal.h"

#include <qrencode.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

namespace oauthdemo::cli {

TerminalInfo detect_terminal(const std::function<std::optional<std::string>(const char*)>& lookup) {
  TerminalInfo info;
  info.stdin_tty = ::isatty(0) == 1;
  info.stdout_tty = ::isatty(1) == 1;
  info.stderr_tty = ::isatty(2) == 1;
  auto set = [&](const char* name) {
    auto v = lookup(name);
    return v.has_value() && !v->empty();
  };
  // TERM=dumb: a terminal that cannot show escape sequences (Emacs shell, some CI logs).
  info.no_color = lookup("NO_COLOR").has_value() || lookup("TERM") == std::optional<std::string>("dumb");
  if (auto ci = lookup("CI")) info.ci = *ci == "true" || *ci == "1" || *ci == "TRUE" || *ci == "True";
  info.ssh = set("SSH_CONNECTION") || set("SSH_CLIENT") || set("SSH_TTY");
#ifdef __APPLE__
  info.display = true;
#else
  info.display = set("DISPLAY") || set("WAYLAND_DISPLAY");
#endif
  info.wsl = set("WSL_DISTRO_NAME");
  return info;
}

TerminalInfo detect_terminal() {
  return detect_terminal([](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
}

std::string render_qr(std::string_view text) {
  std::string input(text);
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(input.c_str(), 0, QR_ECLEVEL_L), &QRcode_free);
  if (!code) return {};
  const int width = code->width;
  const int quiet = 2;
  auto dark = [&](int x, int y) {
    if (x < 0 || y < 0 || x >= width || y >= width) return false;
    return (code->data[y * width + x] & 1) != 0;
  };
  // Light background with dark modules reads correctly on dark and light terminal themes when
  // the light cells are printed as full blocks; scanners need dark-on-light.
  std::string out;
  for (int y = -quiet; y < width + quiet; y += 2) {
    for (int x = -quiet; x < width + quiet; ++x) {
      const bool top = dark(x, y);
      const bool bottom = dark(x, y + 1);
      if (!top && !bottom) out += "\u2588";       // full block: both light
      else if (top && !bottom) out += "\u2584";   // lower half light
      else if (!top && bottom) out += "\u2580";   // upper half light
      else out += " ";
    }
    out += "\n";
  }
  return out;
}

void Spinner::tick(std::string_view message, std::chrono::seconds left) {
  if (!enabled_) return;
  static constexpr const char* kFrames[] = {"|", "/", "-", "\\"};
  err_ << "\r\033[K" << kFrames[frame_++ % 4] << " " << message << " (" << format_countdown(left) << " left)"
       << std::flush;
  drawn_ = true;
}

void Spinner::clear() {
  if (!enabled_ || !drawn_) return;
  err_ << "\r\033[K" << std::flush;
  drawn_ = false;
}

std::string format_countdown(std::chrono::seconds left) {
  auto s = left.count() < 0 ? 0 : left.count();
  const auto h = s / 3600;
  const auto m = (s % 3600) / 60;
  const auto sec = s % 60;
  auto two = [](long long v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  if (h > 0) return std::to_string(h) + ":" + two(m) + ":" + two(sec);
  return std::to_string(m) + ":" + two(sec);
}

std::string format_relative(std::chrono::seconds delta) {
  const bool past = delta.count() < 0;
  auto s = past ? -delta.count() : delta.count();
  std::string text;
  if (s >= 86400) text = std::to_string(s / 86400) + "d " + std::to_string((s % 86400) / 3600) + "h";
  else if (s >= 3600) text = std::to_string(s / 3600) + "h " + std::to_string((s % 3600) / 60) + "m";
  else if (s >= 60) text = std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  else text = std::to_string(s) + "s";
  return past ? text + " ago" : "in " + text;
}

}  // namespace oauthdemo::cli
