// Simulator<Node, Message>: a deterministic discrete-event runtime for N instances of one
// sans-IO state machine over the simulated network of network.h.
//
// The node type is the adapter between the simulator and a protocol (see SimNode below). The
// simulator calls it with the time on the node's own clock and one event, and the node acts
// only through the Context it is handed. Events at the same time run in the order they were
// scheduled, so a run is a pure function of the seed, the node code and the scenario script:
// the same seed gives the same counters, the same report text, the same everything.
//
//   sim::Simulator<MyNode, MyMessage> sim(config, 1000, [](NodeId id) { return MyNode(id); });
//   sim.StartAll();
//   sim.At(5'000, [](auto& s) { for (NodeId i = 0; i < 500; ++i) s.Crash(i); });
//   sim.RunUntil(60'000);
//   sim::Report report;
//   sim.FillReport(&report);
//
// Node callbacks must not call the Simulator (Crash, Restart, At, ...); scripted actions and
// code between runs may. Not thread-safe.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ranges>
#include <span>
#include <utility>
#include <vector>

#include "core/check.h"
#include "sim/event_queue.h"
#include "sim/network.h"
#include "sim/report.h"
#include "sim/stats.h"

namespace pando::sim {

// A message type: movable, with `size_t EncodedSize(const Message&)` found by
// argument-dependent lookup (for a std::variant, in the namespace of an alternative). The
// size counts towards bytes sent and is what upload bandwidth is charged for.
template <typename M>
concept SimMessage = std::movable<M> && requires(const M& m) {
  { EncodedSize(m) } -> std::convertible_to<uint64_t>;
};

// A node type. `now` is the node's own (skewed) clock; `from` and `peer` are node ids.
template <typename N, typename M>
concept SimNode = std::movable<N> &&
    requires(N& n, proto::TimeMs now, NodeId peer, const M& msg, Context<M>& ctx) {
  n.OnStart(now, ctx);               // The node came up: first start or restart.
  n.OnMessage(now, peer, msg, ctx);  // A message from `peer` arrived.
  n.OnTimer(now, ctx);               // The timer set with Context::SetTimer is due.
  n.OnPeerDown(now, peer, ctx);      // A message to `peer` was lost, or a connection broke.
};

// Optional for a node: the peers it holds a connection to (HyParView's active view, say).
// With it, the simulator reports a broken connection as a transport would, without waiting
// for a send over it: when a node crashes, every peer on its list that lists it too gets
// OnPeerDown after peer_down_delay_ms; when a partition separates two nodes, each one that
// lists the other does. Without it, nodes learn of failures only by sending.
template <typename N>
concept HasConnections = requires(const N& n) {
  { *std::ranges::begin(n.Connections()) } -> std::convertible_to<NodeId>;
};

// Optional for a node: starts loading the memory its next callback will read (its own heap
// state, beyond the object itself), as a cache hint. Big runs are bound by cache misses:
// each event touches a node that is, in a million, almost never still cached.
template <typename N>
concept HasPrefetch = requires(const N& n) {
  n.Prefetch();
};

enum class RestartMode {
  kKeepState,   // The node comes back as it was, as a process restarting over its store.
  kFreshState,  // The node is rebuilt by the factory, as a new machine with an empty disk.
};

template <typename Node, typename Message>
class Simulator {
  // Asserted here rather than as a requires-clause so that network.h can name the template
  // as a friend without repeating the constraints.
  static_assert(SimMessage<Message>, "Message needs EncodedSize(const Message&), found by ADL");
  static_assert(SimNode<Node, Message>, "Node lacks a callback of the SimNode concept");

 public:
  // Builds node `id` in its initial state, for the start and for kFreshState restarts.
  using Factory = std::function<Node(NodeId id)>;
  using Action = std::function<void(Simulator& sim)>;

  // Builds num_nodes nodes, all down until Start or StartAll.
  Simulator(NetworkConfig config, size_t num_nodes, Factory factory)
      : net_(std::move(config), num_nodes), factory_(std::move(factory)) {
    nodes_.reserve(num_nodes);
    for (size_t i = 0; i < num_nodes; ++i) nodes_.push_back(factory_(NodeId{i}));
  }
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  size_t num_nodes() const { return nodes_.size(); }
  TimeMs now() const { return net_.now(); }
  const SimStats& stats() const { return net_.stats(); }
  const NetworkConfig& config() const { return net_.config(); }
  // Latencies, partitions, clock skews and liveness, read or changed directly.
  Network<Message>& net() { return net_; }
  const Network<Message>& net() const { return net_; }

  Node& node(NodeId id) {
    CHECK(id < nodes_.size());
    return nodes_[id];
  }
  const Node& node(NodeId id) const {
    CHECK(id < nodes_.size());
    return nodes_[id];
  }

  // Brings a down node up at now() with its current state and calls OnStart. Nodes start in
  // id order; a scenario that wants staggered joins calls Start from At actions.
  void Start(NodeId id) {
    CHECK(id < nodes_.size() && !net_.IsUp(id));
    const uint32_t i = static_cast<uint32_t>(id);
    net_.MarkUp(i);
    Context<Message> ctx(&net_, i);
    nodes_[i].OnStart(ctx.Now(), ctx);
  }
  void StartAll() {
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if (!net_.IsUp(id)) Start(id);
    }
  }

  // Stops a node: it gets no more events, its timer is cancelled, messages to it are dropped
  // (their senders get OnPeerDown), its own messages still in flight are lost, and its
  // connections break (see HasConnections). Its state stays, for a kKeepState restart.
  // Crashing a down node does nothing.
  void Crash(NodeId id) {
    CHECK(id < nodes_.size());
    if (!net_.IsUp(id)) return;
    net_.MarkDown(static_cast<uint32_t>(id));
    if constexpr (HasConnections<Node>) {
      for (NodeId peer : nodes_[id].Connections()) {
        if (Lists(peer, id)) net_.NotifyPeerDown(static_cast<uint32_t>(peer), id);
      }
    }
  }
  // Crashes the node if it is up, then starts it again. To keep part of the state (stored
  // entries, say) and lose the rest, Crash, edit node(id), then Restart with kKeepState.
  void Restart(NodeId id, RestartMode mode) {
    Crash(id);
    if (mode == RestartMode::kFreshState) nodes_[id] = factory_(id);
    Start(id);
  }

  // Moves one node to another partition (all start in 0). Messages across partitions are
  // dropped, in flight too; connections across them break (see HasConnections).
  void SetPartition(NodeId id, uint32_t partition) {
    const uint32_t old = net_.partition(id);
    net_.SetPartition(id, partition);
    if constexpr (HasConnections<Node>) {
      for (NodeId peer : nodes_[id].Connections()) {
        if (peer >= nodes_.size() || !Cut(id, peer, old, net_.partition(peer))) continue;
        net_.NotifyPeerDown(static_cast<uint32_t>(id), static_cast<uint32_t>(peer));
        if (Lists(peer, id)) {
          net_.NotifyPeerDown(static_cast<uint32_t>(peer), static_cast<uint32_t>(id));
        }
      }
    }
  }
  // Puts every node in partition_of(node).
  void Partition(const std::function<uint32_t(NodeId)>& partition_of) {
    std::vector<uint32_t> old;
    if constexpr (HasConnections<Node>) old.resize(nodes_.size());
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if constexpr (HasConnections<Node>) old[id] = net_.partition(id);
      net_.SetPartition(id, partition_of(id));
    }
    if constexpr (HasConnections<Node>) {
      for (NodeId id = 0; id < nodes_.size(); ++id) {
        for (NodeId peer : nodes_[id].Connections()) {
          if (peer < nodes_.size() && Cut(id, peer, old[id], old[peer])) {
            net_.NotifyPeerDown(static_cast<uint32_t>(id), static_cast<uint32_t>(peer));
          }
        }
      }
    }
  }
  // Puts every node back in partition 0. Broken connections stay broken: nodes reconnect
  // by themselves.
  void Heal() { net_.Heal(); }
  void SetClockSkew(NodeId id, TimeMs skew_ms) { net_.SetClockSkew(id, skew_ms); }

  // Runs `action` at time `at` (now() if that has passed), after the events already
  // scheduled for that time.
  void At(TimeMs at, Action action) {
    uint32_t index;
    if (free_actions_.empty()) {
      index = static_cast<uint32_t>(actions_.size());
      actions_.push_back(std::move(action));
    } else {
      index = free_actions_.back();
      free_actions_.pop_back();
      actions_[index] = std::move(action);
    }
    net_.Push(std::max(at, now()), Event::Make(EventKind::kAction, 0, index));
  }

  // Calls f(node, context) for an up node at now(): how a scenario makes a node act (post an
  // entry, join a group) through the same Context its callbacks get.
  template <typename F>
  void Invoke(NodeId id, F&& f) {
    CHECK(id < nodes_.size() && net_.IsUp(id));
    Context<Message> ctx(&net_, static_cast<uint32_t>(id));
    std::forward<F>(f)(nodes_[id], ctx);
  }

  // Runs every event due at or before `limit`, then moves now() to `limit`.
  void RunUntil(TimeMs limit) {
    Run(limit);
    if (limit > now()) net_.queue_.AdvanceTo(limit);
  }
  // Runs events until none is left or the next is later than `limit`. Returns true if the
  // queue emptied; now() is then the time of the last event, otherwise `limit`.
  bool RunUntilIdle(TimeMs limit) {
    Run(limit);
    if (net_.queue_.empty()) return true;
    if (limit > now()) net_.queue_.AdvanceTo(limit);
    return false;
  }

  // Wall-clock time spent inside RunUntil and RunUntilIdle.
  double wall_seconds() const { return wall_seconds_; }

  // Simulator bookkeeping per node: what it keeps beside each Node, and the Node itself.
  static constexpr size_t kStateBytesPerNode = sizeof(NodeState);
  static constexpr size_t kBytesPerNode = sizeof(NodeState) + sizeof(Node);

  // Adds the run's configuration and counters to report->result, and its speed and memory to
  // report->environment. Scenarios add their own outcomes beside them.
  void FillReport(Report* report) const {
    report->result["nodes"] = nodes_.size();
    report->result["now_ms"] = now();
    report->result["network"] = ToJson(config());
    report->result["stats"] = ToJson(stats());
    Json& env = report->environment;
    env["wall_ms"] = static_cast<int64_t>(wall_seconds_ * 1000.0);
    env["events_per_s"] =
        wall_seconds_ > 0 ? static_cast<uint64_t>(stats().events_processed / wall_seconds_) : 0;
    env["sim_state_bytes_per_node"] = kStateBytesPerNode;
    env["node_bytes"] = sizeof(Node);
    env["sim_reserved_bytes_at_end"] = net_.ReservedBytes();
    const uint64_t rss = PeakRssBytes();
    env["peak_rss_bytes"] = rss;
    env["peak_rss_bytes_per_node"] = nodes_.empty() ? 0 : rss / nodes_.size();
  }

 private:
  void Run(TimeMs limit) {
    const auto start = std::chrono::steady_clock::now();
    TimeMs at;
    Event e;
    while (net_.queue_.PopUntil(limit, &at, &e)) {
      Prefetch();
      Dispatch(e);
    }
    wall_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // Cache hints for the events due soon, in two steps: the node object, its simulator state
  // and the message a few events ahead; then, once the object is likely loaded, what it
  // points to (see HasPrefetch).
  static constexpr size_t kPrefetchFar = 12;
  static constexpr size_t kPrefetchNear = 6;
  void Prefetch() const {
    if (const Event* far = net_.queue_.Peek(kPrefetchFar); far != nullptr && Targets(*far)) {
      __builtin_prefetch(&nodes_[far->target()]);
      net_.Prefetch(*far);
    }
    if constexpr (HasPrefetch<Node>) {
      if (const Event* near = net_.queue_.Peek(kPrefetchNear); near != nullptr && Targets(*near)) {
        nodes_[near->target()].Prefetch();
      }
    }
  }
  static bool Targets(const Event& e) { return e.kind() != EventKind::kAction; }

  // Whether node `a` lists `b` among its connections.
  bool Lists(NodeId a, NodeId b) const {
    if (a >= nodes_.size() || a == b) return false;
    for (NodeId p : nodes_[a].Connections()) {
      if (p == b) return true;
    }
    return false;
  }
  // Whether a partition change has just separated a and b, given their partitions before.
  bool Cut(NodeId a, NodeId b, uint32_t a_before, uint32_t b_before) const {
    return a != b && a_before == b_before && net_.partition(a) != net_.partition(b);
  }

  void Dispatch(Event e) {
    ++net_.stats_.events_processed;
    const uint32_t target = e.target();
    switch (e.kind()) {
      case EventKind::kMessage: {
        uint32_t from;
        std::optional<Message> msg = net_.TakeDelivery(e.arg, target, &from);
        if (!msg) return;
        Context<Message> ctx(&net_, target);
        nodes_[target].OnMessage(ctx.Now(), NodeId{from}, *msg, ctx);
        return;
      }
      case EventKind::kTimer: {
        if (!net_.TakeTimer(target)) return;
        ++net_.stats_.timers_fired;
        Context<Message> ctx(&net_, target);
        nodes_[target].OnTimer(ctx.Now(), ctx);
        return;
      }
      case EventKind::kPeerDown: {
        const std::optional<uint32_t> peer = net_.TakePeerDown(e.arg, target);
        if (!peer) return;
        Context<Message> ctx(&net_, target);
        nodes_[target].OnPeerDown(ctx.Now(), NodeId{*peer}, ctx);
        return;
      }
      case EventKind::kAction: {
        // Moved out first: the action may call At, which can grow actions_.
        Action action = std::move(actions_[e.arg]);
        actions_[e.arg] = nullptr;
        free_actions_.push_back(e.arg);
        ++net_.stats_.actions_run;
        action(*this);
        return;
      }
    }
  }

  Network<Message> net_;
  Factory factory_;
  std::vector<Node> nodes_;  // Never resized after construction, so references stay valid.
  std::vector<Action> actions_;
  std::vector<uint32_t> free_actions_;
  double wall_seconds_ = 0;
};

}  // namespace pando::sim
