#pragma once
// Opening a URL in the user's browser (RFC 8252 §4: the external user-agent). The opener runs
// in the background so the loopback listener keeps serving while the browser (or a scripted
// --browser-command) talks to it.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "common/base/error.h"

namespace oauthdemo::cli {

class Browser {
 public:
  virtual ~Browser() = default;
  // Starts opening `url`; returns once the opener was started. Errc::IoError if it cannot start.
  virtual Result<void> open(const std::string& url) = 0;
  // The opener's exit status once it has ended (reaped), nullopt while it runs or if unknown.
  virtual std::optional<int> finished_status() { return std::nullopt; }
  // A short description for messages ("xdg-open", "--browser-command").
  virtual std::string describe() const = 0;
};

// Runs `/bin/sh -c '<command> <quoted url>'` with stdin from /dev/null and stdout sent to
// stderr (stdout stays clean for machine output). The destructor waits up to 5 s for the child,
// then sends SIGTERM and reaps it.
class CommandBrowser final : public Browser {
 public:
  explicit CommandBrowser(std::string command, std::string description = "--browser-command");
  ~CommandBrowser() override;
  CommandBrowser(const CommandBrowser&) = delete;
  CommandBrowser& operator=(const CommandBrowser&) = delete;

  Result<void> open(const std::string& url) override;
  std::optional<int> finished_status() override;
  std::string describe() const override { return description_; }

 private:
  std::string command_;
  std::string description_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// $BROWSER, else the first of xdg-open / wslview / open found on PATH, as a CommandBrowser;
// nullptr when none is available.
std::unique_ptr<Browser> make_system_browser();

// Single-quotes `text` for /bin/sh ('it'"'"'s').
std::string shell_quote(std::string_view text);

}  // namespace oauthdemo::cli
