// Broadcast: Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007) for
// one group, as a sans-IO state machine.
//
// Each node splits its overlay neighbours (the HyParView active view) into eager peers, to
// which it pushes whole entries, and lazy peers, to which it only announces ids (IHAVE). A
// duplicate arrival turns its link lazy (PRUNE), so the eager links settle into a spanning
// tree and each node receives about one copy of each entry. When an announced entry does
// not arrive in time, the node asks the announcer for it (GRAFT), which also repairs the
// tree after failures. The tree optimisation moves a node's tree link to a neighbour whose
// path is better than the one an entry came by (its IHAVE came clearly earlier, or, the
// paper's rule, with clearly fewer hops): a GRAFT that does not ask for the entry to that
// neighbour, a PRUNE to the old sender. Because all entries share one tree, a duplicate does
// not prune a link that is carrying other entries at the moment (prune_guard_ms).
//
// The runtime owns the entries: it tells the machine whether an arriving id is new (it has
// just validated and stored it) and attaches an entry's bytes when the machine sends GOSSIP.
// So the machine keeps no per-entry state except ids announced but not yet received
// (kMissingCapacity) and how the last few entries arrived (kRecentCapacity), which bounds its
// memory whatever the traffic.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "proto/types.h"

namespace pando::proto {

inline constexpr size_t kBroadcastNeighborCapacity = 8;
// Ids announced (IHAVE) but not yet received that the machine tracks at once; further
// announcements are dropped and anti-entropy catches them later.
inline constexpr size_t kMissingCapacity = 16;
inline constexpr size_t kAnnouncersPerMissing = 3;
// Entries whose arrival (sender, hops) the machine remembers, most recent first out: what the
// tree optimisation compares IHAVEs against and what a GRAFT's answer takes its hops from.
// Older entries are simply not optimised.
inline constexpr size_t kRecentCapacity = 32;

struct BroadcastConfig {
  // How long after the first IHAVE for a missing id to GRAFT from its announcer, and how
  // long to wait for that before asking the next announcer.
  TimeMs ihave_timeout_ms = 400;
  TimeMs graft_timeout_ms = 200;
  // The tree optimisation, two ways (docs/broadcast-format.md gives the measurements).
  // optimize_lead_ms: an entry that arrives at least this long after an IHAVE for it, from a
  // neighbour whose path is no longer in hops, moves the tree link to that neighbour: its
  // path was faster. 0 turns it off.
  TimeMs optimize_lead_ms = 100;
  // optimize_threshold_hops, the paper's rule: an IHAVE, after the entry came with h hops,
  // from a neighbour that would have delivered it with at most h - optimize_threshold_hops
  // moves the tree link there. Off (0) by default: IHAVEs go out with the entry, so one that
  // arrives after it marks a path that was slower, and at every threshold from 1 to 6 it
  // raised both delay and copies in `pando sim`.
  uint16_t optimize_threshold_hops = 0;
  // A duplicate does not prune, and the optimisation does not move away from, a link that
  // brought another entry first within this window: with entries overlapping in flight, that
  // link is the tree path for entries from elsewhere that are still spreading. 0 turns the
  // guard off (the paper's behaviour).
  TimeMs prune_guard_ms = 2'000;
};

// Messages. An entry travels in Gossip; the runtime attaches its bytes (payload_bytes
// counts them, for byte accounting). hops counts the links an entry crossed.
struct Gossip {
  static constexpr std::string_view kName = "GOSSIP";
  Hash32 id{};
  uint16_t hops = 0;
  uint32_t payload_bytes = 0;
  friend bool operator==(const Gossip&, const Gossip&) = default;
};
struct IHave {
  static constexpr std::string_view kName = "IHAVE";
  Hash32 id{};
  uint16_t hops = 0;
  friend bool operator==(const IHave&, const IHave&) = default;
};
// A GRAFT asks the receiver to make the link eager and to send entry id; with link_only it
// only makes the link eager (the tree optimisation: the sender holds the entry already).
struct Graft {
  static constexpr std::string_view kName = "GRAFT";
  Hash32 id{};
  bool link_only = false;
  friend bool operator==(const Graft&, const Graft&) = default;
};
struct Prune {
  static constexpr std::string_view kName = "PRUNE";
  friend bool operator==(const Prune&, const Prune&) = default;
};
using BroadcastMessage = std::variant<Gossip, IHave, Graft, Prune>;

// Bytes of a message on the wire, with the entry's bytes for Gossip (docs/broadcast-format.md).
size_t EncodedSize(const BroadcastMessage& m);
// Frame body without the entry bytes: version, type, fields (little-endian).
void Encode(const BroadcastMessage& m, Bytes& out);
// Errors: MALFORMED, UNKNOWN_VERSION.
Result<BroadcastMessage> DecodeBroadcast(ByteSpan bytes);

struct Delivery {
  Hash32 id{};
  NodeId from = kNoNode;  // kNoNode for a local post.
  uint16_t hops = 0;
};

// What the runtime does after a call: the sends, in order (for a Gossip, with the entry's
// bytes attached), and, when set, the time of the next OnTimer.
struct BroadcastOutbox {
  std::vector<std::pair<NodeId, BroadcastMessage>> sends;
  std::optional<TimeMs> next_timer_at;
  void Clear() {
    sends.clear();
    next_timer_at.reset();
  }
};

class Broadcast {
 public:
  explicit Broadcast(const BroadcastConfig& config = {}) : config_(config) {}

  // Neighbour changes from the membership layer. New neighbours start eager.
  void OnNeighborUp(NodeId peer);
  void OnNeighborDown(NodeId peer);

  // A local entry was stored: push it.
  void Post(TimeMs now, const Hash32& id, uint32_t payload_bytes, BroadcastOutbox& out);
  // An entry obtained outside the tree (from `from` by reconciliation) was stored: push it on
  // to the eager peers and announce it to the lazy ones, except `from`, changing no link.
  void Relay(TimeMs now, const Hash32& id, uint32_t payload_bytes, NodeId from,
             BroadcastOutbox& out);
  // A Gossip arrived. is_new: the runtime validated and stored the entry just now (false
  // for a duplicate, or an invalid entry, which the runtime also reports to its peer
  // policy). Returns true when the entry should count as delivered.
  bool OnGossip(TimeMs now, NodeId from, const Gossip& m, bool is_new, BroadcastOutbox& out);
  // An IHAVE arrived; have: the runtime already holds that entry.
  void OnIHave(TimeMs now, NodeId from, const IHave& m, bool have, BroadcastOutbox& out);
  // A GRAFT arrived; have: the runtime holds the entry and can send it.
  void OnGraft(TimeMs now, NodeId from, const Graft& m, bool have, uint32_t payload_bytes,
               BroadcastOutbox& out);
  void OnPrune(NodeId from);
  void OnTimer(TimeMs now, BroadcastOutbox& out);

  size_t eager_count() const;
  size_t lazy_count() const;
  bool IsEager(NodeId peer) const;

 private:
  struct Neighbor {
    NodeId id = kNoNode;
    bool eager = true;
  };
  struct Missing {
    Hash32 id{};
    TimeMs deadline = 0;
    uint8_t announcers = 0;  // Valid entries of from.
    std::array<NodeId, kAnnouncersPerMissing> from{};
    uint16_t hops = 0;     // Of the first IHAVE, which came from from[0].
    bool grafted = false;  // A GRAFT has been sent for it.
  };

  Neighbor* Find(NodeId peer);
  void SetEager(NodeId peer, bool eager);
  void Push(const Hash32& id, uint16_t hops, uint32_t payload_bytes, NodeId except,
            BroadcastOutbox& out);
  // The missing-list entry for id (valid until the list next changes), or null.
  Missing* FindMissing(const Hash32& id);
  void ForgetMissing(const Hash32& id);
  void ScheduleTimer(BroadcastOutbox& out) const;
  // The recent-arrivals ring: record an arrival; find one (its slot, or kRecentCapacity).
  void Remember(TimeMs now, const Hash32& id, NodeId from, uint16_t hops);
  size_t FindRecent(const Hash32& id) const;
  // The tree optimisation's swap: moves the tree link from old_parent to announcer.
  void MoveParent(TimeMs now, const Hash32& id, NodeId old_parent, NodeId announcer,
                  uint16_t announced_hops, BroadcastOutbox& out);
  // Whether peer brought an entry other than `except` first within prune_guard_ms.
  bool TreeLinkInUse(TimeMs now, NodeId peer, const Hash32& except) const;

  BroadcastConfig config_;
  std::array<Neighbor, kBroadcastNeighborCapacity> neighbors_{};
  uint8_t neighbor_count_ = 0;
  std::array<Missing, kMissingCapacity> missing_{};
  uint8_t missing_count_ = 0;
  // The recent-arrivals ring, as parallel arrays to save padding: the first 8 bytes of the
  // id (a rare prefix collision only misleads one optimisation decision), the neighbour the
  // entry came from (kNoNode for a local post or a relay), and its hops on arrival (0 for a
  // local post), and when it arrived. recent_next_ is the slot to overwrite next; recent_count_
  // counts used slots.
  std::array<uint64_t, kRecentCapacity> recent_id_{};
  std::array<NodeId, kRecentCapacity> recent_from_{};
  std::array<uint16_t, kRecentCapacity> recent_hops_{};
  std::array<TimeMs, kRecentCapacity> recent_at_{};
  uint8_t recent_next_ = 0;
  uint8_t recent_count_ = 0;
};

}  // namespace pando::proto
