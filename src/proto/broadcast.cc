#include "proto/broadcast.h"

#include <algorithm>

#include "core/check.h"
#include "core/error_codes.h"

namespace pando::proto {
namespace {

constexpr uint8_t kBroadcastVersion = 1;
enum class Type : uint8_t { kGossip = 1, kIHave = 2, kGraft = 3, kPrune = 4 };

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
                   if constexpr (std::is_same_v<T, Graft>) return 32;
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
        } else {
          out.push_back(static_cast<uint8_t>(Type::kPrune));
        }
      },
      m);
}

Result<BroadcastMessage> DecodeBroadcast(ByteSpan b) {
  if (b.size() < 2) return Malformed("it is shorter than 2 bytes");
  if (b[0] != kBroadcastVersion) {
    return Error{codes::kUnknownVersion, "The broadcast message has version " +
                                             std::to_string(b[0]) + "; this node speaks 1."};
  }
  auto id_at = [&](size_t off) {
    Hash32 id;
    std::copy(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off) + 32,
              id.begin());
    return id;
  };
  switch (static_cast<Type>(b[1])) {
    case Type::kGossip:
      if (b.size() != 2 + 38) return Malformed("a GOSSIP header is 40 bytes");
      return BroadcastMessage(Gossip{id_at(2), GetU16(&b[34]), GetU32(&b[36])});
    case Type::kIHave:
      if (b.size() != 2 + 34) return Malformed("an IHAVE is 36 bytes");
      return BroadcastMessage(IHave{id_at(2), GetU16(&b[34])});
    case Type::kGraft:
      if (b.size() != 2 + 32) return Malformed("a GRAFT is 34 bytes");
      return BroadcastMessage(Graft{id_at(2)});
    case Type::kPrune:
      if (b.size() != 2) return Malformed("a PRUNE is 2 bytes");
      return BroadcastMessage(Prune{});
  }
  return Malformed("unknown type " + std::to_string(b[1]));
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

void Broadcast::Post(TimeMs, const Hash32& id, uint32_t payload_bytes, BroadcastOutbox& out) {
  Push(id, 1, payload_bytes, kNoNode, out);
}

void Broadcast::Relay(TimeMs, const Hash32& id, uint32_t payload_bytes, NodeId from,
                      BroadcastOutbox& out) {
  ForgetMissing(id);
  Push(id, 1, payload_bytes, from, out);
  ScheduleTimer(out);
}

bool Broadcast::OnGossip(TimeMs now, NodeId from, const Gossip& m, bool is_new,
                         BroadcastOutbox& out) {
  if (!is_new) {
    // A second copy: the link that brought it is redundant for the tree.
    if (IsEager(from)) {
      SetEager(from, false);
      out.sends.emplace_back(from, Prune{});
    }
    return false;
  }
  ForgetMissing(m.id);
  SetEager(from, true);
  const uint16_t hops = m.hops == UINT16_MAX ? m.hops : static_cast<uint16_t>(m.hops + 1);
  Push(m.id, hops, m.payload_bytes, from, out);
  ScheduleTimer(out);
  (void)now;
  return true;
}

void Broadcast::OnIHave(TimeMs now, NodeId from, const IHave& m, bool have, BroadcastOutbox& out) {
  if (have) return;
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
  mi = Missing{m.id, now + config_.ihave_timeout_ms, 1, {from}, m.hops};
  ScheduleTimer(out);
}

void Broadcast::OnGraft(TimeMs, NodeId from, const Graft& m, bool have, uint32_t payload_bytes,
                        BroadcastOutbox& out) {
  // The peer wants this link in its tree.
  SetEager(from, true);
  if (have) out.sends.emplace_back(from, Gossip{m.id, 1, payload_bytes});
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
    mi.deadline = now + config_.graft_timeout_ms;
    ++i;
  }
  ScheduleTimer(out);
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

}  // namespace pando::proto
