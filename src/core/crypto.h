// Thin wrappers over libsodium: Ed25519 keys, signatures and BLAKE2b-256 hashing.
// Pando never implements a primitive itself. All functions are thread-safe once
// InitCrypto() has run (it is idempotent and called by every entry point that needs it).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"

namespace pando {

// Initialises libsodium. Aborts if the library cannot start (no usable randomness).
void InitCrypto();

using Seed = std::array<uint8_t, 32>;

// An Ed25519 key pair. The secret key stays in this object; it is wiped on destruction.
class KeyPair {
 public:
  static KeyPair Generate();
  static KeyPair FromSeed(const Seed& seed);

  KeyPair(const KeyPair&) = default;
  KeyPair& operator=(const KeyPair&) = default;
  ~KeyPair();

  const PublicKey& public_key() const { return public_key_; }
  const Seed& seed() const { return seed_; }

  // Signs message (the caller adds domain separation, see entry.cc).
  Signature Sign(ByteSpan message) const;

 private:
  KeyPair() = default;
  PublicKey public_key_{};
  Seed seed_{};
  std::array<uint8_t, 64> secret_key_{};
};

// True iff signature is a valid Ed25519 signature of message by key.
bool VerifySignature(const PublicKey& key, ByteSpan message, const Signature& signature);

// BLAKE2b with a 32-byte output and no key.
Hash32 Blake2b256(ByteSpan data);
// BLAKE2b-256 of the concatenation of two spans, without copying them together.
Hash32 Blake2b256(ByteSpan a, ByteSpan b);

// Incremental BLAKE2b-256, for data that arrives in pieces (bundles).
class Blake2bHasher {
 public:
  Blake2bHasher();
  void Update(ByteSpan data);
  Hash32 Final();

 private:
  alignas(64) std::array<uint8_t, 384> state_;  // crypto_generichash_state, kept opaque.
};

// The printable, self-certifying form of an author key: "pd" followed by the base32 of the
// 32 key bytes and a 2-byte BLAKE2b checksum that catches typing mistakes (57 characters).
std::string AuthorId(const PublicKey& key);
// Parses AuthorId() output. Errors with BAD_ID.
Result<PublicKey> ParseAuthorId(std::string_view text);

}  // namespace pando
