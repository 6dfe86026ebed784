// Entry kinds known to this version (docs/entry-format.md, "Kinds"). The kind tells
// applications how to read a payload; validation does not depend on it.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pando::kinds {

inline constexpr uint16_t kRaw = 0;      // Opaque bytes.
inline constexpr uint16_t kPost = 1;     // A post: UTF-8 Markdown text.
inline constexpr uint16_t kCatalog = 2;  // A catalog record of a post (core/post.h).
inline constexpr uint16_t kCrdt = 3;     // One CRDT operation (crdt/op.h, docs/crdt.md).
// A name attestation: the owner-signed claim a registry accepted (core/name_claim.h,
// docs/names.md, "Attestations").
inline constexpr uint16_t kName = 4;

}  // namespace pando::kinds

namespace pando {

// "raw", "post", "catalog", "crdt", "name" or a decimal number 0..65535.
inline std::optional<uint16_t> ParseKind(std::string_view text) {
  if (text == "raw") return kinds::kRaw;
  if (text == "post") return kinds::kPost;
  if (text == "catalog") return kinds::kCatalog;
  if (text == "crdt") return kinds::kCrdt;
  if (text == "name") return kinds::kName;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

inline std::string_view KindName(uint16_t kind) {
  switch (kind) {
    case kinds::kRaw:
      return "raw";
    case kinds::kPost:
      return "post";
    case kinds::kCatalog:
      return "catalog";
    case kinds::kCrdt:
      return "crdt";
    case kinds::kName:
      return "name";
    default:
      return "";
  }
}

}  // namespace pando
