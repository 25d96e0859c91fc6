#include "daemon/cpu_budget.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace oauthdemo::daemon {
namespace {

namespace fs = std::filesystem;

// cpu.max and cfs_*_us hold one line of a few bytes. /proc/self/cgroup has a line per v1
// hierarchy (a dozen on hybrid hosts), each path up to PATH_MAX in theory; larger than the cap
// means something odd, and a cut-off path could name the wrong cgroup, so it is not parsed.
constexpr std::size_t kMaxControlFile = 4096;
constexpr std::size_t kMaxCgroupList = 64 * 1024;

// The whole file if it is at most `cap` bytes; nullopt if it cannot be read or is larger.
// POSIX read: /proc and cgroupfs files report size 0, so the length is only known at EOF.
std::optional<std::string> read_small_file(const fs::path& path, std::size_t cap) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out(cap + 1, '\0');
  std::size_t used = 0;
  bool ok = true;
  while (used < out.size()) {
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (!ok || used > cap) return std::nullopt;
  out.resize(used);
  return out;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// The whole of `s` as a number; from_chars refuses signs on unsigned types, leading blanks and
// values that do not fit, so "-1", " 5" and 2^64 all fail here rather than wrap.
template <typename Int>
std::optional<Int> parse_int(std::string_view s) {
  Int value{};
  const auto* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc{} || ptr != end || s.empty()) return std::nullopt;
  return value;
}

struct CgroupPaths {
  std::optional<std::string> v2;       // from "0::/path"
  std::optional<std::string> v1_cpu;   // from "N:...,cpu,...:/path"
};

bool lists_cpu_controller(std::string_view controllers) {
  while (!controllers.empty()) {
    const auto comma = controllers.find(',');
    if (controllers.substr(0, comma) == "cpu") return true;  // not cpuacct or cpuset
    if (comma == std::string_view::npos) break;
    controllers.remove_prefix(comma + 1);
  }
  return false;
}

// Lines are "hierarchy-id:controllers:path" (cgroups(7)); the path may itself contain ':'.
CgroupPaths parse_proc_cgroup(std::string_view text) {
  CgroupPaths out;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    const auto c1 = line.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const auto id = line.substr(0, c1);
    const auto controllers = line.substr(c1 + 1, c2 - c1 - 1);
    const auto path = std::string(line.substr(c2 + 1));
    if (id == "0" && controllers.empty()) out.v2 = path;
    else if (lists_cpu_controller(controllers)) out.v1_cpu = path;
  }
  return out;
}

// The cgroup path relative to its mount, or nullopt if it is not a plain absolute path: a ".."
// must not lead the reads outside the cgroup tree.
std::optional<fs::path> relative_cgroup(const std::string& path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  fs::path rel = fs::path(path).relative_path();
  for (const auto& part : rel)
    if (part == "..") return std::nullopt;
  return rel;
}

std::optional<double> min_limit(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// A parent's cpu.max caps its children's combined use (a systemd slice, a Kubernetes pod
// around its container), so the tightest level along the path is the one that binds.
std::optional<double> cgroup2_limit(const fs::path& mount, const std::string& path) {
  auto rel = relative_cgroup(path);
  if (!rel) return std::nullopt;
  std::optional<double> limit;
  for (;;) {
    if (auto text = read_small_file(mount / *rel / "cpu.max", kMaxControlFile))
      limit = min_limit(limit, parse_cgroup2_cpu_max(*text));
    if (rel->empty()) break;
    *rel = rel->parent_path();
  }
  return limit;
}

// Without a cgroup namespace (Docker on v1) /proc/self/cgroup shows the host's path, while the
// container sees its own cgroup mounted as the root of the hierarchy; so when the path is not
// there, the mount root is the process's cgroup.
std::optional<double> cgroup1_limit(const fs::path& cgroup_dir, const std::string& path) {
  auto rel = relative_cgroup(path);
  if (!rel) return std::nullopt;
  for (const auto& dir : {cgroup_dir / *rel, cgroup_dir}) {
    auto quota = read_small_file(dir / "cpu.cfs_quota_us", kMaxControlFile);
    auto period = read_small_file(dir / "cpu.cfs_period_us", kMaxControlFile);
    if (quota && period) return parse_cgroup1_quota(*quota, *period);
  }
  return std::nullopt;
}

struct FreeCpuSet {
  void operator()(cpu_set_t* set) const { CPU_FREE(set); }
};

}  // namespace

std::optional<double> parse_cgroup2_cpu_max(std::string_view text) {
  text = trim(text);
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;  // the kernel always writes both
  const auto quota_text = text.substr(0, space);
  const auto period_text = text.substr(space + 1);
  if (quota_text == "max") return std::nullopt;
  const auto quota = parse_int<std::uint64_t>(quota_text);
  const auto period = parse_int<std::uint64_t>(period_text);
  if (!quota || !period || *quota == 0 || *period == 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> parse_cgroup1_quota(std::string_view quota_us, std::string_view period_us) {
  const auto quota = parse_int<std::int64_t>(trim(quota_us));
  const auto period = parse_int<std::int64_t>(trim(period_us));
  // -1 is "no limit"; zero and other negative values are never written by the kernel.
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> cgroup_cpu_limit(const fs::path& root) {
  const auto list = read_small_file(root / "proc/self/cgroup", kMaxCgroupList);
  if (!list) return std::nullopt;
  const auto paths = parse_proc_cgroup(*list);
  // A controller lives in one hierarchy only: if `cpu` is listed on a v1 line (hybrid hosts),
  // the v2 tree has no cpu.max for it.
  if (paths.v1_cpu) {
    const fs::path base = root / "sys/fs/cgroup";
    for (const char* name : {"cpu,cpuacct", "cpu"}) {
      std::error_code ec;
      if (fs::is_directory(base / name, ec)) return cgroup1_limit(base / name, *paths.v1_cpu);
    }
    return std::nullopt;
  }
  if (paths.v2) return cgroup2_limit(root / "sys/fs/cgroup", *paths.v2);
  return std::nullopt;
}

std::optional<std::size_t> affinity_cpus() {
  // The kernel refuses (EINVAL) a mask smaller than its own CPU count, so grow until it fits;
  // a fixed cpu_set_t stops at 1024 CPUs. Linux builds for at most 8192.
  constexpr std::size_t kMaxCpus = std::size_t{1} << 17;
  for (std::size_t n = 1024; n <= kMaxCpus; n *= 2) {
    std::unique_ptr<cpu_set_t, FreeCpuSet> set(CPU_ALLOC(n));
    if (!set) return std::nullopt;
    const std::size_t size = CPU_ALLOC_SIZE(n);
    CPU_ZERO_S(size, set.get());
    if (::sched_getaffinity(0, size, set.get()) == 0) {
      const int count = CPU_COUNT_S(size, set.get());
      if (count <= 0) return std::nullopt;
      return static_cast<std::size_t>(count);
    }
    if (errno != EINVAL) return std::nullopt;
  }
  return std::nullopt;
}

std::size_t combine_cpu_budget(std::optional<std::size_t> affinity, std::optional<double> limit,
                               std::size_t hardware) {
  std::size_t cpus = affinity.value_or(hardware);
  // Compared as doubles first, so a huge or odd quota never reaches the integer conversion.
  // Rounded up: 1.5 CPUs of quota keep two loops busy between throttling periods.
  if (limit && std::isfinite(*limit) && *limit > 0 && *limit < static_cast<double>(cpus))
    cpus = static_cast<std::size_t>(std::ceil(*limit));
  return std::max<std::size_t>(1, cpus);
}

CpuBudget usable_cpu_budget() {
  CpuBudget b;
  b.affinity = affinity_cpus();
  b.limit = cgroup_cpu_limit("/");
  b.cpus = combine_cpu_budget(b.affinity, b.limit, std::thread::hardware_concurrency());
  return b;
}

std::size_t usable_cpus() { return usable_cpu_budget().cpus; }

}  // namespace oauthdemo::daemon
