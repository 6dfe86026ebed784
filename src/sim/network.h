// The simulated network: links with latency, loss and upload bandwidth, partitions, crashed
// nodes and skewed clocks, plus the Context through which a node acts on it.
//
// Network<Message> holds everything of a simulation that does not depend on the node type:
// the event queue, the per-node bookkeeping (48 bytes a node), the messages in flight and the
// counters. Simulator<Node, Message> (simulator.h) adds the nodes and runs the events.
//
// All randomness is derived from NetworkConfig::seed: link latencies and clock skews hash
// (seed, node ids), each node's Rng is seeded from (seed, node), and loss and jitter draw from
// one network Rng in event order, which is itself a function of the seed.
//
// Not thread-safe: one simulation runs on one thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/check.h"
#include "proto/types.h"
#include "sim/event_queue.h"
#include "sim/slot_pool.h"
#include "sim/stats.h"

namespace pando::sim {

using proto::NodeId;
using proto::Rng;

using proto::kNever;

struct NetworkConfig {
  uint64_t seed = 1;
  // Each link's one-way latency is drawn once per unordered pair {a, b}, uniform in
  // [latency_min_ms, latency_max_ms], by hashing (seed, a, b): the same both ways, for the
  // whole run, in every run with this seed, and without storing anything per link.
  TimeMs latency_min_ms = 20;
  TimeMs latency_max_ms = 150;
  // If set, replaces the uniform draw above (a model of regions, say). It must be a pure
  // function of its arguments and the seed, or runs stop being reproducible.
  std::function<TimeMs(NodeId a, NodeId b)> link_latency_ms;
  // Extra delay per message, uniform in [0, jitter_max_ms]. Non-zero jitter can reorder
  // messages on one link, as datagrams would; with 0, every link is FIFO, as TCP is.
  TimeMs jitter_max_ms = 0;
  // Each message is lost silently with this probability. It models loss the transport does
  // not report (a reset connection loses its unacknowledged data); protocols recover by
  // anti-entropy. Loss is drawn after the bandwidth charge: a lost message used the link.
  double loss_probability = 0.0;
  // Upload bandwidth of every node in bytes per second, 0 for unlimited. A node's uplink
  // sends one message after another, each taking EncodedSize / bandwidth; a message leaves
  // when its last byte does. Download bandwidth is not modelled.
  uint64_t upload_bytes_per_s = 0;
  // How long a sender takes to notice that a message cannot arrive (receiver crashed, or in
  // another partition), like a TCP timeout, before it gets OnPeerDown.
  TimeMs peer_down_delay_ms = 2000;
  // Each node's clock is offset by a value drawn uniform in [-max, max] from (seed, node).
  TimeMs clock_skew_max_ms = 0;
};

// What the simulator keeps per node, besides the node itself. Kept small on purpose: a
// million-node run spends 48 MB here.
struct NodeState {
  TimeMs timer_at = kNever;      // The node's pending timer, in true time.
  TimeMs timer_queued = kNever;  // The earliest timer event queued for it (see SetTimer).
  int64_t uplink_free_us = 0;    // When its uplink finishes the messages already queued.
  Rng rng{0};                    // The node's own random stream.
  uint32_t partition = 0;
  int32_t skew_ms = 0;       // Added to true time to give the node's clock.
  uint32_t start_epoch = 0;  // The fault epoch of its last start (see Network::epoch_).
  bool up = false;
};
static_assert(sizeof(NodeState) <= 48);

// Per-type counting: a std::variant message is counted per alternative, named by the
// alternative's `static constexpr std::string_view kName` where it has one.
template <typename M>
struct VariantTraits {
  static constexpr size_t kCount = 1;
  static size_t Index(const M&) { return 0; }
  static std::vector<std::string> Names() {
    if constexpr (requires { M::kName; }) return {std::string(M::kName)};
    return {"message"};
  }
};
// A message that wraps such a variant in a field `body` (beside a group tag, say) is
// counted per alternative of the body.
template <typename M>
requires requires(const M& m) { m.body.index(); }
struct VariantTraits<M> : VariantTraits<decltype(M::body)> {
  static size_t Index(const M& m) { return VariantTraits<decltype(M::body)>::Index(m.body); }
};
template <typename... T>
struct VariantTraits<std::variant<T...>> {
  static constexpr size_t kCount = sizeof...(T);
  static size_t Index(const std::variant<T...>& m) { return m.index(); }
  static std::vector<std::string> Names() {
    std::vector<std::string> names;
    (names.push_back(NameOf<T>(names.size())), ...);
    return names;
  }
  template <typename A>
  static std::string NameOf(size_t i) {
    if constexpr (requires { A::kName; }) return std::string(A::kName);
    return "type" + std::to_string(i);
  }
};

// Mixes v into hash h (SplitMix64 finalizer), for deriving independent streams from the seed.
inline uint64_t MixHash(uint64_t h, uint64_t v) {
  return Rng(h ^ (v * 0xff51afd7ed558ccdULL)).Next();
}

// A seed for a state machine's own Rng in node `id`, independent of the simulator's streams
// and of other nodes: `stream` tells apart several machines in one node.
inline uint64_t NodeSeed(uint64_t seed, NodeId id, uint64_t stream) {
  return MixHash(MixHash(MixHash(seed, 0x5eedULL), id), stream);
}

template <typename Message>
class Network;
template <typename Node, typename Message>
class Simulator;

// The handle a node gets in every callback: its only way to act. Valid during the callback.
template <typename Message>
class Context {
 public:
  NodeId self() const { return self_; }
  size_t num_nodes() const { return net_->num_nodes(); }
  // The node's own clock: true time plus its skew.
  TimeMs Now() const { return net_->now() + net_->state(self_).skew_ms; }
  // Sends msg to node `to`. The network delivers it, or drops it and, for a crashed or
  // partitioned receiver, calls the sender's OnPeerDown after NetworkConfig's delay.
  void Send(NodeId to, Message msg) { net_->Send(self_, to, std::move(msg)); }
  // Sets the node's one timer to fire at `at` on the node's own clock (at once if that has
  // passed), replacing any pending one.
  void SetTimer(TimeMs at) {
    if (at == kNever) return CancelTimer();
    net_->SetTimer(self_, at - net_->state(self_).skew_ms);
  }
  void CancelTimer() { net_->SetTimer(self_, kNever); }
  // The node's random stream, seeded from (seed, node); it survives restarts.
  Rng& rng() { return net_->state(self_).rng; }

 private:
  friend class Network<Message>;
  template <typename N, typename M>
  friend class Simulator;
  Context(Network<Message>* net, uint32_t self) : net_(net), self_(self) {}

  Network<Message>* net_;
  uint32_t self_;
};

template <typename Message>
class Network {
 public:
  Network(NetworkConfig config, size_t num_nodes)
      : config_(std::move(config)), states_(num_nodes), rng_(MixHash(config_.seed, kNetTag)) {
    CHECK(num_nodes < kMaxNodes);
    CHECK(config_.latency_min_ms >= 0 && config_.latency_min_ms <= config_.latency_max_ms);
    CHECK(config_.jitter_max_ms >= 0 && config_.peer_down_delay_ms >= 0);
    CHECK(config_.loss_probability >= 0.0 && config_.loss_probability <= 1.0);
    CHECK(config_.clock_skew_max_ms >= 0 && config_.clock_skew_max_ms < (TimeMs{1} << 30));
    // The threshold is compared with 32 random bits; the product is exact in a double.
    loss_threshold_ = static_cast<uint64_t>(config_.loss_probability * 4294967296.0);
    for (size_t i = 0; i < num_nodes; ++i) {
      NodeState& s = states_[i];
      s.rng = Rng(MixHash(MixHash(config_.seed, kNodeRngTag), i));
      if (config_.clock_skew_max_ms > 0) {
        const uint64_t span = 2 * static_cast<uint64_t>(config_.clock_skew_max_ms) + 1;
        const uint64_t draw = MixHash(MixHash(config_.seed, kSkewTag), i) % span;
        s.skew_ms = static_cast<int32_t>(static_cast<TimeMs>(draw) - config_.clock_skew_max_ms);
      }
    }
    stats_.per_type.resize(VariantTraits<Message>::kCount);
    stats_.type_names = VariantTraits<Message>::Names();
  }

  size_t num_nodes() const { return states_.size(); }
  TimeMs now() const { return queue_.now(); }
  const NetworkConfig& config() const { return config_; }
  const SimStats& stats() const { return stats_; }

  // The base one-way latency of the link between a and b (jitter comes on top).
  TimeMs LinkLatencyMs(NodeId a, NodeId b) const {
    if (config_.link_latency_ms) return config_.link_latency_ms(a, b);
    const uint64_t span = static_cast<uint64_t>(config_.latency_max_ms - config_.latency_min_ms);
    if (span == 0) return config_.latency_min_ms;
    const uint64_t h =
        MixHash(MixHash(MixHash(config_.seed, kLatencyTag), std::min(a, b)), std::max(a, b));
    return config_.latency_min_ms + static_cast<TimeMs>(h % (span + 1));
  }

  // Nodes in different partitions cannot reach each other; all start in partition 0. A
  // message in flight when its link is cut is lost. Nodes notice only when they send, as with
  // TCP: an idle connection across a new partition looks fine until it is used.
  void SetPartition(NodeId node, uint32_t partition) {
    state(node).partition = partition;
    NextEpoch();
  }
  uint32_t partition(NodeId node) const { return state(node).partition; }
  void Heal() {
    for (NodeState& s : states_) s.partition = 0;
    NextEpoch();
  }

  void SetClockSkew(NodeId node, TimeMs skew_ms) {
    CHECK(skew_ms > INT32_MIN && skew_ms < INT32_MAX);
    state(node).skew_ms = static_cast<int32_t>(skew_ms);
  }
  TimeMs clock_skew(NodeId node) const { return state(node).skew_ms; }
  bool IsUp(NodeId node) const { return state(node).up; }

  // Bytes the simulator itself holds (node bookkeeping, queue, messages in flight); the
  // nodes' own heap memory is not included.
  size_t ReservedBytes() const {
    return states_.capacity() * sizeof(NodeState) + queue_.ReservedBytes() +
           slots_.ReservedBytes() + notices_.ReservedBytes();
  }

 private:
  friend class Context<Message>;
  template <typename N, typename M>
  friend class Simulator;

  static constexpr uint64_t kLatencyTag = 1, kNodeRngTag = 2, kSkewTag = 3, kNetTag = 4;

  // A message in flight.
  struct Slot {
    Message msg;
    uint32_t from;
    uint32_t epoch;  // epoch_ at the send.
    uint32_t bytes;  // EncodedSize, computed once at the send.
  };
  // A pending OnPeerDown, dropped if the node restarts before it is due.
  struct Notice {
    uint32_t peer;
    uint32_t epoch;  // epoch_ when it was scheduled.
  };

  void NextEpoch() {
    CHECK(epoch_ < UINT32_MAX);
    ++epoch_;
  }

  NodeState& state(NodeId node) {
    DCHECK(node < states_.size());
    return states_[node];
  }
  const NodeState& state(NodeId node) const {
    DCHECK(node < states_.size());
    return states_[node];
  }

  void Push(TimeMs at, Event e) {
    queue_.Push(at, e);
    stats_.peak_queued_events = std::max<uint64_t>(stats_.peak_queued_events, queue_.size());
  }

  void Send(uint32_t from, NodeId to, Message&& msg) {
    CHECK(to < states_.size());
    const size_t type = VariantTraits<Message>::Index(msg);
    const uint64_t bytes = EncodedSize(msg);  // Found by argument-dependent lookup.
    CHECK(bytes <= UINT32_MAX);
    Count(type, &MessageStats::sent, bytes, &MessageStats::bytes_sent);
    NodeState& src = states_[from];
    NodeState& dst = states_[to];
    if (!dst.up) return DropAndNotify(type, &SimStats::dropped_receiver_down, from, to);
    if (src.partition != dst.partition) {
      return DropAndNotify(type, &SimStats::dropped_partition, from, to);
    }
    TimeMs depart = now();
    if (config_.upload_bytes_per_s != 0) {
      // Microseconds, so that a burst of small messages adds up exactly.
      const int64_t tx_us = static_cast<int64_t>(
          (bytes * 1'000'000 + config_.upload_bytes_per_s - 1) / config_.upload_bytes_per_s);
      src.uplink_free_us = std::max(src.uplink_free_us, now() * 1000) + tx_us;
      depart = (src.uplink_free_us + 999) / 1000;
    }
    if (loss_threshold_ != 0 && (rng_.Next() >> 32) < loss_threshold_) {
      return Drop(type, &SimStats::dropped_loss);
    }
    TimeMs at = depart + LinkLatencyMs(from, to);
    if (config_.jitter_max_ms > 0) {
      at += static_cast<TimeMs>(rng_.Below(static_cast<uint64_t>(config_.jitter_max_ms) + 1));
    }
    const uint32_t slot =
        AllocSlot(Slot{std::move(msg), from, epoch_, static_cast<uint32_t>(bytes)});
    Push(at, Event::Make(EventKind::kMessage, static_cast<uint32_t>(to), slot));
  }

  // Starts loading what the due event `e` will read: its target's state and its message.
  // Only a hint to the cache; it changes nothing.
  void Prefetch(const Event& e) const {
    __builtin_prefetch(&states_[e.target()]);
    if (e.kind() == EventKind::kMessage) __builtin_prefetch(&slots_[e.arg]);
  }

  // Takes the message of a due kMessage event out of its slot. Returns it if `to` should get
  // it, otherwise counts the drop (and schedules the sender's OnPeerDown) and returns nullopt.
  std::optional<Message> TakeDelivery(uint32_t slot, uint32_t to, uint32_t* from) {
    Slot& s = slots_[slot];
    std::optional<Message> msg(std::move(s.msg));
    *from = s.from;
    const uint32_t epoch = s.epoch;
    const uint64_t bytes = s.bytes;
    slots_.Free(slot);
    const size_t type = VariantTraits<Message>::Index(*msg);
    // Send checked both ends; unless a fault happened since, they are still fine, and the
    // sender's state, a likely cache miss in a big run, need not be read.
    if (epoch != epoch_) {
      const NodeState& src = states_[*from];
      const NodeState& dst = states_[to];
      if (!src.up || src.start_epoch > epoch) {
        Drop(type, &SimStats::dropped_sender_down);  // Its connections died with it.
        return std::nullopt;
      }
      if (!dst.up || dst.start_epoch > epoch) {
        DropAndNotify(type, &SimStats::dropped_receiver_down, *from, to);
        return std::nullopt;
      }
      if (src.partition != dst.partition) {
        DropAndNotify(type, &SimStats::dropped_partition, *from, to);
        return std::nullopt;
      }
    }
    Count(type, &MessageStats::delivered, bytes, &MessageStats::bytes_delivered);
    return msg;
  }

  // Timers. Every node has at most one pending timer (timer_at), but replacing it does not
  // search the queue: a timer event only says "look at this node at this time". A new event
  // is pushed only when the new time is earlier than any already queued (timer_queued);
  // otherwise the queued event, when due, pushes a new one for the later time. So a node
  // that keeps moving its timeout later, the common case, costs no extra events.
  void SetTimer(uint32_t node, TimeMs at) {
    NodeState& s = states_[node];
    if (at != kNever) at = std::max(at, now());
    s.timer_at = at;
    if (at < s.timer_queued) {
      s.timer_queued = at;
      Push(at, Event::Make(EventKind::kTimer, node, 0));
    }
  }
  // For a timer event due now: true if the node's timer fires now (and is cleared).
  bool TakeTimer(uint32_t node) {
    NodeState& s = states_[node];
    if (now() != s.timer_queued) return false;  // Superseded by an earlier event.
    s.timer_queued = kNever;
    if (s.timer_at == kNever) return false;
    if (s.timer_at > now()) {
      s.timer_queued = s.timer_at;
      Push(s.timer_at, Event::Make(EventKind::kTimer, node, 0));
      return false;
    }
    s.timer_at = kNever;
    return true;
  }

  void NotifyPeerDown(uint32_t node, uint32_t peer) {
    const NodeState& s = states_[node];
    if (!s.up) return;
    const uint32_t slot = notices_.Add(Notice{peer, epoch_});
    Push(now() + config_.peer_down_delay_ms, Event::Make(EventKind::kPeerDown, node, slot));
  }
  // For a due kPeerDown event: the peer to report, or nullopt if the node restarted since.
  std::optional<uint32_t> TakePeerDown(uint32_t slot, uint32_t node) {
    const Notice n = notices_[slot];
    notices_.Free(slot);
    const NodeState& s = states_[node];
    if (!s.up || s.start_epoch > n.epoch) return std::nullopt;
    ++stats_.peer_down_notices;
    return n.peer;
  }

  // A crashed node loses its timer, its uplink queue and its connections; messages it sent
  // that are still in flight are dropped when they arrive.
  void MarkDown(uint32_t node) {
    NodeState& s = states_[node];
    s.up = false;
    s.timer_at = kNever;
    NextEpoch();
  }
  void MarkUp(uint32_t node) {
    NodeState& s = states_[node];
    NextEpoch();
    s.up = true;
    s.start_epoch = epoch_;
    s.uplink_free_us = 0;
  }

  uint32_t AllocSlot(Slot&& s) {
    const uint32_t i = slots_.Add(std::move(s));
    stats_.peak_in_flight_messages =
        std::max<uint64_t>(stats_.peak_in_flight_messages, slots_.in_use());
    return i;
  }

  void Count(size_t type, uint64_t MessageStats::*count, uint64_t bytes,
             uint64_t MessageStats::*byte_count) {
    ++(stats_.total.*count);
    stats_.total.*byte_count += bytes;
    ++(stats_.per_type[type].*count);
    stats_.per_type[type].*byte_count += bytes;
  }
  void Drop(size_t type, uint64_t SimStats::*reason) {
    ++(stats_.*reason);
    ++stats_.total.dropped;
    ++stats_.per_type[type].dropped;
  }
  void DropAndNotify(size_t type, uint64_t SimStats::*reason, uint32_t from, NodeId to) {
    Drop(type, reason);
    NotifyPeerDown(from, static_cast<uint32_t>(to));
  }

  NetworkConfig config_;
  std::vector<NodeState> states_;
  EventQueue queue_;
  SlotPool<Slot> slots_;      // Messages in flight.
  SlotPool<Notice> notices_;  // Pending OnPeerDown calls.
  // Counts faults: starts, crashes and partition changes. A message or notice remembers the
  // epoch it was made in; one from an older epoch must check whether a fault touched it.
  uint32_t epoch_ = 0;
  Rng rng_;                      // Loss and jitter draws.
  uint64_t loss_threshold_ = 0;  // Out of 2^32.
  SimStats stats_;
};

}  // namespace pando::sim
