// libFuzzer target: arbitrary bytes as a JWKS document.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/jose/jwks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace oauthdemo::jose;
  auto set = Jwks::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!set) return 0;
  if (set->size() == 0) __builtin_trap();  // parse promises at least one usable key
  for (const auto& key : set->keys()) {
    if (key->pkey() == nullptr) __builtin_trap();
    const PublicKey* found = set->find(key->kid());
    if (found == nullptr && !set->is_ambiguous(key->kid())) __builtin_trap();
    (void)key->accepts(Alg::RS256);
    // A signature check with junk must fail cleanly, never crash.
    for (Alg alg : {Alg::RS256, Alg::PS256, Alg::ES256, Alg::ES512, Alg::EdDSA})
      if (key->accepts(alg) && key->verify(alg, "a.b", std::string_view("\x01\x02", 2))) __builtin_trap();
  }
  (void)set->sole_key();
  return 0;
}
