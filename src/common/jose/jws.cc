#include "common/jose/jws.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "common/base/base64url.h"
#include "common/jose/key_internal.h"

namespace oauthdemo::jose {
namespace {

constexpr std::size_t kMaxKidChars = 256;

// base::base64url_decode is itself table-driven, four characters at a time (the fast path that
// used to live here duplicated it).
Result<std::string> decode_segment(std::string_view text, const char* name) {
  auto decoded = base::base64url_decode(text);
  if (!decoded) return fail(Errc::TokenBadBase64, std::string("JWS ") + name + ": " + decoded.error().detail);
  return decoded;
}

}  // namespace

Result<DecodedJws> decode_jws(std::string_view compact, std::size_t max_bytes, const JsonLimits& json_limits) {
  // RFC 8725 §3.x hygiene: the size cap comes before anything that allocates or splits.
  if (compact.size() > max_bytes)
    return fail(Errc::TokenTooLarge,
                "token is " + std::to_string(compact.size()) + " bytes; the limit is " + std::to_string(max_bytes));
  const auto dots = static_cast<std::size_t>(std::count(compact.begin(), compact.end(), '.'));
  if (dots != 2) {
    if (dots == 4) return fail(Errc::TokenMalformed, "token has 5 segments (JWE); only signed JWS is accepted");
    return fail(Errc::TokenMalformed, "token has " + std::to_string(dots + 1) + " segments; a JWS has exactly 3");
  }
  const auto first = compact.find('.');
  const auto second = compact.find('.', first + 1);
  const auto header_b64 = compact.substr(0, first);
  const auto payload_b64 = compact.substr(first + 1, second - first - 1);
  const auto signature_b64 = compact.substr(second + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty())
    return fail(Errc::TokenMalformed, "token has an empty segment");

  DecodedJws out;
  auto header_bytes = decode_segment(header_b64, "header");
  if (!header_bytes) return tl::unexpected(header_bytes.error());
  auto payload = decode_segment(payload_b64, "payload");
  if (!payload) return tl::unexpected(payload.error());
  auto signature = decode_segment(signature_b64, "signature");
  if (!signature) return tl::unexpected(signature.error());

  auto header = parse_strict_object(*header_bytes, json_limits);
  if (!header) return fail(header.error().code, "JWS header: " + header.error().detail);
  const auto alg = header->find("alg");
  if (alg == header->end()) return fail(Errc::TokenMalformed, "JWS header has no \"alg\"");
  if (!alg->is_string()) return fail(Errc::TokenMalformed, "JWS header \"alg\" is not a string");
  out.alg_name = alg->get<std::string>();
  if (const auto kid = header->find("kid"); kid != header->end()) {
    if (!kid->is_string()) return fail(Errc::TokenMalformed, "JWS header \"kid\" is not a string");
    out.kid = kid->get<std::string>();
    if (out.kid.size() > kMaxKidChars)
      return fail(Errc::TokenMalformed, "JWS header \"kid\" is longer than " + std::to_string(kMaxKidChars) + " bytes");
    out.has_kid = true;
  }
  out.header = std::move(*header);
  out.payload_bytes = std::move(*payload);
  out.signing_input = std::string(compact.substr(0, second));
  out.signature = std::move(*signature);
  return out;
}

Result<void> verify_signature(std::string_view signing_input, std::string_view signature, const PublicKey& key,
                              Alg alg) {
  return key.verify(alg, signing_input, signature);
}

}  // namespace oauthdemo::jose
