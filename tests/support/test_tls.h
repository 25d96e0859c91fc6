#pragma once
// Throwaway X.509 material for TLS tests, generated in memory with OpenSSL 3 EVP (EC P-256) on every
// run: a CA and server certificates it signs. Nothing is ever committed.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace oauthdemo::testing {

struct PemPair {
  std::string cert_pem;
  std::string key_pem;
};

struct ServerCertOptions {
  std::vector<std::string> subject_alt_names;         // OpenSSL syntax: "DNS:localhost", "IP:127.0.0.1"
  std::string common_name = "oauthdemo test server";  // not a host name unless a test wants one
  long valid_from_seconds = -3600;                    // relative to now
  long valid_until_seconds = 24 * 3600;
};

// A self-signed CA (basicConstraints CA:TRUE, keyCertSign) that issues server certificates.
class TestCa {
 public:
  explicit TestCa(const std::string& common_name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  std::string cert_pem() const;
  // A serverAuth certificate with a fresh key, signed by this CA.
  PemPair issue(const ServerCertOptions& options) const;

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

// Writes `content` to `path` (mode 0600), replacing it; REQUIREs success.
void write_text_file(const std::string& path, const std::string& content);

}  // namespace oauthdemo::testing
