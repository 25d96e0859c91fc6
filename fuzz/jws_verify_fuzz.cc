// libFuzzer target: arbitrary bytes as a compact JWS against a fixed key set, plus the same bytes
// as the (validly signed) claims of a token, so payload parsing and check_claims are reached too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/base64url.h"
#include "common/jose/jwks.h"
#include "common/jose/sign.h"
#include "common/jose/verify.h"

namespace {

using namespace oauthdemo;
using namespace oauthdemo::jose;

struct World {
  SigningKey ec;
  Jwks keys;
  VerifyPolicy policy;
  std::string header_b64;
};

World make_world() {
  auto rsa = SigningKey::generate(Alg::RS256, "rsa1");
  auto ec = SigningKey::generate(Alg::ES256, "ec1");
  auto ed = SigningKey::generate(Alg::EdDSA, "ed1");
  if (!rsa || !ec || !ed) __builtin_trap();
  auto keys = Jwks::parse(make_jwks({rsa->public_jwk(), ec->public_jwk(), ed->public_jwk()}).dump());
  if (!keys) __builtin_trap();
  VerifyPolicy policy;
  policy.issuer = "https://issuer.example/";
  policy.audiences = {"https://api.example"};
  policy.allowed_algs = {Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA};
  policy.required_claims = {"sub"};
  const std::string header = base::base64url_encode(R"({"alg":"ES256","kid":"ec1","typ":"at+jwt"})");
  return World{std::move(*ec), std::move(*keys), std::move(policy), header};
}

World& world() {
  static World w = make_world();
  return w;
}

const SystemTime kNow = from_unix(1767225600);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  World& w = world();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto verified = verify_jwt(input, w.keys, w.policy, kNow);
  if (verified && !verified->claims.is_object()) __builtin_trap();
  auto shown = decode_unverified(input);
  if (shown && (!shown->header.is_object() || !shown->claims.is_object())) __builtin_trap();

  // The input as the claims of a correctly signed token: exercises the payload checks.
  if (size > 0 && size <= 4096) {
    const std::string signing_input = w.header_b64 + "." + base::base64url_encode(input);
    auto sig = w.ec.sign(signing_input);
    if (!sig) __builtin_trap();
    const std::string compact = signing_input + "." + base::base64url_encode(*sig);
    auto r = verify_jwt(compact, w.keys, w.policy, kNow);
    // A signed token can only fail for payload or claim reasons.
    if (!r) {
      switch (r.error().code) {
        case Errc::TokenBadSignature:
        case Errc::TokenMalformed:
        case Errc::TokenBadBase64:
        case Errc::TokenUnknownKid:
        case Errc::TokenKeyMismatch:
        case Errc::TokenUnsupportedAlg:
          __builtin_trap();
        default:
          break;
      }
    }
  }
  return 0;
}
