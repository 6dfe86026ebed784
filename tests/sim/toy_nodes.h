// Toy node types for the simulator's tests and selftest: a flooding gossip node over a fixed
// random graph, and a probe node that records everything that happens to it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sim/simulator.h"
#include "sim/stats.h"

namespace pando::sim::toy {

// --- Flooding ---------------------------------------------------------------------------------

inline constexpr int kFloodDegree = 5;
inline constexpr uint64_t kFloodMessageBytes = 64;

struct FloodMsg {
  uint32_t id;
  TimeMs sent_ms;  // Sender's clock at the send, to measure each hop.
};
inline uint64_t EncodedSize(const FloodMsg&) { return kFloodMessageBytes; }

// What all flood nodes of one run share: the origin time of each message and the outcomes.
struct FloodShared {
  std::vector<TimeMs> origin_ms;    // By message id.
  LatencyHistogram hop_latency;     // Every arrival, duplicates included.
  LatencyHistogram first_delivery;  // From origin to each node's first copy.
  std::vector<uint64_t> reached;    // By message id: nodes that got it (origin included).
  uint64_t peer_downs = 0;
};

// Up to kFloodDegree neighbours per node, the union of kFloodDegree random perfect matchings:
// a 5-regular multigraph (an odd node out of a matching has one neighbour fewer).
struct FloodGraph {
  std::vector<std::array<uint32_t, kFloodDegree>> neighbours;
  std::vector<uint8_t> degree;
};
inline FloodGraph MakeFloodGraph(size_t n, uint64_t seed) {
  FloodGraph g;
  g.neighbours.assign(n, {});
  g.degree.assign(n, 0);
  std::vector<uint32_t> perm(n);
  Rng rng(seed);
  for (int round = 0; round < kFloodDegree; ++round) {
    for (size_t i = 0; i < n; ++i) perm[i] = static_cast<uint32_t>(i);
    for (size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.Below(i)]);
    for (size_t i = 0; i + 1 < n; i += 2) {
      const uint32_t a = perm[i], b = perm[i + 1];
      g.neighbours[a][g.degree[a]++] = b;
      g.neighbours[b][g.degree[b]++] = a;
    }
  }
  return g;
}

// Forwards each message id the first time it sees it to every neighbour but the sender.
// 32 bytes: the per-node part of the memory budget this toy spends.
class FloodNode {
 public:
  FloodNode(const FloodGraph& graph, NodeId id, FloodShared* shared)
      : neighbours_(graph.neighbours[id]), degree_(graph.degree[id]), shared_(shared) {}

  void OnStart(TimeMs, Context<FloodMsg>&) {}
  void OnTimer(TimeMs, Context<FloodMsg>&) {}
  void OnPeerDown(TimeMs, NodeId, Context<FloodMsg>&) { ++shared_->peer_downs; }
  void OnMessage(TimeMs now, NodeId from, const FloodMsg& msg, Context<FloodMsg>& ctx) {
    shared_->hop_latency.Add(now - msg.sent_ms);
    if (Seen(msg.id)) return;
    MarkSeen(msg.id);
    shared_->first_delivery.Add(now - shared_->origin_ms[msg.id]);
    ++shared_->reached[msg.id];
    Forward(msg.id, from, now, ctx);
  }
  // Starts flooding message `id` from this node.
  void Originate(uint32_t id, TimeMs now, Context<FloodMsg>& ctx) {
    CHECK(id < shared_->origin_ms.size());
    shared_->origin_ms[id] = now;
    MarkSeen(id);
    ++shared_->reached[id];
    Forward(id, proto::kNoNode, now, ctx);
  }
  bool Seen(uint32_t id) const { return id < 32 && (seen_ >> id) & 1; }

 private:
  void MarkSeen(uint32_t id) {
    CHECK(id < 32);
    seen_ |= uint32_t{1} << id;
  }
  void Forward(uint32_t id, NodeId except, TimeMs now, Context<FloodMsg>& ctx) {
    for (uint8_t i = 0; i < degree_; ++i) {
      if (neighbours_[i] != except) ctx.Send(neighbours_[i], FloodMsg{id, now});
    }
  }

  std::array<uint32_t, kFloodDegree> neighbours_;
  uint8_t degree_;
  uint32_t seen_ = 0;  // Bit i: message id i seen.
  FloodShared* shared_;
};

using FloodSim = Simulator<FloodNode, FloodMsg>;

// A whole flooding run: graph, shared outcomes and simulator, with every node started.
struct FloodRun {
  FloodGraph graph;
  FloodShared shared;
  std::unique_ptr<FloodSim> sim;

  FloodRun(NetworkConfig config, size_t n) : graph(MakeFloodGraph(n, config.seed)) {
    sim = std::make_unique<FloodSim>(std::move(config), n,
                                     [this](NodeId id) { return FloodNode(graph, id, &shared); });
    sim->StartAll();
  }
  FloodRun(const FloodRun&) = delete;
  FloodRun& operator=(const FloodRun&) = delete;

  // Schedules message ids 0..messages-1, one every interval_ms from time 0, each from its own
  // pseudo-random origin.
  void Originate(int messages, TimeMs interval_ms = 100) {
    shared.origin_ms.assign(messages, 0);
    shared.reached.assign(messages, 0);
    for (int m = 0; m < messages; ++m) {
      const NodeId origin = (static_cast<NodeId>(m) * 7919 + 1) % sim->num_nodes();
      sim->At(m * interval_ms, [origin, m](FloodSim& s) {
        if (!s.net().IsUp(origin)) return;
        s.Invoke(origin, [&](FloodNode& node, Context<FloodMsg>& ctx) {
          node.Originate(static_cast<uint32_t>(m), ctx.Now(), ctx);
        });
      });
    }
  }
};

// --- Probe: records every callback ------------------------------------------------------------

struct Ping {
  static constexpr std::string_view kName = "ping";
  uint32_t seq;
};
struct Pong {
  static constexpr std::string_view kName = "pong";
  uint32_t seq;
};
struct Blob {  // No kName: reported as "type2".
  uint32_t seq;
  uint32_t size;
};
using ProbeMsg = std::variant<Ping, Pong, Blob>;
inline uint64_t EncodedSize(const Ping&) { return 16; }
inline uint64_t EncodedSize(const Pong&) { return 16; }
inline uint64_t EncodedSize(const Blob& b) { return b.size; }
// Found by ADL through the alternatives' namespace.
inline uint64_t EncodedSize(const ProbeMsg& m) {
  return std::visit([](const auto& x) { return EncodedSize(x); }, m);
}

enum class What { kStart, kMessage, kTimer, kPeerDown };
struct Happened {
  What what;
  TimeMs local_ms;  // The node's clock, as handed to the callback.
  NodeId peer = proto::kNoNode;
  uint32_t seq = 0;
  size_t type = 0;  // Variant index for messages.
};

// Answers every Ping with a Pong, logs everything, and fires a timer `timer_after_ms` after
// each start (none if negative). `generation` counts starts, so tests can tell a kept state
// (it grows) from a fresh one (it is 1 again).
class ProbeNode {
 public:
  explicit ProbeNode(TimeMs timer_after_ms = -1) : timer_after_ms_(timer_after_ms) {}

  void OnStart(TimeMs now, Context<ProbeMsg>& ctx) {
    ++generation;
    log.push_back({What::kStart, now});
    if (timer_after_ms_ >= 0) ctx.SetTimer(now + timer_after_ms_);
  }
  void OnMessage(TimeMs now, NodeId from, const ProbeMsg& msg, Context<ProbeMsg>& ctx) {
    const uint32_t seq = std::visit([](const auto& x) { return x.seq; }, msg);
    log.push_back({What::kMessage, now, from, seq, msg.index()});
    if (const Ping* p = std::get_if<Ping>(&msg)) ctx.Send(from, Pong{p->seq});
  }
  void OnTimer(TimeMs now, Context<ProbeMsg>&) { log.push_back({What::kTimer, now}); }
  void OnPeerDown(TimeMs now, NodeId peer, Context<ProbeMsg>&) {
    log.push_back({What::kPeerDown, now, peer});
  }

  std::vector<Happened> Of(What what) const {
    std::vector<Happened> out;
    for (const Happened& h : log) {
      if (h.what == what) out.push_back(h);
    }
    return out;
  }

  // Tests fill this in to stand for open connections (see HasConnections).
  std::span<const NodeId> Connections() const { return connections; }

  std::vector<Happened> log;
  std::vector<NodeId> connections;
  int generation = 0;

 private:
  TimeMs timer_after_ms_;
};

}  // namespace pando::sim::toy
