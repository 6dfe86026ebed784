#include "proto/membership.h"

#include <algorithm>
#include <limits>
#include <variant>

namespace pando::proto {
Membership::Membership(NodeId self, const MembershipConfig& config, uint64_t seed)
    : self_(self),
      config_(config),
      rng_(seed),
      shuffle_at_ms_(kNever),
      repair_at_ms_(kNever),
      timer_at_ms_(kNever) {
  CHECK(self != kNoNode);
  CHECK(config.active_max >= 1 && config.active_max <= kActiveCapacity);
  CHECK(config.active_min >= 1 && config.active_min <= config.active_max);
  CHECK(config.passive_max >= 1 && config.passive_max <= kPassiveCapacity);
  CHECK(config.prwl <= config.arwl);
  CHECK(size_t{config.shuffle_active} + config.shuffle_passive <= kShuffleCapacity);
  CHECK(config.shuffle_ttl >= 1);
  CHECK(config.shuffle_interval_ms > 0 && config.neighbor_retry_ms > 0);
  CHECK(config.reconnect_interval_ms >= 0);
}

void Membership::Start(TimeMs now, NodeId contact, MembershipOutbox& out) {
  // A random first phase keeps nodes started together from shuffling in lockstep.
  shuffle_at_ms_ =
      now + 1 + static_cast<TimeMs>(rng_.Below(static_cast<uint64_t>(config_.shuffle_interval_ms)));
  repair_at_ms_ = now;  // The first repair may go out as soon as there is a candidate.
  if (contact != kNoNode && contact != self_) {
    contact_ = contact;
    SendJoin(now, out);
  }
  Finish(now, out);
}

void Membership::JoinThrough(TimeMs now, NodeId contact, MembershipOutbox& out) {
  if (contact == self_ || contact == kNoNode || active_.Contains(contact)) return;
  contact_ = contact;
  SendJoin(now, out);
  Finish(now, out);
}

void Membership::Forget(TimeMs now, NodeId peer, MembershipOutbox& out) {
  if (peer == self_ || peer == kNoNode) return;
  if (peer == contact_) contact_ = kNoNode;
  if (peer == pending_neighbor_) pending_neighbor_ = kNoNode;
  if (peer == probing_) probing_ = kNoNode;
  ForgetLost(peer);
  passive_.Erase(peer);
  if (active_.Erase(peer)) out.neighbor_down.push_back(peer);
  Repair(now, out);
  Finish(now, out);
}

void Membership::OnMessage(TimeMs now, NodeId from, const MembershipMessage& message,
                           MembershipOutbox& out) {
  // A node never talks to itself; such a message is a runtime bug or a forgery, and acting
  // on it would put self into a view.
  if (from == self_ || from == kNoNode) return;
  std::visit([&](const auto& m) { Handle(now, from, m, out); }, message);
  Finish(now, out);
}

void Membership::OnPeerDown(TimeMs now, NodeId peer, MembershipOutbox& out) {
  if (peer == self_ || peer == kNoNode) return;
  // A failed peer leaves both views: unlike a DISCONNECT, it is not worth keeping as a
  // repair candidate.
  if (peer == pending_neighbor_) pending_neighbor_ = kNoNode;
  if (peer == probing_) probing_ = kNoNode;  // Still unreachable; it stays listed.
  passive_.Erase(peer);
  if (active_.Erase(peer)) {
    out.neighbor_down.push_back(peer);
    RememberLost(now, peer);
  }
  Repair(now, out);
  Finish(now, out);
}

void Membership::OnTimer(TimeMs now, MembershipOutbox& out) {
  timer_at_ms_ = kNever;  // The runtime's timer has fired; Finish sets the next one.
  if (now >= shuffle_at_ms_) {
    shuffle_at_ms_ = now + config_.shuffle_interval_ms;
    StartShuffle(out);
    ReplacePoor(now, out);
  }
  if (now >= repair_at_ms_) {
    if (pending_neighbor_ != kNoNode) {
      // No answer within neighbor_retry_ms: the transport would usually have reported a
      // failure by now, so the peer is most likely gone. Forget it and ask another.
      passive_.Erase(pending_neighbor_);
      pending_neighbor_ = kNoNode;
    }
    Repair(now, out);
  }
  if (now >= reconnect_at_ms_) Probe(now, out);
  Finish(now, out);
}

void Membership::CheckInvariants() const {
  CHECK(active_.size() <= config_.active_max);
  CHECK(passive_.size() <= config_.passive_max);
  for (size_t i = 0; i < active_.size(); ++i) {
    CHECK(active_[i] != self_ && active_[i] != kNoNode);
    CHECK(!passive_.Contains(active_[i]));
    for (size_t j = i + 1; j < active_.size(); ++j) CHECK(active_[i] != active_[j]);
  }
  for (uint8_t i = 0; i < lost_count_; ++i) {
    CHECK(lost_[i] != self_ && lost_[i] != kNoNode && !active_.Contains(lost_[i]));
  }
  CHECK((lost_count_ == 0) == (reconnect_at_ms_ == kNever));
  for (size_t i = 0; i < passive_.size(); ++i) {
    CHECK(passive_[i] != self_ && passive_[i] != kNoNode);
    for (size_t j = i + 1; j < passive_.size(); ++j) CHECK(passive_[i] != passive_[j]);
  }
}

// --- Message handlers -----------------------------------------------------------------------

// The contact always takes a newcomer in, then announces it with one walk per other
// neighbour; the walks end at the nodes that will become its first neighbours.
void Membership::Handle(TimeMs, NodeId from, const Join&, MembershipOutbox& out) {
  AddActive(from, out);
  for (NodeId peer : active_.ids()) {
    if (peer != from) out.sends.emplace_back(peer, ForwardJoin{from, config_.arwl});
  }
}

void Membership::Handle(TimeMs, NodeId from, const ForwardJoin& m, MembershipOutbox& out) {
  if (m.new_node == self_ || m.new_node == kNoNode) return;
  // A hostile or misconfigured peer must not make walks longer than ours.
  uint8_t ttl = std::min(m.ttl, config_.arwl);
  // The paper ends the walk when the hops run out or when the sender is our only neighbour.
  if (ttl == 0 || active_.size() <= 1) return ConnectTo(m.new_node, out);
  if (ttl == config_.prwl) AddPassive(m.new_node);
  NodeId next = RandomActiveExcept(from, m.new_node);
  if (next == kNoNode) return ConnectTo(m.new_node, out);
  out.sends.emplace_back(next, ForwardJoin{m.new_node, static_cast<uint8_t>(ttl - 1)});
}

// The peer dropped us to make room for another; it stays a good repair candidate.
void Membership::Handle(TimeMs now, NodeId from, const Disconnect&, MembershipOutbox& out) {
  if (!active_.Erase(from)) return;
  out.neighbor_down.push_back(from);
  AddPassive(from);
  Repair(now, out);
}

// Low priority takes a free slot only; high priority comes from a node with fewer than
// active_min neighbours (or ends a join walk) and must be taken, at the cost of dropping
// someone, or that node could be cut off.
void Membership::Handle(TimeMs, NodeId from, const Neighbor& m, MembershipOutbox& out) {
  bool accept = m.high_priority || active_.Contains(from) || active_.size() < config_.active_max;
  if (accept) AddActive(from, out);
  out.sends.emplace_back(from, NeighborReply{accept});
}

void Membership::Handle(TimeMs now, NodeId from, const NeighborReply& m, MembershipOutbox& out) {
  if (from == probing_) {
    // A lost peer answered: it is reachable again. Take the free slot it offers, or insist
    // with high priority: one link is what joins two halves of a healed partition.
    probing_ = kNoNode;
    ForgetLost(from);
    if (m.accepted) {
      AddActive(from, out);
    } else {
      ConnectTo(from, out);
    }
    return;
  }
  bool expected = from == pending_neighbor_;
  if (expected) pending_neighbor_ = kNoNode;
  // After a rejection the next attempt waits for the repair tick rather than going out at
  // once: the peer was full, and so are most others in a settled overlay.
  if (!m.accepted) return;
  if (expected) {
    AddActive(from, out);
    Repair(now, out);  // Keep filling while slots remain.
    return;
  }
  // An acceptance we no longer wait for: the request timed out, or the peer became our
  // neighbour by another path and was dropped again since. The peer now holds us in its
  // active view; unless we hold it too, undo that so the views stay symmetric.
  if (!active_.Contains(from)) out.sends.emplace_back(from, Disconnect{});
}

void Membership::Handle(TimeMs, NodeId from, const Shuffle& m, MembershipOutbox& out) {
  if (m.origin == self_ || m.origin == kNoNode) return;  // Our own walk came back.
  uint8_t ttl = std::min(m.ttl, config_.shuffle_ttl);
  if (ttl > 1) {
    NodeId next = RandomActiveExcept(from, m.origin);
    if (next != kNoNode) {
      out.sends.emplace_back(next, Shuffle{m.origin, static_cast<uint8_t>(ttl - 1), m.nodes});
      return;
    }
  }
  AcceptShuffle(m, out);
}

void Membership::Handle(TimeMs, NodeId, const ShuffleReply& m, MembershipOutbox&) {
  Integrate(m.nodes, shuffle_sent_.ids());
  shuffle_sent_.Clear();
}

// --- View changes ---------------------------------------------------------------------------

void Membership::SendJoin(TimeMs now, MembershipOutbox& out) {
  // Sending JOIN opens the connection to the contact, which always accepts it, so the
  // contact is a neighbour from now on; if it is unreachable, OnPeerDown undoes this. An
  // unreachable contact is retried at the repair pace, not as fast as it fails.
  repair_at_ms_ = now + config_.neighbor_retry_ms;
  AddActive(contact_, out);
  out.sends.emplace_back(contact_, Join{});
}

// Ends a join walk here: the newcomer becomes our neighbour and must take us as one.
void Membership::ConnectTo(NodeId node, MembershipOutbox& out) {
  if (active_.Contains(node)) return;
  AddActive(node, out);
  out.sends.emplace_back(node, Neighbor{.high_priority = true});
}

void Membership::AddActive(NodeId node, MembershipOutbox& out) {
  DCHECK(node != self_ && node != kNoNode);
  if (active_.Contains(node)) return;
  if (node == pending_neighbor_) pending_neighbor_ = kNoNode;  // Answered by other means.
  ForgetLost(node);
  passive_.Erase(node);
  const uint64_t range =
      preference_ != nullptr && config_.range_active_max > 0 ? preference_->RangeOf(node) : 0;
  if (range != 0 && InRange(active_, range) >= config_.range_active_max) {
    DropOneActive(out, range);  // Its own range makes room.
  } else if (active_.size() >= config_.active_max) {
    DropOneActive(out);
  }
  active_.Insert(node);
  out.neighbor_up.push_back(node);
}

// With a preference, the worst neighbour makes room (the first of the worst from a random
// start): peers that serve the node well keep their slots when others push in (a JOIN, a
// high-priority NEIGHBOR), so a crowd of newcomers cannot eclipse the node.
void Membership::DropOneActive(MembershipOutbox& out, uint64_t range) {
  const size_t start = rng_.Below(active_.size());
  NodeId victim = kNoNode;
  for (size_t i = 0; i < active_.size(); ++i) {
    const NodeId peer = active_[(start + i) % active_.size()];
    if (range != 0 && preference_->RangeOf(peer) != range) continue;
    if (victim == kNoNode ||
        (preference_ != nullptr && peer != victim && preference_->Better(peer, victim) == victim)) {
      victim = peer;
    }
  }
  DCHECK(victim != kNoNode);
  active_.Erase(victim);
  out.sends.emplace_back(victim, Disconnect{});
  out.neighbor_down.push_back(victim);
  AddPassive(victim);
}

// The worst neighbour the preference calls poor leaves for a passive peer: a neighbour
// that takes and never serves (a hoarder breaking its promises) is otherwise kept as long
// as nobody pushes in, and a node surrounded by such neighbours would starve. One per
// shuffle interval, and only with a passive peer to ask, so the view never drains; the
// poor one is not kept as a repair candidate.
void Membership::ReplacePoor(TimeMs now, MembershipOutbox& out) {
  if (preference_ == nullptr || passive_.empty() || pending_neighbor_ != kNoNode) return;
  NodeId victim = kNoNode;
  for (NodeId peer : active_.ids()) {
    if (!preference_->Poor(peer)) continue;
    if (victim == kNoNode || preference_->Better(peer, victim) == victim) victim = peer;
  }
  if (victim == kNoNode) return;
  active_.Erase(victim);
  out.sends.emplace_back(victim, Disconnect{});
  out.neighbor_down.push_back(victim);
  repair_at_ms_ = now;
  Repair(now, out);
}

template <size_t N>
size_t Membership::InRange(const NodeSet<N>& set, uint64_t range) const {
  if (range == 0) return 0;
  size_t n = 0;
  for (NodeId id : set.ids()) n += preference_->RangeOf(id) == range ? 1 : 0;
  return n;
}

bool Membership::PassiveRangeHasRoom(NodeId node) const {
  if (preference_ == nullptr || config_.range_passive_max == 0) return true;
  return InRange(passive_, preference_->RangeOf(node)) < config_.range_passive_max;
}

void Membership::AddPassive(NodeId node) {
  if (node == self_ || node == kNoNode || active_.Contains(node) || passive_.Contains(node) ||
      !PassiveRangeHasRoom(node)) {
    return;
  }
  if (passive_.size() >= config_.passive_max) EvictPassive({});
  passive_.Insert(node);
}

// Makes room for one passive entry, preferring those in evict_first: the entries we just
// gave away in a shuffle live on at the other node, so the overlay loses nothing.
void Membership::EvictPassive(std::span<const NodeId> evict_first) {
  for (NodeId node : evict_first) {
    if (passive_.Erase(node)) return;
  }
  passive_.Erase(passive_[rng_.Below(passive_.size())]);
}

void Membership::Integrate(std::span<const NodeId> incoming, std::span<const NodeId> evict_first) {
  // An honest peer sends at most what our own shuffle sends; more from a hostile one would
  // only flush our passive view.
  size_t limit = 1 + size_t{config_.shuffle_active} + config_.shuffle_passive;
  for (NodeId node : incoming.first(std::min(incoming.size(), limit))) {
    if (node == self_ || node == kNoNode || active_.Contains(node) || passive_.Contains(node) ||
        !PassiveRangeHasRoom(node)) {
      continue;
    }
    if (passive_.size() >= config_.passive_max) EvictPassive(evict_first);
    passive_.Insert(node);
  }
}

// Asks one random passive peer at a time to become a neighbour while the active view has
// room, with high priority (which a full peer must grant) while fewer than active_min
// neighbours serve: poor ones (PeerPreference::Poor, hoarders) do not count, so a node
// surrounded by them is not left asking full honest peers at low priority forever. With
// no passive peer and no neighbour at all, the node joins again through its contact, so a
// node whose whole neighbourhood failed is not stranded.
void Membership::Repair(TimeMs now, MembershipOutbox& out) {
  if (pending_neighbor_ != kNoNode || active_.size() >= config_.active_max) return;
  if (!passive_.empty()) {
    pending_neighbor_ = passive_[rng_.Below(passive_.size())];
    if (preference_ != nullptr && passive_.size() > 1) {
      pending_neighbor_ =
          preference_->Better(pending_neighbor_, passive_[rng_.Below(passive_.size())]);
    }
    repair_at_ms_ = now + config_.neighbor_retry_ms;
    size_t serving = active_.size();
    if (preference_ != nullptr) {
      for (NodeId peer : active_.ids()) serving -= preference_->Poor(peer) ? 1 : 0;
    }
    out.sends.emplace_back(pending_neighbor_,
                           Neighbor{.high_priority = serving < config_.active_min});
  } else if (active_.empty() && contact_ != kNoNode && now >= repair_at_ms_) {
    SendJoin(now, out);
  }
}

// --- Reconnection after failures ------------------------------------------------------------

void Membership::RememberLost(TimeMs now, NodeId peer) {
  if (config_.reconnect_interval_ms == 0) return;
  ForgetLost(peer);
  if (lost_count_ == kLostCapacity) {
    std::rotate(lost_.begin(), lost_.begin() + 1, lost_.end());  // Drop the oldest.
    --lost_count_;
  }
  lost_[lost_count_++] = peer;
  if (reconnect_at_ms_ == kNever) reconnect_at_ms_ = now + config_.reconnect_interval_ms;
}

void Membership::ForgetLost(NodeId peer) {
  auto end = std::remove(lost_.begin(), lost_.begin() + lost_count_, peer);
  lost_count_ = static_cast<uint8_t>(end - lost_.begin());
  if (lost_count_ == 0) reconnect_at_ms_ = kNever;
}

// Probes the oldest lost peer and moves it to the back of the list. A probe still
// unanswered when the next one is due is given up (the transport reports most failures
// sooner, through OnPeerDown).
void Membership::Probe(TimeMs now, MembershipOutbox& out) {
  reconnect_at_ms_ = kNever;
  probing_ = kNoNode;
  if (lost_count_ == 0) return;
  const NodeId peer = lost_[0];
  std::rotate(lost_.begin(), lost_.begin() + 1, lost_.begin() + lost_count_);
  reconnect_at_ms_ = now + config_.reconnect_interval_ms;
  if (active_.Contains(peer)) return ForgetLost(peer);
  probing_ = peer;
  out.sends.emplace_back(peer, Neighbor{.high_priority = false});
}

// --- Shuffle --------------------------------------------------------------------------------

void Membership::StartShuffle(MembershipOutbox& out) {
  if (active_.empty()) return;
  NodeId target = active_[rng_.Below(active_.size())];
  Shuffle shuffle{self_, config_.shuffle_ttl, {self_}};
  AppendSample(active_, config_.shuffle_active, target, shuffle.nodes);
  AppendSample(passive_, config_.shuffle_passive, kNoNode, shuffle.nodes);
  shuffle_sent_.Clear();
  for (size_t i = 1; i < shuffle.nodes.size(); ++i) shuffle_sent_.Insert(shuffle.nodes[i]);
  out.sends.emplace_back(target, std::move(shuffle));
}

// The walk ends here: answer the origin directly with as many passive entries as it sent,
// then keep what it sent, making room first with the entries we gave back.
void Membership::AcceptShuffle(const Shuffle& m, MembershipOutbox& out) {
  ShuffleReply reply;
  AppendSample(passive_, m.nodes.size(), m.origin, reply.nodes);
  Integrate(m.nodes, reply.nodes);
  out.sends.emplace_back(m.origin, std::move(reply));
}

// --- Helpers --------------------------------------------------------------------------------

NodeId Membership::RandomActiveExcept(NodeId a, NodeId b) {
  std::array<NodeId, kActiveCapacity> candidates;
  size_t count = 0;
  for (NodeId peer : active_.ids()) {
    if (peer != a && peer != b) candidates[count++] = peer;
  }
  return count == 0 ? kNoNode : candidates[rng_.Below(count)];
}

// Appends up to count distinct random members of set other than except (a partial
// Fisher-Yates shuffle of a copy, so the set's own order is untouched).
template <size_t N>
void Membership::AppendSample(const NodeSet<N>& set, size_t count, NodeId except,
                              std::vector<NodeId>& out) {
  std::array<NodeId, N> pool;
  size_t size = 0;
  for (NodeId node : set.ids()) {
    if (node != except) pool[size++] = node;
  }
  for (size_t i = 0; i < count && i < size; ++i) {
    size_t j = i + rng_.Below(size - i);
    std::swap(pool[i], pool[j]);
    out.push_back(pool[i]);
  }
}

// --- Timer ----------------------------------------------------------------------------------

// The repair tick runs only while there is something to retry, so a settled node wakes once
// per shuffle interval, not once per retry interval: that matters for a million simulated
// nodes.
bool Membership::NeedsRepairTick() const {
  if (pending_neighbor_ != kNoNode) return true;
  if (active_.size() >= config_.active_max) return false;
  return !passive_.empty() || (active_.empty() && contact_ != kNoNode);
}

void Membership::Finish(TimeMs now, MembershipOutbox& out) {
#ifndef NDEBUG
  CheckInvariants();
#endif
  TimeMs want = shuffle_at_ms_;
  if (NeedsRepairTick()) want = std::min(want, std::max(repair_at_ms_, now));
  want = std::min(want, reconnect_at_ms_);
  if (want != timer_at_ms_ && want != kNever) {
    timer_at_ms_ = want;
    out.next_timer_at = want;
  }
}

}  // namespace pando::proto
