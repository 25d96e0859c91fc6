#pragma once
// JWS algorithms we verify and sign with (RFC 7518 §3, RFC 8037 §3.1). HMAC is deliberately
// absent: a token naming HS* is always refused against public keys (RS/HS confusion attacks).
#include <optional>
#include <string_view>
#include <vector>

namespace oauthdemo::jose {

enum class Alg { RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };

// Exact, case-sensitive match of the "alg" header value; nullopt for anything else ("none",
// "HS256", "rs256", ...).
// "Ed25519" (RFC 9864's fully-specified name) is accepted as Alg::EdDSA.
std::optional<Alg> alg_from_string(std::string_view name);
std::string_view to_string(Alg alg);

// Parses "RS256,ES256" (the ALLOWED_ALGS setting); nullopt if any entry is unknown or the list
// is empty.
std::optional<std::vector<Alg>> parse_alg_list(std::string_view comma_separated);

}  // namespace oauthdemo::jose
