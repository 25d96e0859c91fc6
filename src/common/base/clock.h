#pragma once
// Time as a seam: production code asks a Clock, tests hand in a FakeClock (tests/support).
#include <chrono>

namespace oauthdemo {

using SystemTime = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for exp/nbf/iat decisions.
  virtual SystemTime now() const = 0;
  // Monotonic time, for timeouts, cooldowns and ages that must not jump with NTP.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override { return std::chrono::steady_clock::now(); }
};

// Seconds since the Unix epoch, the unit of JWT NumericDate (RFC 7519 §2).
inline int64_t to_unix(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline SystemTime from_unix(int64_t seconds) { return SystemTime{std::chrono::seconds{seconds}}; }

}  // namespace oauthdemo
