// ByteReader: the one cursor every decoder of network and disk bytes reads its fields with
// (entries, name claims, fork proofs, bundle records, peer frames, overlay, broadcast and
// reconciliation messages, CRDT operations).
//
// What it checks. Every read checks that its bytes remain before it touches them, so no
// input, however short or forged, makes a decoder read out of bounds. Integers are
// little-endian, as in every Pando byte format. A length or count read from the input is
// checked against the bytes that remain, and against a maximum the caller gives, BEFORE the
// caller allocates anything for it: a 4-byte length of 4 GiB at the head of a 100-byte
// message fails at once instead of reserving memory.
//
// Failure is sticky. A read that cannot be satisfied returns zero (an empty span, a zeroed
// array), leaves the reader with no bytes and marks it failed; every later read fails too.
// A decoder can therefore read a run of fields straight through and check ok() once, or
// check after one field and return early with its own stable error code. The reader has no
// error code of its own, since each format names its failures (MALFORMED, BAD_CLAIM,
// BAD_OPERATION); failure() says why it stopped, for decoders whose messages tell a cut
// from a length over its maximum.
//
// Ownership: the reader borrows the bytes it reads, and every span it returns points into
// them (nothing is copied); they must outlive the reader and those spans. Not thread-safe:
// a reader is a local of one decoding call.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "core/bytes.h"

namespace pando {

class ByteReader {
 public:
  // Why a reader failed. The first failure is kept.
  enum class Failure : uint8_t {
    kNone,
    kCutShort,  // A field, or the bytes a length or count announced, ran past the end.
    kOverMax,   // A length or count read from the input exceeded the caller's maximum.
    kInvalid,   // The decoder called Fail(): a field was read but its value is refused.
  };

  explicit ByteReader(ByteSpan bytes) : bytes_(bytes) {}

  uint8_t U8() {
    const ByteSpan b = Take(1);
    return b.empty() ? 0 : b[0];
  }
  uint16_t U16() {
    const ByteSpan b = Take(2);
    return b.empty() ? 0 : GetU16(b.data());
  }
  uint32_t U32() {
    const ByteSpan b = Take(4);
    return b.empty() ? 0 : GetU32(b.data());
  }
  uint64_t U64() {
    const ByteSpan b = Take(8);
    return b.empty() ? 0 : GetU64(b.data());
  }

  // A fixed-size array (Hash32, PublicKey, Signature); all zero if it is cut short.
  template <size_t N>
  void Read(std::array<uint8_t, N>& out) {
    const ByteSpan b = Take(N);
    if (b.empty()) {
      out.fill(0);
    } else {
      std::copy(b.begin(), b.end(), out.begin());
    }
  }

  // The next n bytes (empty if fewer remain).
  ByteSpan Take(size_t n) {
    if (!ok_ || n > remaining()) {
      Stop(Failure::kCutShort);
      return {};
    }
    const ByteSpan b = bytes_.subspan(pos_, n);
    pos_ += n;
    return b;
  }

  // A byte string after its length, a u8, u16 or u32. Fails, before anything is allocated
  // for it, when the length exceeds bytes_max (kOverMax) or the bytes that remain
  // (kCutShort).
  ByteSpan Prefixed8(size_t bytes_max) { return Prefixed(U8(), bytes_max); }
  ByteSpan Prefixed16(size_t bytes_max) { return Prefixed(U16(), bytes_max); }
  ByteSpan Prefixed32(size_t bytes_max) { return Prefixed(U32(), bytes_max); }

  // A count (u8 or u16) of items that take at least item_bytes_min each. Fails when the
  // count exceeds count_max (kOverMax) or its items cannot fit in the bytes that remain
  // (kCutShort), so a caller may size a container by the count it returns.
  size_t Count8(size_t count_max, size_t item_bytes_min) {
    return Count(U8(), count_max, item_bytes_min);
  }
  size_t Count16(size_t count_max, size_t item_bytes_min) {
    return Count(U16(), count_max, item_bytes_min);
  }

  // Everything that remains (empty once failed).
  ByteSpan Rest() { return Take(remaining()); }

  // Marks a field the decoder read as refused (kInvalid), so that later reads fail and a
  // single ok() check at the end covers value checks too.
  void Fail() { Stop(Failure::kInvalid); }

  bool ok() const { return ok_; }
  Failure failure() const { return failure_; }
  // True when every byte was read and no read failed: the check that nothing trails.
  bool AtEnd() const { return ok_ && pos_ == bytes_.size(); }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  void Stop(Failure why) {
    if (ok_) failure_ = why;
    ok_ = false;
    pos_ = bytes_.size();
  }
  ByteSpan Prefixed(size_t length, size_t bytes_max) {
    if (ok_ && length > bytes_max) Stop(Failure::kOverMax);
    return Take(length);
  }
  size_t Count(size_t count, size_t count_max, size_t item_bytes_min) {
    if (ok_ && count > count_max) Stop(Failure::kOverMax);
    // Divided rather than multiplied, so no count and item size can overflow.
    if (ok_ && item_bytes_min > 0 && count > remaining() / item_bytes_min) {
      Stop(Failure::kCutShort);
    }
    return ok_ ? count : 0;
  }

  ByteSpan bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
  Failure failure_ = Failure::kNone;
};

}  // namespace pando
