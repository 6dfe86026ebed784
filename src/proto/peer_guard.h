// PeerGuard: a node's accounting of its peers and the addresses they come from, and the
// decisions it takes alone to keep hostile peers from exhausting it (R6): bans, connection
// caps, handshake rates, frame rates. Sans-IO: every call gets `now`; the runtime
// (node/node.cc) asks before it spends anything on a connection and carries out the answer.
//
// The order of questions for an inbound connection:
//   OnAccept(address)      before the TLS handshake: caps on connections (all, and per
//                          address) and the handshake rate per address; BUSY, RATE_LIMITED
//                          or BANNED (the address has too many strikes);
//   OnPeer(id, address)    after the handshake proved the peer's key: BANNED if the key is
//                          banned, or if it is a key this node never saw from an address
//                          that earned address_strikes_max strikes (a banned peer cannot
//                          come back at once with a fresh key);
//   OnFrame(id)            every frame: FLOOD beyond frames_per_s_max (averaged over 10 s);
//   OnClose(address)       exactly once for every connection OnAccept let in.
// Ban(id, address) bans a key for ban_ms and gives its address a strike for as long.
//
// Addresses are IP addresses without a port: on a loopback devnet every node shares one, so
// the per-address defaults leave room for a few dozen nodes per machine.
//
// Single-threaded. Memory is bounded: at most addresses_max addresses and known_keys_max
// keys are remembered (the oldest idle records go first).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/token_bucket.h"
#include "proto/types.h"

namespace pando::proto {

struct PeerLimits {
  uint32_t frames_per_s_max = 20'000;        // Per peer, averaged over 10 s (FLOOD).
  TimeMs ban_ms = 600'000;                   // How long a ban and a strike last.
  size_t connections_max = 256;              // Inbound connections in all (BUSY).
  size_t connections_per_address_max = 64;   // Inbound connections from one address (BUSY).
  double handshakes_per_address_per_s = 20;  // Inbound handshakes, per address ...
  double handshakes_per_address_burst = 64;  // ... with this burst (RATE_LIMITED).
  // Bans from one address (within ban_ms) after which it may bring no key this node has not
  // seen before.
  uint32_t address_strikes_max = 1;
  size_t addresses_max = 16'384;
  size_t known_keys_max = 65'536;
};

class PeerGuard {
 public:
  explicit PeerGuard(const PeerLimits& limits) : limits_(limits) {}

  Status OnAccept(TimeMs now, std::string_view address);
  void OnClose(std::string_view address);
  Status OnPeer(TimeMs now, NodeId id, std::string_view address);
  // Error FLOOD: the peer went over its frame rate (the runtime bans it).
  Status OnFrame(TimeMs now, NodeId id);
  // The peer's connection is gone: its frame window goes too.
  void OnPeerGone(NodeId id) { windows_.erase(id); }

  void Ban(TimeMs now, NodeId id, std::string_view address);
  // The operator's blocks: like a ban of the key, without a strike on any address.
  void Block(TimeMs now, NodeId id, TimeMs duration_ms) { bans_[id] = now + duration_ms; }
  // Lifts a block or ban of the key.
  bool Unblock(NodeId id) { return bans_.erase(id) > 0; }
  bool Banned(TimeMs now, NodeId id);

  size_t connections() const { return connections_; }
  const PeerLimits& limits() const { return limits_; }

 private:
  struct Address {
    size_t connections = 0;
    TokenBucket handshakes;
    std::deque<TimeMs> strikes;  // When each strike ends.
    TimeMs last_ms = 0;
  };
  struct Window {
    TimeMs start = 0;
    uint64_t frames = 0;
  };
  Address& AddressOf(TimeMs now, std::string_view address);
  uint32_t Strikes(TimeMs now, Address& a);
  void Trim(TimeMs now);

  PeerLimits limits_;
  size_t connections_ = 0;
  std::unordered_map<std::string, Address> addresses_;
  std::unordered_map<NodeId, TimeMs> bans_;  // Until when.
  std::unordered_map<NodeId, Window> windows_;
  // Keys that completed a handshake and were not banned since, each with the number of its
  // slot in known_order_ (the order they became known, oldest first). A banned key leaves
  // known_ at once; its slot is stale and skipped, so it never evicts a key known again.
  std::unordered_map<NodeId, uint64_t> known_;
  std::deque<std::pair<NodeId, uint64_t>> known_order_;
  uint64_t known_next_ = 0;
};

}  // namespace pando::proto
