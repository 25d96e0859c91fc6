#pragma once
// Base64url without padding (RFC 4648 §5, RFC 7515 §2).
#include <string>
#include <string_view>

#include "common/base/error.h"

namespace oauthdemo::base {

// Encodes bytes as base64url with no padding.
std::string base64url_encode(std::string_view bytes);

// Strict decoding: rejects '=', '+', '/', whitespace, any other character, a length of 1 mod 4
// and non-zero unused trailing bits, so every input has exactly one accepted spelling.
// Errc::TokenBadBase64 on any of those.
Result<std::string> base64url_decode(std::string_view text);

}  // namespace oauthdemo::base
