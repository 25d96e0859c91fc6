#include "common/jose/jwks.h"

#include <algorithm>

#include <openssl/evp.h>

#include "common/jose/json.h"

namespace oauthdemo::jose {
namespace {

// JWKS documents nest at most {"keys":[{"x5c":[...]}]}; a small cap keeps parsing cheap.
constexpr JsonLimits kJwksJsonLimits{.max_depth = 8};

bool same_key(const PublicKey& a, const PublicKey& b) {
  return EVP_PKEY_eq(a.pkey(), b.pkey()) == 1 && a.declared_alg() == b.declared_alg();
}

}  // namespace

Result<Jwks> Jwks::parse(std::string_view json_text, const JwksLimits& limits) {
  if (json_text.size() > limits.max_bytes)
    return fail(Errc::JwksMalformed, "JWKS is " + std::to_string(json_text.size()) + " bytes; the limit is " +
                                         std::to_string(limits.max_bytes));
  auto doc = parse_strict_object(json_text, kJwksJsonLimits);
  if (!doc) return fail(Errc::JwksMalformed, "JWKS is not valid JSON: " + doc.error().detail);
  const auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) return fail(Errc::JwksMalformed, "JWKS has no \"keys\" array");
  if (keys->size() > limits.max_keys)
    return fail(Errc::JwksMalformed, "JWKS holds " + std::to_string(keys->size()) + " keys; the limit is " +
                                         std::to_string(limits.max_keys));
  Jwks set;
  for (const auto& entry : *keys) {
    std::string kid;
    if (entry.is_object()) {
      const auto it = entry.find("kid");
      if (it != entry.end() && it->is_string()) kid = it->get<std::string>();
    }
    auto key = PublicKey::from_jwk(entry);
    if (!key) {
      set.skipped_.push_back(SkippedKey{std::move(kid), key.error()});
      continue;
    }
    set.keys_.push_back(std::move(*key));
  }
  if (set.keys_.empty()) {
    std::string why = "JWKS has no usable signing key";
    if (!set.skipped_.empty()) why += " (first skipped: " + set.skipped_.front().reason.detail + ")";
    return fail(Errc::JwksNoUsableKeys, why);
  }
  auto keys_in_hand = std::move(set.keys_);
  auto skipped = std::move(set.skipped_);
  Jwks out = from_keys(std::move(keys_in_hand));
  skipped.insert(skipped.end(), out.skipped_.begin(), out.skipped_.end());
  out.skipped_ = std::move(skipped);
  return out;
}

Jwks Jwks::from_keys(std::vector<std::shared_ptr<const PublicKey>> keys) {
  Jwks set;
  for (auto& key : keys) {
    if (!key) continue;
    bool duplicate = false;
    for (const auto& kept : set.keys_) {
      if (kept->kid() != key->kid()) continue;
      if (same_key(*kept, *key)) {
        duplicate = true;  // the same key published twice is harmless: keep one
        break;
      }
      // Two different keys under one kid (RFC 7517 §4.5 says kids should differ): refuse to guess.
      if (std::find(set.ambiguous_kids_.begin(), set.ambiguous_kids_.end(), key->kid()) == set.ambiguous_kids_.end())
        set.ambiguous_kids_.push_back(key->kid());
    }
    if (duplicate) {
      set.skipped_.push_back(
          SkippedKey{key->kid(), Error{Errc::JwksKeyRejected, "the same key is listed twice under one kid"}});
      continue;
    }
    set.keys_.push_back(std::move(key));
  }
  return set;
}

const PublicKey* Jwks::find(std::string_view kid) const {
  if (is_ambiguous(kid)) return nullptr;
  for (const auto& key : keys_)
    if (key->kid() == kid) return key.get();
  return nullptr;
}

bool Jwks::is_ambiguous(std::string_view kid) const {
  return std::find(ambiguous_kids_.begin(), ambiguous_kids_.end(), kid) != ambiguous_kids_.end();
}

const PublicKey* Jwks::sole_key() const { return keys_.size() == 1 ? keys_.front().get() : nullptr; }

}  // namespace oauthdemo::jose
