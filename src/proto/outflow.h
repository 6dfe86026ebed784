// Outflow: the pacing of what a node owes each peer beyond single messages: the ids it asks
// the peer for (WANT) and the entries the peer asked for (ENTRIES answers). A catch-up may owe
// a peer hundreds of thousands of entries, far more than a send queue should hold, so they
// leave as the peer's send queue drains: the runtime calls Pump with the bytes queued for the
// peer, and Pump returns the frames to send now, WANTs first, then ENTRIES until the queue
// would pass OutflowLimits::queue_bytes_max. Entries are read (through OutflowHost) a window
// at a time and sent in feed order (author, then seq), so each frame carries long linked runs
// of few feeds and the receiver checks one signature per run (chain verification).
//
// What a peer is owed is kept per group, and the groups take turns, one frame each (a
// group's WANTs before its ENTRIES): a catch-up of millions of entries in one group delays
// another group's few by one frame at most, instead of queueing them behind it (R4).
//
// What peers can make the node owe is bounded, per peer (owed_ids_max) and in all
// (owed_ids_total_max): ids beyond are dropped and counted, and asked for again through
// reconciliation. The caps hold a catch-up of two million entries from one peer.
//
// Sans-IO and single-threaded, like every machine in src/proto: no socket, clock or store.
// The node (node/node_peers.cc) runs it over its connections.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "proto/frame.h"
#include "proto/types.h"

namespace pando::proto {

struct OutflowLimits {
  // ENTRIES and WANT frames go out only while less than this is queued for the peer, so a
  // large answer never fills the send queue (whose limit ends the connection as SLOW_PEER).
  // 4 MiB keeps the receiver busy while the sender reads the next entries: 1 MiB made
  // catch-up 10% slower.
  size_t queue_bytes_max = 4 << 20;
  // Most bytes of entries in one ENTRIES frame (a larger entry goes alone).
  size_t frame_bytes_max = 512 * 1024;
  // Owed entries read and put in feed order at a time: about five ENTRIES frames.
  size_t read_window = 8192;
  // Most ids (WANT and owed entries together) waiting for one peer, and for all peers
  // (32 bytes each: 64 MiB and 128 MiB).
  size_t owed_ids_max = size_t{1} << 21;
  size_t owed_ids_total_max = size_t{1} << 22;
};

// What the runtime lends Pump: the stored encodings of entries.
class OutflowHost {
 public:
  // The encodings of `ids`, in order; nullopt for an entry not held (any more).
  virtual std::vector<std::optional<Bytes>> ReadEntries(std::span<const Hash32> ids) = 0;

 protected:
  ~OutflowHost() = default;
};

// Feed order of two entry encodings (each at least entry_layout::kOverhead bytes): by
// author, then seq.
bool EncodingsInFeedOrder(const Bytes& a, const Bytes& b);
// Whether two encodings have the same author (at least entry_layout::kOverhead bytes each).
bool SameAuthor(const Bytes& a, const Bytes& b);
// The author of an encoding (at least entry_layout::kOverhead bytes).
PublicKey AuthorOfEncoding(const Bytes& e);

class Outflow {
 public:
  explicit Outflow(const OutflowLimits& limits = {}) : limits_(limits) {}

  // Queues ids to ask `peer` for in its group `handle` (the peer's handle), or entries owed
  // to it. Returns how many were dropped because the peer's share (owed_ids_max) is full.
  size_t Want(NodeId peer, uint32_t handle, std::span<const Hash32> ids);
  size_t Owe(NodeId peer, uint32_t handle, std::span<const Hash32> ids);

  // `queued` bytes wait in the send queue of the link to `peer`: appends the frames to send
  // now to `out`. Returns whether anything is still owed (then the runtime calls again when
  // the queue drains below queue_bytes_max).
  bool Pump(NodeId peer, size_t queued, OutflowHost& host, std::vector<Frame>& out);

  // `author` is forked (docs/node.md, "Fork proofs"): drops its entries read and waiting to
  // be sent to any peer. Ids not read yet are the host's to refuse (ReadEntries gives nullopt
  // for them).
  void Withhold(const PublicKey& author);

  bool Owes(NodeId peer) const;
  // The peer is gone: forgets what it was owed.
  void Drop(NodeId peer);

  uint64_t dropped() const { return dropped_; }
  // Ids waiting, for all peers.
  size_t owed_ids() const { return total_; }
  const OutflowLimits& limits() const { return limits_; }

 private:
  // What one peer is owed in one of its groups (by the peer's handle).
  struct Lane {
    std::deque<Hash32> wants;    // Ids to ask for.
    std::deque<Hash32> entries;  // Ids to send.
    std::deque<Bytes> ready;     // The next entries, read and in feed order.
    bool empty() const { return wants.empty() && entries.empty() && ready.empty(); }
  };
  struct Owed {
    std::unordered_map<uint32_t, Lane> lanes;
    std::deque<uint32_t> turns;  // Handles with something owed; the next to send first.
    size_t ids = 0;              // Ids in all lanes.
  };
  size_t Queue(Owed& o, uint32_t handle, bool want, std::span<const Hash32> ids);
  // One frame of the lane: a WANT if it has ids to ask for, else ENTRIES. Returns its bytes.
  size_t SendWant(Owed& o, uint32_t handle, Lane& lane, std::vector<Frame>& out);
  size_t SendEntries(Owed& o, uint32_t handle, Lane& lane, OutflowHost& host,
                     std::vector<Frame>& out);
  // Moves the lane's next owed entries from entries to ready.
  void Read(Owed& o, Lane& lane, OutflowHost& host);

  OutflowLimits limits_;
  std::unordered_map<NodeId, Owed> owed_;
  uint64_t dropped_ = 0;
  size_t total_ = 0;  // Sum of Owed::ids over owed_.
};

}  // namespace pando::proto
