#include "proto/broadcast.h"

#include <algorithm>

#include "core/byte_reader.h"
#include "core/check.h"
#include "core/error_codes.h"

namespace pando::proto {
namespace {

constexpr uint8_t kBroadcastVersion = 1;
enum class Type : uint8_t { kGossip = 1, kIHave = 2, kGraft = 3, kPrune = 4 };
// Bits of a GRAFT's flags byte.
constexpr uint8_t kGraftLinkOnly = 0x01;

uint16_t NextHops(uint16_t hops) {
  return hops == UINT16_MAX ? hops : static_cast<uint16_t>(hops + 1);
}
uint64_t IdPrefix(const Hash32& id) {
  uint64_t prefix = 0;
  for (int i = 0; i < 8; ++i) prefix |= uint64_t{id[i]} << (8 * i);
  return prefix;
}

Error Malformed(const std::string& why) {
  return Error{codes::kMalformed, "The broadcast message is malformed: " + why + "."};
}

}  // namespace

// --- Codec ---------------------------------------------------------------------------------

size_t EncodedSize(const BroadcastMessage& m) {
  // Version and type, then the fields.
  return 2 + std::visit(
                 [](const auto& v) -> size_t {
                   using T = std::decay_t<decltype(v)>;
                   if constexpr (std::is_same_v<T, Gossip>) return 32 + 2 + 4 + v.payload_bytes;
                   if constexpr (std::is_same_v<T, IHave>) return 32 + 2;
                   if constexpr (std::is_same_v<T, Graft>) return 32 + 1;
                   return 0;
                 },
                 m);
}

void Encode(const BroadcastMessage& m, Bytes& out) {
  out.push_back(kBroadcastVersion);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Gossip>) {
          out.push_back(static_cast<uint8_t>(Type::kGossip));
          Append(out, v.id);
          PutU16(out, v.hops);
          PutU32(out, v.payload_bytes);
        } else if constexpr (std::is_same_v<T, IHave>) {
          out.push_back(static_cast<uint8_t>(Type::kIHave));
          Append(out, v.id);
          PutU16(out, v.hops);
        } else if constexpr (std::is_same_v<T, Graft>) {
          out.push_back(static_cast<uint8_t>(Type::kGraft));
          Append(out, v.id);
          out.push_back(v.link_only ? kGraftLinkOnly : 0);
        } else {
          out.push_back(static_cast<uint8_t>(Type::kPrune));
        }
      },
      m);
}

Result<BroadcastMessage> DecodeBroadcast(ByteSpan b) {
  ByteReader r(b);
  const uint8_t version = r.U8();
  const uint8_t type = r.U8();
  if (!r.ok()) return Malformed("it is shorter than 2 bytes");
  if (version != kBroadcastVersion) {
    return Error{codes::kUnknownVersion, "The broadcast message has version " +
                                             std::to_string(version) + "; this node speaks 1."};
  }
  // Each type has one size, checked whole before its fields are read.
  switch (static_cast<Type>(type)) {
    case Type::kGossip: {
      if (r.remaining() != 38) return Malformed("a GOSSIP header is 40 bytes");
      Gossip g;
      r.Read(g.id);
      g.hops = r.U16();
      g.payload_bytes = r.U32();
      return BroadcastMessage(g);
    }
    case Type::kIHave: {
      if (r.remaining() != 34) return Malformed("an IHAVE is 36 bytes");
      IHave h;
      r.Read(h.id);
      h.hops = r.U16();
      return BroadcastMessage(h);
    }
    case Type::kGraft: {
      if (r.remaining() != 33) return Malformed("a GRAFT is 35 bytes");
      Graft g;
      r.Read(g.id);
      const uint8_t flags = r.U8();
      // Unknown flag bits are refused so that every GRAFT that decodes re-encodes the same.
      if ((flags & ~kGraftLinkOnly) != 0) return Malformed("a GRAFT has unknown flags");
      g.link_only = (flags & kGraftLinkOnly) != 0;
      return BroadcastMessage(g);
    }
    case Type::kPrune:
      if (r.remaining() != 0) return Malformed("a PRUNE is 2 bytes");
      return BroadcastMessage(Prune{});
  }
  return Malformed("unknown type " + std::to_string(type));
}

// --- Neighbours ----------------------------------------------------------------------------

Broadcast::Neighbor* Broadcast::Find(NodeId peer) {
  for (uint8_t i = 0; i < neighbor_count_; ++i) {
    if (neighbors_[i].id == peer) return &neighbors_[i];
  }
  return nullptr;
}

void Broadcast::OnNeighborUp(NodeId peer) {
  if (Find(peer) != nullptr) return;
  // The active view is bounded by the membership layer; CHECK it fits ours.
  CHECK(neighbor_count_ < kBroadcastNeighborCapacity);
  neighbors_[neighbor_count_++] = Neighbor{peer, true};
}

void Broadcast::OnNeighborDown(NodeId peer) {
  for (uint8_t i = 0; i < neighbor_count_; ++i) {
    if (neighbors_[i].id == peer) {
      neighbors_[i] = neighbors_[--neighbor_count_];
      break;
    }
  }
  // Announcements from a departed peer cannot be grafted from it any more.
  for (uint8_t m = 0; m < missing_count_; ++m) {
    Missing& mi = missing_[m];
    // The first announcer's hops go with it: the optimisation must not credit the next one.
    if (mi.announcers > 0 && mi.from[0] == peer) mi.hops = UINT16_MAX;
    auto end = std::remove(mi.from.begin(), mi.from.begin() + mi.announcers, peer);
    mi.announcers = static_cast<uint8_t>(end - mi.from.begin());
  }
}

void Broadcast::SetEager(NodeId peer, bool eager) {
  if (Neighbor* n = Find(peer)) n->eager = eager;
}

bool Broadcast::IsEager(NodeId peer) const {
  for (uint8_t i = 0; i < neighbor_count_; ++i) {
    if (neighbors_[i].id == peer) return neighbors_[i].eager;
  }
  return false;
}

size_t Broadcast::eager_count() const {
  return static_cast<size_t>(std::count_if(neighbors_.begin(), neighbors_.begin() + neighbor_count_,
                                           [](const Neighbor& n) { return n.eager; }));
}

size_t Broadcast::lazy_count() const { return neighbor_count_ - eager_count(); }

// --- Dissemination -------------------------------------------------------------------------

void Broadcast::Push(const Hash32& id, uint16_t hops, uint32_t payload_bytes, NodeId except,
                     BroadcastOutbox& out) {
  for (uint8_t i = 0; i < neighbor_count_; ++i) {
    const Neighbor& n = neighbors_[i];
    if (n.id == except) continue;
    if (n.eager) {
      out.sends.emplace_back(n.id, Gossip{id, hops, payload_bytes});
    } else {
      out.sends.emplace_back(n.id, IHave{id, hops});
    }
  }
}

void Broadcast::Post(TimeMs now, const Hash32& id, uint32_t payload_bytes, BroadcastOutbox& out) {
  Remember(now, id, kNoNode, 0);
  Push(id, 1, payload_bytes, kNoNode, out);
}

void Broadcast::Relay(TimeMs now, const Hash32& id, uint32_t payload_bytes, NodeId from,
                      BroadcastOutbox& out) {
  ForgetMissing(id);
  // Pushed on as if posted here; no tree link brought it, so none is optimised for it.
  Remember(now, id, kNoNode, 0);
  Push(id, 1, payload_bytes, from, out);
  ScheduleTimer(out);
}

bool Broadcast::OnGossip(TimeMs now, NodeId from, const Gossip& m, bool is_new,
                         BroadcastOutbox& out) {
  if (!is_new) {
    // A second copy: the link that brought it is redundant for this entry. Prune it, unless
    // it brought another entry first within prune_guard_ms: then it is the tree path for
    // entries from elsewhere, still spreading, and cutting it under them costs GRAFTs.
    if (IsEager(from) && !TreeLinkInUse(now, from, m.id)) {
      SetEager(from, false);
      out.sends.emplace_back(from, Prune{});
    }
    return false;
  }
  // Announced at least optimize_lead_ms before it arrived, by a neighbour whose path is no
  // longer in hops: that path was faster, so the tree link belongs there. Only while no GRAFT
  // has asked for it; then the deadline is still the first IHAVE's time + ihave_timeout_ms.
  NodeId faster = kNoNode;
  uint16_t faster_hops = 0;
  if (const Missing* mi = FindMissing(m.id);
      config_.optimize_lead_ms > 0 && mi != nullptr && !mi->grafted && mi->announcers > 0 &&
      mi->from[0] != from && mi->hops <= m.hops &&
      now - (mi->deadline - config_.ihave_timeout_ms) >= config_.optimize_lead_ms) {
    faster = mi->from[0];
    faster_hops = mi->hops;
  }
  ForgetMissing(m.id);
  SetEager(from, true);
  Remember(now, m.id, from, m.hops);
  Push(m.id, NextHops(m.hops), m.payload_bytes, from, out);
  if (faster != kNoNode) MoveParent(now, m.id, from, faster, faster_hops, out);
  ScheduleTimer(out);
  return true;
}

void Broadcast::OnIHave(TimeMs now, NodeId from, const IHave& m, bool have, BroadcastOutbox& out) {
  if (have) {
    // The paper's optimisation (its section 3.8): the announcer has a path at least
    // optimize_threshold_hops shorter than the one the entry came by.
    if (config_.optimize_threshold_hops == 0) return;
    const size_t r = FindRecent(m.id);
    if (r == kRecentCapacity) return;
    const NodeId parent = recent_from_[r];
    if (parent == kNoNode || parent == from ||
        uint32_t{m.hops} + config_.optimize_threshold_hops > recent_hops_[r]) {
      return;
    }
    MoveParent(now, m.id, parent, from, m.hops, out);
    return;
  }
  for (uint8_t i = 0; i < missing_count_; ++i) {
    Missing& mi = missing_[i];
    if (mi.id != m.id) continue;
    if (mi.announcers < kAnnouncersPerMissing &&
        std::find(mi.from.begin(), mi.from.begin() + mi.announcers, from) ==
            mi.from.begin() + mi.announcers) {
      mi.from[mi.announcers++] = from;
    }
    return;
  }
  if (missing_count_ == kMissingCapacity) return;  // Anti-entropy will find it.
  Missing& mi = missing_[missing_count_++];
  mi = Missing{m.id, now + config_.ihave_timeout_ms, 1, {from}, m.hops, false};
  ScheduleTimer(out);
}

void Broadcast::OnGraft(TimeMs, NodeId from, const Graft& m, bool have, uint32_t payload_bytes,
                        BroadcastOutbox& out) {
  // The peer wants this link in its tree.
  SetEager(from, true);
  if (!have || m.link_only) return;
  // The answer carries the hops this node is at, when it still knows them, so that the
  // peer's subtree compares true path lengths; otherwise it counts as one hop, like a post.
  const size_t r = FindRecent(m.id);
  const uint16_t hops = r == kRecentCapacity ? 1 : NextHops(recent_hops_[r]);
  out.sends.emplace_back(from, Gossip{m.id, hops, payload_bytes});
}

void Broadcast::OnPrune(NodeId from) { SetEager(from, false); }

void Broadcast::OnTimer(TimeMs now, BroadcastOutbox& out) {
  for (uint8_t i = 0; i < missing_count_;) {
    Missing& mi = missing_[i];
    if (mi.deadline > now) {
      ++i;
      continue;
    }
    if (mi.announcers == 0) {
      // Nobody left to ask; anti-entropy will deliver it.
      mi = missing_[--missing_count_];
      continue;
    }
    // Ask the first announcer, make its link eager, and try the next one if this fails.
    const NodeId peer = mi.from[0];
    std::rotate(mi.from.begin(), mi.from.begin() + 1, mi.from.begin() + mi.announcers);
    --mi.announcers;
    SetEager(peer, true);
    out.sends.emplace_back(peer, Graft{mi.id});
    mi.grafted = true;
    mi.deadline = now + config_.graft_timeout_ms;
    ++i;
  }
  ScheduleTimer(out);
}

Broadcast::Missing* Broadcast::FindMissing(const Hash32& id) {
  for (uint8_t i = 0; i < missing_count_; ++i) {
    if (missing_[i].id == id) return &missing_[i];
  }
  return nullptr;
}

void Broadcast::ForgetMissing(const Hash32& id) {
  for (uint8_t i = 0; i < missing_count_; ++i) {
    if (missing_[i].id == id) {
      missing_[i] = missing_[--missing_count_];
      return;
    }
  }
}

void Broadcast::ScheduleTimer(BroadcastOutbox& out) const {
  std::optional<TimeMs> next;
  for (uint8_t i = 0; i < missing_count_; ++i) {
    if (!next || missing_[i].deadline < *next) next = missing_[i].deadline;
  }
  if (next) out.next_timer_at = *next;
}

// --- Tree optimisation ---------------------------------------------------------------------

void Broadcast::MoveParent(TimeMs now, const Hash32& id, NodeId old_parent, NodeId announcer,
                           uint16_t announced_hops, BroadcastOutbox& out) {
  // Only a swap: the old link must still be in the tree, so that the node keeps its number of
  // tree links and a stale record cannot add eager links; and it must not be carrying other
  // entries now (the same guard as for a duplicate's PRUNE).
  if (Find(announcer) == nullptr || !IsEager(old_parent) || TreeLinkInUse(now, old_parent, id)) {
    return;
  }
  SetEager(announcer, true);
  out.sends.emplace_back(announcer, Graft{id, /*link_only=*/true});
  SetEager(old_parent, false);
  out.sends.emplace_back(old_parent, Prune{});
  // The entry now counts as arrived by the better path, so that an IHAVE must beat that.
  const size_t r = FindRecent(id);
  if (r != kRecentCapacity) {
    recent_from_[r] = announcer;
    recent_hops_[r] = announced_hops;
  }
}

bool Broadcast::TreeLinkInUse(TimeMs now, NodeId peer, const Hash32& except) const {
  if (config_.prune_guard_ms <= 0) return false;
  const uint64_t except_prefix = IdPrefix(except);
  for (size_t i = 0; i < recent_count_; ++i) {
    if (recent_from_[i] == peer && recent_id_[i] != except_prefix &&
        now - recent_at_[i] <= config_.prune_guard_ms) {
      return true;
    }
  }
  return false;
}

void Broadcast::Remember(TimeMs now, const Hash32& id, NodeId from, uint16_t hops) {
  recent_at_[recent_next_] = now;
  recent_id_[recent_next_] = IdPrefix(id);
  recent_from_[recent_next_] = from;
  recent_hops_[recent_next_] = hops;
  recent_next_ = static_cast<uint8_t>((recent_next_ + 1) % kRecentCapacity);
  if (recent_count_ < kRecentCapacity) ++recent_count_;
}

size_t Broadcast::FindRecent(const Hash32& id) const {
  const uint64_t prefix = IdPrefix(id);
  for (size_t i = 0; i < recent_count_; ++i) {
    if (recent_id_[i] == prefix) return i;
  }
  return kRecentCapacity;
}

}  // namespace pando::proto
