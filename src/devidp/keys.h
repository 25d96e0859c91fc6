#pragma once
// The dev server's signing keys: RS256, one current key plus the older ones, all published in
// the JWKS so tokens signed before a rotation still verify. Thread-safe.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/base/error.h"
#include "common/jose/jwks.h"
#include "common/jose/sign.h"

namespace oauthdemo::devidp {

// The JWKS document and its strong ETag (quoted), rebuilt on rotation.
struct PublishedJwks {
  std::string body;
  std::string etag;
};

class KeyRing {
 public:
  // A ring with one freshly generated RSA-2048 key. Errc::CryptoFailure.
  static Result<std::unique_ptr<KeyRing>> generate();
  // A ring whose first key is the given PEM private key (RSA). Errc::ConfigInvalid.
  static Result<std::unique_ptr<KeyRing>> from_pem(std::string_view pem);
  // Loads the PEM at `path`; if the file does not exist, generates a key and writes it there with
  // mode 0600. Errc::ConfigInvalid / ConfigFileUnreadable / IoError.
  static Result<std::unique_ptr<KeyRing>> from_file(const std::string& path);

  // The key new tokens are signed with.
  std::shared_ptr<const jose::SigningKey> current() const;
  // Generates a new key, makes it current and keeps the old ones (at most `kMaxKeys`).
  Result<void> rotate();
  // Public keys for verification (userinfo, id_token_hint).
  std::shared_ptr<const jose::Jwks> verification_keys() const;
  PublishedJwks published() const;
  std::size_t size() const;

  static constexpr std::size_t kMaxKeys = 5;

 private:
  explicit KeyRing(std::shared_ptr<const jose::SigningKey> first);
  void rebuild_locked();

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const jose::SigningKey>> keys_;  // newest last
  std::shared_ptr<const jose::Jwks> jwks_;
  PublishedJwks published_;
};

// A signing key whose kid is the RFC 7638 thumbprint of its public JWK, so a key loaded from a
// file keeps its kid across restarts.
Result<jose::SigningKey> with_thumbprint_kid(const jose::SigningKey& key);

}  // namespace oauthdemo::devidp
