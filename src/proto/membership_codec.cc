#include "proto/membership_codec.h"

#include <string>
#include <type_traits>

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

// Reads fixed-width fields front to back. Each getter returns false, consuming nothing, when
// too few bytes remain; the caller turns that into one MALFORMED error.
class Reader {
 public:
  explicit Reader(ByteSpan bytes) : bytes_(bytes) {}
  bool U8(uint8_t& v) {
    if (bytes_.empty()) return false;
    v = bytes_[0];
    bytes_ = bytes_.subspan(1);
    return true;
  }
  bool Bool(bool& v) {
    uint8_t b = 0;
    // Only 0 and 1 are accepted, so that every message has exactly one encoding.
    if (!U8(b) || b > 1) return false;
    v = b == 1;
    return true;
  }
  bool Node(NodeId& v) {
    if (bytes_.size() < kNodeSize) return false;
    v = GetU64(bytes_.data());
    bytes_ = bytes_.subspan(kNodeSize);
    return v != kNoNode;  // kNoNode is reserved for "no node" and never names a peer.
  }
  bool NodeList(std::vector<NodeId>& nodes) {
    uint8_t count = 0;
    if (!U8(count) || count > kMaxMessageNodes) return false;
    // The length check comes before the allocation, so a short frame cannot make us reserve.
    if (bytes_.size() < kNodeSize * count) return false;
    nodes.resize(count);
    for (NodeId& node : nodes) {
      if (!Node(node)) return false;
    }
    return true;
  }
  bool AtEnd() const { return bytes_.empty(); }

 private:
  ByteSpan bytes_;
};

bool GetBody(Reader&, Join&) { return true; }
bool GetBody(Reader& r, ForwardJoin& m) { return r.Node(m.new_node) && r.U8(m.ttl); }
bool GetBody(Reader&, Disconnect&) { return true; }
bool GetBody(Reader& r, Neighbor& m) { return r.Bool(m.high_priority); }
bool GetBody(Reader& r, NeighborReply& m) { return r.Bool(m.accepted); }
bool GetBody(Reader& r, Shuffle& m) {
  return r.Node(m.origin) && r.U8(m.ttl) && r.NodeList(m.nodes);
}
bool GetBody(Reader& r, ShuffleReply& m) { return r.NodeList(m.nodes); }

template <typename T>
bool GetAs(Reader& reader, MembershipMessage& message) {
  return GetBody(reader, message.emplace<T>());
}

// Reads the body of a message of the given type into message; false if the type is
// unknown or the body is malformed.
bool GetMessage(Reader& reader, uint8_t type, MembershipMessage& message) {
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
  Reader reader(bytes);
  uint8_t version = 0;
  uint8_t type = 0;
  if (!reader.U8(version) || !reader.U8(type)) {
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
