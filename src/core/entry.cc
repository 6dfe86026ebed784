#include "core/entry.h"

#include <algorithm>
#include <cstring>

#include "core/byte_reader.h"
#include "core/error_codes.h"
#include "core/limits.h"

namespace pando {
namespace L = entry_layout;

namespace {

constexpr uint64_t kInt63Max = static_cast<uint64_t>(INT64_MAX);

Error Malformed(const std::string& why) {
  return Error{codes::kMalformed, "The entry bytes are malformed: " + why + "."};
}

// The message an author signs: domain tag, then body. A thread-local buffer keeps
// verification free of allocations after the first call on each thread.
ByteSpan SignedMessage(ByteSpan body) {
  thread_local Bytes buffer;
  buffer.assign(kEntrySignatureDomain.begin(), kEntrySignatureDomain.end());
  buffer.insert(buffer.end(), body.begin(), body.end());
  return buffer;
}

bool IsZero(ByteSpan b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

}  // namespace

bool IsValidGroupName(std::string_view name) {
  if (name.empty() || name.size() > limits::kGroupNameBytesMax) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// The checks run in the order docs/entry-format.md gives, so every implementation reports
// the same code for the same bytes.
Result<Entry> Entry::Decode(ByteSpan bytes) { return Decode(Bytes(bytes.begin(), bytes.end())); }

Result<Entry> Entry::Decode(Bytes&& raw) {
  if (auto s = CheckEncoding(raw); !s.ok()) return s.error();
  const Hash32 id = Blake2b256(raw);
  return Entry(std::move(raw), id);
}

Status Entry::CheckEncoding(ByteSpan bytes) {
  const size_t n = bytes.size();
  if (n == 0) return Malformed("it is empty");
  ByteReader r(bytes);
  const uint8_t version = r.U8();
  if (version != kEntryVersion) {
    return Error{codes::kUnknownVersion, "The entry has version " + std::to_string(version) +
                                             "; this node understands version 1 only."};
  }
  constexpr size_t kEntryBytesMax =
      L::kOverhead + limits::kGroupNameBytesMax + limits::kPayloadBytesMax;
  if (n > kEntryBytesMax) {
    return Error{codes::kOversize, "The entry is " + std::to_string(n) + " bytes; at most " +
                                       std::to_string(kEntryBytesMax) + " are allowed."};
  }
  if (n < L::kOverhead) return Malformed("it is shorter than the fixed fields");
  // The fixed fields are all there; they are read in layout order (docs/entry-format.md).
  r.Take(sizeof(PublicKey));  // The author, checked by the signature.
  const uint64_t seq = r.U64();
  const bool prev_zero = IsZero(r.Take(sizeof(Hash32)));
  const uint64_t timestamp_ms = r.U64();
  r.U16();  // The kind: any value is valid here.
  if (seq == 0 || seq > kInt63Max) return Malformed("seq must be between 1 and 2^63-1");
  if (timestamp_ms > kInt63Max) return Malformed("timestamp_ms must be at most 2^63-1");
  const std::string_view group = AsString(r.Prefixed8(UINT8_MAX));
  if (!r.ok() || r.remaining() < 4 + sizeof(Signature)) {
    return Malformed("it ends inside the group name");
  }
  if (!IsValidGroupName(group)) {
    return Error{codes::kInvalidGroup,
                 "The group name is invalid: use 1 to 64 characters of a-z, 0-9, '.', '_' "
                 "and '-', starting with a letter or digit."};
  }
  const size_t payload_len = r.U32();
  if (payload_len > limits::kPayloadBytesMax) {
    return Error{codes::kOversize, "The payload is " + std::to_string(payload_len) +
                                       " bytes; at most 65536 are allowed (store larger "
                                       "content as a blob)."};
  }
  if (r.remaining() != payload_len + sizeof(Signature)) {
    return Malformed("its length does not match the payload length field");
  }
  if ((seq == 1) != prev_zero) {
    return Error{codes::kWrongPrev, seq == 1
                                        ? "The first entry of a feed must have an all-zero prev."
                                        : "Only the first entry of a feed may have an all-zero "
                                          "prev."};
  }
  return Status::Ok();
}

Result<Entry> Entry::Sign(const EntryDraft& draft, const KeyPair& key) {
  if (draft.timestamp_ms < 0) return Malformed("timestamp_ms must not be negative");
  if (draft.group.size() > limits::kGroupNameBytesMax || !IsValidGroupName(draft.group)) {
    return Error{codes::kInvalidGroup, "The group name '" + draft.group +
                                           "' is invalid: use 1 to 64 characters of a-z, "
                                           "0-9, '.', '_' and '-', starting with a letter or "
                                           "digit."};
  }
  if (draft.payload.size() > limits::kPayloadBytesMax) {
    return Error{codes::kOversize, "The payload is " + std::to_string(draft.payload.size()) +
                                       " bytes; at most 65536 are allowed (store larger "
                                       "content as a blob)."};
  }
  Bytes raw;
  raw.reserve(L::kOverhead + draft.group.size() + draft.payload.size());
  raw.push_back(kEntryVersion);
  Append(raw, key.public_key());
  PutU64(raw, draft.seq);
  Append(raw, draft.prev);
  PutU64(raw, static_cast<uint64_t>(draft.timestamp_ms));
  PutU16(raw, draft.kind);
  raw.push_back(static_cast<uint8_t>(draft.group.size()));
  Append(raw, AsBytes(draft.group));
  PutU32(raw, static_cast<uint32_t>(draft.payload.size()));
  Append(raw, draft.payload);
  Signature sig = key.Sign(SignedMessage(raw));
  Append(raw, sig);
  return Decode(raw);
}

PublicKey Entry::author() const {
  PublicKey k;
  std::memcpy(k.data(), &raw_[L::kAuthor], k.size());
  return k;
}

Hash32 Entry::prev() const {
  Hash32 h;
  std::memcpy(h.data(), &raw_[L::kPrev], h.size());
  return h;
}

ByteSpan Entry::payload() const {
  const size_t off = L::kGroup + group_len() + 4;
  return ByteSpan(raw_).subspan(off, raw_.size() - off - 64);
}

Signature Entry::signature() const {
  Signature s;
  std::memcpy(s.data(), raw_.data() + raw_.size() - 64, s.size());
  return s;
}

Status VerifyEntrySignature(const Entry& entry) {
  if (!VerifySignature(entry.author(), SignedMessage(entry.body()), entry.signature())) {
    return Error{codes::kBadSignature, "The signature of entry " + ToHex(entry.id()) +
                                           " does not verify with its author's key."};
  }
  return Status::Ok();
}

Status CheckNotFromFuture(const Entry& entry, int64_t now_ms) {
  // Written so that no subtraction can overflow: timestamps are at most 2^63-1.
  if (entry.timestamp_ms() - limits::kFutureSkewMsMax > now_ms) {
    return Error{codes::kFutureTimestamp,
                 "The entry's timestamp is " +
                     std::to_string((entry.timestamp_ms() - now_ms) / 1000) +
                     " s ahead of this node's clock; at most 300 s are allowed."};
  }
  return Status::Ok();
}

Status CheckSuccessor(const FeedHead& head, const Entry& next) {
  DCHECK(next.seq() > head.seq);
  if (next.seq() != head.seq + 1) {
    return Error{codes::kSeqGap, "Entry seq " + std::to_string(next.seq()) +
                                     " does not follow the feed's last entry, seq " +
                                     std::to_string(head.seq) +
                                     "; send the missing entries "
                                     "first."};
  }
  if (next.seq() > 1 && next.prev() != head.id) {
    return Error{codes::kWrongPrev, "Entry seq " + std::to_string(next.seq()) +
                                        " names a prev that is not the id of the feed's entry "
                                        "seq " +
                                        std::to_string(head.seq) + "."};
  }
  if (next.timestamp_ms() < head.timestamp_ms) {
    return Error{codes::kTimestampRegression,
                 "Entry seq " + std::to_string(next.seq()) +
                     " has an earlier timestamp than the entry before it in the feed."};
  }
  return Status::Ok();
}

}  // namespace pando
