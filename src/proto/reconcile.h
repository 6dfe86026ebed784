// Range-based set reconciliation: two nodes find the entries one has and the other lacks,
// in a number of round trips and bytes that grow with the difference, not the set size.
//
// The design follows Meyer, "Range-Based Set Reconciliation" (2023), as negentropy does:
// items are (timestamp_ms, id) pairs in one total order; a message is a list of
// consecutive ranges covering the whole order, each with a mode: Skip (agreed), a
// Fingerprint of the sender's items in the range, the sender's complete IdList, or the
// Missing ids the receiver lacks. A fingerprint is BLAKE2b of the sum of ids modulo 2^256
// and the count, so a range's fingerprint costs O(1) with prefix sums, and no XOR
// cancellation can hide a difference. docs/reconcile-format.md specifies the bytes.
//
// Sans-IO: Session takes bytes and returns bytes; the caller moves them. Either side may
// start; the protocol is symmetric and each side learns exactly what it lacks (need()), so
// each side pulls what it needs. have() lists only the ids this side told the peer about in
// Missing ranges, a subset of what the peer lacks. When Respond returns nullopt the session
// is over on this side; the peer learns it from the transport (no reply arrives).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

namespace pando::proto {

inline constexpr uint8_t kReconcileVersion = 1;
// A range holding at most this many of the sender's items is sent as an IdList.
inline constexpr size_t kReconcileIdListMax = 32;
// A range with more items is split into this many sub-ranges of near-equal count.
inline constexpr size_t kReconcileBuckets = 16;
// Largest message a Session builds or accepts.
inline constexpr size_t kReconcileMessageBytesMax = 256 * 1024;
// Smallest budget a Session accepts (smaller ones are raised to it): a reply must always
// fit an IdList of kReconcileIdListMax ids, or the exchange could stop making progress.
inline constexpr size_t kReconcileMessageBytesMin = 2048;

struct ReconItem {
  uint64_t timestamp_ms = 0;
  Hash32 id{};
  auto operator<=>(const ReconItem&) const = default;
};

using Fingerprint = std::array<uint8_t, 16>;

// A position in the item order: (timestamp, id prefix padded with zeros). The largest
// timestamp value stands for "infinity", above every item.
struct Bound {
  uint64_t timestamp_ms = 0;
  uint8_t prefix_len = 0;
  std::array<uint8_t, 32> prefix{};

  static Bound Infinity() { return Bound{~uint64_t{0}, 0, {}}; }
  bool IsInfinity() const { return timestamp_ms == ~uint64_t{0}; }
  // The shortest bound b with a < b <= next, for adjacent items a < next.
  static Bound Between(const ReconItem& a, const ReconItem& next);
  // Compares the item with the bound's padded key: negative if item < bound.
  int Compare(const ReconItem& item) const;
  bool operator==(const Bound&) const = default;
};

// A sorted, duplicate-free set of items with prefix sums, so any range's fingerprint costs
// O(1). Immutable after construction; safe to share between sessions and threads.
class ItemSet {
 public:
  explicit ItemSet(std::vector<ReconItem> items);
  size_t size() const { return items_.size(); }
  const ReconItem& operator[](size_t i) const { return items_[i]; }
  // The first index whose item is >= bound.
  size_t LowerBound(const Bound& bound) const;
  // Fingerprint of items [begin, end).
  Fingerprint Fp(size_t begin, size_t end) const;

 private:
  std::vector<ReconItem> items_;
  std::vector<std::array<uint64_t, 4>> prefix_;  // prefix_[i]: sum of ids [0, i) mod 2^256.
};

enum class RangeMode : uint8_t { kSkip = 0, kFingerprint = 1, kIdList = 2, kMissing = 3 };

// One range of a decoded message: from the previous range's upper bound (or the lowest
// bound) up to, not including, `upper`.
struct Range {
  Bound upper;
  RangeMode mode = RangeMode::kSkip;
  Fingerprint fingerprint{};
  std::vector<Hash32> ids;  // kIdList, kMissing.
};

Bytes EncodeReconcileMessage(std::span<const Range> ranges);
// Errors: MALFORMED (truncated, bounds not increasing, bad varint, unknown mode, counts
// over the limits), UNKNOWN_VERSION, OVERSIZE (over kReconcileMessageBytesMax).
Result<std::vector<Range>> DecodeReconcileMessage(ByteSpan bytes);

// Statistics of one session, for reports and benchmarks.
struct ReconcileStats {
  size_t messages_in = 0, messages_out = 0;
  size_t bytes_in = 0, bytes_out = 0;
};

// One reconciliation with one peer. `items` must outlive the session.
class Session {
 public:
  explicit Session(const ItemSet* items, size_t message_bytes_max = kReconcileMessageBytesMax);

  // The opening message (either side may open).
  Bytes Initiate();
  // Processes the peer's message. Returns the reply to send, or nullopt when there is
  // nothing left to say (the session is then complete on this side).
  Result<std::optional<Bytes>> Respond(ByteSpan message);

  // Ids the peer has and this side lacks: fetch these. Sorted, unique.
  std::vector<Hash32> need() const;
  // The same ids in the peer's item order (timestamp, then id): the order to fetch them in,
  // so that a feed's entries arrive oldest first and each finds its predecessor.
  std::vector<Hash32> need_in_order() const;
  // Ids this side sent in Missing ranges (the peer lacks them; the peer's need() is the
  // complete list). Sorted, unique.
  std::vector<Hash32> have() const;
  const ReconcileStats& stats() const { return stats_; }

 private:
  class Builder;
  // Sends this side's items [begin, end), which lie in [lower, upper), as an IdList or as
  // bucket fingerprints.
  void SplitOrList(Builder& out, const Bound& lower, const Bound& upper, size_t begin,
                   size_t end) const;

  const ItemSet* items_;
  size_t message_bytes_max_;
  std::vector<Hash32> need_, have_;
  // need_ with where each id stood: the lower bound of its range (timestamp, prefix), then
  // its place in the peer's list for that range.
  struct Placed {
    uint64_t timestamp_ms;
    std::array<uint8_t, 32> prefix;
    size_t index;
    Hash32 id;
  };
  std::vector<Placed> need_placed_;
  ReconcileStats stats_;
};

}  // namespace pando::proto
