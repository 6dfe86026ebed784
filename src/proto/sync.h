// Sync: when and with whom a node runs anti-entropy for one group, and the messages that
// carry a reconciliation (proto/reconcile.h) and the entries it finds missing.
//
// Plumtree delivers almost every entry; anti-entropy catches what it cannot: entries posted
// while a node was down or cut off, announcements dropped when the missing list was full,
// and everything across a healed partition. A node reconciles each group with each new
// neighbour as the connection comes up (the side with the lower id opens, so one session
// runs per link) and, every interval_ms, with one neighbour in turn.
//
// A session: the opener sends RECONCILE(open) with Session::Initiate; the two sides answer
// each other's RECONCILE with Session::Respond until one side has nothing to say. That side
// sends WANT with the ids it lacks (possibly none), which also tells the other side that the
// session is over; the other side then sends its own WANT, and each answers a WANT with the
// entries it holds. Entries obtained this way are stored and pushed on through the group's
// broadcast (Broadcast::Relay), so one link reconciled across a healed cut feeds the whole
// other side through its tree.
//
// Sans-IO like the rest of src/proto. proto::Replica (proto/replica.h) runs this exchange
// for every group of a node: it asks SyncScheduler whom to open a session with, and keeps
// the sessions in a table the runtime lends it (they hold a snapshot of the runtime's
// store).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "proto/types.h"

namespace pando::proto {

struct SyncConfig {
  // One session with one neighbour in turn every this many ms; 0: only on connect.
  TimeMs interval_ms = 10'000;
  // Reconcile with each new neighbour as it comes up.
  bool on_connect = true;
  // A session with no progress for this long is dropped (its peer failed or a message was
  // lost), so that a new one can start.
  TimeMs session_timeout_ms = 30'000;
  // Entries younger than this (by their timestamp, on this node's clock) are left out of a
  // session's snapshot: they are most likely still spreading through the broadcast tree,
  // and a copy fetched by anti-entropy races the tree and arrives twice. At 10,000 nodes
  // (seed 3) with 10 s sessions, leaving them in made 850 of 500,000 deliveries come through
  // anti-entropy and raised payload copies per node per entry from 1.153 to 1.167; with the
  // rule, none do. 0 reconciles everything.
  TimeMs settle_ms = 5'000;
};

// Messages. The body of a RECONCILE is a reconciliation message (docs/reconcile-format.md).
struct Reconcile {
  static constexpr std::string_view kName = "RECONCILE";
  bool open = false;  // The first message of a session.
  Bytes body;
};
struct Want {
  static constexpr std::string_view kName = "WANT";
  std::vector<Hash32> ids;
};
// Entries sent in answer to a WANT. The runtime attaches each entry's bytes; payload_bytes
// counts them for byte accounting.
struct Entries {
  static constexpr std::string_view kName = "ENTRIES";
  std::vector<Hash32> ids;
  uint64_t payload_bytes = 0;
};

// Bytes on the wire: a 2-byte header (version, type), then for RECONCILE a flag byte and
// the body; for WANT a u32 count and the ids; for ENTRIES a u32 count, then each entry.
inline size_t EncodedSize(const Reconcile& m) { return 3 + m.body.size(); }
inline size_t EncodedSize(const Want& m) { return 6 + 32 * m.ids.size(); }
inline size_t EncodedSize(const Entries& m) { return 6 + m.payload_bytes; }

// The schedule of one group's anti-entropy at one node.
class SyncScheduler {
 public:
  SyncScheduler() = default;
  explicit SyncScheduler(const SyncConfig& config) : config_(config) {}

  // The node came up at `now`; `phase` (any value, e.g. from the node's random stream)
  // spreads the periodic sessions of nodes started together over the interval.
  void Start(TimeMs now, uint64_t phase);
  // Whether to open a session with a neighbour that just came up.
  bool OpensOnConnect(NodeId self, NodeId peer) const { return config_.on_connect && self < peer; }
  // When the next periodic session is due (kNever if none).
  TimeMs next_at() const { return next_at_; }
  // Called at or after next_at(): the neighbour to reconcile with now, taken in turn from
  // the active view, or nullopt if there is none. Sets the next time.
  std::optional<NodeId> OnTimer(TimeMs now, std::span<const NodeId> neighbors);

  const SyncConfig& config() const { return config_; }

 private:
  SyncConfig config_;
  TimeMs next_at_ = kNever;
  uint32_t cursor_ = 0;
};

}  // namespace pando::proto
