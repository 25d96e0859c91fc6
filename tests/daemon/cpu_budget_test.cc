#include "daemon/cpu_budget.h"

#include <sched.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace oauthdemo::daemon {
namespace {

namespace fs = std::filesystem;

// A fake "/" in a fresh temporary directory: tests write /proc/self/cgroup and cgroupfs files
// into it and hand its path to cgroup_cpu_limit. Removed at the end.
struct FakeRoot {
  void write(const std::string& relative, const std::string& content) const {
    const fs::path file = path / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
  }

  testing::TempDir dir;
  fs::path path{dir.path()};
};

// The calling thread's affinity count straight from the kernel (this test machine has far fewer
// than 1024 CPUs, so the fixed-size cpu_set_t is enough here).
std::size_t kernel_affinity_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  return static_cast<std::size_t>(CPU_COUNT(&set));
}

TEST_SUITE("daemon::cpu_budget") {
  TEST_CASE("cpu.max gives quota over period; max or an odd value means no limit") {
    CHECK(parse_cgroup2_cpu_max("150000 100000") == 1.5);
    CHECK(parse_cgroup2_cpu_max("150000 100000\n") == 1.5);
    CHECK(parse_cgroup2_cpu_max("200000 100000\n") == 2.0);
    CHECK(parse_cgroup2_cpu_max("1000 100000\n") == 0.01);
    CHECK_FALSE(parse_cgroup2_cpu_max("max 100000"));
    CHECK_FALSE(parse_cgroup2_cpu_max("max 100000\n"));
    CHECK_FALSE(parse_cgroup2_cpu_max("100000"));
    CHECK_FALSE(parse_cgroup2_cpu_max("100000\n"));
    CHECK_FALSE(parse_cgroup2_cpu_max("0 100000"));
    CHECK_FALSE(parse_cgroup2_cpu_max("150000 0"));
    CHECK_FALSE(parse_cgroup2_cpu_max("-1 100000"));
    CHECK_FALSE(parse_cgroup2_cpu_max("150000 -100000"));
    CHECK_FALSE(parse_cgroup2_cpu_max("+150000 100000"));
    CHECK_FALSE(parse_cgroup2_cpu_max("abc"));
    CHECK_FALSE(parse_cgroup2_cpu_max("abc 100000"));
    CHECK_FALSE(parse_cgroup2_cpu_max("150000 100000x"));
    CHECK_FALSE(parse_cgroup2_cpu_max("150000 100000 5"));
    CHECK_FALSE(parse_cgroup2_cpu_max("1.5 1"));
    CHECK_FALSE(parse_cgroup2_cpu_max(""));
    CHECK_FALSE(parse_cgroup2_cpu_max("\n"));
  }

  TEST_CASE("cpu.max numbers beyond 64 bits are refused, the largest 64-bit ones still divide") {
    CHECK_FALSE(parse_cgroup2_cpu_max("18446744073709551616 100000"));  // 2^64
    CHECK_FALSE(parse_cgroup2_cpu_max("100000 99999999999999999999999999"));
    const auto huge = parse_cgroup2_cpu_max("18446744073709551615 100000");
    REQUIRE(huge);
    CHECK(*huge > 1e14);
    CHECK(combine_cpu_budget(4, huge, 8) == 4);
    const auto tiny = parse_cgroup2_cpu_max("1 18446744073709551615");
    REQUIRE(tiny);
    CHECK(combine_cpu_budget(4, tiny, 8) == 1);
  }

  TEST_CASE("cfs_quota_us over cfs_period_us; -1 or an odd value means no limit") {
    CHECK(parse_cgroup1_quota("50000\n", "100000\n") == 0.5);
    CHECK(parse_cgroup1_quota("250000", "100000") == 2.5);
    CHECK_FALSE(parse_cgroup1_quota("-1\n", "100000\n"));
    CHECK_FALSE(parse_cgroup1_quota("-2", "100000"));
    CHECK_FALSE(parse_cgroup1_quota("0", "100000"));
    CHECK_FALSE(parse_cgroup1_quota("50000", "0"));
    CHECK_FALSE(parse_cgroup1_quota("50000", "-100000"));
    CHECK_FALSE(parse_cgroup1_quota("50000", ""));
    CHECK_FALSE(parse_cgroup1_quota("abc", "100000"));
    CHECK_FALSE(parse_cgroup1_quota("99999999999999999999", "100000"));
  }

  TEST_CASE("the count is the affinity capped by the limit rounded up, at least 1") {
    CHECK(combine_cpu_budget(4, 1.5, 8) == 2);
    CHECK(combine_cpu_budget(4, 2.0, 8) == 2);
    CHECK(combine_cpu_budget(4, 2.01, 8) == 3);
    CHECK(combine_cpu_budget(4, 0.01, 8) == 1);
    CHECK(combine_cpu_budget(4, 16.0, 8) == 4);
    CHECK(combine_cpu_budget(4, std::nullopt, 8) == 4);
    CHECK(combine_cpu_budget(std::nullopt, std::nullopt, 8) == 8);  // sched_getaffinity failed
    CHECK(combine_cpu_budget(std::nullopt, 1.5, 8) == 2);
    CHECK(combine_cpu_budget(std::nullopt, std::nullopt, 0) == 1);  // hardware_concurrency unknown
  }

  TEST_CASE("cgroup v2: the tightest cpu.max from the process's cgroup up to the root binds") {
    FakeRoot root;
    root.write("proc/self/cgroup", "0::/kubepods.slice/pod1/ctr\n");
    root.write("sys/fs/cgroup/kubepods.slice/cpu.max", "max 100000\n");
    root.write("sys/fs/cgroup/kubepods.slice/pod1/cpu.max", "150000 100000\n");
    root.write("sys/fs/cgroup/kubepods.slice/pod1/ctr/cpu.max", "400000 100000\n");
    CHECK(cgroup_cpu_limit(root.path) == 1.5);

    SUBCASE("a tighter leaf wins over its parent") {
      root.write("sys/fs/cgroup/kubepods.slice/pod1/ctr/cpu.max", "50000 100000\n");
      CHECK(cgroup_cpu_limit(root.path) == 0.5);
    }
    SUBCASE("the top level counts too") {
      root.write("sys/fs/cgroup/kubepods.slice/cpu.max", "100000 100000\n");
      CHECK(cgroup_cpu_limit(root.path) == 1.0);
    }
    SUBCASE("an unreadable level is skipped, not taken for the answer") {
      fs::remove(root.path / "sys/fs/cgroup/kubepods.slice/pod1/ctr/cpu.max");
      CHECK(cgroup_cpu_limit(root.path) == 1.5);
    }
  }

  TEST_CASE("cgroup v2 with max at every level is no limit") {
    FakeRoot root;
    root.write("proc/self/cgroup", "0::/system.slice/oauthdemo-apid.service\n");
    root.write("sys/fs/cgroup/system.slice/cpu.max", "max 100000\n");
    root.write("sys/fs/cgroup/system.slice/oauthdemo-apid.service/cpu.max", "max 100000\n");
    CHECK_FALSE(cgroup_cpu_limit(root.path));
  }

  TEST_CASE("cgroup v2 in the root cgroup (no cpu.max file at all) is no limit") {
    FakeRoot root;
    root.write("proc/self/cgroup", "0::/\n");
    fs::create_directories(root.path / "sys/fs/cgroup");
    CHECK_FALSE(cgroup_cpu_limit(root.path));
  }

  TEST_CASE("cgroup v1: the cpu controller's quota under cpu,cpuacct") {
    FakeRoot root;
    root.write("proc/self/cgroup",
               "12:cpuset:/\n4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n1:name=systemd:/\n0::/\n");
    root.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n");
    root.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    // The v2 tree of a hybrid host has no cpu controller; a cpu.max there must not be read.
    root.write("sys/fs/cgroup/cpu.max", "10000 100000\n");
    CHECK(cgroup_cpu_limit(root.path) == 1.5);

    SUBCASE("-1 is no limit") {
      root.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
      CHECK_FALSE(cgroup_cpu_limit(root.path));
    }
    SUBCASE("a zero period is no limit") {
      root.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "0\n");
      CHECK_FALSE(cgroup_cpu_limit(root.path));
    }
  }

  TEST_CASE("cgroup v1: a lone cpu mount, and cpuacct or cpuset alone is not the cpu controller") {
    FakeRoot root;
    root.write("proc/self/cgroup", "1:cpu:/b\n2:cpuacct:/a\n3:cpuset:/a\n");
    root.write("sys/fs/cgroup/cpu/b/cpu.cfs_quota_us", "50000\n");
    root.write("sys/fs/cgroup/cpu/b/cpu.cfs_period_us", "100000\n");
    root.write("sys/fs/cgroup/cpu/a/cpu.cfs_quota_us", "300000\n");
    root.write("sys/fs/cgroup/cpu/a/cpu.cfs_period_us", "100000\n");
    CHECK(cgroup_cpu_limit(root.path) == 0.5);
  }

  TEST_CASE("cgroup v1: a path missing under the mount (no cgroup namespace) reads the mount root") {
    FakeRoot root;
    root.write("proc/self/cgroup", "4:cpu,cpuacct:/docker/abc\n");
    root.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n");
    root.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    CHECK(cgroup_cpu_limit(root.path) == 2.0);
  }

  TEST_CASE("no /proc/self/cgroup, an escaping path or an oversized file is no limit") {
    FakeRoot root;
    root.write("sys/fs/cgroup/cpu.max", "100000 100000\n");
    CHECK_FALSE(cgroup_cpu_limit(root.path));  // /proc/self/cgroup missing

    SUBCASE("a .. in the cgroup path") {
      root.write("proc/self/cgroup", "0::/../../etc\n");
      root.write("sys/etc/cpu.max", "100000 100000\n");  // where sys/fs/cgroup/../../etc leads
      CHECK_FALSE(cgroup_cpu_limit(root.path));
    }
    SUBCASE("a cpu.max above 4 KiB") {
      root.write("proc/self/cgroup", "0::/\n");
      root.write("sys/fs/cgroup/cpu.max", "100000 100000" + std::string(5000, ' '));
      CHECK_FALSE(cgroup_cpu_limit(root.path));
    }
    SUBCASE("a cgroup list without a v2 or cpu line") {
      root.write("proc/self/cgroup", "garbage\n3:memory:/\n");
      CHECK_FALSE(cgroup_cpu_limit(root.path));
    }
  }

  TEST_CASE("on this machine: at least 1 and at most the affinity mask") {
    const std::size_t kernel = kernel_affinity_count();
    CHECK(affinity_cpus() == kernel);
    const std::size_t cpus = usable_cpus();
    CHECK(cpus >= 1);
    CHECK(cpus <= kernel);
    const auto budget = usable_cpu_budget();
    CHECK(budget.cpus == combine_cpu_budget(budget.affinity, budget.limit, kernel));
  }

  TEST_CASE("a thread pinned to one CPU gets one event loop") {
    cpu_set_t saved;
    CPU_ZERO(&saved);
    REQUIRE(::sched_getaffinity(0, sizeof saved, &saved) == 0);
    const int count = CPU_COUNT(&saved);
    if (count < 2) {
      MESSAGE("one CPU in the affinity mask: only the trivial case can be checked");
      CHECK(usable_cpus() == 1);
      return;
    }
    int first = 0;
    while (!CPU_ISSET(first, &saved)) ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    REQUIRE(::sched_setaffinity(0, sizeof one, &one) == 0);
    const auto affinity = affinity_cpus();
    const auto cpus = usable_cpus();
    REQUIRE(::sched_setaffinity(0, sizeof saved, &saved) == 0);
    CHECK(affinity == std::size_t{1});
    CHECK(cpus == 1);
    CHECK(affinity_cpus() == static_cast<std::size_t>(count));
  }
}

}  // namespace
}  // namespace oauthdemo::daemon
