// Tests of core/entry.h: encoding, decoding, every rejection path, signatures and the
// feed rules (future timestamps, successors).

#include "core/entry.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error_codes.h"
#include "core/limits.h"

namespace pando {
namespace {

namespace L = entry_layout;

constexpr uint64_t k2Pow63 = uint64_t{1} << 63;
constexpr int64_t kT0 = 1700000000000;

KeyPair TestKey(uint8_t fill = 1) {
  Seed s;
  s.fill(fill);
  return KeyPair::FromSeed(s);
}

Hash32 Filled(uint8_t value) {
  Hash32 h;
  h.fill(value);
  return h;
}

Bytes BytesOf(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Every field of an encoding, free to hold values Entry::Sign would refuse.
struct RawEntry {
  uint8_t version = 1;
  PublicKey author{};
  uint64_t seq = 1;
  Hash32 prev{};
  uint64_t timestamp_ms = static_cast<uint64_t>(kT0);
  uint16_t kind = 1;
  std::string group = "general";
  std::optional<uint8_t> group_len;  // Defaults to group.size().
  Bytes payload = BytesOf("hi");
  std::optional<uint32_t> payload_len;  // Defaults to payload.size().
  const KeyPair* signer = nullptr;      // Signs the body if set; else a zero signature.

  Bytes Encode() const {
    Bytes out;
    out.push_back(version);
    Append(out, signer ? signer->public_key() : author);
    PutU64(out, seq);
    Append(out, prev);
    PutU64(out, timestamp_ms);
    PutU16(out, kind);
    out.push_back(group_len.value_or(static_cast<uint8_t>(group.size())));
    Append(out, AsBytes(group));
    PutU32(out, payload_len.value_or(static_cast<uint32_t>(payload.size())));
    Append(out, payload);
    Signature sig{};
    if (signer) {
      Bytes message = BytesOf(kEntrySignatureDomain);
      Append(message, out);
      sig = signer->Sign(message);
    }
    Append(out, sig);
    return out;
  }
};

std::string_view DecodeCode(const RawEntry& raw) { return Entry::Decode(raw.Encode()).code(); }

Entry SignOrDie(const EntryDraft& draft, const KeyPair& key) {
  auto e = Entry::Sign(draft, key);
  CHECK(e.ok());
  return std::move(e).value();
}

EntryDraft SmallDraft() {
  EntryDraft d;
  d.seq = 1;
  d.timestamp_ms = kT0;
  d.group = "general";
  d.kind = 7;
  d.payload = BytesOf("hello");
  return d;
}

TEST(EntrySignTest, DecodeRoundTripsEveryField) {
  KeyPair key = TestKey();
  EntryDraft d;
  d.seq = 42;
  d.prev = Filled(0x5a);
  d.timestamp_ms = 1234567890123;
  d.group = "pando.dev_notes-2";
  d.kind = 0xbeef;
  d.payload = BytesOf("some payload");
  Entry signed_entry = SignOrDie(d, key);

  auto e = Entry::Decode(signed_entry.bytes());
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(*e, signed_entry);
  EXPECT_EQ(e->version(), 1);
  EXPECT_EQ(e->author(), key.public_key());
  EXPECT_EQ(e->seq(), 42u);
  EXPECT_EQ(e->prev(), Filled(0x5a));
  EXPECT_EQ(e->timestamp_ms(), 1234567890123);
  EXPECT_EQ(e->kind(), 0xbeef);
  EXPECT_EQ(e->group(), "pando.dev_notes-2");
  EXPECT_EQ(Bytes(e->payload().begin(), e->payload().end()), d.payload);
  EXPECT_EQ(e->signature(), signed_entry.signature());
  EXPECT_EQ(e->id(), signed_entry.id());
}

TEST(EntrySignTest, EncodingFollowsTheDocumentedLayout) {
  KeyPair key = TestKey();
  RawEntry raw;
  raw.signer = &key;
  raw.seq = 3;
  raw.prev = Filled(0x22);
  raw.kind = 0x0102;
  raw.group = "g";
  raw.payload = BytesOf("xyz");
  EntryDraft d;
  d.seq = 3;
  d.prev = Filled(0x22);
  d.timestamp_ms = kT0;
  d.kind = 0x0102;
  d.group = "g";
  d.payload = BytesOf("xyz");
  Entry e = SignOrDie(d, key);
  EXPECT_EQ(e.bytes(), raw.Encode());
  EXPECT_EQ(e.bytes().size(), L::kOverhead + 1 + 3);
  EXPECT_EQ(e.body().size(), e.bytes().size() - 64);
  EXPECT_EQ(e.bytes()[L::kKind], 0x02);
  EXPECT_EQ(e.bytes()[L::kKind + 1], 0x01);
}

TEST(EntrySignTest, IdIsBlake2bOfTheWholeEncoding) {
  Entry e = SignOrDie(SmallDraft(), TestKey());
  EXPECT_EQ(e.id(), Blake2b256(e.bytes()));
  EXPECT_NE(e.id(), Blake2b256(e.body()));
}

TEST(EntrySignTest, SigningIsDeterministic) {
  EXPECT_EQ(SignOrDie(SmallDraft(), TestKey()), SignOrDie(SmallDraft(), TestKey()));
  EXPECT_NE(SignOrDie(SmallDraft(), TestKey(1)).id(), SignOrDie(SmallDraft(), TestKey(2)).id());
}

TEST(EntrySignTest, RejectsInvalidDrafts) {
  KeyPair key = TestKey();
  EntryDraft d = SmallDraft();
  d.group = "Bad";
  EXPECT_EQ(Entry::Sign(d, key).code(), codes::kInvalidGroup);
  d = SmallDraft();
  d.group = std::string(300, 'a');
  EXPECT_EQ(Entry::Sign(d, key).code(), codes::kInvalidGroup);
  d = SmallDraft();
  d.timestamp_ms = -1;
  EXPECT_EQ(Entry::Sign(d, key).code(), codes::kMalformed);
  d = SmallDraft();
  d.payload.assign(limits::kPayloadBytesMax + 1, 0);
  EXPECT_EQ(Entry::Sign(d, key).code(), codes::kOversize);
  d = SmallDraft();
  d.seq = 0;
  EXPECT_EQ(Entry::Sign(d, key).code(), codes::kMalformed);
  d = SmallDraft();
  d.seq = k2Pow63;
  d.prev = Filled(1);
  EXPECT_EQ(Entry::Sign(d, key).code(), codes::kMalformed);
  d = SmallDraft();
  d.prev = Filled(1);
  EXPECT_EQ(Entry::Sign(d, key).code(), codes::kWrongPrev);
  d = SmallDraft();
  d.seq = 2;
  EXPECT_EQ(Entry::Sign(d, key).code(), codes::kWrongPrev);
}

TEST(EntryDecodeTest, AcceptsAValidRawEncoding) {
  KeyPair key = TestKey();
  RawEntry raw;
  raw.signer = &key;
  auto e = Entry::Decode(raw.Encode());
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_TRUE(VerifyEntrySignature(*e).ok());
}

TEST(EntryDecodeTest, EmptyIsMalformed) {
  EXPECT_EQ(Entry::Decode(Bytes{}).code(), codes::kMalformed);
}

TEST(EntryDecodeTest, OtherVersionsAreUnknown) {
  for (uint8_t version : {0, 2, 255}) {
    RawEntry raw;
    raw.version = version;
    EXPECT_EQ(DecodeCode(raw), codes::kUnknownVersion) << int{version};
  }
  EXPECT_EQ(Entry::Decode(Bytes{2}).code(), codes::kUnknownVersion);
}

TEST(EntryDecodeTest, TooLongOverallIsOversize) {
  const size_t max = L::kOverhead + limits::kGroupNameBytesMax + limits::kPayloadBytesMax;
  Bytes too_long(max + 1, 0);
  too_long[0] = 1;
  EXPECT_EQ(Entry::Decode(too_long).code(), codes::kOversize);
  // A valid entry with a trailing byte beyond the maximum is also OVERSIZE, not MALFORMED.
  RawEntry raw;
  raw.group = std::string(64, 'g');
  raw.payload.assign(limits::kPayloadBytesMax, 0x33);
  Bytes bytes = raw.Encode();
  ASSERT_EQ(bytes.size(), max);
  bytes.push_back(0);
  EXPECT_EQ(Entry::Decode(bytes).code(), codes::kOversize);
}

TEST(EntryDecodeTest, PayloadLengthOverLimitIsOversize) {
  RawEntry raw;
  raw.payload_len = limits::kPayloadBytesMax + 1;
  EXPECT_EQ(DecodeCode(raw), codes::kOversize);
  raw.payload_len = UINT32_MAX;
  EXPECT_EQ(DecodeCode(raw), codes::kOversize);
}

TEST(EntryDecodeTest, PayloadOfExactly65536BytesIsAccepted) {
  KeyPair key = TestKey();
  EntryDraft d = SmallDraft();
  d.payload.assign(limits::kPayloadBytesMax, 0xa5);
  auto e = Entry::Sign(d, key);
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->payload().size(), 65536u);
  auto back = Entry::Decode(e->bytes());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(VerifyEntrySignature(*back).ok());
}

TEST(EntryDecodeTest, GroupOfExactly64BytesIsAccepted) {
  KeyPair key = TestKey();
  EntryDraft d = SmallDraft();
  d.group = "0123456789abcdefghijklmnopqrstuvwxyz._-" + std::string(25, 'z');
  ASSERT_EQ(d.group.size(), 64u);
  auto e = Entry::Sign(d, key);
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->group(), d.group);
  EXPECT_TRUE(Entry::Decode(e->bytes()).ok());
}

TEST(EntryDecodeTest, TruncationIsMalformed) {
  KeyPair key = TestKey();
  RawEntry raw;
  raw.signer = &key;
  raw.payload = BytesOf("a payload of some length");
  const Bytes full = raw.Encode();
  ASSERT_TRUE(Entry::Decode(full).ok());
  const size_t group_end = L::kGroup + raw.group.size();
  // Cut inside each field and at its boundaries.
  for (size_t len : {size_t{1}, L::kSeq, L::kSeq + 4, L::kPrev + 10, L::kTimestamp, L::kKind + 1,
                     L::kGroupLen, L::kGroup, L::kGroup + 3, group_end, group_end + 2,
                     group_end + 4, group_end + 10, full.size() - 64, full.size() - 1}) {
    ASSERT_LT(len, full.size());
    EXPECT_EQ(Entry::Decode(ByteSpan(full).first(len)).code(), codes::kMalformed)
        << "length " << len;
  }
}

TEST(EntryDecodeTest, EveryProperPrefixIsRejected) {
  KeyPair key = TestKey();
  RawEntry raw;
  raw.signer = &key;
  const Bytes full = raw.Encode();
  for (size_t len = 0; len < full.size(); ++len) {
    EXPECT_FALSE(Entry::Decode(ByteSpan(full).first(len)).ok()) << "length " << len;
  }
}

TEST(EntryDecodeTest, TrailingByteIsMalformed) {
  KeyPair key = TestKey();
  RawEntry raw;
  raw.signer = &key;
  Bytes bytes = raw.Encode();
  bytes.push_back(0);
  EXPECT_EQ(Entry::Decode(bytes).code(), codes::kMalformed);
}

TEST(EntryDecodeTest, PayloadLengthFieldMustMatch) {
  RawEntry raw;
  raw.payload_len = static_cast<uint32_t>(raw.payload.size() - 1);
  EXPECT_EQ(DecodeCode(raw), codes::kMalformed);
  raw.payload_len = static_cast<uint32_t>(raw.payload.size() + 1);
  EXPECT_EQ(DecodeCode(raw), codes::kMalformed);
}

TEST(EntryDecodeTest, SeqMustBeBetween1And2Pow63Minus1) {
  RawEntry raw;
  raw.seq = 0;
  EXPECT_EQ(DecodeCode(raw), codes::kMalformed);
  raw.prev = Filled(1);
  for (uint64_t seq : {k2Pow63, k2Pow63 + 1, UINT64_MAX}) {
    raw.seq = seq;
    EXPECT_EQ(DecodeCode(raw), codes::kMalformed) << seq;
  }
  raw.seq = k2Pow63 - 1;
  auto e = Entry::Decode(raw.Encode());
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->seq(), k2Pow63 - 1);
}

TEST(EntryDecodeTest, TimestampMustBeBelow2Pow63) {
  RawEntry raw;
  for (uint64_t ts : {k2Pow63, UINT64_MAX}) {
    raw.timestamp_ms = ts;
    EXPECT_EQ(DecodeCode(raw), codes::kMalformed) << ts;
  }
  raw.timestamp_ms = k2Pow63 - 1;
  auto e = Entry::Decode(raw.Encode());
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->timestamp_ms(), INT64_MAX);
  raw.timestamp_ms = 0;
  EXPECT_TRUE(Entry::Decode(raw.Encode()).ok());
}

TEST(EntryDecodeTest, InvalidGroupNames) {
  for (const std::string& group :
       {std::string(), std::string(65, 'a'), std::string("General"), std::string("-news"),
        std::string(".news"), std::string("_news"), std::string("a/b"), std::string("a b"),
        std::string("caf\xc3\xa9"), std::string("a\0b", 3), std::string(255, 'x')}) {
    RawEntry raw;
    raw.group = group;
    EXPECT_EQ(DecodeCode(raw), codes::kInvalidGroup) << "'" << group << "'";
  }
}

TEST(EntryDecodeTest, GroupLengthPastTheEndIsMalformed) {
  RawEntry raw;
  raw.group = "abc";
  raw.payload = {};
  raw.group_len = 200;  // More than the remaining bytes.
  EXPECT_EQ(DecodeCode(raw), codes::kMalformed);
}

TEST(EntryDecodeTest, FirstEntryMustHaveZeroPrev) {
  RawEntry raw;
  raw.seq = 1;
  raw.prev = Hash32{};
  raw.prev[31] = 1;
  EXPECT_EQ(DecodeCode(raw), codes::kWrongPrev);
}

TEST(EntryDecodeTest, LaterEntriesMustHaveNonZeroPrev) {
  RawEntry raw;
  raw.seq = 2;
  raw.prev = Hash32{};
  EXPECT_EQ(DecodeCode(raw), codes::kWrongPrev);
}

TEST(EntryDecodeTest, ChecksRunInTheDocumentedOrder) {
  // Several faults at once: the first check in the documented order wins.
  RawEntry raw;
  raw.version = 2;
  raw.seq = 0;
  EXPECT_EQ(DecodeCode(raw), codes::kUnknownVersion);
  raw.version = 1;
  raw.group = "BAD";
  EXPECT_EQ(DecodeCode(raw), codes::kMalformed);  // seq before group.
  raw.seq = 2;                                    // Zero prev: WRONG_PREV, but group first.
  EXPECT_EQ(DecodeCode(raw), codes::kInvalidGroup);
  raw.group = "ok";
  raw.payload_len = limits::kPayloadBytesMax + 1;
  EXPECT_EQ(DecodeCode(raw), codes::kOversize);  // payload_len before prev.
}

TEST(GroupNameTest, Validity) {
  for (std::string_view good : {"a", "0", "general", "a.b_c-d", "9lives", "x-"}) {
    EXPECT_TRUE(IsValidGroupName(good)) << good;
  }
  for (std::string_view bad : {"", "A", "-a", ".a", "_a", "a/b", "a:b", "a b", "\xff"}) {
    EXPECT_FALSE(IsValidGroupName(bad)) << bad;
  }
  EXPECT_TRUE(IsValidGroupName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidGroupName(std::string(65, 'a')));
}

TEST(EntrySignatureTest, SignedEntryVerifies) {
  Entry e = SignOrDie(SmallDraft(), TestKey());
  EXPECT_TRUE(VerifyEntrySignature(e).ok());
}

TEST(EntrySignatureTest, FlippingAnyByteNeverVerifies) {
  Entry e = SignOrDie(SmallDraft(), TestKey());
  const Bytes& good = e.bytes();
  int decode_errors = 0, bad_signatures = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = good;
      bad[i] ^= mask;
      auto d = Entry::Decode(bad);
      if (!d.ok()) {
        ++decode_errors;
        continue;
      }
      Status s = VerifyEntrySignature(*d);
      ASSERT_FALSE(s.ok()) << "byte " << i << " mask " << int{mask};
      EXPECT_EQ(s.code(), codes::kBadSignature);
      ++bad_signatures;
    }
  }
  EXPECT_GT(decode_errors, 0);
  EXPECT_GT(bad_signatures, 0);
}

TEST(EntrySignatureTest, SignatureOfAnotherKeyFails) {
  KeyPair a = TestKey(1), b = TestKey(2);
  RawEntry raw;
  raw.signer = &b;
  Bytes bytes = raw.Encode();
  // Replace the author with a's key, keeping b's signature.
  std::copy(a.public_key().begin(), a.public_key().end(), bytes.begin() + L::kAuthor);
  auto e = Entry::Decode(bytes);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(VerifyEntrySignature(*e).code(), codes::kBadSignature);
}

TEST(EntrySignatureTest, SignatureWithoutDomainTagFails) {
  KeyPair key = TestKey();
  RawEntry raw;
  Bytes bytes = raw.Encode();
  bytes.resize(bytes.size() - 64);
  std::copy(key.public_key().begin(), key.public_key().end(), bytes.begin() + L::kAuthor);
  Append(bytes, key.Sign(bytes));  // Signs the bare body.
  auto e = Entry::Decode(bytes);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(VerifyEntrySignature(*e).code(), codes::kBadSignature);
}

TEST(FutureTimestampTest, AtMost300SecondsAhead) {
  EntryDraft d = SmallDraft();
  d.timestamp_ms = kT0;
  Entry e = SignOrDie(d, TestKey());
  EXPECT_TRUE(CheckNotFromFuture(e, kT0).ok());
  EXPECT_TRUE(CheckNotFromFuture(e, kT0 + 1000000).ok());  // Past timestamps are fine.
  EXPECT_TRUE(CheckNotFromFuture(e, kT0 - 300000).ok());   // Exactly at the limit.
  Status s = CheckNotFromFuture(e, kT0 - 300001);          // 1 ms past it.
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), codes::kFutureTimestamp);
  EXPECT_EQ(CheckNotFromFuture(e, 0).code(), codes::kFutureTimestamp);
}

TEST(FutureTimestampTest, LargestTimestampIsFromTheFuture) {
  EntryDraft d = SmallDraft();
  d.timestamp_ms = INT64_MAX;
  Entry e = SignOrDie(d, TestKey());
  EXPECT_EQ(CheckNotFromFuture(e, kT0).code(), codes::kFutureTimestamp);
  EXPECT_TRUE(CheckNotFromFuture(e, INT64_MAX).ok());
}

class SuccessorTest : public ::testing::Test {
 protected:
  SuccessorTest() : key_(TestKey()) {
    EntryDraft d = SmallDraft();
    first_ = SignOrDie(d, key_);
    head_ = FeedHead{first_->seq(), first_->id(), first_->timestamp_ms()};
  }
  Entry Next(uint64_t seq, const Hash32& prev, int64_t ts) {
    EntryDraft d = SmallDraft();
    d.seq = seq;
    d.prev = prev;
    d.timestamp_ms = ts;
    return SignOrDie(d, key_);
  }
  KeyPair key_;
  std::optional<Entry> first_;
  FeedHead head_;
};

TEST_F(SuccessorTest, FirstEntryFollowsAnEmptyFeed) {
  EXPECT_TRUE(CheckSuccessor(FeedHead{}, *first_).ok());
}

TEST_F(SuccessorTest, LinkedEntryFollows) {
  EXPECT_TRUE(CheckSuccessor(head_, Next(2, first_->id(), kT0 + 1)).ok());
  EXPECT_TRUE(CheckSuccessor(head_, Next(2, first_->id(), kT0)).ok());  // Equal timestamps.
}

TEST_F(SuccessorTest, SkippedSeqIsAGap) {
  EXPECT_EQ(CheckSuccessor(head_, Next(3, first_->id(), kT0 + 1)).code(), codes::kSeqGap);
  EXPECT_EQ(CheckSuccessor(FeedHead{}, Next(2, first_->id(), kT0)).code(), codes::kSeqGap);
}

TEST_F(SuccessorTest, PrevOtherThanTheHeadIsWrongPrev) {
  EXPECT_EQ(CheckSuccessor(head_, Next(2, Filled(9), kT0 + 1)).code(), codes::kWrongPrev);
}

TEST_F(SuccessorTest, EarlierTimestampIsARegression) {
  EXPECT_EQ(CheckSuccessor(head_, Next(2, first_->id(), kT0 - 1)).code(),
            codes::kTimestampRegression);
}

}  // namespace
}  // namespace pando
