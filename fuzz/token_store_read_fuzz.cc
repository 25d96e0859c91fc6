// libFuzzer target: arbitrary bytes as the CLI's token-store file (cli::parse_tokens).
// Invariants: no crash/UB/leak; over kMaxStoreBytes is refused; an accepted document has a
// non-empty access_token and survives serialize -> parse unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/token_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace oauthdemo::cli;
  auto parsed = parse_tokens(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed) return 0;
  if (size > kMaxStoreBytes) __builtin_trap();
  if (parsed->access_token.empty()) __builtin_trap();
  auto again = parse_tokens(serialize_tokens(*parsed));
  if (!again) __builtin_trap();
  const StoredTokens& a = *parsed;
  const StoredTokens& b = *again;
  if (a.issuer != b.issuer || a.client_id != b.client_id || a.audience != b.audience || a.scope != b.scope ||
      a.grant != b.grant || a.token_type != b.token_type || a.access_token != b.access_token ||
      a.refresh_token != b.refresh_token || a.id_token != b.id_token || a.expires_at != b.expires_at ||
      a.obtained_at != b.obtained_at)
    __builtin_trap();
  return 0;
}
