#pragma once
// Strict JSON for untrusted input (token segments, JWKS, token endpoint answers).
// nlohmann 3.11.2 silently keeps the last of duplicate members and its dump()/copy recurse, so
// deep input can overflow the stack: we reject both while parsing.
#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/error.h"

namespace oauthdemo::jose {

struct JsonLimits {
  std::size_t max_depth = 32;  // arrays + objects nested
};

// Parses `text` (must be valid UTF-8, no trailing garbage, no comments).
// Errc::TokenBadJson (syntax, UTF-8), Errc::TokenDuplicateMember (also "\u0069ss" beside "iss"),
// Errc::TokenTooDeep. The detail names the problem, never the input.
Result<nlohmann::json> parse_strict_json(std::string_view text, const JsonLimits& limits = {});

// Same, and additionally requires the top level to be an object (Errc::TokenBadJson).
Result<nlohmann::json> parse_strict_object(std::string_view text, const JsonLimits& limits = {});

}  // namespace oauthdemo::jose
