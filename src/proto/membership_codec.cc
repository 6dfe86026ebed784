#include "proto/membership_codec.h"

#include <string>
#include <type_traits>

#include "core/byte_reader.h"
#include "core/check.h"
#include "core/error_codes.h"

namespace pando::proto {
namespace {

// The type byte of each message. These values are on the wire: never renumber them.
enum class Type : uint8_t {
  kJoin = 1,
  kForwardJoin = 2,
  kDisconnect = 3,
  kNeighbor = 4,
  kNeighborReply = 5,
  kShuffle = 6,
  kShuffleReply = 7,
};

constexpr size_t kHeaderSize = 2;  // version, type
constexpr size_t kNodeSize = 8;

template <typename T>
constexpr Type TypeOf() {
  if constexpr (std::is_same_v<T, Join>) {
    return Type::kJoin;
  } else if constexpr (std::is_same_v<T, ForwardJoin>) {
    return Type::kForwardJoin;
  } else if constexpr (std::is_same_v<T, Disconnect>) {
    return Type::kDisconnect;
  } else if constexpr (std::is_same_v<T, Neighbor>) {
    return Type::kNeighbor;
  } else if constexpr (std::is_same_v<T, NeighborReply>) {
    return Type::kNeighborReply;
  } else if constexpr (std::is_same_v<T, Shuffle>) {
    return Type::kShuffle;
  } else if constexpr (std::is_same_v<T, ShuffleReply>) {
    return Type::kShuffleReply;
  } else {
    static_assert(sizeof(T) == 0, "every MembershipMessage alternative needs a type byte");
  }
}

size_t BodySize(const Join&) { return 0; }
size_t BodySize(const ForwardJoin&) { return kNodeSize + 1; }
size_t BodySize(const Disconnect&) { return 0; }
size_t BodySize(const Neighbor&) { return 1; }
size_t BodySize(const NeighborReply&) { return 1; }
size_t BodySize(const Shuffle& m) { return kNodeSize + 2 + kNodeSize * m.nodes.size(); }
size_t BodySize(const ShuffleReply& m) { return 1 + kNodeSize * m.nodes.size(); }

void PutNode(Bytes& out, NodeId node) {
  CHECK(node != kNoNode);
  PutU64(out, node);
}

void PutNodeList(Bytes& out, const std::vector<NodeId>& nodes) {
  CHECK(nodes.size() <= kMaxMessageNodes);
  out.push_back(static_cast<uint8_t>(nodes.size()));
  for (NodeId node : nodes) PutNode(out, node);
}

void PutBody(Bytes&, const Join&) {}
void PutBody(Bytes& out, const ForwardJoin& m) {
  PutNode(out, m.new_node);
  out.push_back(m.ttl);
}
void PutBody(Bytes&, const Disconnect&) {}
void PutBody(Bytes& out, const Neighbor& m) { out.push_back(m.high_priority ? 1 : 0); }
void PutBody(Bytes& out, const NeighborReply& m) { out.push_back(m.accepted ? 1 : 0); }
void PutBody(Bytes& out, const Shuffle& m) {
  PutNode(out, m.origin);
  out.push_back(m.ttl);
  PutNodeList(out, m.nodes);
}
void PutBody(Bytes& out, const ShuffleReply& m) { PutNodeList(out, m.nodes); }

// The readers of the fields below mark the reader failed (Fail) for a value that decodes but
// is refused, so a message's fields are read straight through and checked once.

// Only 0 and 1 are accepted, so that every message has exactly one encoding.
bool GetBool(ByteReader& r) {
  const uint8_t b = r.U8();
  if (b > 1) r.Fail();
  return b == 1;
}

NodeId GetNode(ByteReader& r) {
  const NodeId v = r.U64();
  if (v == kNoNode) r.Fail();  // kNoNode is reserved for "no node" and never names a peer.
  return v;
}

std::vector<NodeId> GetNodeList(ByteReader& r) {
  // The count is checked against the bytes that remain before the list is allocated.
  std::vector<NodeId> nodes(r.Count8(kMaxMessageNodes, kNodeSize));
  for (NodeId& node : nodes) node = GetNode(r);
  return nodes;
}

void GetBody(ByteReader&, Join&) {}
void GetBody(ByteReader& r, ForwardJoin& m) {
  m.new_node = GetNode(r);
  m.ttl = r.U8();
}
void GetBody(ByteReader&, Disconnect&) {}
void GetBody(ByteReader& r, Neighbor& m) { m.high_priority = GetBool(r); }
void GetBody(ByteReader& r, NeighborReply& m) { m.accepted = GetBool(r); }
void GetBody(ByteReader& r, Shuffle& m) {
  m.origin = GetNode(r);
  m.ttl = r.U8();
  m.nodes = GetNodeList(r);
}
void GetBody(ByteReader& r, ShuffleReply& m) { m.nodes = GetNodeList(r); }

template <typename T>
bool GetAs(ByteReader& reader, MembershipMessage& message) {
  GetBody(reader, message.emplace<T>());
  return reader.ok();
}

// Reads the body of a message of the given type into message; false if the type is
// unknown or the body is malformed.
bool GetMessage(ByteReader& reader, uint8_t type, MembershipMessage& message) {
  switch (static_cast<Type>(type)) {
    case Type::kJoin:
      return GetAs<Join>(reader, message);
    case Type::kForwardJoin:
      return GetAs<ForwardJoin>(reader, message);
    case Type::kDisconnect:
      return GetAs<Disconnect>(reader, message);
    case Type::kNeighbor:
      return GetAs<Neighbor>(reader, message);
    case Type::kNeighborReply:
      return GetAs<NeighborReply>(reader, message);
    case Type::kShuffle:
      return GetAs<Shuffle>(reader, message);
    case Type::kShuffleReply:
      return GetAs<ShuffleReply>(reader, message);
  }
  return false;
}

// Returns what is wrong with bytes, or an empty string once message holds their decoding.
std::string DecodeInto(ByteSpan bytes, MembershipMessage& message) {
  ByteReader reader(bytes);
  const uint8_t version = reader.U8();
  const uint8_t type = reader.U8();
  if (!reader.ok()) {
    return "membership message is shorter than its 2-byte header";
  }
  if (version != kMembershipVersion) {
    return "membership message has unknown version " + std::to_string(version);
  }
  if (type < static_cast<uint8_t>(Type::kJoin) ||
      type > static_cast<uint8_t>(Type::kShuffleReply)) {
    return "membership message has unknown type " + std::to_string(type);
  }
  if (!GetMessage(reader, type, message)) {
    return "membership message of type " + std::to_string(type) +
           " is truncated, has a bad field or a node list over " + std::to_string(kMaxMessageNodes);
  }
  if (!reader.AtEnd()) {
    return "membership message of type " + std::to_string(type) + " has trailing bytes";
  }
  return "";
}

}  // namespace

size_t EncodedSize(const MembershipMessage& message) {
  return kHeaderSize + std::visit([](const auto& m) { return BodySize(m); }, message);
}

void Encode(const MembershipMessage& message, Bytes& out) {
  std::visit(
      [&out](const auto& m) {
        out.push_back(kMembershipVersion);
        out.push_back(static_cast<uint8_t>(TypeOf<std::decay_t<decltype(m)>>()));
        PutBody(out, m);
      },
      message);
}

// GCC 12 at -O2 with the sanitizers on (PANDO_SANITIZE) warns that moving the filled variant
// into the Result may read the storage of an alternative it does not hold: a false positive
// of -Wmaybe-uninitialized on std::variant's move. The warning is silenced for this one
// function rather than for the whole build.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
Result<MembershipMessage> DecodeMembership(ByteSpan bytes) {
  MembershipMessage message;
  std::string problem = DecodeInto(bytes, message);
  if (!problem.empty()) return Error{codes::kMalformed, std::move(problem)};
  return message;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace pando::proto
