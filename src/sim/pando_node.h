// PandoNode: the simulator's adapter for one Pando node. The node carries a set of groups:
// the catalog group (group 0, carried by every node) and any others the scenario gives it.
// The replication logic is proto::Replica (proto/replica.h), the same code the network node
// runs: for each group, HyParView membership (the group's own overlay), Plumtree broadcast
// over it, and the anti-entropy schedule (proto/sync.h) with range-based reconciliation
// sessions (proto/reconcile.h). In flooding mode the broadcast is replaced by Usenet-style
// flooding (forward every new entry to every neighbour of the group) as the baseline.
//
// Every message carries the group it belongs to; a node drops (and counts) a message for a
// group it does not carry, so an entry can only reach the carriers of its group.
//
// What the adapter adds is the simulated runtime the Replica asks for through
// proto::ReplicaHost. Entries are synthetic: entry k belongs to group
// PandoShared::entry_group[k], has an id whose first 8 bytes are k (little-endian) and a
// payload of PandoShared::payload_bytes, which only counts towards message sizes. What a
// node holds is one bit per entry in a bitset arena shared by all nodes (PandoShared::have),
// and outcomes (deliveries, delays, copies) are aggregated in PandoShared as they happen
// rather than kept per node and entry. Reconciliation sessions exist only while they run;
// they live in PandoShared too, in one table for all nodes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/check.h"
#include "proto/broadcast.h"
#include "proto/membership.h"
#include "proto/reconcile.h"
#include "proto/replica.h"
#include "proto/sync.h"
#include "proto/types.h"
#include "sim/network.h"
#include "sim/simulator.h"
#include "sim/stats.h"

namespace pando::sim {

// The messages are proto's: one flat variant of every protocol's messages, so that the
// simulator counts each message type on its own (SimStats::per_type), and the group tag
// beside it (counted as kGroupTagBytes).
using PandoBody = proto::PeerBody;
using PandoMessage = proto::GroupMessage;
using proto::kEntriesIndex;
using proto::kFirstBroadcastIndex;
using proto::kFirstSyncIndex;
using proto::kGossipIndex;
using proto::kGroupTagBytes;
// Names of the alternatives, in order, for reports (the membership types carry no kName).
inline constexpr const char* kPandoMessageNames[] = {
    "join",    "forward_join",  "disconnect", "neighbor", "neighbor_reply",
    "shuffle", "shuffle_reply", "gossip",     "ihave",    "graft",
    "prune",   "reconcile",     "want",       "entries"};
static_assert(std::size(kPandoMessageNames) == std::variant_size_v<PandoBody>);

inline constexpr uint32_t kCatalogGroup = 0;

// The 32-byte id of synthetic entry k, and back.
inline Hash32 SyntheticEntryId(uint64_t k) {
  Hash32 id{};
  for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(k >> (8 * i));
  id[31] = 0x5e;  // Not all zero, so that no id looks like an unset one.
  return id;
}
inline uint64_t SyntheticEntryIndex(const Hash32& id) {
  uint64_t k = 0;
  for (int i = 0; i < 8; ++i) k |= uint64_t{id[i]} << (8 * i);
  return k;
}

using proto::SyncSession;

// What all nodes of one run share: configuration, groups, the have-bits of every node, the
// reconciliation sessions in progress, and the aggregated outcomes. Not thread-safe, like
// the simulator.
struct PandoShared {
  PandoShared(uint64_t seed_in, size_t nodes_in, uint64_t entries_in, bool flooding_in)
      : seed(seed_in),
        nodes(nodes_in),
        entries(entries_in),
        words_per_node((entries_in + 63) / 64),
        have(nodes_in * words_per_node, 0),
        posted_ms(entries_in, kNever),
        entry_group(entries_in, kCatalogGroup),
        holders(entries_in, 0) {
    replica.flooding = flooding_in;
  }

  uint64_t seed;
  uint64_t nodes;
  uint64_t entries;
  size_t words_per_node;
  uint32_t payload_bytes = 200;
  // The machines' configuration, flooding and whether anti-entropy runs.
  proto::ReplicaConfig replica;

  // Bit k of node n's words: n holds entry k. One arena instead of a vector per node saves
  // the heap block header and pointer (40 bytes a node) and a million small allocations.
  // Being outside the node, the bits survive a kFreshState restart; a scenario with fresh
  // restarts (a new disk) clears the node's words itself.
  std::vector<uint64_t> have;
  std::vector<TimeMs> posted_ms;      // By entry: when it was posted (its origin's clock).
  std::vector<uint32_t> entry_group;  // By entry: its group.
  std::vector<uint32_t> holders;      // By entry: how many nodes hold it (crashed ones too).
  // Groups besides the catalog: (node, group) pairs in ascending order, and by group its
  // carriers in ascending order (carriers[0] stays empty: every node carries the catalog).
  // Set up through AddNodeGroup before the nodes are built.
  std::vector<std::pair<NodeId, uint32_t>> node_groups;
  std::vector<std::vector<NodeId>> carriers = {{}};

  // Sessions in progress, by (node, peer, group).
  struct SessionKey {
    NodeId node, peer;
    uint32_t group;
    bool operator==(const SessionKey&) const = default;
  };
  struct SessionKeyHash {
    size_t operator()(const SessionKey& k) const {
      return static_cast<size_t>(MixHash(MixHash(k.node, k.peer), k.group));
    }
  };
  std::unordered_map<SessionKey, std::unique_ptr<SyncSession>, SessionKeyHash> sessions;

  uint64_t deliveries = 0;      // (node, entry) pairs that hold the entry, origins included.
  LatencyHistogram delay;       // Post to first delivery, origins left out.
  TimeMs last_delivery_ms = 0;  // When the latest first delivery happened.
  uint64_t payload_copies = 0;  // GOSSIP messages received, duplicates included.
  uint64_t misrouted = 0;       // Messages for a group the receiver does not carry.
  uint64_t sync_sessions = 0;   // Reconciliation sessions opened.
  uint64_t sync_entries = 0;    // Entries first obtained through reconciliation.
  uint64_t sync_errors = 0;     // Reconciliation messages that failed to decode.

  // The scratch outbox, reused by every node so that no node carries its vectors.
  proto::ReplicaOutbox out;

  bool Has(NodeId node, uint64_t k) const {
    return (have[node * words_per_node + k / 64] >> (k % 64)) & 1;
  }
  void Set(NodeId node, uint64_t k) {
    have[node * words_per_node + k / 64] |= uint64_t{1} << (k % 64);
    ++holders[k];
  }
  // Node n carries group g >= 1 too. Calls come in ascending order of n.
  void AddNodeGroup(NodeId n, uint32_t g) {
    CHECK(g != kCatalogGroup && n < nodes);
    CHECK(node_groups.empty() || node_groups.back() < std::make_pair(n, g));
    node_groups.emplace_back(n, g);
    if (carriers.size() <= g) carriers.resize(g + 1);
    carriers[g].push_back(n);
  }
  std::vector<uint32_t> GroupsOf(NodeId n) const {
    std::vector<uint32_t> groups;
    auto it = std::lower_bound(node_groups.begin(), node_groups.end(), std::make_pair(n, 0u));
    for (; it != node_groups.end() && it->first == n; ++it) groups.push_back(it->second);
    return groups;
  }
  bool Carries(NodeId n, uint32_t group) const {
    return group == kCatalogGroup ||
           std::binary_search(carriers[group].begin(), carriers[group].end(), n);
  }
  uint64_t CarrierCount(uint32_t group) const {
    return group == kCatalogGroup ? nodes : carriers[group].size();
  }
  // The contact node `n` joins group g through: a pseudo-random earlier carrier, drawn from
  // the seed so that no per-node field is needed. The first carrier starts the overlay.
  NodeId JoinContact(uint32_t group, NodeId n) const {
    const uint64_t h = MixHash(MixHash(MixHash(seed, 0xc0417ac7ULL), n), group);
    if (group == kCatalogGroup) return n == 0 ? proto::kNoNode : h % n;
    const std::vector<NodeId>& c = carriers[group];
    const size_t index = static_cast<size_t>(std::lower_bound(c.begin(), c.end(), n) - c.begin());
    return index == 0 ? proto::kNoNode : c[h % index];
  }
};

class PandoNode {
 public:
  PandoNode(NodeId id, PandoShared* shared) : replica_(id), shared_(shared) {
    const std::vector<uint32_t> extra = shared->GroupsOf(id);
    replica_.Reserve(1 + extra.size());
    replica_.AddGroup(kCatalogGroup, shared->replica, MembershipSeed(kCatalogGroup));
    for (uint32_t g : extra) replica_.AddGroup(g, shared->replica, MembershipSeed(g));
  }

  void OnStart(TimeMs now, Context<PandoMessage>& ctx) {
    armed_ = kNever;
    Host host(this, now);
    proto::ReplicaOutbox& out = Scratch();
    for (size_t i = 0; i < replica_.group_count(); ++i) {
      const uint32_t g = replica_.group(i);
      const uint64_t phase = MixHash(MixHash(shared_->seed, self()), 0x5c ^ g);
      replica_.Start(now, g, shared_->JoinContact(g, self()), phase, host, out);
    }
    Finish(out, ctx);
  }

  void Prefetch() const { replica_.Prefetch(); }

  void OnMessage(TimeMs now, NodeId from, const PandoMessage& m, Context<PandoMessage>& ctx) {
    Host host(this, now);
    proto::ReplicaOutbox& out = Scratch();
    replica_.OnMessage(now, from, m, host, out);
    Finish(out, ctx);
  }

  void OnTimer(TimeMs now, Context<PandoMessage>& ctx) {
    armed_ = kNever;  // The simulator's one timer has fired; Finish sets the next one.
    Host host(this, now);
    proto::ReplicaOutbox& out = Scratch();
    replica_.OnTimer(now, host, out);
    Finish(out, ctx);
  }

  void OnPeerDown(TimeMs now, NodeId peer, Context<PandoMessage>& ctx) {
    Host host(this, now);
    proto::ReplicaOutbox& out = Scratch();
    replica_.OnPeerDown(now, peer, host, out);
    Finish(out, ctx);
  }

  // The peers this node holds connections to: the active views of its groups. The
  // simulator breaks them when the node crashes or a partition separates them.
  std::vector<NodeId> Connections() const { return replica_.Connections(); }

  // Posts synthetic entry k (of a group this node carries): stores it and pushes it.
  void Post(TimeMs now, uint64_t k, Context<PandoMessage>& ctx) {
    CHECK(k < shared_->entries && !shared_->Has(self(), k));
    const uint32_t g = shared_->entry_group[k];
    CHECK(replica_.Carries(g));
    shared_->posted_ms[k] = now;
    shared_->Set(self(), k);
    ++shared_->deliveries;
    Host host(this, now);
    proto::ReplicaOutbox& out = Scratch();
    replica_.Post(now, g, SyntheticEntryId(k), shared_->payload_bytes, host, out);
    Finish(out, ctx);
  }

  NodeId self() const { return replica_.self(); }
  size_t group_count() const { return replica_.group_count(); }
  // The catalog's machines; membership(g) and broadcast(g) by index into this node's groups.
  const proto::Membership& membership(size_t i = 0) const { return replica_.membership(i); }
  const proto::Broadcast& broadcast(size_t i = 0) const { return replica_.broadcast(i); }
  uint32_t group(size_t i) const { return replica_.group(i); }
  // Heap memory of the node per carried group: its machines and timers.
  static constexpr size_t BytesPerGroup() { return proto::Replica::BytesPerGroup(); }

 private:
  // The runtime the Replica sees during one call: the node's have-bits in the shared arena,
  // the shared session table, and the delivery counters. Lives on the stack for the call.
  class Host final : public proto::ReplicaHost {
   public:
    Host(PandoNode* node, TimeMs now) : node_(node), shared_(node->shared_), now_(now) {}

    const proto::ReplicaConfig& config() const override { return shared_->replica; }

    std::optional<uint32_t> EntryBytes(uint32_t group, const Hash32& id) override {
      const uint64_t k = SyntheticEntryIndex(id);
      if (k < shared_->entries && shared_->entry_group[k] == group &&
          shared_->Has(node_->self(), k)) {
        return shared_->payload_bytes;
      }
      return std::nullopt;
    }

    std::vector<proto::ReconItem> Items(uint32_t group) override {
      std::vector<proto::ReconItem> items;
      const uint64_t* words = &shared_->have[node_->self() * shared_->words_per_node];
      for (size_t w = 0; w < shared_->words_per_node; ++w) {
        for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
          const uint64_t k = w * 64 + static_cast<uint64_t>(__builtin_ctzll(bits));
          if (shared_->entry_group[k] != group) continue;
          items.push_back({static_cast<uint64_t>(shared_->posted_ms[k]), SyntheticEntryId(k)});
        }
      }
      return items;
    }

    // Stores synthetic entry k if it is new and of the group, and records its delivery. An
    // entry of another group is refused (and counted as misrouted).
    std::optional<uint32_t> Accept(uint32_t group, const Hash32& id, NodeId) override {
      const uint64_t k = SyntheticEntryIndex(id);
      if (k >= shared_->entries || shared_->entry_group[k] != group) {
        ++shared_->misrouted;
        return std::nullopt;
      }
      if (shared_->Has(node_->self(), k)) return std::nullopt;
      shared_->Set(node_->self(), k);
      ++shared_->deliveries;
      shared_->delay.Add(now_ - shared_->posted_ms[k]);
      shared_->last_delivery_ms = std::max(shared_->last_delivery_ms, now_);
      return shared_->payload_bytes;
    }

    SyncSession* FindSession(NodeId peer, uint32_t group) override {
      auto it = shared_->sessions.find({node_->self(), peer, group});
      return it == shared_->sessions.end() ? nullptr : it->second.get();
    }
    SyncSession& SetSession(NodeId peer, uint32_t group,
                            std::unique_ptr<SyncSession> session) override {
      std::unique_ptr<SyncSession>& slot = shared_->sessions[{node_->self(), peer, group}];
      slot = std::move(session);
      return *slot;
    }
    void EraseSession(NodeId peer, uint32_t group) override {
      shared_->sessions.erase({node_->self(), peer, group});
    }

   private:
    PandoNode* node_;
    PandoShared* shared_;
    TimeMs now_;
  };

  uint64_t MembershipSeed(uint32_t group) const {
    return NodeSeed(shared_->seed, self(), 1 + 2 * uint64_t{group});
  }

  proto::ReplicaOutbox& Scratch() {
    shared_->out.Clear();
    return shared_->out;
  }

  // Carries out the Replica's outbox: the sends, the counters, then the simulator's one
  // timer, set to the earliest time any machine asked for unless it is already set there
  // (every SetTimer queues an event).
  void Finish(proto::ReplicaOutbox& out, Context<PandoMessage>& ctx) {
    for (auto& send : out.sends) ctx.Send(send.first, std::move(send.second));
    const proto::ReplicaCounters& c = out.counters;
    shared_->misrouted += c.misrouted;
    shared_->payload_copies += c.gossip_received;
    shared_->sync_sessions += c.sessions_opened;
    shared_->sync_entries += c.entries_reconciled;
    shared_->sync_errors += c.decode_errors;
    const TimeMs next = out.next_timer_at;
    if (next != armed_ && next != kNever) {
      armed_ = next;
      ctx.SetTimer(next);
    }
  }

  proto::Replica replica_;
  TimeMs armed_ = kNever;
  PandoShared* shared_;
};

using PandoSim = Simulator<PandoNode, PandoMessage>;

}  // namespace pando::sim
