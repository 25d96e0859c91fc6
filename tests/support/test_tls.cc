#include "support/test_tls.h"

#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>

namespace oauthdemo::testing {
namespace {

EVP_PKEY* new_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key != nullptr);
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  REQUIRE_MESSAGE(ext != nullptr, "bad extension value " << value);
  REQUIRE(X509_add_ext(cert, ext, -1) == 1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `common_name`, issued by `issuer` (nullptr: self-signed).
X509* new_cert(EVP_PKEY* key, const std::string& common_name, X509* issuer, long from, long until) {
  X509* cert = X509_new();
  REQUIRE(cert != nullptr);
  REQUIRE(X509_set_version(cert, 2) == 1);  // v3, for extensions
  // Random serials: two runs' certificates never look like the same one to a cache.
  unsigned char serial[16];
  REQUIRE(RAND_bytes(serial, sizeof serial) == 1);
  serial[0] &= 0x7f;  // positive (RFC 5280 §4.1.2.2)
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  REQUIRE(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr);
  BN_free(bn);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(cert), from) != nullptr);
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(cert), until) != nullptr);
  REQUIRE(X509_set_pubkey(cert, key) == 1);
  X509_NAME* name = X509_get_subject_name(cert);
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) == 1);
  REQUIRE(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) == 1);
  return cert;
}

std::string to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_X509(bio, cert) == 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(size));
  BIO_free(bio);
  return out;
}

std::string to_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(size));
  BIO_free(bio);
  return out;
}

}  // namespace

TestCa::TestCa(const std::string& common_name) {
  key_ = new_key();
  cert_ = new_cert(key_, common_name, nullptr, -3600, 24 * 3600);
  add_ext(cert_, cert_, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert_, cert_, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert_, cert_, NID_subject_key_identifier, "hash");
  REQUIRE(X509_sign(cert_, key_, EVP_sha256()) > 0);
}

TestCa::~TestCa() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

std::string TestCa::cert_pem() const { return to_pem(cert_); }

PemPair TestCa::issue(const ServerCertOptions& options) const {
  EVP_PKEY* key = new_key();
  X509* cert = new_cert(key, options.common_name, cert_, options.valid_from_seconds, options.valid_until_seconds);
  add_ext(cert, cert_, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert, cert_, NID_key_usage, "critical,digitalSignature");
  add_ext(cert, cert_, NID_ext_key_usage, "serverAuth");
  add_ext(cert, cert_, NID_authority_key_identifier, "keyid:always");
  std::string sans;
  for (const auto& san : options.subject_alt_names) sans += (sans.empty() ? "" : ",") + san;
  if (!sans.empty()) add_ext(cert, cert_, NID_subject_alt_name, sans);
  REQUIRE(X509_sign(cert, key_, EVP_sha256()) > 0);
  PemPair out{to_pem(cert), to_pem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

void write_text_file(const std::string& path, const std::string& content) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    REQUIRE_MESSAGE(out.good(), "cannot write " << path);
    out << content;
    REQUIRE(out.good());
  }
  ::chmod(path.c_str(), 0600);
}

}  // namespace oauthdemo::testing
