// Broadcast: Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007) for
// one group, as a sans-IO state machine.
//
// Each node splits its overlay neighbours (the HyParView active view) into eager peers, to
// which it pushes whole entries, and lazy peers, to which it only announces ids (IHAVE). A
// duplicate arrival turns its link lazy (PRUNE), so the eager links settle into a spanning
// tree and each node receives about one copy of each entry. When an announced entry does
// not arrive in time, the node asks the announcer for it (GRAFT), which also repairs the
// tree after failures.
//
// The runtime owns the entries: it tells the machine whether an arriving id is new (it has
// just validated and stored it) and attaches an entry's bytes when the machine sends GOSSIP.
// So the machine keeps no per-entry state except ids announced but not yet received, which
// bounds its memory whatever the traffic (kMissingCapacity).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "proto/types.h"

namespace pando::proto {

inline constexpr size_t kBroadcastNeighborCapacity = 8;
// Ids announced (IHAVE) but not yet received that the machine tracks at once; further
// announcements are dropped and anti-entropy catches them later.
inline constexpr size_t kMissingCapacity = 16;
inline constexpr size_t kAnnouncersPerMissing = 3;

struct BroadcastConfig {
  // How long after the first IHAVE for a missing id to GRAFT from its announcer, and how
  // long to wait for that before asking the next announcer.
  TimeMs ihave_timeout_ms = 400;
  TimeMs graft_timeout_ms = 200;
};

// Messages. An entry travels in Gossip; the runtime attaches its bytes (payload_bytes
// counts them, for byte accounting). hops counts the links an entry crossed.
struct Gossip {
  static constexpr std::string_view kName = "GOSSIP";
  Hash32 id{};
  uint16_t hops = 0;
  uint32_t payload_bytes = 0;
};
struct IHave {
  static constexpr std::string_view kName = "IHAVE";
  Hash32 id{};
  uint16_t hops = 0;
};
struct Graft {
  static constexpr std::string_view kName = "GRAFT";
  Hash32 id{};
};
struct Prune {
  static constexpr std::string_view kName = "PRUNE";
};
using BroadcastMessage = std::variant<Gossip, IHave, Graft, Prune>;

// Bytes of a message on the wire, with the entry's bytes for Gossip (docs/broadcast-format.md).
size_t EncodedSize(const BroadcastMessage& m);
// Frame body without the entry bytes: version, type, fields (little-endian).
void Encode(const BroadcastMessage& m, Bytes& out);
// Errors: MALFORMED, UNKNOWN_VERSION.
Result<BroadcastMessage> DecodeBroadcast(ByteSpan bytes);

struct Delivery {
  Hash32 id{};
  NodeId from = kNoNode;  // kNoNode for a local post.
  uint16_t hops = 0;
};

// What the runtime does after a call: the sends, in order (for a Gossip, with the entry's
// bytes attached), and, when set, the time of the next OnTimer.
struct BroadcastOutbox {
  std::vector<std::pair<NodeId, BroadcastMessage>> sends;
  std::optional<TimeMs> next_timer_at;
  void Clear() {
    sends.clear();
    next_timer_at.reset();
  }
};

class Broadcast {
 public:
  explicit Broadcast(const BroadcastConfig& config = {}) : config_(config) {}

  // Neighbour changes from the membership layer. New neighbours start eager.
  void OnNeighborUp(NodeId peer);
  void OnNeighborDown(NodeId peer);

  // A local entry was stored: push it.
  void Post(TimeMs now, const Hash32& id, uint32_t payload_bytes, BroadcastOutbox& out);
  // An entry obtained outside the tree (from `from` by reconciliation) was stored: push it on
  // to the eager peers and announce it to the lazy ones, except `from`, changing no link.
  void Relay(TimeMs now, const Hash32& id, uint32_t payload_bytes, NodeId from,
             BroadcastOutbox& out);
  // A Gossip arrived. is_new: the runtime validated and stored the entry just now (false
  // for a duplicate, or an invalid entry, which the runtime also reports to its peer
  // policy). Returns true when the entry should count as delivered.
  bool OnGossip(TimeMs now, NodeId from, const Gossip& m, bool is_new, BroadcastOutbox& out);
  // An IHAVE arrived; have: the runtime already holds that entry.
  void OnIHave(TimeMs now, NodeId from, const IHave& m, bool have, BroadcastOutbox& out);
  // A GRAFT arrived; have: the runtime holds the entry and can send it.
  void OnGraft(TimeMs now, NodeId from, const Graft& m, bool have, uint32_t payload_bytes,
               BroadcastOutbox& out);
  void OnPrune(NodeId from);
  void OnTimer(TimeMs now, BroadcastOutbox& out);

  size_t eager_count() const;
  size_t lazy_count() const;
  bool IsEager(NodeId peer) const;

 private:
  struct Neighbor {
    NodeId id = kNoNode;
    bool eager = true;
  };
  struct Missing {
    Hash32 id{};
    TimeMs deadline = 0;
    uint8_t announcers = 0;  // Valid entries of from.
    std::array<NodeId, kAnnouncersPerMissing> from{};
    uint16_t hops = 0;
  };

  Neighbor* Find(NodeId peer);
  void SetEager(NodeId peer, bool eager);
  void Push(const Hash32& id, uint16_t hops, uint32_t payload_bytes, NodeId except,
            BroadcastOutbox& out);
  void ForgetMissing(const Hash32& id);
  void ScheduleTimer(BroadcastOutbox& out) const;

  BroadcastConfig config_;
  std::array<Neighbor, kBroadcastNeighborCapacity> neighbors_{};
  uint8_t neighbor_count_ = 0;
  std::array<Missing, kMissingCapacity> missing_{};
  uint8_t missing_count_ = 0;
};

}  // namespace pando::proto
