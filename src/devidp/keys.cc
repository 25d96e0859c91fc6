#include "devidp/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/base/base64url.h"
#include "common/base/digest.h"

namespace oauthdemo::devidp {

Result<jose::SigningKey> with_thumbprint_kid(const jose::SigningKey& key) {
  const auto jwk = key.public_jwk();
  if (!jwk.contains("n") || !jwk.contains("e")) return fail(Errc::CryptoFailure, "public JWK lacks n/e");
  // RFC 7638 §3.2: members in lexicographic order, no whitespace.
  const std::string canonical = "{\"e\":\"" + jwk["e"].get<std::string>() + "\",\"kty\":\"RSA\",\"n\":\"" +
                                jwk["n"].get<std::string>() + "\"}";
  const std::string kid = base::base64url_encode(base::sha256(canonical)).substr(0, 22);
  return jose::SigningKey::from_pem(key.private_pem(), jose::Alg::RS256, kid);
}

namespace {

Result<std::shared_ptr<const jose::SigningKey>> fresh_key() {
  auto key = jose::SigningKey::generate(jose::Alg::RS256, "pending");
  if (!key) return tl::unexpected(key.error());
  auto named = with_thumbprint_kid(*key);
  if (!named) return tl::unexpected(named.error());
  return std::make_shared<const jose::SigningKey>(std::move(*named));
}

Result<void> write_private_file(const std::string& path, const std::string& pem) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::IoError, "cannot create key file " + path + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + off, pem.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return fail(Errc::IoError, "cannot write key file " + path);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return fail(Errc::IoError, "cannot write key file " + path);
  return {};
}

}  // namespace

KeyRing::KeyRing(std::shared_ptr<const jose::SigningKey> first) {
  keys_.push_back(std::move(first));
  rebuild_locked();
}

Result<std::unique_ptr<KeyRing>> KeyRing::generate() {
  auto key = fresh_key();
  if (!key) return tl::unexpected(key.error());
  return std::unique_ptr<KeyRing>(new KeyRing(std::move(*key)));
}

Result<std::unique_ptr<KeyRing>> KeyRing::from_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return fail(Errc::ConfigFileUnreadable, "cannot stat key file " + path);
    auto key = fresh_key();
    if (!key) return tl::unexpected(key.error());
    if (auto w = write_private_file(path, (*key)->private_pem()); !w) return tl::unexpected(w.error());
    return std::unique_ptr<KeyRing>(new KeyRing(std::move(*key)));
  }
  if (st.st_size > 64 * 1024) return fail(Errc::ConfigInvalid, "key file " + path + " is larger than 64 KiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::ConfigFileUnreadable, "cannot read key file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto ring = from_pem(text.str());
  if (!ring) return fail(ring.error().code, "key file " + path + ": " + ring.error().detail);
  return ring;
}

Result<std::unique_ptr<KeyRing>> KeyRing::from_pem(std::string_view pem) {
  auto loaded = jose::SigningKey::from_pem(pem, jose::Alg::RS256, "pending");
  if (!loaded) return fail(Errc::ConfigInvalid, loaded.error().detail);
  auto named = with_thumbprint_kid(*loaded);
  if (!named) return tl::unexpected(named.error());
  return std::unique_ptr<KeyRing>(new KeyRing(std::make_shared<const jose::SigningKey>(std::move(*named))));
}

std::shared_ptr<const jose::SigningKey> KeyRing::current() const {
  std::lock_guard lock(mu_);
  return keys_.back();
}

Result<void> KeyRing::rotate() {
  auto key = fresh_key();  // slow (RSA keygen): outside the lock
  if (!key) return tl::unexpected(key.error());
  std::lock_guard lock(mu_);
  keys_.push_back(std::move(*key));
  if (keys_.size() > kMaxKeys) keys_.erase(keys_.begin());
  rebuild_locked();
  return {};
}

std::shared_ptr<const jose::Jwks> KeyRing::verification_keys() const {
  std::lock_guard lock(mu_);
  return jwks_;
}

PublishedJwks KeyRing::published() const {
  std::lock_guard lock(mu_);
  return published_;
}

std::size_t KeyRing::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

void KeyRing::rebuild_locked() {
  std::vector<nlohmann::json> jwks;
  std::vector<std::shared_ptr<const jose::PublicKey>> publics;
  // Newest first: clients that take the first key get the current one.
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it) {
    jwks.push_back((*it)->public_jwk());
    publics.push_back((*it)->public_key());
  }
  jwks_ = std::make_shared<const jose::Jwks>(jose::Jwks::from_keys(std::move(publics)));
  published_.body = jose::make_jwks(jwks).dump();
  published_.etag = "\"" + base::to_hex(base::sha256(published_.body)).substr(0, 32) + "\"";
}

}  // namespace oauthdemo::devidp
