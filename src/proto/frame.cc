#include "proto/frame.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/byte_reader.h"
#include "core/check.h"
#include "core/crypto.h"
#include "core/entry.h"
#include "core/error_codes.h"

namespace pando::proto {
namespace {

enum class FrameType : uint8_t {
  kHello = 1,
  kGroup = 2,
  kGoAway = 3,
  kPing = 4,
  kForkProof = 5,
  kDht = 6,
  kNotCarried = 7,
  kMembership = 16,
  kBroadcast = 17,
  kReconcile = 18,
  kWant = 19,
  kEntries = 20,
};

Error Malformed(const std::string& why) {
  return Error{codes::kMalformed, "The peer frame is malformed: " + why + "."};
}

Error CutShort() { return Malformed("a field is cut short"); }

void PutString(Bytes& out, std::string_view s) {
  CHECK(s.size() <= kFrameStringMax);
  out.push_back(static_cast<uint8_t>(s.size()));
  Append(out, AsBytes(s));
}

// A frame's string: its length (u8), then its bytes.
std::string GetString(ByteReader& r) { return std::string(AsString(r.Prefixed8(kFrameStringMax))); }

// The size of a broadcast message's header, from its type byte (0 if unknown).
size_t BroadcastHeaderBytes(uint8_t type) {
  switch (type) {
    case 1:
      return 40;
    case 2:
      return 36;
    case 3:
      return 35;
    case 4:
      return 2;
    default:
      return 0;
  }
}

// The peer records after a message that names `named` (with repeats): one for each named id
// but the two ends', each once. `what` names the frame in errors.
Result<std::vector<PeerRecord>> DecodePeerRecords(ByteReader& r, std::vector<NodeId> named,
                                                  NodeId sender, NodeId receiver,
                                                  std::string_view what) {
  const uint8_t count = r.U8();
  if (!r.ok())
    return Malformed(std::string("a ") + std::string(what) + " frame lacks its peer count");
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  std::erase_if(named, [&](NodeId id) { return id == sender || id == receiver; });
  std::vector<PeerRecord> peers;
  std::vector<NodeId> recorded;
  for (uint8_t i = 0; i < count; ++i) {
    PeerRecord p;
    r.Read(p.key);
    p.address = GetString(r);
    if (!r.ok()) return Malformed("a peer record is cut short");
    if (p.address.empty()) return Malformed("a peer record has an empty address");
    const NodeId id = NodeIdOfKey(p.key);
    if (!std::binary_search(named.begin(), named.end(), id)) {
      return Malformed("a peer record is for a node the message does not name");
    }
    recorded.push_back(id);
    peers.push_back(std::move(p));
  }
  std::sort(recorded.begin(), recorded.end());
  if (std::adjacent_find(recorded.begin(), recorded.end()) != recorded.end()) {
    return Malformed("two peer records are for the same node");
  }
  if (recorded.size() != named.size()) {
    return Malformed(std::string("a node the ") + std::string(what) +
                     " message names has no peer record");
  }
  return peers;
}

void PutPeerRecords(Bytes& out, const std::vector<PeerRecord>& peers) {
  CHECK(peers.size() <= UINT8_MAX);
  out.push_back(static_cast<uint8_t>(peers.size()));
  for (const PeerRecord& p : peers) {
    CHECK(!p.address.empty());
    Append(out, p.key);
    PutString(out, p.address);
  }
}

Result<Frame> DecodeMembershipFrame(uint32_t handle, ByteReader& r, NodeId sender,
                                    NodeId receiver) {
  const ByteSpan inner = r.Prefixed16(UINT16_MAX);
  if (!r.ok()) return Malformed("a MEMBERSHIP message is cut short");
  Result<MembershipMessage> message = DecodeMembership(inner);
  if (!message.ok()) return message.error();
  auto peers = DecodePeerRecords(r, NamedIds(*message), sender, receiver, "MEMBERSHIP");
  if (!peers.ok()) return peers.error();
  return Frame(MembershipFrame{handle, std::move(message).value(), std::move(peers).value()});
}

Result<Frame> DecodeDhtFrame(ByteReader& r, NodeId sender, NodeId receiver) {
  const ByteSpan inner = r.Prefixed16(kDhtMessageBytesMax);
  if (!r.ok()) return Malformed("a DHT message is cut short or over its limit");
  Result<DhtMessage> message = DecodeDhtMessage(inner);
  if (!message.ok()) return message.error();
  auto peers = DecodePeerRecords(r, DhtNamedIds(*message), sender, receiver, "DHT");
  if (!peers.ok()) return peers.error();
  return Frame(DhtFrame{std::move(message).value(), std::move(peers).value()});
}

// A BROADCAST frame's message and, after a GOSSIP header, the entry it carries: rest is
// everything after the handle, at least 2 bytes.
Result<Frame> DecodeBroadcastFrame(uint32_t handle, ByteSpan rest) {
  const size_t header_bytes = BroadcastHeaderBytes(rest[1]);
  if (header_bytes == 0 || rest.size() < header_bytes) {
    // Let the broadcast decoder name the problem (version, type or length).
    Result<BroadcastMessage> m = DecodeBroadcast(rest.first(std::min(rest.size(), size_t{2})));
    if (!m.ok()) return m.error();
    return CutShort();
  }
  Result<BroadcastMessage> m = DecodeBroadcast(rest.first(header_bytes));
  if (!m.ok()) return m.error();
  BroadcastFrame f;
  f.handle = handle;
  f.message = std::move(m).value();
  const ByteSpan entry = rest.subspan(header_bytes);
  if (const auto* g = std::get_if<Gossip>(&f.message)) {
    if (entry.empty() || g->payload_bytes != entry.size()) {
      return Malformed("a GOSSIP's entry length differs from its header");
    }
    f.entry.assign(entry.begin(), entry.end());
  } else if (!entry.empty()) {
    return Malformed("bytes follow a broadcast message that carries no entry");
  }
  return Frame(std::move(f));
}

Result<Frame> DecodeWantFrame(ByteReader& r) {
  WantFrame f;
  f.handle = r.U32();
  // The count is checked against the ids that follow before they are allocated.
  f.ids.resize(r.Count16(kWantIdsMax, sizeof(Hash32)));
  if (r.failure() == ByteReader::Failure::kOverMax) {
    return Malformed("a WANT lists more than 4096 ids");
  }
  for (Hash32& id : f.ids) r.Read(id);
  if (!r.ok()) return CutShort();
  return Frame(std::move(f));
}

Result<Frame> DecodeEntriesFrame(ByteReader& r) {
  EntriesFrame f;
  f.handle = r.U32();
  const uint16_t count = r.U16();
  if (!r.ok()) return CutShort();
  if (count == 0) return Malformed("an ENTRIES frame carries no entry");
  for (uint16_t i = 0; i < count; ++i) {
    const ByteSpan e = r.Prefixed32(kFrameBytesMax);
    if (!r.ok()) return CutShort();
    f.entries.emplace_back(e.begin(), e.end());
  }
  return Frame(std::move(f));
}

// The fields of a frame of the given type, from r, which is left after the last of them.
Result<Frame> DecodeFields(uint8_t type, ByteReader& r, NodeId sender, NodeId receiver) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: {
      HelloFrame f;
      f.version = r.U8();
      f.listen_address = GetString(r);
      if (!r.ok()) return CutShort();
      if (f.version != kFrameVersion) {
        return Error{
            codes::kUnknownVersion,
            "The peer speaks frame version " + std::to_string(f.version) + "; this node speaks 1."};
      }
      return Frame(std::move(f));
    }
    case FrameType::kGroup: {
      GroupFrame f;
      f.handle = r.U32();
      f.name = GetString(r);
      if (!r.ok()) return CutShort();
      if (!IsValidGroupName(f.name)) return Malformed("a GROUP frame has an invalid group name");
      return Frame(std::move(f));
    }
    case FrameType::kGoAway: {
      GoAwayFrame f;
      f.code = GetString(r);
      f.reason.assign(AsString(r.Prefixed16(UINT16_MAX)));
      if (!r.ok()) return CutShort();
      return Frame(std::move(f));
    }
    case FrameType::kPing:
      return Frame(PingFrame{});
    case FrameType::kForkProof: {
      const ByteSpan proof = r.Rest();
      if (proof.empty()) return Malformed("a FORK_PROOF frame carries no proof");
      return Frame(ForkProofFrame{Bytes(proof.begin(), proof.end())});
    }
    case FrameType::kDht:
      return DecodeDhtFrame(r, sender, receiver);
    case FrameType::kNotCarried: {
      NotCarriedFrame f;
      f.name = GetString(r);
      if (!r.ok()) return CutShort();
      if (!IsValidGroupName(f.name))
        return Malformed("a NOT_CARRIED frame has an invalid group name");
      return Frame(std::move(f));
    }
    case FrameType::kMembership: {
      const uint32_t handle = r.U32();
      if (!r.ok()) return CutShort();
      return DecodeMembershipFrame(handle, r, sender, receiver);
    }
    case FrameType::kBroadcast: {
      const uint32_t handle = r.U32();
      if (!r.ok() || r.remaining() < 2) return CutShort();
      return DecodeBroadcastFrame(handle, r.Rest());
    }
    case FrameType::kReconcile: {
      ReconcileFrame f;
      f.handle = r.U32();
      const uint8_t open = r.U8();
      if (!r.ok()) return CutShort();
      if (open > 1) return Malformed("RECONCILE's open flag is neither 0 nor 1");
      f.open = open == 1;
      const ByteSpan body = r.Rest();
      f.body.assign(body.begin(), body.end());
      return Frame(std::move(f));
    }
    case FrameType::kWant:
      return DecodeWantFrame(r);
    case FrameType::kEntries:
      return DecodeEntriesFrame(r);
  }
  return Malformed("unknown frame type " + std::to_string(type));
}

}  // namespace

std::vector<NodeId> NamedIds(const MembershipMessage& m) {
  return std::visit(
      [](const auto& x) -> std::vector<NodeId> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, ForwardJoin>) {
          return {x.new_node};
        } else if constexpr (std::is_same_v<T, Shuffle>) {
          std::vector<NodeId> ids = {x.origin};
          ids.insert(ids.end(), x.nodes.begin(), x.nodes.end());
          return ids;
        } else if constexpr (std::is_same_v<T, ShuffleReply>) {
          return x.nodes;
        } else {
          return {};
        }
      },
      m);
}

NodeId NodeIdOfKey(const Hash32& public_key) {
  const Hash32 h = Blake2b256(public_key);
  return GetU64(h.data());
}

std::string NodeHex(NodeId id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

void EncodeFrame(const Frame& frame, Bytes& out) {
  const size_t start = out.size();
  PutU32(out, 0);  // The length, set below.
  std::visit(
      [&](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, HelloFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kHello));
          out.push_back(f.version);
          PutString(out, f.listen_address);
        } else if constexpr (std::is_same_v<T, GroupFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kGroup));
          PutU32(out, f.handle);
          CHECK(IsValidGroupName(f.name));
          PutString(out, f.name);
        } else if constexpr (std::is_same_v<T, GoAwayFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kGoAway));
          PutString(out, f.code);
          CHECK(f.reason.size() <= UINT16_MAX);
          PutU16(out, static_cast<uint16_t>(f.reason.size()));
          Append(out, AsBytes(f.reason));
        } else if constexpr (std::is_same_v<T, PingFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kPing));
        } else if constexpr (std::is_same_v<T, ForkProofFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kForkProof));
          CHECK(!f.proof.empty());
          Append(out, f.proof);
        } else if constexpr (std::is_same_v<T, MembershipFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kMembership));
          PutU32(out, f.handle);
          const size_t size = EncodedSize(f.message);
          CHECK(size <= UINT16_MAX);
          PutU16(out, static_cast<uint16_t>(size));
          Encode(f.message, out);
          PutPeerRecords(out, f.peers);
        } else if constexpr (std::is_same_v<T, NotCarriedFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kNotCarried));
          CHECK(IsValidGroupName(f.name));
          PutString(out, f.name);
        } else if constexpr (std::is_same_v<T, DhtFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kDht));
          const Bytes message = EncodeDhtMessage(f.message);
          CHECK(message.size() <= kDhtMessageBytesMax);
          PutU16(out, static_cast<uint16_t>(message.size()));
          Append(out, message);
          PutPeerRecords(out, f.peers);
        } else if constexpr (std::is_same_v<T, BroadcastFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kBroadcast));
          PutU32(out, f.handle);
          Encode(f.message, out);
          if (const auto* g = std::get_if<Gossip>(&f.message)) {
            CHECK(g->payload_bytes == f.entry.size() && !f.entry.empty());
            Append(out, f.entry);
          } else {
            CHECK(f.entry.empty());
          }
        } else if constexpr (std::is_same_v<T, ReconcileFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kReconcile));
          PutU32(out, f.handle);
          out.push_back(f.open ? 1 : 0);
          Append(out, f.body);
        } else if constexpr (std::is_same_v<T, WantFrame>) {
          out.push_back(static_cast<uint8_t>(FrameType::kWant));
          PutU32(out, f.handle);
          CHECK(f.ids.size() <= kWantIdsMax);
          PutU16(out, static_cast<uint16_t>(f.ids.size()));
          for (const Hash32& id : f.ids) Append(out, id);
        } else {
          static_assert(std::is_same_v<T, EntriesFrame>);
          out.push_back(static_cast<uint8_t>(FrameType::kEntries));
          PutU32(out, f.handle);
          CHECK(!f.entries.empty() && f.entries.size() <= UINT16_MAX);
          PutU16(out, static_cast<uint16_t>(f.entries.size()));
          for (const Bytes& e : f.entries) {
            PutU32(out, static_cast<uint32_t>(e.size()));
            Append(out, e);
          }
        }
      },
      frame);
  const size_t length = out.size() - start - 4;
  CHECK(length >= 1 && length <= kFrameBytesMax);
  for (int i = 0; i < 4; ++i) out[start + i] = static_cast<uint8_t>(length >> (8 * i));
}

Bytes EncodeFrame(const Frame& frame) {
  Bytes out;
  EncodeFrame(frame, out);
  return out;
}

Result<Frame> DecodeFrame(ByteSpan type_and_body, NodeId sender, NodeId receiver) {
  if (type_and_body.empty()) return Malformed("it is empty");
  if (type_and_body.size() > kFrameBytesMax) {
    return Error{codes::kOversize, "The peer frame is larger than 1 MiB."};
  }
  ByteReader r(type_and_body);
  const uint8_t type = r.U8();
  Result<Frame> result = DecodeFields(type, r, sender, receiver);
  if (result.ok() && r.remaining() != 0) return Malformed("bytes follow the last field");
  return result;
}

void FrameReader::Append(ByteSpan bytes) {
  // Drop what was consumed before growing, so the buffer stays about one frame long.
  if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(offset_));
    offset_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Frame>> FrameReader::Next() {
  if (failed_) return *failed_;
  ByteReader r(ByteSpan(buffer_).subspan(offset_));
  const uint32_t length = r.U32();
  if (!r.ok()) return std::optional<Frame>();  // The length is not all here yet.
  if (length == 0 || length > kFrameBytesMax) {
    failed_ = length == 0
                  ? Malformed("a frame has length 0")
                  : Error{codes::kOversize, "A peer frame announces " + std::to_string(length) +
                                                " bytes; the limit is 1 MiB."};
    return *failed_;
  }
  const ByteSpan frame = r.Take(length);
  if (!r.ok()) return std::optional<Frame>();  // The frame is not all here yet.
  Result<Frame> decoded = DecodeFrame(frame, sender_, receiver_);
  offset_ += 4 + size_t{length};
  if (!decoded.ok()) {
    failed_ = decoded.error();
    return *failed_;
  }
  return std::optional<Frame>(std::move(decoded).value());
}

}  // namespace pando::proto
