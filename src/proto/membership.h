// Membership: the HyParView overlay (Leitão, Pereira, Rodrigues, DSN 2007) as a sans-IO state
// machine. Each node keeps a small symmetric *active view* (the peers it holds connections to
// and broadcasts over) and a larger *passive view* (addresses to repair the active view from
// when a neighbour fails). Joins spread by random walks (FORWARD_JOIN); periodic SHUFFLE walks
// keep the passive views fresh and mixed. There is no failure monitor: the transport's own
// connection errors drive repair.
//
// Conventions of src/proto/types.h apply: the runtime calls Start once, then OnMessage,
// OnPeerDown and OnTimer with its clock's current time, and after each call carries out and
// clears the MembershipOutbox. A Membership is single-threaded; it owns no heap memory, so
// a million of them fit the simulator's memory budget (see kMembershipSizeMax).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/check.h"
#include "proto/membership_codec.h"
#include "proto/types.h"

namespace pando::proto {

// Compile-time capacities of the views. The configured maxima must fit within them; they
// are fixed so that the views live inside the object, with no allocation per node.
inline constexpr size_t kActiveCapacity = 8;
inline constexpr size_t kPassiveCapacity = 32;
// The most view entries one shuffle carries besides the origin (shuffle_active +
// shuffle_passive); they are remembered until the reply arrives.
inline constexpr size_t kShuffleCapacity = 8;
// Neighbours lost to a failure that the node keeps probing (see MembershipConfig::
// reconnect_interval_ms).
inline constexpr size_t kLostCapacity = 4;

// The paper's parameters. The paper sizes the active view log10(N) + 1: 7 covers networks
// up to 10^6 nodes. A larger view also makes Plumtree's tree shallower: at 1,000,000
// simulated nodes, 7 instead of 5 cut the p99 delay from 2.1 s to 1.3 s and payload copies
// from 1.15 to 1.07 per node per entry (docs/sim.md). passive_max is about 4 times larger.
struct MembershipConfig {
  // Active view size; at most kActiveCapacity - 1 (Broadcast may briefly see one neighbour
  // more while a replacement comes up before the one it replaces goes down).
  uint8_t active_max = 7;
  uint8_t passive_max = 30;  // Passive view size; at most kPassiveCapacity.
  // With fewer neighbours than this, NEIGHBOR requests are high priority. The paper uses 1
  // (only an empty active view); with 1, a node left with a single neighbour in a settled
  // overlay, where almost every view is full, can wait indefinitely for a free slot, and
  // one more failure cuts it off. A high-priority request makes its target drop a random
  // neighbour, which then has active_max - 1 and asks at low priority: no cascade.
  uint8_t active_min = 2;
  uint8_t arwl = 6;             // Active random walk length of FORWARD_JOIN.
  uint8_t prwl = 3;             // The walk's hop count at which a node notes the newcomer.
  uint8_t shuffle_active = 3;   // ka: active entries sent per shuffle.
  uint8_t shuffle_passive = 4;  // kp: passive entries sent per shuffle.
  uint8_t shuffle_ttl = 6;      // Hops of a shuffle walk.
  TimeMs shuffle_interval_ms = 10'000;
  // How long a NEIGHBOR request may stay unanswered, and how long a node waits after a
  // rejection before asking again while its active view is below active_max.
  TimeMs neighbor_retry_ms = 1'000;
  // Reconnection across healed partitions. A neighbour lost to a failure (not a DISCONNECT)
  // is remembered, up to kLostCapacity of them, and one is probed every this many ms with a
  // low-priority NEIGHBOR: its answer, accepted or not, proves it reachable again, and a
  // refusal is then followed by a high-priority request, so one link crosses the former cut.
  // Without this, two halves that repaired their views apart stay apart after the network
  // heals, because every view entry left points to the node's own half. A probe that fails
  // costs one message and keeps the peer listed; a newer loss replaces the oldest. 0 turns
  // probing off.
  TimeMs reconnect_interval_ms = 10'000;
  // Address diversity, with a preference that knows peers' address ranges (an IPv4 /24 or
  // an IPv6 /48, PeerPreference::RangeOf): at most this many peers of one range in the
  // active view (a newcomer from a full range takes the place of the worst peer of its own
  // range) and in the passive view (more from a full range are not noted). Many hostile
  // identities from a few ranges then hold few slots however many they are, as S/Kademlia
  // limits peers per range in a bucket. 0 turns a limit off.
  uint8_t range_active_max = 2;
  uint8_t range_passive_max = 2;
};

// What the runtime must do after a call. It carries out, in this order: open a connection
// to each neighbor_up peer and tell the layer above, then the sends in order (a send may go
// to a peer outside the active view: Join, NeighborReply, ShuffleReply and rejected requests
// use a short-lived connection), then close the connection of each neighbor_down peer after
// its pending sends (a DISCONNECT travels over the connection it ends). A peer appears in at
// most one of neighbor_up and neighbor_down per call. A send that fails, or a connection
// that breaks, is reported back with OnPeerDown.
struct MembershipOutbox {
  std::vector<std::pair<NodeId, MembershipMessage>> sends;
  std::vector<NodeId> neighbor_up;
  std::vector<NodeId> neighbor_down;
  // When set, replaces the machine's single pending timer; the runtime then calls OnTimer at
  // or after this time. Unset means "keep the timer as it was". A spurious or early OnTimer
  // is harmless.
  std::optional<TimeMs> next_timer_at;

  void Clear() {
    sends.clear();
    neighbor_up.clear();
    neighbor_down.clear();
    next_timer_at.reset();
  }
};

// A set of at most N distinct node ids stored inline. Order is unspecified: removal moves the
// last element into the hole, which is O(1) and keeps the array dense. Membership tests are
// linear scans, which for N <= 32 beat any hashed or sorted structure.
template <size_t N>
class NodeSet {
 public:
  static_assert(N <= 255, "the size is kept in one byte");

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  NodeId operator[](size_t i) const {
    DCHECK(i < size_);
    return ids_[i];
  }
  std::span<const NodeId> ids() const { return {ids_.data(), size_}; }

  bool Contains(NodeId id) const {
    for (size_t i = 0; i < size_; ++i) {
      if (ids_[i] == id) return true;
    }
    return false;
  }
  // The caller makes sure there is room and that id is not present yet.
  void Insert(NodeId id) {
    CHECK(size_ < N);
    DCHECK(!Contains(id));
    ids_[size_++] = id;
  }
  // Returns whether id was present.
  bool Erase(NodeId id) {
    for (size_t i = 0; i < size_; ++i) {
      if (ids_[i] == id) {
        ids_[i] = ids_[--size_];
        return true;
      }
    }
    return false;
  }
  void Clear() { size_ = 0; }

 private:
  std::array<NodeId, N> ids_{};
  uint8_t size_ = 0;
};

// Which of two peers a node would rather have as a neighbour (proto/peer_score.h).
class PeerPreference {
 public:
  virtual NodeId Better(NodeId a, NodeId b) const = 0;
  // The peer's address range as a number (MembershipConfig::range_active_max), or 0 when
  // unknown or not to be limited (this machine's own nodes).
  virtual uint64_t RangeOf(NodeId) const { return 0; }
  // Whether a neighbour serves so badly that it is worth replacing with a passive peer
  // (Membership replaces the worst such one each shuffle interval).
  virtual bool Poor(NodeId) const { return false; }

 protected:
  ~PeerPreference() = default;
};

class Membership {
 public:
  // Aborts if config exceeds the capacities above or is otherwise inconsistent.
  Membership(NodeId self, const MembershipConfig& config, uint64_t seed);

  // Joins the overlay through contact, or starts a new one when contact is kNoNode. If the
  // contact fails before the node has any other peer, the join is retried every
  // neighbor_retry_ms.
  void Start(TimeMs now, NodeId contact, MembershipOutbox& out);
  // Joins through another contact (a carrier discovery found) while running.
  void JoinThrough(TimeMs now, NodeId contact, MembershipOutbox& out);
  // `peer` does not carry this group (it said so): it leaves both views and every list,
  // stops being the contact, and is not probed; repair looks elsewhere.
  void Forget(TimeMs now, NodeId peer, MembershipOutbox& out);
  // A message from peer `from`, decoded by the runtime.
  void OnMessage(TimeMs now, NodeId from, const MembershipMessage& message, MembershipOutbox& out);
  // The transport found peer unreachable: a connection broke, or a send or connect failed.
  void OnPeerDown(TimeMs now, NodeId peer, MembershipOutbox& out);
  // The timer set through next_timer_at fired: shuffle, and retry repairs that are due.
  void OnTimer(TimeMs now, MembershipOutbox& out);

  NodeId self() const { return self_; }
  std::span<const NodeId> active() const { return active_.ids(); }
  std::span<const NodeId> passive() const { return passive_.ids(); }
  // Neighbours lost to failures that the node still probes, oldest first.
  std::span<const NodeId> lost() const { return {lost_.data(), lost_count_}; }
  bool IsActive(NodeId peer) const { return active_.Contains(peer); }
  // With a preference, a repair asks the better of two random passive peers instead of one
  // random passive peer (more random draws: a simulation without one replays unchanged),
  // and the worst neighbour, not a random one, makes room for a newcomer.
  // It must outlive the machine, or be unset with nullptr.
  void SetPreference(const PeerPreference* preference) { preference_ = preference; }

  // CHECKs the local invariants: self and kNoNode in no view, views disjoint, no duplicates,
  // sizes within the configured maxima. Every call runs it in debug builds.
  void CheckInvariants() const;

 private:
  void Handle(TimeMs now, NodeId from, const Join& m, MembershipOutbox& out);
  void Handle(TimeMs now, NodeId from, const ForwardJoin& m, MembershipOutbox& out);
  void Handle(TimeMs now, NodeId from, const Disconnect& m, MembershipOutbox& out);
  void Handle(TimeMs now, NodeId from, const Neighbor& m, MembershipOutbox& out);
  void Handle(TimeMs now, NodeId from, const NeighborReply& m, MembershipOutbox& out);
  void Handle(TimeMs now, NodeId from, const Shuffle& m, MembershipOutbox& out);
  void Handle(TimeMs now, NodeId from, const ShuffleReply& m, MembershipOutbox& out);
  void Probe(TimeMs now, MembershipOutbox& out);
  void RememberLost(TimeMs now, NodeId peer);
  void ForgetLost(NodeId peer);

  void SendJoin(TimeMs now, MembershipOutbox& out);
  void ConnectTo(NodeId node, MembershipOutbox& out);
  void AddActive(NodeId node, MembershipOutbox& out);
  // Drops the worst active peer (a random one without a preference); with range != 0, the
  // worst among the active peers of that range.
  void DropOneActive(MembershipOutbox& out, uint64_t range = 0);
  // How many peers of `range` the set holds (0 when range is 0: unknown ranges are not
  // limited).
  template <size_t N>
  size_t InRange(const NodeSet<N>& set, uint64_t range) const;
  // Whether a passive view with room for `node` by its range takes it.
  bool PassiveRangeHasRoom(NodeId node) const;
  void AddPassive(NodeId node);
  void EvictPassive(std::span<const NodeId> evict_first);
  void Integrate(std::span<const NodeId> incoming, std::span<const NodeId> evict_first);
  void Repair(TimeMs now, MembershipOutbox& out);
  void StartShuffle(MembershipOutbox& out);
  void ReplacePoor(TimeMs now, MembershipOutbox& out);
  void AcceptShuffle(const Shuffle& m, MembershipOutbox& out);
  NodeId RandomActiveExcept(NodeId a, NodeId b);
  template <size_t N>
  void AppendSample(const NodeSet<N>& set, size_t count, NodeId except, std::vector<NodeId>& out);
  bool NeedsRepairTick() const;
  void Finish(TimeMs now, MembershipOutbox& out);

  NodeId self_;
  MembershipConfig config_;
  Rng rng_;
  const PeerPreference* preference_ = nullptr;
  NodeSet<kActiveCapacity> active_;
  NodeSet<kPassiveCapacity> passive_;
  // The view entries sent in our last shuffle: the first to make room for its reply.
  NodeSet<kShuffleCapacity> shuffle_sent_;
  NodeId contact_ = kNoNode;           // Kept to rejoin when every peer is gone.
  NodeId pending_neighbor_ = kNoNode;  // The passive peer our NEIGHBOR request waits on.
  // Neighbours lost to failures, oldest first, probed in turn (reconnect_interval_ms).
  std::array<NodeId, kLostCapacity> lost_{};
  uint8_t lost_count_ = 0;
  NodeId probing_ = kNoNode;         // The lost peer whose probe awaits an answer.
  TimeMs reconnect_at_ms_ = kNever;  // When the next probe goes out,
                                     // while lost_ is not empty.
  TimeMs shuffle_at_ms_;             // When the next shuffle starts.
  TimeMs repair_at_ms_;  // When a pending request times out or a rejected one is retried.
  TimeMs timer_at_ms_;   // The timer the runtime holds for us, as last requested.
};

// The simulator budgets 16 KiB per node for every protocol together.
inline constexpr size_t kMembershipSizeMax = 576;
static_assert(sizeof(Membership) <= kMembershipSizeMax);

}  // namespace pando::proto
