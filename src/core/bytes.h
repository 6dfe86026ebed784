// Byte strings, fixed-size digests and keys, and their printable forms (hex and base32).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pando {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

using Hash32 = std::array<uint8_t, 32>;     // A BLAKE2b-256 digest.
using PublicKey = std::array<uint8_t, 32>;  // An Ed25519 public key.
using Signature = std::array<uint8_t, 64>;  // An Ed25519 signature.

// Hash for unordered containers of digests, ids and keys: their first 8 bytes, which are
// already uniformly distributed.
struct HashOf32 {
  size_t operator()(const std::array<uint8_t, 32>& h) const {
    size_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Lower-case hexadecimal.
std::string ToHex(ByteSpan bytes);
// Accepts upper or lower case; nullopt on odd length or a non-hex character.
std::optional<Bytes> FromHex(std::string_view hex);

// RFC 4648 base32, lower case, no padding.
std::string ToBase32(ByteSpan bytes);
std::optional<Bytes> FromBase32(std::string_view text);

// Little-endian fixed-width integers, as used by every Pando byte format.
inline void PutU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
inline void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void PutU64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t GetU64(const uint8_t* p) {
  return static_cast<uint64_t>(GetU32(p)) | (static_cast<uint64_t>(GetU32(p + 4)) << 32);
}
inline void Append(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }

}  // namespace pando
