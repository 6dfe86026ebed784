// Replica: the replication logic of one node, for every group it carries, as a sans-IO
// object. The simulator (sim/pando_node.h) and the network node run this same code.
//
// For each carried group the Replica runs a Membership (the group's own HyParView overlay),
// a Broadcast (Plumtree over it, or flooding as a baseline) and a SyncScheduler, routes each
// group-tagged message to them, carries out their outboxes in the order membership.h
// prescribes, runs the reconciliation sessions of proto/sync.h (RECONCILE, WANT, ENTRIES;
// the lower id's session goes on when both sides open at once; a stalled session gives way
// after session_timeout_ms; a session ends when its neighbour goes down), relays entries
// obtained by reconciliation through Broadcast::Relay, and combines the machines' timers.
// A message for a group the node does not carry is dropped and counted.
//
// Groups are identified by a small uint32 key the runtime chooses (the simulator uses the
// group's index; the network node its handle for the group name). The Replica keeps only
// the machines and their timers: everything whose size grows with the data or that the
// runtime already has lives with the runtime, which lends it to each call as a ReplicaHost:
// the entries (what the node holds, the items of a reconciliation snapshot, storing an
// arriving entry), the reconciliation sessions in progress (the simulator keeps one table
// for all its nodes; a network node keeps its own), and the configuration shared by all
// groups. Each call answers through a ReplicaOutbox the runtime also owns and reuses: the
// sends in order, the time of the next OnTimer and counters of what happened.
//
// Single-threaded, like every machine in src/proto.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "proto/broadcast.h"
#include "proto/membership.h"
#include "proto/reconcile.h"
#include "proto/sync.h"
#include "proto/types.h"

namespace pando::proto {

// One flat variant of every protocol's messages between two nodes, so that a runtime can
// tell each message type apart (the simulator counts them one by one).
using PeerBody = std::variant<Join, ForwardJoin, Disconnect, Neighbor, NeighborReply, Shuffle,
                              ShuffleReply, Gossip, IHave, Graft, Prune, Reconcile, Want, Entries>;
// Indices of the alternatives: below kFirstBroadcastIndex, membership; then broadcast; from
// kFirstSyncIndex, anti-entropy.
inline constexpr size_t kFirstBroadcastIndex = 7;
inline constexpr size_t kGossipIndex = 7;
inline constexpr size_t kFirstSyncIndex = 11;
inline constexpr size_t kEntriesIndex = 13;
static_assert(std::is_same_v<std::variant_alternative_t<kGossipIndex, PeerBody>, Gossip>);
static_assert(std::is_same_v<std::variant_alternative_t<kFirstSyncIndex, PeerBody>, Reconcile>);
static_assert(std::is_same_v<std::variant_alternative_t<kEntriesIndex, PeerBody>, Entries>);

// A message of one group. On the wire the group is a 4-byte handle the two ends of a
// connection agree on when they first speak of the group.
struct GroupMessage {
  uint32_t group = 0;
  PeerBody body;
};
inline constexpr uint64_t kGroupTagBytes = 4;

// Bytes on the wire, with the entry bytes of GOSSIP and ENTRIES, and with the group tag.
uint64_t EncodedSize(const PeerBody& m);
inline uint64_t EncodedSize(const GroupMessage& m) { return kGroupTagBytes + EncodedSize(m.body); }

// What all groups of a Replica share. Each machine copies its part when a group is added;
// flooding and sync_enabled are read on every call.
struct ReplicaConfig {
  MembershipConfig membership;
  BroadcastConfig broadcast;
  SyncConfig sync;
  bool sync_enabled = true;
  // The baseline instead of Plumtree: every new entry goes to every neighbour of its group
  // but the sender, and no link is ever pruned. For measurements in the simulator.
  bool flooding = false;
};

// A reconciliation session in progress with one peer for one group. The items are a
// snapshot of what the node held for the group when the session began; the session points
// into them, so a SyncSession never moves (the runtime keeps it behind a pointer).
struct SyncSession {
  SyncSession(std::vector<ReconItem> items_in, TimeMs now)
      : items(std::move(items_in)), session(&items), last_ms(now) {}
  SyncSession(const SyncSession&) = delete;
  SyncSession& operator=(const SyncSession&) = delete;

  ItemSet items;
  Session session;
  TimeMs last_ms;  // When the session last made progress, on the node's clock.
};

// What the runtime lends a Replica for one call. Entry bytes never pass through the
// Replica: it names ids, and the runtime attaches or stores the bytes.
class ReplicaHost {
 public:
  virtual const ReplicaConfig& config() const = 0;

  // The size in bytes of entry `id` of `group` if this node holds it, else nullopt.
  virtual std::optional<uint32_t> EntryBytes(uint32_t group, const Hash32& id) = 0;
  // The (timestamp_ms, id) of every entry of `group` this node holds, in any order: the
  // snapshot a reconciliation session works on.
  virtual std::vector<ReconItem> Items(uint32_t group) = 0;
  // Entry `id` of `group` arrived from `from` (in a GOSSIP or an ENTRIES message whose bytes
  // the runtime holds): validate and store it. Returns its size in bytes if it was new and
  // is now stored; nullopt for a duplicate or an invalid entry.
  virtual std::optional<uint32_t> Accept(uint32_t group, const Hash32& id, NodeId from) = 0;

  // The reconciliation sessions of this node, by (peer, group): at most one per pair.
  virtual SyncSession* FindSession(NodeId peer, uint32_t group) = 0;
  // Stores `session` for (peer, group), replacing any there, and returns it.
  virtual SyncSession& SetSession(NodeId peer, uint32_t group,
                                  std::unique_ptr<SyncSession> session) = 0;
  virtual void EraseSession(NodeId peer, uint32_t group) = 0;

 protected:
  ~ReplicaHost() = default;
};

// What happened during the calls since the last Clear, for the runtime's statistics.
struct ReplicaCounters {
  uint64_t misrouted = 0;           // Messages for a group this node does not carry.
  uint64_t gossip_received = 0;     // GOSSIP messages, duplicates included.
  uint64_t sessions_opened = 0;     // Reconciliation sessions this node opened.
  uint64_t entries_reconciled = 0;  // Entries first obtained through reconciliation.
  uint64_t decode_errors = 0;       // RECONCILE bodies that failed to decode.
};

// What the runtime does after a call: the sends, in order (a GOSSIP or ENTRIES with the
// named entries' bytes attached), then its one timer set to next_timer_at (kNever: none).
// The scratch outboxes are the machines' own, reused so that a Replica carries none; the
// runtime keeps one ReplicaOutbox for all its Replicas and clears it before each call.
struct ReplicaOutbox {
  std::vector<std::pair<NodeId, GroupMessage>> sends;
  TimeMs next_timer_at = kNever;
  ReplicaCounters counters;

  MembershipOutbox membership_scratch;
  BroadcastOutbox broadcast_scratch;

  void Clear() {
    sends.clear();
    next_timer_at = kNever;
    counters = {};
  }
};

class Replica {
 public:
  explicit Replica(NodeId self) : self_(self) {}

  // Groups are added before the first Start, in the order the runtime wants them kept
  // (group(0) first). membership_seed seeds the group's Membership Rng.
  void Reserve(size_t groups) { groups_.reserve(groups); }
  void AddGroup(uint32_t group, const ReplicaConfig& config, uint64_t membership_seed);
  // Every group added so far repairs its overlay with this preference (Membership).
  void SetPreference(const PeerPreference* preference) {
    for (GroupState& g : groups_) g.membership.SetPreference(preference);
  }

  // The node came up (first start or restart): joins `group`'s overlay through contact
  // (kNoNode: start a new one) and starts its anti-entropy schedule with sync_phase.
  void Start(TimeMs now, uint32_t group, NodeId contact, uint64_t sync_phase, ReplicaHost& host,
             ReplicaOutbox& out);
  void OnMessage(TimeMs now, NodeId from, const GroupMessage& m, ReplicaHost& host,
                 ReplicaOutbox& out);
  // A started group joins its overlay through another contact (Membership::JoinThrough).
  void JoinThrough(TimeMs now, uint32_t group, NodeId contact, ReplicaHost& host,
                   ReplicaOutbox& out);
  // `peer` does not carry `group` (Membership::Forget); its sessions of the group end.
  void NotCarried(TimeMs now, uint32_t group, NodeId peer, ReplicaHost& host, ReplicaOutbox& out);
  // Calls every machine whose timer is due (all accept early calls).
  void OnTimer(TimeMs now, ReplicaHost& host, ReplicaOutbox& out);
  // The transport found `peer` unreachable; every group hears of it and its sessions with
  // the peer end.
  void OnPeerDown(TimeMs now, NodeId peer, ReplicaHost& host, ReplicaOutbox& out);
  // A local entry of a carried group was stored by the runtime: push it.
  void Post(TimeMs now, uint32_t group, const Hash32& id, uint32_t payload_bytes, ReplicaHost& host,
            ReplicaOutbox& out);

  // An entry the runtime obtained outside the tree (held back until its feed predecessor
  // arrived, say) is now stored: push it on to the eager peers and announce it to the lazy
  // ones, except `from`.
  void Relay(TimeMs now, uint32_t group, const Hash32& id, uint32_t payload_bytes, NodeId from,
             ReplicaHost& host, ReplicaOutbox& out);

  // The peers this node should hold connections to: the union of its groups' active views.
  std::vector<NodeId> Connections() const;
  // The earliest time any machine asked to be called at (kNever: none).
  TimeMs NextTimerAt() const;

  NodeId self() const { return self_; }
  size_t group_count() const { return groups_.size(); }
  // A cache hint for a host that knows which replica it will call next (the simulator):
  // starts loading the state of the first group, the one most messages are for.
  void Prefetch() const {
    if (groups_.empty()) return;
    const char* p = reinterpret_cast<const char*>(groups_.data());
    for (size_t off = 0; off < std::min<size_t>(sizeof(GroupState), 512); off += 64) {
      __builtin_prefetch(p + off);
    }
  }
  bool Carries(uint32_t group) const;
  // The machines by index into this node's groups (0: the first added).
  uint32_t group(size_t i) const { return groups_[i].group; }
  const Membership& membership(size_t i = 0) const { return groups_[i].membership; }
  const Broadcast& broadcast(size_t i = 0) const { return groups_[i].broadcast; }
  // Heap memory per carried group: its machines and timers.
  static constexpr size_t BytesPerGroup();

 private:
  struct GroupState {
    GroupState(NodeId self, uint32_t group_in, const ReplicaConfig& config, uint64_t seed)
        : group(group_in),
          membership(self, config.membership, seed),
          broadcast(config.broadcast),
          sync(config.sync) {}
    uint32_t group;
    // Neighbours that came up less than settle_ms ago, with when. A session over such a
    // link reconciles young entries too: the peer was not on this node's broadcast tree
    // while they spread (a node that just started or restarted missed them all).
    std::vector<std::pair<NodeId, TimeMs>> fresh;
    TimeMs membership_timer = kNever;  // As each machine last asked (next_timer_at).
    TimeMs broadcast_timer = kNever;
    Membership membership;
    Broadcast broadcast;
    SyncScheduler sync;
  };

  GroupState* Find(uint32_t group);
  void OnBroadcast(TimeMs now, NodeId from, GroupState& g, const PeerBody& body, ReplicaHost& host,
                   ReplicaOutbox& out);
  void Flood(const GroupState& g, const Gossip& m, NodeId except, ReplicaOutbox& out) const;
  // A session with `peer` over what the node holds of g now, but entries younger than
  // settle_ms, unless the link to the peer is fresh (GroupState::fresh) or not yet up here.
  std::unique_ptr<SyncSession> NewSession(TimeMs now, const GroupState& g, NodeId peer,
                                          ReplicaHost& host) const;
  void OpenSession(TimeMs now, NodeId peer, const GroupState& g, ReplicaHost& host,
                   ReplicaOutbox& out);
  void OnReconcile(TimeMs now, NodeId from, const GroupState& g, const Reconcile& m,
                   ReplicaHost& host, ReplicaOutbox& out);
  void OnWant(NodeId from, const GroupState& g, const Want& m, ReplicaHost& host,
              ReplicaOutbox& out);
  void OnEntries(TimeMs now, NodeId from, GroupState& g, const Entries& m, ReplicaHost& host,
                 ReplicaOutbox& out);
  // Carry out a machine's outbox (out's scratch).
  void Apply(TimeMs now, GroupState& g, ReplicaHost& host, ReplicaOutbox& out);
  void ApplyBroadcast(GroupState& g, ReplicaOutbox& out);
  // Pushes an entry obtained outside the tree on to g's eager peers (or floods it), except
  // `from`: what Relay and reconciled entries share.
  void RelayIn(TimeMs now, GroupState& g, const Hash32& id, uint32_t payload_bytes, NodeId from,
               ReplicaHost& host, ReplicaOutbox& out);

  NodeId self_;
  std::vector<GroupState> groups_;
};

constexpr size_t Replica::BytesPerGroup() { return sizeof(GroupState); }

}  // namespace pando::proto
