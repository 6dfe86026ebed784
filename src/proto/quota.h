// Quotas: how much one author may make this node take in one group, decided by the node
// alone from what it sees (R6). Sans-IO: every call gets `now`; NodeCore asks before it
// holds or keeps waiting an arriving entry, and the node asks before it stores an entry a
// client submits over HTTP. docs/node.md, "Quotas", states the rules and the defaults.
//
// Three buckets (core/token_bucket.h) decide, all in this node's time:
//   - entries: per (author, group), for live entries only (a timestamp at most live_ms old):
//     entries_per_s with a burst of entries_burst; an entry of a young feed (seq at most
//     young_seq_max: a key with little history) is charged to the smaller young_* bucket
//     of its author and to one bucket shared by every young feed of the group, so a crowd of
//     fresh keys gets no more than one young_group_* allowance between them;
//   - bytes: per (author, group), for every entry, live or old: bytes_per_day, with a day's
//     worth as the burst (young_bytes_per_day for a young feed).
// Old entries (history that reconciliation brings) cost bytes only, so a node that catches
// up on a group is not held to the live rate.
//
// An entry over a quota is neither stored nor relayed: QUOTA_EXCEEDED. Nothing about the
// entry is wrong, so reconciliation offers it again and it is taken once the bucket has
// refilled: two honest nodes still end up with the same entries (R5), and a flood reaches
// each node no faster than its quotas let it.
//
// Memory is bounded: at most tracked_max (author, group) records; when full, records whose
// buckets are full are forgotten (which changes nothing), and while none can be, an author
// with no record is charged to its group's young bucket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/bytes.h"
#include "core/entry.h"
#include "core/error.h"
#include "core/token_bucket.h"
#include "proto/types.h"

namespace pando::proto {

struct QuotaLimits {
  bool enabled = true;
  TimeMs live_ms = 3'600'000;    // An entry at most this old (by its timestamp) is live.
  double entries_per_s = 20;     // Live entries per (author, group) ...
  double entries_burst = 400;    // ... with this burst.
  uint64_t young_seq_max = 100;  // A feed's entries up to this seq are a young feed's.
  double young_entries_per_s = 2;
  double young_entries_burst = 40;
  double young_group_entries_per_s = 50;  // Live entries of all young feeds of a group.
  double young_group_entries_burst = 500;
  double bytes_per_day = 256.0 * (1 << 20);  // Entry bytes per (author, group), all entries.
  double young_bytes_per_day = 16.0 * (1 << 20);
  size_t tracked_max = 100'000;  // (author, group) records remembered.
};

struct QuotaCounters {
  uint64_t refused_entries = 0;  // Live entries over an entries bucket.
  uint64_t refused_bytes = 0;    // Entries over a bytes bucket.
  uint64_t forgotten = 0;        // Records forgotten at tracked_max.
};

class AuthorQuotas {
 public:
  explicit AuthorQuotas(const QuotaLimits& limits) : limits_(limits) {}

  // Charges entry `e` of group `g` (a NodeCore group index) if every bucket it falls in
  // holds enough, else charges nothing. Error QUOTA_EXCEEDED, with the wait in the message.
  Status Charge(TimeMs now, const Entry& e, uint32_t g);

  size_t tracked() const { return authors_.size(); }
  const QuotaCounters& counters() const { return counters_; }
  const QuotaLimits& limits() const { return limits_; }

 private:
  struct Key {
    PublicKey author{};
    uint32_t group = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return HashOf32{}(k.author) ^ k.group; }
  };
  struct Record {
    TokenBucket entries;
    TokenBucket bytes;
    bool young;  // Made for a young feed's entry; an entry past young_seq_max remakes it.
  };
  Record* RecordOf(TimeMs now, const Key& key, bool young);
  TokenBucket& YoungGroup(TimeMs now, uint32_t g);

  QuotaLimits limits_;
  std::unordered_map<Key, Record, KeyHash> authors_;
  std::unordered_map<uint32_t, TokenBucket> young_groups_;
  // Young feeds' bytes when no record can be made (tracked_max reached, none forgettable).
  std::unordered_map<uint32_t, TokenBucket> overflow_bytes_;
  TimeMs last_sweep_ = -1'000'000;
  QuotaCounters counters_;
};

}  // namespace pando::proto
