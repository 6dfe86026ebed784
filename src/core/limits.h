// Every size and time limit of the entry layer, in one place (docs/entry-format.md quotes
// these values; changing one is a protocol change).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pando::limits {

// Largest payload one entry may carry. Larger content goes to blobs, referenced by hash.
inline constexpr size_t kPayloadBytesMax = size_t{64} * 1024;
// Group names are 1..64 bytes of [a-z0-9._-], starting with [a-z0-9].
inline constexpr size_t kGroupNameBytesMax = 64;
// How far an entry's timestamp may lie ahead of the receiving node's clock.
inline constexpr int64_t kFutureSkewMsMax = int64_t{5} * 60 * 1000;

}  // namespace pando::limits
