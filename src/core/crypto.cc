#include "core/crypto.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/error_codes.h"

namespace pando {

void InitCrypto() { CHECK(sodium_init() >= 0); }

KeyPair KeyPair::Generate() {
  InitCrypto();
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  KeyPair kp = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return kp;
}

KeyPair KeyPair::FromSeed(const Seed& seed) {
  InitCrypto();
  KeyPair kp;
  kp.seed_ = seed;
  CHECK(crypto_sign_seed_keypair(kp.public_key_.data(), kp.secret_key_.data(), seed.data()) == 0);
  return kp;
}

KeyPair::~KeyPair() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_key_.data(), secret_key_.size());
}

Signature KeyPair::Sign(ByteSpan message) const {
  Signature sig;
  CHECK(crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                             secret_key_.data()) == 0);
  return sig;
}

bool VerifySignature(const PublicKey& key, ByteSpan message, const Signature& signature) {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key.data()) == 0;
}

Hash32 Blake2b256(ByteSpan data) {
  Hash32 out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Hash32 Blake2b256(ByteSpan a, ByteSpan b) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  crypto_generichash_update(&state, a.data(), a.size());
  crypto_generichash_update(&state, b.data(), b.size());
  Hash32 out;
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

static_assert(sizeof(crypto_generichash_state) <= 384);

Blake2bHasher::Blake2bHasher() {
  crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_.data()), nullptr, 0,
                          32);
}
void Blake2bHasher::Update(ByteSpan data) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_.data()), data.data(),
                            data.size());
}
Hash32 Blake2bHasher::Final() {
  Hash32 out;
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_.data()), out.data(),
                           out.size());
  return out;
}

namespace {
constexpr std::string_view kAuthorIdPrefix = "pd";

std::array<uint8_t, 34> KeyWithChecksum(const PublicKey& key) {
  std::array<uint8_t, 34> buf;
  std::memcpy(buf.data(), key.data(), key.size());
  Hash32 h = Blake2b256(key);
  buf[32] = h[0];
  buf[33] = h[1];
  return buf;
}
}  // namespace

std::string AuthorId(const PublicKey& key) {
  return std::string(kAuthorIdPrefix) + ToBase32(KeyWithChecksum(key));
}

Result<PublicKey> ParseAuthorId(std::string_view text) {
  auto bad = [&](const char* why) {
    return Error{codes::kBadId, "'" + std::string(text) + "' is not an author id: " + why};
  };
  if (!text.starts_with(kAuthorIdPrefix)) return bad("it must start with 'pd'");
  auto raw = FromBase32(text.substr(kAuthorIdPrefix.size()));
  if (!raw || raw->size() != 34) return bad("it must be 'pd' and 55 base32 characters");
  PublicKey key;
  std::memcpy(key.data(), raw->data(), key.size());
  auto expected = KeyWithChecksum(key);
  if (!std::equal(raw->begin(), raw->end(), expected.begin())) {
    return bad("its checksum does not match (a typing mistake?)");
  }
  return key;
}

}  // namespace pando
