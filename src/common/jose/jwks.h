#pragma once
// A JWK Set (RFC 7517 §5): the usable public signing keys, looked up by kid.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.h"
#include "common/jose/jwk.h"

namespace oauthdemo::jose {

struct JwksLimits {
  std::size_t max_bytes = 256 * 1024;
  std::size_t max_keys = 100;
};

struct SkippedKey {
  std::string kid;  // may be empty
  Error reason;     // Errc::JwksKeyRejected with why (use=enc, kty oct, 1024-bit RSA, ...)
};

// Immutable after parse; share it with shared_ptr<const Jwks> and swap whole sets.
class Jwks {
 public:
  // Keeps usable signing keys and records the others in skipped(). A kid used by two different
  // keys is kept as "ambiguous": find() then refuses it. Errc::JwksMalformed for non-JSON, no
  // "keys" array, over the limits; Errc::JwksNoUsableKeys when nothing usable remains.
  static Result<Jwks> parse(std::string_view json_text, const JwksLimits& limits = {});

  // Builds a set from keys in hand (tests, the dev server's own keys).
  static Jwks from_keys(std::vector<std::shared_ptr<const PublicKey>> keys);

  // The key for `kid`, or nullptr if unknown or ambiguous.
  const PublicKey* find(std::string_view kid) const;
  bool is_ambiguous(std::string_view kid) const;
  // The only key, when the set holds exactly one (for tokens without kid).
  const PublicKey* sole_key() const;

  const std::vector<std::shared_ptr<const PublicKey>>& keys() const { return keys_; }
  const std::vector<SkippedKey>& skipped() const { return skipped_; }
  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<std::shared_ptr<const PublicKey>> keys_;
  std::vector<std::string> ambiguous_kids_;
  std::vector<SkippedKey> skipped_;
};

}  // namespace oauthdemo::jose
