#include "common/jose/verify.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace oauthdemo::jose {
namespace {

using json = nlohmann::json;

// NumericDate (RFC 7519 §2) values we accept: JSON numbers in (0, 2^53), exact as doubles.
constexpr double kMaxNumericDate = 9007199254740992.0;  // 2^53

// Attacker-chosen header text shown in a detail: bounded and with control characters escaped.
std::string shown(std::string_view text) {
  constexpr std::size_t kMax = 100;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c >= 0x80) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "\"";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 9068 §4: "at+jwt" and "application/at+jwt" are the same media type, case-insensitively.
std::string normalise_typ(std::string_view typ) {
  std::string t = lower(typ);
  if (t.rfind("application/", 0) == 0) t.erase(0, 12);
  return t;
}

Result<void> check_header(const DecodedJws& jws, const VerifyPolicy& policy, Alg& alg_out) {
  const auto alg = alg_from_string(jws.alg_name);
  if (!alg) {
    const std::string low = lower(jws.alg_name);
    if (low.find("none") != std::string::npos || jws.alg_name.empty())
      return fail(Errc::TokenUnsupportedAlg, "alg " + shown(jws.alg_name) + " (unsecured JWS) is never accepted");
    if (low.rfind("hs", 0) == 0)
      return fail(Errc::TokenUnsupportedAlg,
                  "alg " + shown(jws.alg_name) + " (HMAC) is never accepted against public keys");
    return fail(Errc::TokenUnsupportedAlg, "alg " + shown(jws.alg_name) + " is not supported");
  }
  if (std::find(policy.allowed_algs.begin(), policy.allowed_algs.end(), *alg) == policy.allowed_algs.end())
    return fail(Errc::TokenUnsupportedAlg, "alg " + shown(jws.alg_name) + " is not in the allowed list");
  // RFC 7515 §4.1.11: we implement no extension, so any "crit" (even empty) is unsupported;
  // RFC 7797 "b64" changes what is signed and is refused the same way.
  if (jws.header.contains("crit"))
    return fail(Errc::TokenCritUnsupported, "header \"crit\" names extensions this verifier does not implement");
  if (jws.header.contains("b64")) return fail(Errc::TokenCritUnsupported, "header \"b64\" (RFC 7797) is not supported");
  // RFC 8725 §3.10: keys and key URLs from the token itself are never trusted or fetched.
  for (const char* member : {"jwk", "jku", "x5u", "x5c"})
    if (jws.header.contains(member))
      return fail(Errc::TokenEmbeddedKey, std::string("header \"") + member + "\" is not accepted; keys come from the JWKS");
  if (policy.required_typ) {
    const auto typ = jws.header.find("typ");
    if (typ == jws.header.end() || !typ->is_string())
      return fail(Errc::TokenWrongType, "header \"typ\" is missing; " + shown(*policy.required_typ) + " is required");
    if (normalise_typ(typ->get_ref<const std::string&>()) != normalise_typ(*policy.required_typ))
      return fail(Errc::TokenWrongType, "header \"typ\" is " + shown(typ->get_ref<const std::string&>()) + " but " +
                                            shown(*policy.required_typ) + " is required");
  }
  alg_out = *alg;
  return {};
}

Result<const PublicKey*> select_key(const DecodedJws& jws, const Jwks& keys) {
  if (jws.has_kid) {
    if (keys.is_ambiguous(jws.kid))
      return fail(Errc::TokenUnknownKid, "kid " + shown(jws.kid) + " is ambiguous: several keys in the JWKS use it");
    const PublicKey* key = keys.find(jws.kid);
    if (key == nullptr) return fail(Errc::TokenUnknownKid, "no usable key with kid " + shown(jws.kid));
    return key;
  }
  if (const PublicKey* key = keys.sole_key()) return key;
  if (keys.size() == 0) return fail(Errc::TokenUnknownKid, "the key set is empty");
  return fail(Errc::TokenKidMissing,
              "token has no kid and the key set holds " + std::to_string(keys.size()) + " keys");
}

// Reads a NumericDate; nullopt if absent. TokenClaimType for anything but a number in (0, 2^53).
Result<std::optional<double>> numeric_date(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>{};
  if (!it->is_number())
    return fail(Errc::TokenClaimType, std::string("claim \"") + name + "\" is not a number");
  const double v = it->get<double>();
  bool in_range = std::isfinite(v) && v > 0 && v < kMaxNumericDate;
  if (it->is_number_unsigned()) in_range = it->get<std::uint64_t>() > 0 && it->get<std::uint64_t>() < (1ULL << 53);
  if (it->is_number_integer() && !it->is_number_unsigned()) in_range = in_range && it->get<std::int64_t>() > 0;
  if (!in_range) return fail(Errc::TokenClaimType, std::string("claim \"") + name + "\" is out of range");
  return std::optional<double>{v};
}

std::string seconds_text(double s) {
  const auto whole = static_cast<long long>(std::ceil(s));
  return std::to_string(whole) + "s";
}

Result<void> check_audience(const json& claims, const VerifyPolicy& policy) {
  const auto it = claims.find("aud");
  if (it == claims.end()) return fail(Errc::TokenWrongAudience, "claim \"aud\" is missing");
  auto ours = [&](const std::string& aud) {
    return std::find(policy.audiences.begin(), policy.audiences.end(), aud) != policy.audiences.end();
  };
  if (it->is_string()) {
    if (ours(it->get_ref<const std::string&>())) return {};
    return fail(Errc::TokenWrongAudience,
                "aud is " + shown(it->get_ref<const std::string&>()) + ", which is not an accepted audience");
  }
  if (!it->is_array()) return fail(Errc::TokenWrongAudience, "claim \"aud\" is neither a string nor an array");
  if (it->empty()) return fail(Errc::TokenWrongAudience, "claim \"aud\" is an empty array");
  bool match = false;
  for (const auto& member : *it) {
    if (!member.is_string()) return fail(Errc::TokenWrongAudience, "claim \"aud\" holds a non-string member");
    match = match || ours(member.get_ref<const std::string&>());
  }
  if (!match) return fail(Errc::TokenWrongAudience, "none of the token's audiences is accepted");
  return {};
}

}  // namespace

Result<void> check_claims(const nlohmann::json& claims, const VerifyPolicy& policy, SystemTime now) {
  if (!claims.is_object()) return fail(Errc::TokenBadJson, "claims are not a JSON object");
  auto exp = numeric_date(claims, "exp");
  if (!exp) return tl::unexpected(exp.error());
  auto nbf = numeric_date(claims, "nbf");
  if (!nbf) return tl::unexpected(nbf.error());
  auto iat = numeric_date(claims, "iat");
  if (!iat) return tl::unexpected(iat.error());

  const auto iss = claims.find("iss");
  if (iss == claims.end()) return fail(Errc::TokenWrongIssuer, "claim \"iss\" is missing");
  if (!iss->is_string()) return fail(Errc::TokenWrongIssuer, "claim \"iss\" is not a string");
  if (policy.issuer.empty()) return fail(Errc::TokenWrongIssuer, "no expected issuer is configured");
  if (iss->get_ref<const std::string&>() != policy.issuer)
    return fail(Errc::TokenWrongIssuer,
                "iss is " + shown(iss->get_ref<const std::string&>()) + " but " + shown(policy.issuer) + " was expected");

  if (auto aud = check_audience(claims, policy); !aud) return aud;

  const double now_s = static_cast<double>(to_unix(now));
  const double leeway = static_cast<double>(policy.leeway.count());
  // Built only for an error: this function runs for every token.
  const auto leeway_text = [&] { return " (leeway " + std::to_string(policy.leeway.count()) + "s)"; };
  if (!*exp && policy.exp == ExpPolicy::Required) return fail(Errc::TokenMissingClaim, "claim \"exp\" is missing");
  // RFC 7519 §4.1.4: the token must not be accepted on or after exp (plus leeway).
  if (*exp && now_s >= **exp + leeway)
    return fail(Errc::TokenExpired, "token expired " + seconds_text(now_s - **exp) + " ago" + leeway_text());
  if (*nbf && **nbf > now_s + leeway)
    return fail(Errc::TokenNotYetValid, "token is not valid for another " + seconds_text(**nbf - now_s) + leeway_text());
  if (*iat && **iat > now_s + leeway)
    return fail(Errc::TokenIssuedInFuture,
                "token was issued " + seconds_text(**iat - now_s) + " in the future" + leeway_text());

  for (const auto& name : policy.required_claims)
    if (!claims.contains(name)) return fail(Errc::TokenMissingClaim, "required claim " + shown(name) + " is missing");

  if (policy.nonce) {
    const auto nonce = claims.find("nonce");
    if (nonce == claims.end() || !nonce->is_string())
      return fail(Errc::TokenNonceMismatch, "claim \"nonce\" is missing");
    if (nonce->get_ref<const std::string&>() != *policy.nonce)
      return fail(Errc::TokenNonceMismatch, "claim \"nonce\" differs from the one sent");
  }
  return {};
}

Result<VerifiedJwt> verify_jwt(std::string_view compact, const Jwks& keys, const VerifyPolicy& policy,
                               SystemTime now) {
  auto jws = decode_jws(compact, policy.max_token_bytes, policy.json_limits);
  if (!jws) return tl::unexpected(jws.error());
  Alg alg = Alg::RS256;
  if (auto header_ok = check_header(*jws, policy, alg); !header_ok) return tl::unexpected(header_ok.error());
  auto key = select_key(*jws, keys);
  if (!key) return tl::unexpected(key.error());
  if (!(*key)->accepts(alg))
    return fail(Errc::TokenKeyMismatch, "alg " + std::string(to_string(alg)) + " does not fit the key with kid " +
                                            shown((*key)->kid()));
  if (auto sig = verify_signature(jws->signing_input, jws->signature, **key, alg); !sig)
    return tl::unexpected(sig.error());
  auto claims = parse_strict_object(jws->payload_bytes, policy.json_limits);
  if (!claims) return fail(claims.error().code, "JWT claims: " + claims.error().detail);
  if (auto ok = check_claims(*claims, policy, now); !ok) return tl::unexpected(ok.error());
  return VerifiedJwt{std::move(jws->header), std::move(*claims), alg, std::move(jws->kid), std::move(jws->payload_bytes)};
}

Result<VerifiedJwt> decode_unverified(std::string_view compact, std::size_t max_bytes) {
  auto jws = decode_jws(compact, max_bytes);
  if (!jws) return tl::unexpected(jws.error());
  const auto alg = alg_from_string(jws->alg_name);
  if (!alg) return fail(Errc::TokenUnsupportedAlg, "alg " + shown(jws->alg_name) + " is not supported");
  auto claims = parse_strict_object(jws->payload_bytes);
  if (!claims) return fail(claims.error().code, "JWT claims: " + claims.error().detail);
  return VerifiedJwt{std::move(jws->header), std::move(*claims), *alg, std::move(jws->kid), std::move(jws->payload_bytes)};
}

}  // namespace oauthdemo::jose
