// PandoNode: the simulator's adapter for one Pando node in one group, running the real
// HyParView membership (proto/membership.h) and Plumtree broadcast (proto/broadcast.h) state
// machines behind one message type, or, in flooding mode, the same membership with a
// Usenet-style broadcast (forward every new entry to every active neighbour) as the baseline.
//
// Entries are synthetic: entry k has an id whose first 8 bytes are k (little-endian) and a
// payload of PandoShared::payload_bytes, which only counts towards message sizes. What a
// node holds is one bit per entry in a bitset arena shared by all nodes (PandoShared::have),
// so a node costs its two machines plus entries/8 bytes, and outcomes (deliveries, delays,
// copies) are aggregated in PandoShared as they happen rather than kept per node and entry.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/check.h"
#include "proto/broadcast.h"
#include "proto/membership.h"
#include "proto/types.h"
#include "sim/network.h"
#include "sim/simulator.h"
#include "sim/stats.h"

namespace pando::sim {

// One flat variant rather than a variant of the two protocols' variants, so that the
// simulator counts every message type on its own (SimStats::per_type).
using PandoMessage =
    std::variant<proto::Join, proto::ForwardJoin, proto::Disconnect, proto::Neighbor,
                 proto::NeighborReply, proto::Shuffle, proto::ShuffleReply, proto::Gossip,
                 proto::IHave, proto::Graft, proto::Prune>;
// Index of the first broadcast alternative: below it, membership messages.
inline constexpr size_t kFirstBroadcastIndex = 7;
inline constexpr size_t kGossipIndex = 7;
// Names of the alternatives, in order, for reports (the proto types carry no kName).
inline constexpr const char* kPandoMessageNames[] = {
    "join",          "forward_join", "disconnect", "neighbor", "neighbor_reply", "shuffle",
    "shuffle_reply", "gossip",       "ihave",      "graft",    "prune"};
static_assert(std::size(kPandoMessageNames) == std::variant_size_v<PandoMessage>);

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

// The contact node `id` joins through: a pseudo-random earlier node, drawn from the seed so
// that no per-node field is needed. Node 0 starts the overlay.
inline NodeId JoinContact(uint64_t seed, NodeId id) {
  return id == 0 ? proto::kNoNode : MixHash(MixHash(seed, 0xc0417ac7ULL), id) % id;
}

// What all nodes of one run share: configuration, the have-bits of every node, and the
// aggregated outcomes. Not thread-safe, like the simulator.
struct PandoShared {
  PandoShared(uint64_t seed_in, size_t nodes, uint64_t entries_in, bool flooding_in)
      : seed(seed_in),
        entries(entries_in),
        words_per_node((entries_in + 63) / 64),
        flooding(flooding_in),
        have(nodes * words_per_node, 0),
        posted_ms(entries_in, kNever) {}

  uint64_t seed;
  uint64_t entries;
  size_t words_per_node;
  bool flooding;
  uint32_t payload_bytes = 200;
  proto::MembershipConfig membership;
  proto::BroadcastConfig broadcast;

  // Bit k of node n's words: n holds entry k. One arena instead of a vector per node saves
  // the heap block header and pointer (40 bytes a node) and a million small allocations.
  // Being outside the node, the bits survive a kFreshState restart; a scenario with fresh
  // restarts (a new disk) clears the node's words itself.
  std::vector<uint64_t> have;
  std::vector<TimeMs> posted_ms;  // By entry: when it was posted (its origin's clock).

  uint64_t deliveries = 0;      // (node, entry) pairs that hold the entry, origins included.
  LatencyHistogram delay;       // Post to first delivery, origins left out.
  TimeMs last_delivery_ms = 0;  // When the latest first delivery happened.
  uint64_t payload_copies = 0;  // GOSSIP messages received, duplicates included.

  // Scratch outboxes, reused by every node so that no node carries their vectors.
  proto::MembershipOutbox membership_out;
  proto::BroadcastOutbox broadcast_out;

  bool Has(NodeId node, uint64_t k) const {
    return (have[node * words_per_node + k / 64] >> (k % 64)) & 1;
  }
  void Set(NodeId node, uint64_t k) {
    have[node * words_per_node + k / 64] |= uint64_t{1} << (k % 64);
  }
};

class PandoNode {
 public:
  PandoNode(NodeId id, PandoShared* shared)
      : membership_(id, shared->membership, NodeSeed(shared->seed, id, /*stream=*/1)),
        broadcast_(shared->broadcast),
        shared_(shared) {}

  void OnStart(TimeMs now, Context<PandoMessage>& ctx) {
    proto::MembershipOutbox& out = Scratch();
    membership_.Start(now, JoinContact(shared_->seed, self()), out);
    Apply(out, ctx);
  }

  void OnMessage(TimeMs now, NodeId from, const PandoMessage& m, Context<PandoMessage>& ctx) {
    if (m.index() < kFirstBroadcastIndex) {
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
          m);
      proto::MembershipOutbox& out = Scratch();
      membership_.OnMessage(now, from, mm, out);
      return Apply(out, ctx);
    }
    if (const auto* g = std::get_if<proto::Gossip>(&m)) return OnGossip(now, from, *g, ctx);
    // IHAVE, GRAFT and PRUNE only occur in Plumtree mode.
    proto::BroadcastOutbox& out = BroadcastScratch();
    if (const auto* ihave = std::get_if<proto::IHave>(&m)) {
      broadcast_.OnIHave(now, from, *ihave, Has(ihave->id), out);
    } else if (const auto* graft = std::get_if<proto::Graft>(&m)) {
      broadcast_.OnGraft(now, from, *graft, Has(graft->id), shared_->payload_bytes, out);
    } else {
      broadcast_.OnPrune(from);
    }
    Apply(out, ctx);
  }

  void OnTimer(TimeMs now, Context<PandoMessage>& ctx) {
    // The simulator's one timer stands for both machines': call each one that is due (both
    // accept early calls), then set the timer again to the earlier of their next times.
    if (now >= membership_timer_) {
      membership_timer_ = kNever;
      proto::MembershipOutbox& out = Scratch();
      membership_.OnTimer(now, out);
      Apply(out, ctx, /*rearm=*/false);
    }
    if (now >= broadcast_timer_) {
      broadcast_timer_ = kNever;
      proto::BroadcastOutbox& out = BroadcastScratch();
      broadcast_.OnTimer(now, out);
      Apply(out, ctx, /*rearm=*/false);
    }
    ctx.SetTimer(std::min(membership_timer_, broadcast_timer_));
  }

  void OnPeerDown(TimeMs now, NodeId peer, Context<PandoMessage>& ctx) {
    proto::MembershipOutbox& out = Scratch();
    membership_.OnPeerDown(now, peer, out);
    Apply(out, ctx);
  }

  // The HyParView active view: the connections the simulator breaks when a node crashes.
  std::span<const NodeId> Connections() const { return membership_.active(); }

  // Posts synthetic entry k from this node: stores it and pushes it.
  void Post(TimeMs now, uint64_t k, Context<PandoMessage>& ctx) {
    CHECK(k < shared_->entries && !shared_->Has(self(), k));
    shared_->posted_ms[k] = now;
    shared_->Set(self(), k);
    ++shared_->deliveries;
    const Hash32 id = SyntheticEntryId(k);
    if (shared_->flooding)
      return Flood(proto::Gossip{id, 1, shared_->payload_bytes}, kNoNodeId, ctx);
    proto::BroadcastOutbox& out = BroadcastScratch();
    broadcast_.Post(now, id, shared_->payload_bytes, out);
    Apply(out, ctx);
  }

  NodeId self() const { return membership_.self(); }
  const proto::Membership& membership() const { return membership_; }
  const proto::Broadcast& broadcast() const { return broadcast_; }

 private:
  static constexpr NodeId kNoNodeId = proto::kNoNode;

  proto::MembershipOutbox& Scratch() {
    shared_->membership_out.Clear();
    return shared_->membership_out;
  }
  proto::BroadcastOutbox& BroadcastScratch() {
    shared_->broadcast_out.Clear();
    return shared_->broadcast_out;
  }

  bool Has(const Hash32& id) const {
    const uint64_t k = SyntheticEntryIndex(id);
    return k < shared_->entries && shared_->Has(self(), k);
  }

  void OnGossip(TimeMs now, NodeId from, const proto::Gossip& g, Context<PandoMessage>& ctx) {
    ++shared_->payload_copies;
    const uint64_t k = SyntheticEntryIndex(g.id);
    CHECK(k < shared_->entries);
    const bool is_new = !shared_->Has(self(), k);
    if (is_new) {
      shared_->Set(self(), k);
      ++shared_->deliveries;
      shared_->delay.Add(now - shared_->posted_ms[k]);
      shared_->last_delivery_ms = std::max(shared_->last_delivery_ms, now);
    }
    if (shared_->flooding) {
      // The baseline: every new entry to every neighbour but the sender; never prune.
      if (!is_new) return;
      const uint16_t hops = g.hops == UINT16_MAX ? g.hops : static_cast<uint16_t>(g.hops + 1);
      return Flood(proto::Gossip{g.id, hops, g.payload_bytes}, from, ctx);
    }
    proto::BroadcastOutbox& out = BroadcastScratch();
    broadcast_.OnGossip(now, from, g, is_new, out);
    Apply(out, ctx);
  }

  void Flood(const proto::Gossip& g, NodeId except, Context<PandoMessage>& ctx) {
    for (NodeId peer : membership_.active()) {
      if (peer != except) ctx.Send(peer, g);
    }
  }

  // Carries out a membership outbox in the order membership.h prescribes: neighbours up
  // (Plumtree starts them eager), the sends, then neighbours down.
  void Apply(proto::MembershipOutbox& out, Context<PandoMessage>& ctx, bool rearm = true) {
    if (!shared_->flooding) {
      for (NodeId peer : out.neighbor_up) broadcast_.OnNeighborUp(peer);
    }
    for (auto& [to, message] : out.sends) {
      std::visit([&](auto& x) { ctx.Send(to, PandoMessage(std::move(x))); }, message);
    }
    if (!shared_->flooding) {
      for (NodeId peer : out.neighbor_down) broadcast_.OnNeighborDown(peer);
    }
    if (out.next_timer_at) {
      membership_timer_ = *out.next_timer_at;
      if (rearm) ctx.SetTimer(std::min(membership_timer_, broadcast_timer_));
    }
  }
  void Apply(proto::BroadcastOutbox& out, Context<PandoMessage>& ctx, bool rearm = true) {
    for (auto& [to, message] : out.sends) {
      std::visit([&](auto& x) { ctx.Send(to, PandoMessage(std::move(x))); }, message);
    }
    if (out.next_timer_at) {
      broadcast_timer_ = *out.next_timer_at;
      if (rearm) ctx.SetTimer(std::min(membership_timer_, broadcast_timer_));
    }
  }

  proto::Membership membership_;
  proto::Broadcast broadcast_;
  TimeMs membership_timer_ = kNever;  // As each machine last asked (next_timer_at).
  TimeMs broadcast_timer_ = kNever;
  PandoShared* shared_;
};

using PandoSim = Simulator<PandoNode, PandoMessage>;

}  // namespace pando::sim

namespace pando::proto {

// Found by argument-dependent lookup through the alternatives' namespace (src/sim/README.md).
inline uint64_t EncodedSize(const sim::PandoMessage& m) {
  return std::visit(
      [](const auto& x) -> uint64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_constructible_v<MembershipMessage, const T&> &&
                      !std::is_constructible_v<BroadcastMessage, const T&>) {
          return EncodedSize(MembershipMessage(x));
        } else {
          return EncodedSize(BroadcastMessage(x));
        }
      },
      m);
}

}  // namespace pando::proto
