#include "cli/token_store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

namespace oauthdemo::cli {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// A directory we own with no group/other access; created 0700 if missing.
Result<void> ensure_private_dir(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return fail(Errc::StoreIoError, "cannot inspect " + dir + ": " + errno_text());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return fail(Errc::StoreIoError, "cannot create " + dir + ": " + errno_text());
    if (::lstat(dir.c_str(), &st) != 0) return fail(Errc::StoreIoError, "cannot inspect " + dir + ": " + errno_text());
  }
  if (!S_ISDIR(st.st_mode)) return fail(Errc::StoreIoError, dir + " is not a directory");
  if (st.st_uid != ::geteuid())
    return fail(Errc::StoreInsecurePermissions, dir + " belongs to another user; refusing to keep tokens there");
  if ((st.st_mode & 077) != 0)
    return fail(Errc::StoreInsecurePermissions, dir + " is accessible by other users (mode " + octal_mode(st.st_mode) +
                                                    "); run: chmod 700 " + dir);
  return {};
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<void> ensure_parents(const std::string& dir) {
  // Parents of the oauthdemo directory (e.g. ~/.config) are created with 0700 but not checked.
  std::string parent = parent_dir(dir);
  if (parent == dir || parent == "/" || parent == ".") return {};
  struct stat st {};
  if (::stat(parent.c_str(), &st) == 0) return {};
  auto up = ensure_parents(parent);
  if (!up) return up;
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(Errc::StoreIoError, "cannot create " + parent + ": " + errno_text());
  return {};
}

}  // namespace

std::string serialize_tokens(const StoredTokens& t) {
  nlohmann::json j = {{"version", 1},
                      {"issuer", t.issuer},
                      {"client_id", t.client_id},
                      {"audience", t.audience},
                      {"scope", t.scope},
                      {"grant", t.grant},
                      {"token_type", t.token_type},
                      {"access_token", t.access_token},
                      {"refresh_token", t.refresh_token},
                      {"id_token", t.id_token},
                      {"expires_at", t.expires_at},
                      {"obtained_at", t.obtained_at}};
  return j.dump(2) + "\n";
}

Result<StoredTokens> parse_tokens(std::string_view text) {
  if (text.size() > kMaxStoreBytes) return fail(Errc::StoreCorrupt, "token file is larger than 64 KiB");
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::StoreCorrupt, "token file is not a JSON object");
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<int64_t>() != 1)
    return fail(Errc::StoreCorrupt, "token file has an unknown version");
  StoredTokens t;
  for (auto [field, name] : {std::pair{&t.issuer, "issuer"}, {&t.client_id, "client_id"}, {&t.audience, "audience"},
                             {&t.scope, "scope"}, {&t.grant, "grant"}, {&t.token_type, "token_type"},
                             {&t.access_token, "access_token"}, {&t.refresh_token, "refresh_token"},
                             {&t.id_token, "id_token"}}) {
    auto it = j.find(name);
    if (it == j.end()) continue;
    if (!it->is_string()) return fail(Errc::StoreCorrupt, std::string("token file member \"") + name + "\" is not a string");
    *field = it->get<std::string>();
  }
  for (auto [field, name] : {std::pair{&t.expires_at, "expires_at"}, {&t.obtained_at, "obtained_at"}}) {
    auto it = j.find(name);
    if (it == j.end()) continue;
    if (!it->is_number_integer())
      return fail(Errc::StoreCorrupt, std::string("token file member \"") + name + "\" is not an integer");
    *field = it->get<int64_t>();
  }
  if (t.access_token.empty()) return fail(Errc::StoreCorrupt, "token file has no access_token");
  return t;
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

bool valid_profile_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

FileTokenStore::FileTokenStore(std::string config_dir, std::string profile)
    : config_dir_(std::move(config_dir)),
      tokens_dir_(config_dir_ + "/tokens"),
      file_(tokens_dir_ + "/" + profile + ".json"),
      lock_file_(tokens_dir_ + "/" + profile + ".lock") {}

Result<void> FileTokenStore::ensure_dirs() const {
  auto parents = ensure_parents(config_dir_);
  if (!parents) return parents;
  auto top = ensure_private_dir(config_dir_);
  if (!top) return top;
  return ensure_private_dir(tokens_dir_);
}

Result<StoredTokens> FileTokenStore::load() const {
  const int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return fail(Errc::StoreNotFound, "no stored tokens at " + file_);
    return fail(Errc::StoreIoError, "cannot open " + file_ + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return fail(Errc::StoreIoError, "cannot inspect " + file_ + ": " + errno_text());
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    ::close(fd);
    return fail(Errc::StoreInsecurePermissions, file_ + " is not a regular file owned by you; refusing to use it");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return fail(Errc::StoreInsecurePermissions, file_ + " is readable by other users (mode " + octal_mode(st.st_mode) +
                                                    "); run: chmod 600 " + file_);
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxStoreBytes) {
    ::close(fd);
    return fail(Errc::StoreCorrupt, file_ + " is larger than 64 KiB");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  auto parsed = parse_tokens(text);
  if (!parsed) return fail(Errc::StoreCorrupt, parsed.error().detail + " (" + file_ + "); run: oauthdemo login");
  return parsed;
}

Result<StoreLock> FileTokenStore::lock() {
  auto dirs = ensure_dirs();
  if (!dirs) return tl::unexpected(dirs.error());
  const int fd = ::open(lock_file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(Errc::StoreIoError, "cannot open " + lock_file_ + ": " + errno_text());
  StoreLock held(fd);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return fail(Errc::StoreLockFailed, "cannot lock " + lock_file_ + ": " + errno_text());
    if (std::chrono::steady_clock::now() > deadline)
      return fail(Errc::StoreLockFailed, "another oauthdemo process has held " + lock_file_ + " for 30 s");
    // Polling a lock another process holds; flock has no timed wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return held;
}

namespace {
// Ctrl-C during a save is honoured once the rename is done, so no temporary copy of the tokens
// is left behind.
class BlockTerminationSignals {
 public:
  BlockTerminationSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockTerminationSignals() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  BlockTerminationSignals(const BlockTerminationSignals&) = delete;
  BlockTerminationSignals& operator=(const BlockTerminationSignals&) = delete;

 private:
  sigset_t old_;
};
}  // namespace

namespace {
// Temporary copies are named after the store file, so the profile lock covers them too.
std::string temp_prefix(const std::string& file) {
  const auto slash = file.rfind('/');
  return file.substr(0, slash + 1) + "." + file.substr(slash + 1) + ".tmp-";
}

// A writer killed between mkstemp and rename (SIGKILL, power loss) leaves a full copy of the
// tokens behind. Only the holder of this profile's lock writes these files, so any that exist
// while we hold it are orphans.
void remove_orphaned_temps(const std::string& file) {
  const std::string prefix = temp_prefix(file);
  const auto slash = prefix.rfind('/');
  const std::string dir = prefix.substr(0, slash);
  const std::string name_prefix = prefix.substr(slash + 1);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().starts_with(name_prefix)) std::filesystem::remove(entry.path(), ec);
  }
}
}  // namespace

Result<void> FileTokenStore::save(const StoredTokens& tokens, const StoreLock& lock) {
  if (!lock.held()) return fail(Errc::StoreLockFailed, "save() called without the store lock");
  BlockTerminationSignals block;
  auto dirs = ensure_dirs();
  if (!dirs) return dirs;
  remove_orphaned_temps(file_);
  const std::string text = serialize_tokens(tokens);
  std::string temp = temp_prefix(file_) + "XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return fail(Errc::StoreIoError, "cannot create a temporary file in " + tokens_dir_ + ": " + errno_text());
  auto abandon = [&](const std::string& what) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(temp.c_str());
    return fail(Errc::StoreIoError, what + " " + temp + ": " + why);
  };
  if (::fchmod(fd, 0600) != 0) return abandon("cannot chmod");
  std::size_t written = 0;
  while (written < text.size()) {
    const auto n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return abandon("cannot write");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("cannot fsync");
  if (::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(temp.c_str());
    return fail(Errc::StoreIoError, "cannot close " + temp + ": " + why);
  }
  if (::rename(temp.c_str(), file_.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temp.c_str());
    return fail(Errc::StoreIoError, "cannot rename " + temp + " to " + file_ + ": " + why);
  }
  // The rename is durable only once the directory entry is on disk.
  const int dir_fd = ::open(tokens_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

Result<void> FileTokenStore::remove(const StoreLock& lock) {
  if (!lock.held()) return fail(Errc::StoreLockFailed, "remove() called without the store lock");
  remove_orphaned_temps(file_);
  if (::unlink(file_.c_str()) != 0 && errno != ENOENT)
    return fail(Errc::StoreIoError, "cannot delete " + file_ + ": " + errno_text());
  return {};
}

}  // namespace oauthdemo::cli
