// The messages of the HyParView membership protocol (src/proto/membership.h) and their byte
// encoding. docs/membership-format.md defines the bytes; tests/proto/membership_test.cc holds
// its golden vectors.
//
// Messages are plain values. The sender of a message is not part of it: the runtime knows
// which peer a frame came from (the key it proved over TLS, or the index in the simulator)
// and passes it beside the message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "proto/types.h"

namespace pando::proto {

// The first byte of every membership message.
inline constexpr uint8_t kMembershipVersion = 1;
// A limit on the node list of Shuffle and ShuffleReply. Honest peers send at most
// 1 + shuffle_active + shuffle_passive (8 by default); the bound keeps a hostile frame from
// making the receiver allocate or loop more than this.
inline constexpr size_t kMaxMessageNodes = 64;

// A new node asks its contact to take it into the active view.
struct Join {
  static constexpr std::string_view kName = "JOIN";
  friend bool operator==(const Join&, const Join&) = default;
};

// A random walk announcing new_node. ttl counts down by one per hop.
struct ForwardJoin {
  static constexpr std::string_view kName = "FORWARD_JOIN";
  NodeId new_node = kNoNode;
  uint8_t ttl = 0;
  friend bool operator==(const ForwardJoin&, const ForwardJoin&) = default;
};

// The sender has removed the receiver from its active view.
struct Disconnect {
  static constexpr std::string_view kName = "DISCONNECT";
  friend bool operator==(const Disconnect&, const Disconnect&) = default;
};

// The sender asks to enter the receiver's active view. A high-priority request (the sender
// has no active neighbour left, or must be connected to end a join walk) is always accepted.
struct Neighbor {
  static constexpr std::string_view kName = "NEIGHBOR";
  bool high_priority = false;
  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

// The answer to Neighbor. When accepted, the sender has put the receiver in its active view.
struct NeighborReply {
  static constexpr std::string_view kName = "NEIGHBOR_REPLY";
  bool accepted = false;
  friend bool operator==(const NeighborReply&, const NeighborReply&) = default;
};

// A random walk carrying a sample of origin's views (origin itself included).
struct Shuffle {
  static constexpr std::string_view kName = "SHUFFLE";
  NodeId origin = kNoNode;
  uint8_t ttl = 0;
  std::vector<NodeId> nodes;
  friend bool operator==(const Shuffle&, const Shuffle&) = default;
};

// Sent straight to a shuffle's origin: a sample of the passive view of the walk's last node.
struct ShuffleReply {
  static constexpr std::string_view kName = "SHUFFLE_REPLY";
  std::vector<NodeId> nodes;
  friend bool operator==(const ShuffleReply&, const ShuffleReply&) = default;
};

using MembershipMessage =
    std::variant<Join, ForwardJoin, Disconnect, Neighbor, NeighborReply, Shuffle, ShuffleReply>;

// The number of bytes Encode appends.
size_t EncodedSize(const MembershipMessage& message);

// Appends the encoding of message to out. The node lists must hold at most kMaxMessageNodes
// ids, none of them kNoNode (CHECKed: the state machine never builds such a message).
void Encode(const MembershipMessage& message, Bytes& out);

// Decodes exactly one message filling all of bytes. Any byte string is safe to pass (this is
// the function the fuzz target drives); every failure has code MALFORMED. A message that
// decodes re-encodes to the same bytes.
Result<MembershipMessage> DecodeMembership(ByteSpan bytes);

}  // namespace pando::proto
