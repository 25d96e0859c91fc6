#pragma once
// How many CPUs the daemon may really use, for the default number of event loops (WORKERS=0).
// std::thread::hardware_concurrency() counts the machine's CPUs, but `taskset`, systemd
// CPUAffinity=, cpusets and container CPU limits (cgroup cpu.max / cfs_quota) give the process
// fewer; more loops than CPUs only adds context switches and, under a quota, throttling. Counted
// the way nproc, the Go runtime (1.25+) and the JVM do: min(affinity mask, cgroup quota rounded up).
// Nothing here throws; a missing or odd file means "no limit".
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>

namespace oauthdemo::daemon {

// cgroup v2 `cpu.max` ("<quota> <period>", both in µs) as a number of CPUs: "150000 100000" -> 1.5.
// nullopt for "max ..." (no limit) and for anything odd: one field, zero, a sign, trailing text,
// a value beyond 64 bits.
std::optional<double> parse_cgroup2_cpu_max(std::string_view text);

// cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` as a number of CPUs. nullopt for -1 (no
// limit) and for anything odd (zero or negative values, garbage).
std::optional<double> parse_cgroup1_quota(std::string_view quota_us, std::string_view period_us);

// The CPU bandwidth limit of this process's cgroup, read below `root` (`/` in production, a fake
// tree in tests): <root>/proc/self/cgroup names the cgroup; the v1 `cpu` controller's files under
// <root>/sys/fs/cgroup/cpu,cpuacct or .../cpu win when that controller is on v1 (hybrid hosts),
// otherwise the smallest cpu.max over the v2 cgroup and its ancestors under <root>/sys/fs/cgroup.
// nullopt = no limit (or nothing readable).
std::optional<double> cgroup_cpu_limit(const std::filesystem::path& root);

// The CPUs in this thread's affinity mask (sized for any CPU count); nullopt if the kernel
// refuses to tell.
std::optional<std::size_t> affinity_cpus();

// max(1, min(affinity or `hardware` when unknown, limit rounded up)). Pure.
std::size_t combine_cpu_budget(std::optional<std::size_t> affinity, std::optional<double> limit,
                               std::size_t hardware);

// What the production count was made of, for the start-up log line.
struct CpuBudget {
  std::optional<std::size_t> affinity;  // nullopt: sched_getaffinity failed
  std::optional<double> limit;          // nullopt: no cgroup CPU limit
  std::size_t cpus = 1;                 // the result, >= 1
};
CpuBudget usable_cpu_budget();

// usable_cpu_budget().cpus: the default number of event loops.
std::size_t usable_cpus();

}  // namespace oauthdemo::daemon
