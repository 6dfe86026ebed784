#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

#include "core/error_codes.h"
#include "proto/frame.h"

namespace pando::net {
namespace {

namespace ssl = boost::asio::ssl;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

Error TlsError(const std::string& what) {
  std::string detail;
  if (unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    detail = std::string(" (") + buf + ")";
  }
  ERR_clear_error();
  return Error{codes::kTls, what + detail + "."};
}

// Accepts any certificate chain: the handshake still proves the peer holds the private key
// of the certificate's public key, which is all an id needs (PeerKey reads it afterwards).
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

Status Configure(ssl::context& ctx, EVP_PKEY* pkey, X509* cert) {
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return TlsError("Cannot restrict the TLS context to TLS 1.3");
  }
  if (SSL_CTX_use_certificate(native, cert) != 1 || SSL_CTX_use_PrivateKey(native, pkey) != 1 ||
      SSL_CTX_check_private_key(native) != 1) {
    return TlsError("Cannot load the node's certificate into the TLS context");
  }
  // Both sides present a certificate: the server asks for the client's.
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     AcceptAnyCertificate);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  return Status();
}

}  // namespace

TlsIdentity::TlsIdentity() : server_(ssl::context::tls_server), client_(ssl::context::tls_client) {}

Result<std::shared_ptr<TlsIdentity>> TlsIdentity::FromKey(const KeyPair& key) {
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, key.seed().data(),
                                            key.seed().size()));
  if (!pkey) return TlsError("Cannot load the node's Ed25519 key into OpenSSL");
  X509Ptr cert(X509_new());
  if (!cert) return TlsError("Cannot allocate a certificate");
  const std::string cn = AuthorId(key.public_key());
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86'400) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 100L * 365 * 86'400) == nullptr ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), pkey.get()) != 1 ||
      X509_sign(cert.get(), pkey.get(), nullptr) == 0) {
    return TlsError("Cannot build the node's self-signed certificate");
  }
  std::shared_ptr<TlsIdentity> identity(new TlsIdentity());
  identity->key_ = key.public_key();
  identity->id_ = proto::NodeIdOfKey(key.public_key());
  PANDO_RETURN_IF_ERROR(Configure(identity->server_, pkey.get(), cert.get()));
  PANDO_RETURN_IF_ERROR(Configure(identity->client_, pkey.get(), cert.get()));
  return identity;
}

Result<PublicKey> PeerKey(SSL* ssl) {
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return Error{codes::kTls, "The peer presented no certificate."};
  EVP_PKEY* pkey = X509_get0_pubkey(cert.get());
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    return Error{codes::kTls, "The peer's certificate does not hold an Ed25519 key."};
  }
  PublicKey key{};
  size_t len = key.size();
  if (EVP_PKEY_get_raw_public_key(pkey, key.data(), &len) != 1 || len != key.size()) {
    return TlsError("Cannot read the peer's Ed25519 key");
  }
  return key;
}

}  // namespace pando::net
