#include "proto/dht_record.h"

#include <algorithm>

#include "core/byte_reader.h"
#include "core/error_codes.h"

namespace pando::proto {
namespace {

constexpr size_t kRecordFixedBytes = 79;  // Up to the address.

Error Malformed(const std::string& why) { return Error{codes::kMalformed, "The DHT " + why + "."}; }

bool AddressOk(std::string_view a) {
  return !a.empty() && a.size() <= kDhtAddressMax &&
         std::all_of(a.begin(), a.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

Bytes SigningMessage(ByteSpan body) {
  Bytes m(kDhtRecordDomain.begin(), kDhtRecordDomain.end());
  Append(m, body);
  return m;
}

enum : uint8_t { kFind = 1, kFound = 2, kStore = 3, kStored = 4, kFlood = 5, kFloodHit = 6 };

void PutRecord(Bytes& out, const DhtRecordRef& r) {
  CHECK(r != nullptr && r->bytes.size() <= kDhtRecordBytesMax);
  PutU16(out, static_cast<uint16_t>(r->bytes.size()));
  Append(out, r->bytes);
}

// A record inside a message: MALFORMED with the record decoder's reason.
Result<DhtRecordRef> ReadRecord(ByteReader& in) {
  const ByteSpan bytes = in.Prefixed16(kDhtRecordBytesMax);
  if (!in.ok()) return Malformed("message's record is cut short or too long");
  auto r = DecodeDhtRecord(bytes);
  if (!r.ok()) return r.error();
  return std::make_shared<const DhtRecord>(std::move(r).value());
}

// A record list (FOUND, FLOOD_HIT): count (1 byte, at most kDhtRecordsMax), then each record.
void PutRecords(Bytes& out, const std::vector<DhtRecordRef>& records) {
  CHECK(records.size() <= kDhtRecordsMax);
  out.push_back(static_cast<uint8_t>(records.size()));
  for (const DhtRecordRef& r : records) PutRecord(out, r);
}

// Reads a record list into `records`; a count over the maximum leaves `in` failed.
Status ReadRecords(ByteReader& in, std::vector<DhtRecordRef>& records) {
  const size_t n = in.Count8(kDhtRecordsMax, 2);
  for (size_t i = 0; i < n && in.ok(); ++i) {
    auto rec = ReadRecord(in);
    if (!rec.ok()) return rec.error();
    records.push_back(std::move(rec).value());
  }
  return {};
}

// A record list's bytes on the wire.
size_t RecordsBytes(const std::vector<DhtRecordRef>& records) {
  size_t n = 1;
  for (const DhtRecordRef& r : records) n += 2 + r->bytes.size();
  return n;
}

}  // namespace

Hash32 DhtGroupKey(std::string_view group) {
  return Blake2b256(AsBytes(kDhtGroupDomain), AsBytes(group));
}

Hash32 DhtFeedKey(const PublicKey& author) { return Blake2b256(AsBytes(kDhtFeedDomain), author); }

uint64_t DhtPoint(const Hash32& key) { return GetU64(key.data()); }

Hash32 DhtKeyAt(uint64_t point) {
  Hash32 key{};
  for (size_t i = 0; i < 8; ++i) key[i] = static_cast<uint8_t>(point >> (8 * i));
  return key;
}

DhtRecord SignDhtRecord(DhtKind kind, const Hash32& key, const KeyPair& publisher,
                        std::string address, int64_t issued_ms, uint32_t ttl_s) {
  CHECK(AddressOk(address) && issued_ms >= 0 && ttl_s >= kDhtTtlMinS && ttl_s <= kDhtTtlMaxS);
  DhtRecord r;
  r.kind = kind;
  r.key = key;
  r.publisher = publisher.public_key();
  r.issued_ms = issued_ms;
  r.ttl_s = ttl_s;
  r.address = std::move(address);
  Bytes& b = r.bytes;
  b.push_back(kDhtVersion);
  b.push_back(static_cast<uint8_t>(kind));
  Append(b, r.key);
  Append(b, r.publisher);
  PutU64(b, static_cast<uint64_t>(issued_ms));
  PutU32(b, ttl_s);
  b.push_back(static_cast<uint8_t>(r.address.size()));
  Append(b, AsBytes(r.address));
  r.signature = publisher.Sign(SigningMessage(b));
  Append(b, r.signature);
  return r;
}

Result<DhtRecord> DecodeDhtRecord(ByteSpan bytes) {
  if (bytes.size() > kDhtRecordBytesMax) return Malformed("record is over 398 bytes");
  ByteReader in(bytes);
  DhtRecord r;
  const uint8_t version = in.U8();
  const uint8_t kind = in.U8();
  in.Read(r.key);
  in.Read(r.publisher);
  const uint64_t issued = in.U64();
  r.ttl_s = in.U32();
  const ByteSpan address = in.Prefixed8(kDhtAddressMax);
  in.Read(r.signature);
  if (!in.ok()) return Malformed("record is cut short");
  if (in.remaining() != 0) return Malformed("record has bytes after its signature");
  if (version != kDhtVersion) return Malformed("record's version is not 1");
  if (kind == 0 || kind > kDhtKindMax) return Malformed("record's kind is not 1 to 4");
  if (r.ttl_s < kDhtTtlMinS || r.ttl_s > kDhtTtlMaxS) {
    return Malformed("record's ttl is not 60 to 86,400 s");
  }
  if (issued >= (uint64_t{1} << 63)) return Malformed("record's issued_ms is 2^63 or more");
  r.address.assign(address.begin(), address.end());
  if (!AddressOk(r.address)) return Malformed("record's address is empty or not printable");
  r.kind = static_cast<DhtKind>(kind);
  r.issued_ms = static_cast<int64_t>(issued);
  r.bytes.assign(bytes.begin(), bytes.end());
  return r;
}

Status VerifyDhtRecord(const DhtRecord& r) {
  CHECK(r.bytes.size() >= kRecordFixedBytes + 64);
  const ByteSpan body(r.bytes.data(), r.bytes.size() - 64);
  if (!VerifySignature(r.publisher, SigningMessage(body), r.signature)) {
    return Error{codes::kBadSignature, "The DHT record's signature is not its publisher's."};
  }
  return {};
}

Status DhtRecordFresh(const DhtRecord& r, int64_t now_ms) {
  if (r.issued_ms > now_ms + kDhtClockSkewMs) {
    return Error{codes::kFutureTimestamp,
                 "The DHT record was issued more than a minute ahead of this node's clock."};
  }
  if (r.expires_ms() <= now_ms) return Error{codes::kExpired, "The DHT record has expired."};
  return {};
}

bool DhtRecordNewer(const DhtRecord& a, const DhtRecord& b) {
  if (a.issued_ms != b.issued_ms) return a.issued_ms > b.issued_ms;
  return a.id() > b.id();
}

Bytes EncodeDhtMessage(const DhtMessage& m) {
  Bytes out;
  out.push_back(kDhtVersion);
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, DhtFind>) {
          out.push_back(kFind);
          PutU32(out, v.rpc);
          Append(out, v.target);
          CHECK(v.kind <= kDhtKindMax);
          out.push_back(v.kind);
        } else if constexpr (std::is_same_v<T, DhtFound>) {
          out.push_back(kFound);
          PutU32(out, v.rpc);
          CHECK(v.nodes.size() <= kDhtNodesMax);
          out.push_back(static_cast<uint8_t>(v.nodes.size()));
          for (NodeId id : v.nodes) {
            CHECK(id != kNoNode);
            PutU64(out, id);
          }
          PutRecords(out, v.records);
        } else if constexpr (std::is_same_v<T, DhtStore>) {
          out.push_back(kStore);
          PutU32(out, v.rpc);
          PutRecord(out, v.record);
        } else if constexpr (std::is_same_v<T, DhtStored>) {
          out.push_back(kStored);
          PutU32(out, v.rpc);
          out.push_back(static_cast<uint8_t>(v.code));
        } else if constexpr (std::is_same_v<T, DhtFlood>) {
          out.push_back(kFlood);
          PutU64(out, v.query);
          Append(out, v.target);
          CHECK(v.kind >= 1 && v.kind <= kDhtKindMax && v.hops >= 1 && v.hops <= kDhtFloodHopsMax);
          out.push_back(v.kind);
          out.push_back(v.hops);
        } else {
          static_assert(std::is_same_v<T, DhtFloodHit>);
          out.push_back(kFloodHit);
          PutU64(out, v.query);
          CHECK(!v.records.empty());
          PutRecords(out, v.records);
        }
      },
      m);
  return out;
}

Result<DhtMessage> DecodeDhtMessage(ByteSpan bytes) {
  if (bytes.size() > kDhtMessageBytesMax) return Malformed("message is over 6,568 bytes");
  ByteReader in(bytes);
  const uint8_t version = in.U8();
  const uint8_t type = in.U8();
  if (!in.ok()) return Malformed("message is cut short");
  if (version != kDhtVersion) return Malformed("message's version is not 1");
  DhtMessage out;
  switch (type) {
    case kFind: {
      DhtFind f;
      f.rpc = in.U32();
      in.Read(f.target);
      f.kind = in.U8();
      if (in.ok() && f.kind > kDhtKindMax) return Malformed("FIND's kind is not 0 to 4");
      out = f;
      break;
    }
    case kFound: {
      DhtFound f;
      f.rpc = in.U32();
      const size_t n = in.Count8(kDhtNodesMax, 8);
      for (size_t i = 0; i < n && in.ok(); ++i) {
        const NodeId id = in.U64();
        if (id == kNoNode) return Malformed("FOUND names the no-node id");
        f.nodes.push_back(id);
      }
      if (Status s = ReadRecords(in, f.records); !s.ok()) return s.error();
      out = std::move(f);
      break;
    }
    case kStore: {
      DhtStore s;
      s.rpc = in.U32();
      auto rec = ReadRecord(in);
      if (!rec.ok()) return rec.error();
      s.record = std::move(rec).value();
      out = std::move(s);
      break;
    }
    case kStored: {
      DhtStored s;
      s.rpc = in.U32();
      const uint8_t code = in.U8();
      if (in.ok() && code > static_cast<uint8_t>(DhtStoreCode::kFar)) {
        return Malformed("STORED's code is not 0 to 4");
      }
      s.code = static_cast<DhtStoreCode>(code);
      out = s;
      break;
    }
    case kFlood: {
      DhtFlood f;
      f.query = in.U64();
      in.Read(f.target);
      f.kind = in.U8();
      f.hops = in.U8();
      if (in.ok() && (f.kind == 0 || f.kind > kDhtKindMax)) {
        return Malformed("FLOOD's kind is not 1 to 4");
      }
      if (in.ok() && (f.hops == 0 || f.hops > kDhtFloodHopsMax)) {
        return Malformed("FLOOD's hops are not 1 to 8");
      }
      out = f;
      break;
    }
    case kFloodHit: {
      DhtFloodHit h;
      h.query = in.U64();
      if (Status s = ReadRecords(in, h.records); !s.ok()) return s.error();
      if (in.ok() && h.records.empty()) return Malformed("FLOOD_HIT carries no record");
      out = std::move(h);
      break;
    }
    default:
      return Malformed("message's type is not 1 to 6");
  }
  if (!in.ok()) return Malformed("message is cut short or a count is over its maximum");
  if (in.remaining() != 0) return Malformed("message has bytes after its end");
  return out;
}

std::vector<NodeId> DhtNamedIds(const DhtMessage& m) {
  if (const auto* f = std::get_if<DhtFound>(&m)) return f->nodes;
  return {};
}

size_t DhtMessageBytes(const DhtMessage& m) {
  return std::visit(
      [](const auto& v) -> size_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, DhtFind>) {
          return 2 + 4 + 32 + 1;
        } else if constexpr (std::is_same_v<T, DhtFound>) {
          return 2 + 4 + 1 + 8 * v.nodes.size() + RecordsBytes(v.records);
        } else if constexpr (std::is_same_v<T, DhtStore>) {
          return 2 + 4 + 2 + v.record->bytes.size();
        } else if constexpr (std::is_same_v<T, DhtStored>) {
          return 2 + 4 + 1;
        } else if constexpr (std::is_same_v<T, DhtFlood>) {
          return 2 + 8 + 32 + 1 + 1;
        } else {
          return 2 + 8 + RecordsBytes(v.records);
        }
      },
      m);
}

}  // namespace pando::proto
