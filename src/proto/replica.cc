#include "proto/replica.h"

#include <algorithm>
#include <type_traits>

#include "core/check.h"

namespace pando::proto {
namespace {

template <typename T>
void Send(ReplicaOutbox& out, NodeId to, uint32_t group, T&& body) {
  out.sends.emplace_back(to, GroupMessage{group, PeerBody(std::forward<T>(body))});
}

}  // namespace

uint64_t EncodedSize(const PeerBody& m) {
  return std::visit(
      [](const auto& x) -> uint64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_constructible_v<MembershipMessage, const T&> &&
                      !std::is_constructible_v<BroadcastMessage, const T&>) {
          return EncodedSize(MembershipMessage(x));
        } else if constexpr (std::is_constructible_v<BroadcastMessage, const T&>) {
          return EncodedSize(BroadcastMessage(x));
        } else {
          return EncodedSize(x);
        }
      },
      m);
}

void Replica::AddGroup(uint32_t group, const ReplicaConfig& config, uint64_t membership_seed) {
  CHECK(Find(group) == nullptr);
  groups_.emplace_back(self_, group, config, membership_seed);
}

bool Replica::Carries(uint32_t group) const {
  return std::any_of(groups_.begin(), groups_.end(),
                     [group](const GroupState& g) { return g.group == group; });
}

Replica::GroupState* Replica::Find(uint32_t group) {
  for (GroupState& g : groups_) {
    if (g.group == group) return &g;
  }
  return nullptr;
}

void Replica::Start(TimeMs now, uint32_t group, NodeId contact, uint64_t sync_phase,
                    ReplicaHost& host, ReplicaOutbox& out) {
  GroupState* g = Find(group);
  CHECK(g != nullptr);
  out.membership_scratch.Clear();
  g->membership.Start(now, contact, out.membership_scratch);
  if (host.config().sync_enabled) g->sync.Start(now, sync_phase);
  Apply(now, *g, host, out);
  out.next_timer_at = NextTimerAt();
}

void Replica::OnMessage(TimeMs now, NodeId from, const GroupMessage& m, ReplicaHost& host,
                        ReplicaOutbox& out) {
  GroupState* g = Find(m.group);
  if (g == nullptr) {
    ++out.counters.misrouted;
  } else if (m.body.index() < kFirstBroadcastIndex) {
    const MembershipMessage mm = std::visit(
        [](const auto& x) -> MembershipMessage {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_constructible_v<MembershipMessage, const T&>) {
            return x;
          } else {
            CHECK(false);
            return Join{};
          }
        },
        m.body);
    out.membership_scratch.Clear();
    g->membership.OnMessage(now, from, mm, out.membership_scratch);
    Apply(now, *g, host, out);
  } else if (m.body.index() < kFirstSyncIndex) {
    OnBroadcast(now, from, *g, m.body, host, out);
  } else if (const auto* r = std::get_if<Reconcile>(&m.body)) {
    OnReconcile(now, from, *g, *r, host, out);
  } else if (const auto* w = std::get_if<Want>(&m.body)) {
    OnWant(from, *g, *w, host, out);
  } else {
    OnEntries(now, from, *g, std::get<Entries>(m.body), host, out);
  }
  out.next_timer_at = NextTimerAt();
}

void Replica::OnTimer(TimeMs now, ReplicaHost& host, ReplicaOutbox& out) {
  for (GroupState& g : groups_) {
    if (now >= g.membership_timer) {
      g.membership_timer = kNever;
      out.membership_scratch.Clear();
      g.membership.OnTimer(now, out.membership_scratch);
      Apply(now, g, host, out);
    }
    if (now >= g.broadcast_timer) {
      g.broadcast_timer = kNever;
      out.broadcast_scratch.Clear();
      g.broadcast.OnTimer(now, out.broadcast_scratch);
      ApplyBroadcast(g, out);
    }
    if (now >= g.sync.next_at()) {
      if (std::optional<NodeId> peer = g.sync.OnTimer(now, g.membership.active())) {
        OpenSession(now, *peer, g, host, out);
      }
    }
  }
  out.next_timer_at = NextTimerAt();
}

void Replica::JoinThrough(TimeMs now, uint32_t group, NodeId contact, ReplicaHost& host,
                          ReplicaOutbox& out) {
  GroupState* g = Find(group);
  CHECK(g != nullptr);
  out.membership_scratch.Clear();
  g->membership.JoinThrough(now, contact, out.membership_scratch);
  Apply(now, *g, host, out);
  out.next_timer_at = NextTimerAt();
}

void Replica::NotCarried(TimeMs now, uint32_t group, NodeId peer, ReplicaHost& host,
                         ReplicaOutbox& out) {
  GroupState* g = Find(group);
  if (g == nullptr) return;
  out.membership_scratch.Clear();
  g->membership.Forget(now, peer, out.membership_scratch);
  Apply(now, *g, host, out);
  host.EraseSession(peer, g->group);
  out.next_timer_at = NextTimerAt();
}

void Replica::OnPeerDown(TimeMs now, NodeId peer, ReplicaHost& host, ReplicaOutbox& out) {
  for (GroupState& g : groups_) {
    out.membership_scratch.Clear();
    g.membership.OnPeerDown(now, peer, out.membership_scratch);
    Apply(now, g, host, out);
    host.EraseSession(peer, g.group);
  }
  out.next_timer_at = NextTimerAt();
}

void Replica::Post(TimeMs now, uint32_t group, const Hash32& id, uint32_t payload_bytes,
                   ReplicaHost& host, ReplicaOutbox& out) {
  GroupState* g = Find(group);
  CHECK(g != nullptr);
  if (host.config().flooding) {
    Flood(*g, Gossip{id, 1, payload_bytes}, kNoNode, out);
  } else {
    out.broadcast_scratch.Clear();
    g->broadcast.Post(now, id, payload_bytes, out.broadcast_scratch);
    ApplyBroadcast(*g, out);
  }
  out.next_timer_at = NextTimerAt();
}

void Replica::Relay(TimeMs now, uint32_t group, const Hash32& id, uint32_t payload_bytes,
                    NodeId from, ReplicaHost& host, ReplicaOutbox& out) {
  GroupState* g = Find(group);
  CHECK(g != nullptr);
  RelayIn(now, *g, id, payload_bytes, from, host, out);
  out.next_timer_at = NextTimerAt();
}

void Replica::RelayIn(TimeMs now, GroupState& g, const Hash32& id, uint32_t payload_bytes,
                      NodeId from, ReplicaHost& host, ReplicaOutbox& out) {
  if (host.config().flooding) {
    Flood(g, Gossip{id, 1, payload_bytes}, from, out);
  } else {
    out.broadcast_scratch.Clear();
    g.broadcast.Relay(now, id, payload_bytes, from, out.broadcast_scratch);
    ApplyBroadcast(g, out);
  }
}

std::vector<NodeId> Replica::Connections() const {
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

TimeMs Replica::NextTimerAt() const {
  TimeMs next = kNever;
  for (const GroupState& g : groups_) {
    next = std::min({next, g.membership_timer, g.broadcast_timer, g.sync.next_at()});
  }
  return next;
}

void Replica::OnBroadcast(TimeMs now, NodeId from, GroupState& g, const PeerBody& body,
                          ReplicaHost& host, ReplicaOutbox& out) {
  BroadcastOutbox& bo = out.broadcast_scratch;
  bo.Clear();
  if (const auto* gossip = std::get_if<Gossip>(&body)) {
    ++out.counters.gossip_received;
    const bool is_new = host.Accept(g.group, gossip->id, from).has_value();
    if (host.config().flooding) {
      // The baseline: every new entry to every neighbour but the sender; never prune.
      if (!is_new) return;
      const uint16_t hops =
          gossip->hops == UINT16_MAX ? gossip->hops : static_cast<uint16_t>(gossip->hops + 1);
      return Flood(g, Gossip{gossip->id, hops, gossip->payload_bytes}, from, out);
    }
    g.broadcast.OnGossip(now, from, *gossip, is_new, bo);
  } else if (const auto* ihave = std::get_if<IHave>(&body)) {
    g.broadcast.OnIHave(now, from, *ihave, host.EntryBytes(g.group, ihave->id).has_value(), bo);
  } else if (const auto* graft = std::get_if<Graft>(&body)) {
    const std::optional<uint32_t> bytes = host.EntryBytes(g.group, graft->id);
    g.broadcast.OnGraft(now, from, *graft, bytes.has_value(), bytes.value_or(0), bo);
  } else {
    g.broadcast.OnPrune(from);
  }
  ApplyBroadcast(g, out);
}

void Replica::Flood(const GroupState& g, const Gossip& m, NodeId except, ReplicaOutbox& out) const {
  for (NodeId peer : g.membership.active()) {
    if (peer != except) Send(out, peer, g.group, m);
  }
}

// --- Anti-entropy -----------------------------------------------------------------------

std::unique_ptr<SyncSession> Replica::NewSession(TimeMs now, const GroupState& g, NodeId peer,
                                                 ReplicaHost& host) const {
  std::vector<ReconItem> items = host.Items(g.group);
  const TimeMs settle = g.sync.config().settle_ms;
  const bool fresh =
      !g.membership.IsActive(peer) ||
      std::any_of(g.fresh.begin(), g.fresh.end(), [&](const std::pair<NodeId, TimeMs>& f) {
        return f.first == peer && now - f.second < settle;
      });
  if (settle > 0 && now > settle && !fresh) {
    const uint64_t cutoff = static_cast<uint64_t>(now - settle);
    std::erase_if(items, [cutoff](const ReconItem& item) { return item.timestamp_ms > cutoff; });
  }
  return std::make_unique<SyncSession>(std::move(items), now);
}

void Replica::OpenSession(TimeMs now, NodeId peer, const GroupState& g, ReplicaHost& host,
                          ReplicaOutbox& out) {
  // One session per link and group; a stalled one gives way after the timeout.
  const SyncSession* running = host.FindSession(peer, g.group);
  if (running != nullptr && now - running->last_ms < g.sync.config().session_timeout_ms) return;
  SyncSession& s = host.SetSession(peer, g.group, NewSession(now, g, peer, host));
  ++out.counters.sessions_opened;
  Send(out, peer, g.group, Reconcile{true, s.session.Initiate()});
}

void Replica::OnReconcile(TimeMs now, NodeId from, const GroupState& g, const Reconcile& m,
                          ReplicaHost& host, ReplicaOutbox& out) {
  SyncSession* s = host.FindSession(from, g.group);
  if (m.open) {
    // Both sides opened at once: the lower id's session goes on, the other gives way.
    if (s != nullptr && self_ < from) return;
    s = &host.SetSession(from, g.group, NewSession(now, g, from, host));
  } else if (s == nullptr) {
    return;  // A session this side dropped (timed out, or gave way).
  }
  s->last_ms = now;
  Result<std::optional<Bytes>> reply = s->session.Respond(m.body);
  if (!reply.ok()) {
    ++out.counters.decode_errors;
    host.EraseSession(from, g.group);
    return;
  }
  if (reply->has_value()) {
    Send(out, from, g.group, Reconcile{false, std::move(**reply)});
    return;
  }
  // Nothing left to say: ask for what this side lacks, which also ends the session.
  Send(out, from, g.group, Want{s->session.need_in_order()});
  host.EraseSession(from, g.group);
}

void Replica::OnWant(NodeId from, const GroupState& g, const Want& m, ReplicaHost& host,
                     ReplicaOutbox& out) {
  // If this side's session is still open, the peer's WANT ends it: ask in turn.
  if (const SyncSession* s = host.FindSession(from, g.group)) {
    Send(out, from, g.group, Want{s->session.need_in_order()});
    host.EraseSession(from, g.group);
  }
  Entries reply;
  for (const Hash32& id : m.ids) {
    if (const std::optional<uint32_t> bytes = host.EntryBytes(g.group, id)) {
      reply.ids.push_back(id);
      reply.payload_bytes += *bytes;
    }
  }
  if (!reply.ids.empty()) Send(out, from, g.group, std::move(reply));
}

void Replica::OnEntries(TimeMs now, NodeId from, GroupState& g, const Entries& m, ReplicaHost& host,
                        ReplicaOutbox& out) {
  for (const Hash32& id : m.ids) {
    const std::optional<uint32_t> bytes = host.Accept(g.group, id, from);
    if (!bytes) continue;
    ++out.counters.entries_reconciled;
    // Pushed on through the group's tree, so the rest of this side gets it from there.
    RelayIn(now, g, id, *bytes, from, host, out);
  }
}

// --- Outboxes ---------------------------------------------------------------------------

// Carries out the membership outbox in the order membership.h prescribes: neighbours up
// (Plumtree starts them eager; anti-entropy may open a session), the sends, then
// neighbours down.
void Replica::Apply(TimeMs now, GroupState& g, ReplicaHost& host, ReplicaOutbox& out) {
  MembershipOutbox& mo = out.membership_scratch;
  const ReplicaConfig& config = host.config();
  // The outbox is scratch: anything below that fills it again must come after.
  std::vector<NodeId> opens;
  if (!mo.neighbor_up.empty()) {
    const TimeMs settle = g.sync.config().settle_ms;
    std::erase_if(g.fresh, [&](const std::pair<NodeId, TimeMs>& f) {
      return now - f.second >= settle || std::find(mo.neighbor_up.begin(), mo.neighbor_up.end(),
                                                   f.first) != mo.neighbor_up.end();
    });
    for (NodeId peer : mo.neighbor_up) g.fresh.emplace_back(peer, now);
  }
  for (NodeId peer : mo.neighbor_up) {
    if (!config.flooding) g.broadcast.OnNeighborUp(peer);
    if (config.sync_enabled && g.sync.OpensOnConnect(self_, peer)) opens.push_back(peer);
  }
  for (auto& send : mo.sends) {
    const NodeId to = send.first;  // Named: clang 14 cannot capture a structured binding.
    std::visit([&](auto& x) { Send(out, to, g.group, std::move(x)); }, send.second);
  }
  for (NodeId peer : mo.neighbor_down) {
    if (!config.flooding) g.broadcast.OnNeighborDown(peer);
    host.EraseSession(peer, g.group);
  }
  if (mo.next_timer_at) g.membership_timer = *mo.next_timer_at;
  for (NodeId peer : opens) {
    if (g.membership.IsActive(peer)) OpenSession(now, peer, g, host, out);
  }
}

void Replica::ApplyBroadcast(GroupState& g, ReplicaOutbox& out) {
  for (auto& send : out.broadcast_scratch.sends) {
    const NodeId to = send.first;  // Named: clang 14 cannot capture a structured binding.
    std::visit([&](auto& x) { Send(out, to, g.group, std::move(x)); }, send.second);
  }
  if (out.broadcast_scratch.next_timer_at) g.broadcast_timer = *out.broadcast_scratch.next_timer_at;
}

}  // namespace pando::proto
