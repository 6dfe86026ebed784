// The conventions every sans-IO protocol state machine in src/proto/ follows.
//
// A state machine never touches a socket, a clock, a thread or a random device. The runtime
// that drives it (src/net/ over TLS, src/sim/ in the simulator) calls it with the current
// time and one event, and the machine answers by appending actions to an Outbox that the
// runtime carries out: send a message, set a timer, report a neighbour change. All
// randomness comes from a Rng the runtime seeds, so a simulation replays from its seed.
//
// Memory matters: the simulator runs a million instances, so state uses NodeId (8 bytes)
// rather than keys, fixed-capacity containers where the protocol bounds the size, and no
// per-instance heap allocation on hot paths where avoidable.
#pragma once

#include <cstdint>
#include <vector>

namespace pando::proto {

// A global identifier of a node. In the simulator it is the node's index. Over the network
// it is the first 8 bytes of BLAKE2b-256 of the node's public key; the runtime's address
// book maps it to the key it proved over TLS and to an address.
using NodeId = uint64_t;
inline constexpr NodeId kNoNode = ~NodeId{0};

// Milliseconds on the runtime's monotonic clock (simulated or real).
using TimeMs = int64_t;
// "No time set": later than every time.
inline constexpr TimeMs kNever = INT64_MAX;

// A small, fast, seedable generator (SplitMix64). Deterministic across platforms, so
// simulations replay byte for byte. Not for cryptography.
// SplitMix64's finalizer: a well-spread u64 from any u64 (Rng's output step; also the
// replayable choices that need no Rng of their own).
inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return Mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  // Uniform in [0, n); n > 0. The modulo bias is below 2^-40 for n < 2^24, far below what
  // any protocol decision here can notice.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // True with probability num/den.
  bool Chance(uint64_t num, uint64_t den) { return Below(den) < num; }

 private:
  uint64_t state_;
};

}  // namespace pando::proto
