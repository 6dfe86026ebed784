// Entry: one signed record of an append-only feed, in its canonical encoding.
//
// A feed is one author's entries in one group: seq counts from 1 within (author, group) and
// prev is the id of the feed's previous entry.
//
// docs/entry-format.md specifies the bytes. An Entry object always holds a structurally valid
// encoding: Decode() rejects anything else, and Sign() produces only valid encodings. Holding
// an Entry says nothing about its signature; VerifyEntrySignature() checks that.
// Entries are immutable values and safe to share between threads once built.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/error.h"

namespace pando {

inline constexpr uint8_t kEntryVersion = 1;
// Domain separation: the signed message is this tag followed by the entry body.
inline constexpr std::string_view kEntrySignatureDomain{"pando.entry.v1\0", 15};

// Byte offsets of the fixed-size fields (docs/entry-format.md, "Layout").
namespace entry_layout {
inline constexpr size_t kVersion = 0;
inline constexpr size_t kAuthor = 1;
inline constexpr size_t kSeq = 33;
inline constexpr size_t kPrev = 41;
inline constexpr size_t kTimestamp = 73;
inline constexpr size_t kKind = 81;
inline constexpr size_t kGroupLen = 83;
inline constexpr size_t kGroup = 84;
// Bytes of an entry besides its group name and payload.
inline constexpr size_t kOverhead = kGroup + 4 + 64;
}  // namespace entry_layout

// What an author fills in to create an entry; Sign() turns it into an Entry.
struct EntryDraft {
  uint64_t seq = 1;
  Hash32 prev{};  // Id of the feed's entry seq-1; all zero for seq 1.
  int64_t timestamp_ms = 0;
  std::string group;
  uint16_t kind = 0;
  Bytes payload;
};

class Entry {
 public:
  // Parses and structurally validates an encoding. Errors: MALFORMED, UNKNOWN_VERSION,
  // OVERSIZE, INVALID_GROUP, WRONG_PREV (prev must be zero exactly when seq is 1).
  static Result<Entry> Decode(ByteSpan bytes);
  // The same, keeping `bytes` rather than copying them.
  static Result<Entry> Decode(Bytes&& bytes);
  // Encodes and signs a draft. Errors as Decode() for an invalid draft.
  static Result<Entry> Sign(const EntryDraft& draft, const KeyPair& key);

  uint8_t version() const { return raw_[entry_layout::kVersion]; }
  PublicKey author() const;
  uint64_t seq() const { return GetU64(&raw_[entry_layout::kSeq]); }
  Hash32 prev() const;
  int64_t timestamp_ms() const {
    return static_cast<int64_t>(GetU64(&raw_[entry_layout::kTimestamp]));
  }
  uint16_t kind() const { return GetU16(&raw_[entry_layout::kKind]); }
  std::string_view group() const {
    return AsString(ByteSpan(raw_).subspan(entry_layout::kGroup, group_len()));
  }
  ByteSpan payload() const;
  Signature signature() const;

  // The signed body: every byte before the signature.
  ByteSpan body() const { return ByteSpan(raw_).first(raw_.size() - 64); }
  // The canonical encoding (body followed by signature).
  const Bytes& bytes() const { return raw_; }
  // BLAKE2b-256 of bytes(): the entry's id.
  const Hash32& id() const { return id_; }

  bool operator==(const Entry& other) const { return raw_ == other.raw_; }

 private:
  Entry(Bytes raw, const Hash32& id) : raw_(std::move(raw)), id_(id) {}
  static Status CheckEncoding(ByteSpan bytes);
  size_t group_len() const { return raw_[entry_layout::kGroupLen]; }

  Bytes raw_;
  Hash32 id_;
};

// True iff the group name is 1..64 bytes of [a-z0-9._-] starting with [a-z0-9].
bool IsValidGroupName(std::string_view name);

// Checks the entry's own signature. Error: BAD_SIGNATURE.
Status VerifyEntrySignature(const Entry& entry);

// Checks that the timestamp is not more than limits::kFutureSkewMsMax ahead of now_ms.
// Error: FUTURE_TIMESTAMP. This is the one rule that depends on the local clock: such an
// entry is refused for now and may be accepted later.
Status CheckNotFromFuture(const Entry& entry, int64_t now_ms);

// The checks of an arriving entry of its own, wherever it arrives (from a peer: NodeCore;
// posted on this machine: Node::PostLocal), before its place in its feed is checked
// (CheckSuccessor): not from the future (FUTURE_TIMESTAMP, refused for now), then its
// signature, unless chain verification of its run authenticated it (BAD_SIGNATURE).
// `verify` checks a signature: VerifyEntrySignature, or the simulator's shared verdicts.
// Store::Add and bundle import check whole runs the same way: CheckNotFromFuture on each
// entry, then AuthenticateRun (core/chain.h) in place of one signature per entry.
template <typename Verify>
Status CheckArrival(const Entry& entry, int64_t now_ms, bool authenticated, Verify&& verify) {
  if (Status s = CheckNotFromFuture(entry, now_ms); !s.ok()) return s;
  if (!authenticated) return verify(entry);
  return Status::Ok();
}
inline Status CheckArrival(const Entry& entry, int64_t now_ms, bool authenticated = false) {
  return CheckArrival(entry, now_ms, authenticated, VerifyEntrySignature);
}

// The last accepted entry of a feed, as the store remembers it.
struct FeedHead {
  uint64_t seq = 0;
  Hash32 id{};
  int64_t timestamp_ms = 0;
};

// Checks that `next` may follow `head` in the same feed (head.seq is 0 when the feed has no
// entry yet). Errors: SEQ_GAP, WRONG_PREV,
// TIMESTAMP_REGRESSION. Entries at or below head.seq are the caller's business
// (duplicate or fork), so this must only be called with next.seq() > head.seq.
Status CheckSuccessor(const FeedHead& head, const Entry& next);

}  // namespace pando
