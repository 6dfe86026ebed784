// Peer frames: the byte stream two nodes exchange inside TLS (docs/frame-format.md). Pure
// encoding and decoding, no I/O: the network runtime reads bytes from its socket into a
// FrameReader and writes EncodeFrame's output.
//
// The decoder checks each frame's own structure (lengths, counts, strings, peer records
// against the ids their membership message names, broadcast headers). It passes entry
// bytes, reconciliation messages and fork proofs on undecoded: their consumers decode them
// with their own decoders, which have their own fuzz targets. Binding of group handles is the
// runtime's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "proto/broadcast.h"
#include "proto/dht_record.h"
#include "proto/membership_codec.h"
#include "proto/types.h"

namespace pando::proto {

inline constexpr uint8_t kFrameVersion = 1;
// Largest frame: the length field's value (type byte and body).
inline constexpr size_t kFrameBytesMax = size_t{1} << 20;
inline constexpr size_t kFrameStringMax = 255;
inline constexpr size_t kWantIdsMax = 4096;
inline constexpr uint32_t kGroupHandlesMax = 4096;

// A node's id: the first 8 bytes (little-endian) of BLAKE2b-256 of its Ed25519 public key.
NodeId NodeIdOfKey(const Hash32& public_key);
// A node id as logs, the status and the API show it: 16 hex digits.
std::string NodeHex(NodeId id);

// The ids a membership message names, in order, with repeats: a MEMBERSHIP frame carries a
// peer record for each of them but its two ends.
std::vector<NodeId> NamedIds(const MembershipMessage& m);

struct PeerRecord {
  Hash32 key{};
  std::string address;  // host:port, 1-255 bytes.
  bool operator==(const PeerRecord&) const = default;
};

struct HelloFrame {
  uint8_t version = kFrameVersion;
  std::string listen_address;  // Empty: does not accept connections.
  bool operator==(const HelloFrame&) const = default;
};
struct GroupFrame {
  uint32_t handle = 0;
  std::string name;
  bool operator==(const GroupFrame&) const = default;
};
struct GoAwayFrame {
  std::string code;    // A stable error code (docs/errors.md).
  std::string reason;  // At most 65,535 bytes.
  bool operator==(const GoAwayFrame&) const = default;
};
// Keeps an idle connection alive (ConnectionLimits::idle_timeout); carries nothing.
struct PingFrame {
  bool operator==(const PingFrame&) const = default;
};
// A fork proof (core/fork_proof.h, in EncodeForkProof's form), undecoded: about an author in
// every group, so it names no group handle. At least one byte.
struct ForkProofFrame {
  Bytes proof;
  bool operator==(const ForkProofFrame&) const = default;
};
// The answer to a group frame for a group this node does not carry: the sender's overlay
// of that group should look elsewhere. Sent once per group per connection.
struct NotCarriedFrame {
  std::string name;  // The group's name, as the sender's GROUP frame bound it.
  bool operator==(const NotCarriedFrame&) const = default;
};
// One DHT message (docs/dht-format.md), with a peer record for each node a FOUND names but
// the two ends. Names no group handle: the DHT is the node's, not a group's.
struct DhtFrame {
  DhtMessage message;
  std::vector<PeerRecord> peers;
  bool operator==(const DhtFrame& o) const {
    return EncodeDhtMessage(message) == EncodeDhtMessage(o.message) && peers == o.peers;
  }
};
struct MembershipFrame {
  uint32_t handle = 0;
  MembershipMessage message;
  std::vector<PeerRecord> peers;  // One per node the message names, but the two ends.
  bool operator==(const MembershipFrame&) const = default;
};
struct BroadcastFrame {
  uint32_t handle = 0;
  BroadcastMessage message;  // For Gossip, payload_bytes == entry.size().
  Bytes entry;               // Gossip only: the entry's bytes, undecoded.
  bool operator==(const BroadcastFrame&) const = default;
};
struct ReconcileFrame {
  uint32_t handle = 0;
  bool open = false;
  Bytes body;  // A reconciliation message (docs/reconcile-format.md), undecoded.
  bool operator==(const ReconcileFrame&) const = default;
};
struct WantFrame {
  uint32_t handle = 0;
  std::vector<Hash32> ids;
  bool operator==(const WantFrame&) const = default;
};
struct EntriesFrame {
  uint32_t handle = 0;
  std::vector<Bytes> entries;  // Each undecoded; at least one.
  bool operator==(const EntriesFrame&) const = default;
};

using Frame = std::variant<HelloFrame, GroupFrame, GoAwayFrame, PingFrame, MembershipFrame,
                           BroadcastFrame, ReconcileFrame, WantFrame, EntriesFrame, ForkProofFrame,
                           DhtFrame, NotCarriedFrame>;

// Appends the whole frame, length prefix included. CHECKs the limits a decoder enforces
// (string and count sizes, the frame size): building an invalid frame is a bug.
void EncodeFrame(const Frame& frame, Bytes& out);
Bytes EncodeFrame(const Frame& frame);

// Decodes one frame from its type byte and body (the bytes after the length prefix). Any
// byte string is safe to pass. `sender` and `receiver` are the two ends' ids: a membership
// message may name them without a peer record. Errors: MALFORMED, UNKNOWN_VERSION (of an
// inner message).
Result<Frame> DecodeFrame(ByteSpan type_and_body, NodeId sender, NodeId receiver);

// Cuts a byte stream into frames. Append what arrives, then call Next until it returns
// nullopt (more bytes needed). An error (OVERSIZE for a length over kFrameBytesMax, found
// before the body arrives; MALFORMED otherwise) is final: the stream cannot be resynced,
// and the connection must close.
class FrameReader {
 public:
  FrameReader(NodeId sender, NodeId receiver) : sender_(sender), receiver_(receiver) {}
  void Append(ByteSpan bytes);
  Result<std::optional<Frame>> Next();
  // Bytes received but not yet returned as frames.
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  NodeId sender_, receiver_;
  Bytes buffer_;
  size_t offset_ = 0;
  std::optional<Error> failed_;
};

}  // namespace pando::proto
