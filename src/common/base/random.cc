#include "common/base/random.h"

#include <openssl/rand.h>

#include "common/base/base64url.h"

namespace oauthdemo {

Result<std::string> OpenSslRandom::bytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1)
    return fail(Errc::CryptoFailure, "OpenSSL RAND_bytes failed");
  return out;
}

Result<std::string> random_token(RandomSource& random, std::size_t byte_count) {
  auto raw = random.bytes(byte_count);
  if (!raw) return tl::unexpected(raw.error());
  return base::base64url_encode(*raw);
}

}  // namespace oauthdemo
