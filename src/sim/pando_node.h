// PandoNode: the simulator's adapter for one Pando node. The node carries a set of groups:
// the catalog group (group 0, carried by every node) and any others the scenario gives it.
// For each group it runs the real state machines of src/proto: HyParView membership (the
// group's own overlay), Plumtree broadcast over it, and the anti-entropy schedule
// (proto/sync.h) with range-based reconciliation sessions (proto/reconcile.h). In flooding
// mode the broadcast is replaced by Usenet-style flooding (forward every new entry to every
// neighbour of the group) as the baseline.
//
// Every message carries the group it belongs to; a node drops (and counts) a message for a
// group it does not carry, so an entry can only reach the carriers of its group.
//
// Entries are synthetic: entry k belongs to group PandoShared::entry_group[k], has an id
// whose first 8 bytes are k (little-endian) and a payload of PandoShared::payload_bytes,
// which only counts towards message sizes. What a node holds is one bit per entry in a
// bitset arena shared by all nodes (PandoShared::have), and outcomes (deliveries, delays,
// copies) are aggregated in PandoShared as they happen rather than kept per node and entry.
// Reconciliation sessions exist only while they run; they live in PandoShared too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
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

// A reconciliation session in progress between `node` and a peer, for one group. The items
// are a snapshot of what the node held for the group when the session began.
struct SyncSession {
  SyncSession(std::vector<proto::ReconItem> items_in, TimeMs now)
      : items(std::move(items_in)), session(&items), last_ms(now) {}
  proto::ItemSet items;
  proto::Session session;
  TimeMs last_ms;  // When the session last made progress, on the node's clock.
};

// What all nodes of one run share: configuration, groups, the have-bits of every node, the
// reconciliation sessions in progress, and the aggregated outcomes. Not thread-safe, like
// the simulator.
struct PandoShared {
  PandoShared(uint64_t seed_in, size_t nodes_in, uint64_t entries_in, bool flooding_in)
      : seed(seed_in),
        nodes(nodes_in),
        entries(entries_in),
        words_per_node((entries_in + 63) / 64),
        flooding(flooding_in),
        have(nodes_in * words_per_node, 0),
        posted_ms(entries_in, kNever),
        entry_group(entries_in, kCatalogGroup),
        holders(entries_in, 0) {}

  uint64_t seed;
  uint64_t nodes;
  uint64_t entries;
  size_t words_per_node;
  bool flooding;
  uint32_t payload_bytes = 200;
  proto::MembershipConfig membership;
  proto::BroadcastConfig broadcast;
  proto::SyncConfig sync;
  bool sync_enabled = true;

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

  // Scratch outboxes, reused by every node so that no node carries their vectors.
  proto::MembershipOutbox membership_out;
  proto::BroadcastOutbox broadcast_out;

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
  PandoNode(NodeId id, PandoShared* shared) : self_(id), shared_(shared) {
    const std::vector<uint32_t> extra = shared->GroupsOf(id);
    groups_.reserve(1 + extra.size());
    groups_.emplace_back(id, kCatalogGroup, *shared);
    for (uint32_t g : extra) groups_.emplace_back(id, g, *shared);
  }

  void OnStart(TimeMs now, Context<PandoMessage>& ctx) {
    armed_ = kNever;
    for (GroupState& g : groups_) {
      proto::MembershipOutbox& out = MembershipScratch();
      g.membership.Start(now, shared_->JoinContact(g.group, self_), out);
      if (shared_->sync_enabled) {
        g.sync.Start(now, MixHash(MixHash(shared_->seed, self_), 0x5c ^ g.group));
      }
      Apply(g, out, now, ctx);
    }
    Rearm(ctx);
  }

  void OnMessage(TimeMs now, NodeId from, const PandoMessage& m, Context<PandoMessage>& ctx) {
    GroupState* g = Find(m.group);
    if (g == nullptr) {
      ++shared_->misrouted;
      return;
    }
    const size_t index = m.body.index();
    if (index < kFirstBroadcastIndex) {
      const proto::MembershipMessage mm = std::visit(
          [](const auto& x) -> proto::MembershipMessage {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_constructible_v<proto::MembershipMessage, const T&>) {
              return x;
            } else {
              CHECK(false);
              return proto::Join{};
            }
          },
          m.body);
      proto::MembershipOutbox& out = MembershipScratch();
      g->membership.OnMessage(now, from, mm, out);
      Apply(*g, out, now, ctx);
    } else if (index < kFirstSyncIndex) {
      OnBroadcast(now, from, *g, m.body, ctx);
    } else if (const auto* r = std::get_if<proto::Reconcile>(&m.body)) {
      OnReconcile(now, from, *g, *r, ctx);
    } else if (const auto* w = std::get_if<proto::Want>(&m.body)) {
      OnWant(now, from, *g, *w, ctx);
    } else {
      OnEntries(now, from, *g, std::get<proto::Entries>(m.body), ctx);
    }
    Rearm(ctx);
  }

  void OnTimer(TimeMs now, Context<PandoMessage>& ctx) {
    armed_ = kNever;  // The simulator's one timer has fired; Rearm sets the next one.
    // It stands for every machine's timer: call each one that is due (all accept early
    // calls), then set it again to the earliest of their next times.
    for (GroupState& g : groups_) {
      if (now >= g.membership_timer) {
        g.membership_timer = kNever;
        proto::MembershipOutbox& out = MembershipScratch();
        g.membership.OnTimer(now, out);
        Apply(g, out, now, ctx);
      }
      if (now >= g.broadcast_timer) {
        g.broadcast_timer = kNever;
        proto::BroadcastOutbox& out = BroadcastScratch();
        g.broadcast.OnTimer(now, out);
        Apply(g, out, ctx);
      }
      if (now >= g.sync.next_at()) {
        if (std::optional<NodeId> peer = g.sync.OnTimer(now, g.membership.active())) {
          OpenSession(now, *peer, g, ctx);
        }
      }
    }
    Rearm(ctx);
  }

  void OnPeerDown(TimeMs now, NodeId peer, Context<PandoMessage>& ctx) {
    for (GroupState& g : groups_) {
      proto::MembershipOutbox& out = MembershipScratch();
      g.membership.OnPeerDown(now, peer, out);
      Apply(g, out, now, ctx);
      shared_->sessions.erase({self_, peer, g.group});
    }
    Rearm(ctx);
  }

  // The peers this node holds connections to: the active views of its groups. The
  // simulator breaks them when the node crashes or a partition separates them.
  std::vector<NodeId> Connections() const {
    if (groups_.size() == 1) {
      const auto active = groups_[0].membership.active();
      return std::vector<NodeId>(active.begin(), active.end());
    }
    std::vector<NodeId> all;
    for (const GroupState& g : groups_) {
      for (NodeId p : g.membership.active()) {
        if (std::find(all.begin(), all.end(), p) == all.end()) all.push_back(p);
      }
    }
    return all;
  }

  // Posts synthetic entry k (of a group this node carries): stores it and pushes it.
  void Post(TimeMs now, uint64_t k, Context<PandoMessage>& ctx) {
    CHECK(k < shared_->entries && !shared_->Has(self_, k));
    GroupState* g = Find(shared_->entry_group[k]);
    CHECK(g != nullptr);
    shared_->posted_ms[k] = now;
    shared_->Set(self_, k);
    ++shared_->deliveries;
    const Hash32 id = SyntheticEntryId(k);
    if (shared_->flooding) {
      Flood(*g, proto::Gossip{id, 1, shared_->payload_bytes}, proto::kNoNode, ctx);
    } else {
      proto::BroadcastOutbox& out = BroadcastScratch();
      g->broadcast.Post(now, id, shared_->payload_bytes, out);
      Apply(*g, out, ctx);
    }
    Rearm(ctx);
  }

  NodeId self() const { return self_; }
  size_t group_count() const { return groups_.size(); }
  // The catalog's machines; membership(g) and broadcast(g) by index into this node's groups.
  const proto::Membership& membership(size_t i = 0) const { return groups_[i].membership; }
  const proto::Broadcast& broadcast(size_t i = 0) const { return groups_[i].broadcast; }
  uint32_t group(size_t i) const { return groups_[i].group; }
  // Heap memory of the node per carried group: its machines and timers.
  static constexpr size_t BytesPerGroup() { return sizeof(GroupState); }

 private:
  struct GroupState {
    GroupState(NodeId self, uint32_t group_in, const PandoShared& shared)
        : group(group_in),
          membership(self, shared.membership,
                     NodeSeed(shared.seed, self, 1 + 2 * uint64_t{group_in})),
          broadcast(shared.broadcast),
          sync(shared.sync) {}
    uint32_t group;
    TimeMs membership_timer = kNever;  // As each machine last asked (next_timer_at).
    TimeMs broadcast_timer = kNever;
    proto::Membership membership;
    proto::Broadcast broadcast;
    proto::SyncScheduler sync;
  };

  GroupState* Find(uint32_t group) {
    for (GroupState& g : groups_) {
      if (g.group == group) return &g;
    }
    return nullptr;
  }

  proto::MembershipOutbox& MembershipScratch() {
    shared_->membership_out.Clear();
    return shared_->membership_out;
  }
  proto::BroadcastOutbox& BroadcastScratch() {
    shared_->broadcast_out.Clear();
    return shared_->broadcast_out;
  }

  template <typename T>
  void Send(Context<PandoMessage>& ctx, NodeId to, uint32_t group, T&& body) {
    ctx.Send(to, PandoMessage{group, PandoBody(std::forward<T>(body))});
  }

  bool Has(const Hash32& id) const {
    const uint64_t k = SyntheticEntryIndex(id);
    return k < shared_->entries && shared_->Has(self_, k);
  }

  // Stores synthetic entry k if it is new, of group g, and records its delivery. Returns
  // whether it was new. An entry of another group is refused (and counted as misrouted).
  bool Store(TimeMs now, uint64_t k, const GroupState& g) {
    if (k >= shared_->entries || shared_->entry_group[k] != g.group) {
      ++shared_->misrouted;
      return false;
    }
    if (shared_->Has(self_, k)) return false;
    shared_->Set(self_, k);
    ++shared_->deliveries;
    shared_->delay.Add(now - shared_->posted_ms[k]);
    shared_->last_delivery_ms = std::max(shared_->last_delivery_ms, now);
    return true;
  }

  void OnBroadcast(TimeMs now, NodeId from, GroupState& g, const PandoBody& body,
                   Context<PandoMessage>& ctx) {
    proto::BroadcastOutbox& out = BroadcastScratch();
    if (const auto* gossip = std::get_if<proto::Gossip>(&body)) {
      ++shared_->payload_copies;
      const bool is_new = Store(now, SyntheticEntryIndex(gossip->id), g);
      if (shared_->flooding) {
        // The baseline: every new entry to every neighbour but the sender; never prune.
        if (!is_new) return;
        const uint16_t hops =
            gossip->hops == UINT16_MAX ? gossip->hops : static_cast<uint16_t>(gossip->hops + 1);
        return Flood(g, proto::Gossip{gossip->id, hops, gossip->payload_bytes}, from, ctx);
      }
      g.broadcast.OnGossip(now, from, *gossip, is_new, out);
    } else if (const auto* ihave = std::get_if<proto::IHave>(&body)) {
      g.broadcast.OnIHave(now, from, *ihave, Has(ihave->id), out);
    } else if (const auto* graft = std::get_if<proto::Graft>(&body)) {
      g.broadcast.OnGraft(now, from, *graft, Has(graft->id), shared_->payload_bytes, out);
    } else {
      g.broadcast.OnPrune(from);
    }
    Apply(g, out, ctx);
  }

  void Flood(const GroupState& g, const proto::Gossip& m, NodeId except,
             Context<PandoMessage>& ctx) {
    for (NodeId peer : g.membership.active()) {
      if (peer != except) Send(ctx, peer, g.group, m);
    }
  }

  // --- Anti-entropy ---------------------------------------------------------------------

  std::unique_ptr<SyncSession> NewSession(TimeMs now, const GroupState& g) const {
    std::vector<proto::ReconItem> items;
    const uint64_t* words = &shared_->have[self_ * shared_->words_per_node];
    for (size_t w = 0; w < shared_->words_per_node; ++w) {
      for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
        const uint64_t k = w * 64 + static_cast<uint64_t>(__builtin_ctzll(bits));
        if (shared_->entry_group[k] != g.group) continue;
        items.push_back({static_cast<uint64_t>(shared_->posted_ms[k]), SyntheticEntryId(k)});
      }
    }
    return std::make_unique<SyncSession>(std::move(items), now);
  }

  void OpenSession(TimeMs now, NodeId peer, const GroupState& g, Context<PandoMessage>& ctx) {
    auto [it, inserted] = shared_->sessions.try_emplace({self_, peer, g.group});
    if (!inserted) {
      // One session per link and group; a stalled one gives way after the timeout.
      if (now - it->second->last_ms < g.sync.config().session_timeout_ms) return;
    }
    it->second = NewSession(now, g);
    ++shared_->sync_sessions;
    Send(ctx, peer, g.group, proto::Reconcile{true, it->second->session.Initiate()});
  }

  void OnReconcile(TimeMs now, NodeId from, const GroupState& g, const proto::Reconcile& m,
                   Context<PandoMessage>& ctx) {
    const PandoShared::SessionKey key{self_, from, g.group};
    auto it = shared_->sessions.find(key);
    if (m.open) {
      // Both sides opened at once: the lower id's session goes on, the other gives way.
      if (it != shared_->sessions.end() && self_ < from) return;
      if (it == shared_->sessions.end()) it = shared_->sessions.emplace(key, nullptr).first;
      it->second = NewSession(now, g);
    } else if (it == shared_->sessions.end()) {
      return;  // A session this side dropped (timed out, or gave way).
    }
    SyncSession& s = *it->second;
    s.last_ms = now;
    Result<std::optional<Bytes>> reply = s.session.Respond(m.body);
    if (!reply.ok()) {
      ++shared_->sync_errors;
      shared_->sessions.erase(it);
      return;
    }
    if (reply->has_value()) {
      Send(ctx, from, g.group, proto::Reconcile{false, std::move(**reply)});
      return;
    }
    // Nothing left to say: ask for what this side lacks, which also ends the session.
    Send(ctx, from, g.group, proto::Want{s.session.need()});
    shared_->sessions.erase(it);
  }

  void OnWant(TimeMs, NodeId from, const GroupState& g, const proto::Want& m,
              Context<PandoMessage>& ctx) {
    // If this side's session is still open, the peer's WANT ends it: ask in turn.
    auto it = shared_->sessions.find({self_, from, g.group});
    if (it != shared_->sessions.end()) {
      Send(ctx, from, g.group, proto::Want{it->second->session.need()});
      shared_->sessions.erase(it);
    }
    proto::Entries reply;
    for (const Hash32& id : m.ids) {
      const uint64_t k = SyntheticEntryIndex(id);
      if (k < shared_->entries && shared_->entry_group[k] == g.group && shared_->Has(self_, k)) {
        reply.ids.push_back(id);
        reply.payload_bytes += shared_->payload_bytes;
      }
    }
    if (!reply.ids.empty()) Send(ctx, from, g.group, std::move(reply));
  }

  void OnEntries(TimeMs now, NodeId from, GroupState& g, const proto::Entries& m,
                 Context<PandoMessage>& ctx) {
    for (const Hash32& id : m.ids) {
      if (!Store(now, SyntheticEntryIndex(id), g)) continue;
      ++shared_->sync_entries;
      // Pushed on through the group's tree, so the rest of this side gets it from there.
      if (shared_->flooding) {
        Flood(g, proto::Gossip{id, 1, shared_->payload_bytes}, from, ctx);
      } else {
        proto::BroadcastOutbox& out = BroadcastScratch();
        g.broadcast.Relay(now, id, shared_->payload_bytes, from, out);
        Apply(g, out, ctx);
      }
    }
  }

  // --- Outboxes -------------------------------------------------------------------------

  // Carries out a membership outbox in the order membership.h prescribes: neighbours up
  // (Plumtree starts them eager; anti-entropy may open a session), the sends, then
  // neighbours down.
  void Apply(GroupState& g, proto::MembershipOutbox& out, TimeMs now, Context<PandoMessage>& ctx) {
    // The outbox is shared scratch: anything below that fills it again must come after.
    std::vector<NodeId> opens;
    for (NodeId peer : out.neighbor_up) {
      if (!shared_->flooding) g.broadcast.OnNeighborUp(peer);
      if (shared_->sync_enabled && g.sync.OpensOnConnect(self_, peer)) opens.push_back(peer);
    }
    for (auto& send : out.sends) {
      const NodeId to = send.first;  // Named: clang 14 cannot capture a structured binding.
      std::visit([&](auto& x) { Send(ctx, to, g.group, std::move(x)); }, send.second);
    }
    for (NodeId peer : out.neighbor_down) {
      if (!shared_->flooding) g.broadcast.OnNeighborDown(peer);
      shared_->sessions.erase({self_, peer, g.group});
    }
    if (out.next_timer_at) g.membership_timer = *out.next_timer_at;
    for (NodeId peer : opens) {
      if (g.membership.IsActive(peer)) OpenSession(now, peer, g, ctx);
    }
  }
  void Apply(GroupState& g, proto::BroadcastOutbox& out, Context<PandoMessage>& ctx) {
    for (auto& send : out.sends) {
      const NodeId to = send.first;  // Named: clang 14 cannot capture a structured binding.
      std::visit([&](auto& x) { Send(ctx, to, g.group, std::move(x)); }, send.second);
    }
    if (out.next_timer_at) g.broadcast_timer = *out.next_timer_at;
  }

  // Sets the simulator's one timer to the earliest time any machine asked for, unless it is
  // already set there (every SetTimer queues an event).
  void Rearm(Context<PandoMessage>& ctx) {
    TimeMs next = kNever;
    for (const GroupState& g : groups_) {
      next = std::min({next, g.membership_timer, g.broadcast_timer, g.sync.next_at()});
    }
    if (next != armed_ && next != kNever) {
      armed_ = next;
      ctx.SetTimer(next);
    }
  }

  NodeId self_;
  TimeMs armed_ = kNever;
  std::vector<GroupState> groups_;  // groups_[0] is the catalog.
  PandoShared* shared_;
};

using PandoSim = Simulator<PandoNode, PandoMessage>;

}  // namespace pando::sim
