// TLS identities for peer connections: the node's Ed25519 key in a self-signed X.509
// certificate, TLS 1.3 only, and the key a peer proved in the handshake. A peer's node id is
// derived from that key (proto::NodeIdOfKey), so nobody can answer for an id without its
// private key; the certificate's self-signature adds nothing and is not what is trusted.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/error.h"
#include "proto/types.h"

namespace pando::net {

class TlsIdentity {
 public:
  // Builds the certificate (valid for 100 years, subject CN = the author id of the key) and
  // the two TLS 1.3 contexts. Errors: TLS_ERROR.
  static Result<std::shared_ptr<TlsIdentity>> FromKey(const KeyPair& key);

  const PublicKey& key() const { return key_; }
  proto::NodeId id() const { return id_; }
  boost::asio::ssl::context& server() { return server_; }
  boost::asio::ssl::context& client() { return client_; }

 private:
  TlsIdentity();
  PublicKey key_{};
  proto::NodeId id_ = proto::kNoNode;
  boost::asio::ssl::context server_;
  boost::asio::ssl::context client_;
};

// The Ed25519 key the peer of a finished handshake proved. Errors: TLS_ERROR (no
// certificate, or not an Ed25519 key).
Result<PublicKey> PeerKey(SSL* ssl);

}  // namespace pando::net
