#pragma once
// The CLI's token store: one JSON file per profile under the config directory
// ($XDG_CONFIG_HOME/oauthdemo or ~/.config/oauthdemo), directory 0700 and file 0600, written
// atomically (temp file in the same directory, fsync, rename, fsync of the directory) while an
// flock(2) on "<profile>.lock" is held, so concurrent runs and crashes never leave a torn file.
//
// File format (version 1), <config dir>/tokens/<profile>.json:
//   {"version":1,"issuer":"...","client_id":"...","audience":"...","scope":"...",
//    "grant":"authorization_code|device_code|client_credentials","token_type":"Bearer",
//    "access_token":"...","refresh_token":"...","id_token":"...","expires_at":<unix s or 0>,
//    "obtained_at":<unix s>}
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/error.h"

namespace oauthdemo::cli {

struct StoredTokens {
  std::string issuer;
  std::string client_id;
  std::string audience;
  std::string scope;
  std::string grant;
  std::string token_type = "Bearer";
  std::string access_token;
  std::string refresh_token;
  std::string id_token;
  int64_t expires_at = 0;  // unix seconds; 0 = unknown
  int64_t obtained_at = 0;
};

inline constexpr std::size_t kMaxStoreBytes = 64 * 1024;

// Serialises to the version-1 JSON document.
std::string serialize_tokens(const StoredTokens& tokens);
// Strict parse: a JSON object within kMaxStoreBytes, version 1, string members as strings,
// integers as integers, access_token non-empty. Errc::StoreCorrupt naming the problem.
Result<StoredTokens> parse_tokens(std::string_view text);

// Proof that the store's lock is held; releasing happens in the destructor.
class StoreLock {
 public:
  StoreLock() = default;
  explicit StoreLock(int fd) : fd_(fd) {}
  ~StoreLock();
  StoreLock(StoreLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;
  // Errc::StoreNotFound, StoreInsecurePermissions (with the chmod advice), StoreCorrupt,
  // StoreIoError.
  virtual Result<StoredTokens> load() const = 0;
  // Takes the exclusive lock, waiting up to 30 s. Errc::StoreLockFailed, StoreIoError,
  // StoreInsecurePermissions (directory).
  virtual Result<StoreLock> lock() = 0;
  // Atomic replace. Requires the lock. Errc::StoreIoError.
  virtual Result<void> save(const StoredTokens& tokens, const StoreLock& lock) = 0;
  // Deletes the file (absent is fine). Requires the lock.
  virtual Result<void> remove(const StoreLock& lock) = 0;
  // The path shown in `status`.
  virtual std::string location() const = 0;
};

class FileTokenStore final : public TokenStore {
 public:
  // `config_dir` is the oauthdemo directory itself; `profile` must match [A-Za-z0-9_.-]{1,64}
  // without a leading '.' (checked by valid_profile_name before construction).
  FileTokenStore(std::string config_dir, std::string profile);

  Result<StoredTokens> load() const override;
  Result<StoreLock> lock() override;
  Result<void> save(const StoredTokens& tokens, const StoreLock& lock) override;
  Result<void> remove(const StoreLock& lock) override;
  std::string location() const override { return file_; }

 private:
  Result<void> ensure_dirs() const;
  std::string config_dir_;
  std::string tokens_dir_;
  std::string file_;
  std::string lock_file_;
};

bool valid_profile_name(std::string_view name);

}  // namespace oauthdemo::cli
