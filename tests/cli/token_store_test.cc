#include "cli/token_store.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

using namespace oauthdemo;
using namespace oauthdemo::cli;

namespace {
StoredTokens sample() {
  StoredTokens t;
  t.issuer = "http://127.0.0.1:1/";
  t.client_id = "oauthdemo-cli";
  t.audience = "https://api.example.com";
  t.scope = "openid offline_access";
  t.grant = "authorization_code";
  t.access_token = "h.p.s";
  t.refresh_token = "rt-1";
  t.id_token = "i.d.t";
  t.expires_at = 1767229200;
  t.obtained_at = 1767225600;
  return t;
}
mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_SUITE("cli::token_store") {
  TEST_CASE("saves and loads tokens with 0700 directories and a 0600 file") {
    testing::TempDir tmp;
    const std::string dir = tmp.path() + "/cfg/oauthdemo";
    FileTokenStore store(dir, "default");
    auto lock = store.lock();
    REQUIRE(lock);
    REQUIRE(store.save(sample(), *lock));
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(dir + "/tokens") == 0700);
    CHECK(mode_of(store.location()) == 0600);
    CHECK(store.location() == dir + "/tokens/default.json");
    auto loaded = store.load();
    REQUIRE(loaded);
    CHECK(loaded->access_token == "h.p.s");
    CHECK(loaded->refresh_token == "rt-1");
    CHECK(loaded->expires_at == 1767229200);
    CHECK(loaded->audience == "https://api.example.com");
    // No temporary files are left beside the store.
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/tokens")) {
      CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
      ++entries;
    }
    CHECK(entries == 2);  // default.json + default.lock
  }

  TEST_CASE("a save under the lock removes copies orphaned by a killed writer of the same profile only") {
    testing::TempDir tmp;
    const std::string dir = tmp.path() + "/oauthdemo";
    FileTokenStore store(dir, "default");
    {
      auto lock = store.lock();
      REQUIRE(lock);
      REQUIRE(store.save(sample(), *lock));
    }
    const std::string orphan = dir + "/tokens/.default.json.tmp-Ab12Cd";
    const std::string other_profile = dir + "/tokens/.staging.json.tmp-Ef34Gh";
    for (const auto& path : {orphan, other_profile}) std::ofstream(path) << "{\"access_token\":\"x\"}";
    auto lock = store.lock();
    REQUIRE(lock);
    REQUIRE(store.save(sample(), *lock));
    CHECK_FALSE(std::filesystem::exists(orphan));
    CHECK(std::filesystem::exists(other_profile));
  }

  TEST_CASE("a missing store is StoreNotFound") {
    testing::TempDir tmp;
    FileTokenStore store(tmp.path() + "/oauthdemo", "default");
    auto loaded = store.load();
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code == Errc::StoreNotFound);
  }

  TEST_CASE("refuses a token file readable by others, with the chmod advice") {
    testing::TempDir tmp;
    const std::string dir = tmp.path() + "/oauthdemo";
    FileTokenStore store(dir, "default");
    {
      auto lock = store.lock();
      REQUIRE(lock);
      REQUIRE(store.save(sample(), *lock));
    }
    REQUIRE(::chmod(store.location().c_str(), 0644) == 0);
    auto loaded = store.load();
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code == Errc::StoreInsecurePermissions);
    CHECK(loaded.error().detail == store.location() + " is readable by other users (mode 0644); run: chmod 600 " +
                                       store.location());
  }

  TEST_CASE("refuses a config directory open to others") {
    testing::TempDir tmp;
    const std::string dir = tmp.path() + "/oauthdemo";
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(::chmod(dir.c_str(), 0755) == 0);
    FileTokenStore store(dir, "default");
    auto lock = store.lock();
    REQUIRE_FALSE(lock);
    CHECK(lock.error().code == Errc::StoreInsecurePermissions);
    CHECK(lock.error().detail == dir + " is accessible by other users (mode 0755); run: chmod 700 " + dir);
  }

  TEST_CASE("save and remove require the lock") {
    testing::TempDir tmp;
    FileTokenStore store(tmp.path() + "/oauthdemo", "default");
    StoreLock none;
    auto saved = store.save(sample(), none);
    REQUIRE_FALSE(saved);
    CHECK(saved.error().code == Errc::StoreLockFailed);
    CHECK_FALSE(store.remove(none));
  }

  TEST_CASE("remove deletes the tokens") {
    testing::TempDir tmp;
    FileTokenStore store(tmp.path() + "/oauthdemo", "work");
    auto lock = store.lock();
    REQUIRE(lock);
    REQUIRE(store.save(sample(), *lock));
    REQUIRE(store.remove(*lock));
    CHECK(store.load().error().code == Errc::StoreNotFound);
    CHECK(store.remove(*lock));  // absent is fine
  }

  TEST_CASE("corrupt and oversized files are StoreCorrupt") {
    testing::TempDir tmp;
    const std::string dir = tmp.path() + "/oauthdemo";
    FileTokenStore store(dir, "default");
    { auto lock = store.lock(); REQUIRE(lock); REQUIRE(store.save(sample(), *lock)); }
    SUBCASE("truncated JSON") {
      std::ofstream(store.location(), std::ios::trunc) << "{\"version\":1,\"access_token\":";
      auto loaded = store.load();
      REQUIRE_FALSE(loaded);
      CHECK(loaded.error().code == Errc::StoreCorrupt);
    }
    SUBCASE("over 64 KiB") {
      std::ofstream(store.location(), std::ios::trunc) << std::string(kMaxStoreBytes + 1, ' ');
      auto loaded = store.load();
      REQUIRE_FALSE(loaded);
      CHECK(loaded.error().detail == store.location() + " is larger than 64 KiB");
    }
  }

  TEST_CASE("parse_tokens is strict about versions and types") {
    auto good = serialize_tokens(sample());
    CHECK(parse_tokens(good));
    auto wrong_version = parse_tokens(R"({"version":2,"access_token":"a"})");
    REQUIRE_FALSE(wrong_version);
    CHECK(wrong_version.error().detail == "token file has an unknown version");
    auto wrong_type = parse_tokens(R"({"version":1,"access_token":"a","expires_at":"soon"})");
    REQUIRE_FALSE(wrong_type);
    CHECK(wrong_type.error().detail == "token file member \"expires_at\" is not an integer");
    auto no_token = parse_tokens(R"({"version":1,"access_token":""})");
    REQUIRE_FALSE(no_token);
    CHECK(no_token.error().detail == "token file has no access_token");
  }

  TEST_CASE("the lock serialises read-modify-write across threads") {
    testing::TempDir tmp;
    const std::string dir = tmp.path() + "/oauthdemo";
    {
      FileTokenStore store(dir, "default");
      auto lock = store.lock();
      REQUIRE(lock);
      auto t = sample();
      t.obtained_at = 0;
      REQUIRE(store.save(t, *lock));
    }
    constexpr int kThreads = 6;
    constexpr int kRounds = 15;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        FileTokenStore store(dir, "default");  // own fd per store, like separate processes
        for (int r = 0; r < kRounds; ++r) {
          auto lock = store.lock();
          if (!lock) { ++failures; continue; }
          auto t = store.load();
          if (!t) { ++failures; continue; }
          t->obtained_at += 1;
          if (!store.save(*t, *lock)) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(failures == 0);
    FileTokenStore store(dir, "default");
    auto final_tokens = store.load();
    REQUIRE(final_tokens);
    CHECK(final_tokens->obtained_at == kThreads * kRounds);
  }

  TEST_CASE("profile names are checked") {
    CHECK(valid_profile_name("default"));
    CHECK(valid_profile_name("tenant-2.eu"));
    CHECK_FALSE(valid_profile_name(""));
    CHECK_FALSE(valid_profile_name("../etc"));
    CHECK_FALSE(valid_profile_name(".hidden"));
    CHECK_FALSE(valid_profile_name("a/b"));
  }
}
