// DHT records and messages (docs/dht-format.md): the golden vectors, signing and
// verification, freshness, which of two records is newer, and the decoders' refusals.
#include "proto/dht_record.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error_codes.h"
#include "testutil/feed.h"

namespace pando::proto {
namespace {

using testing::TestKey;

constexpr int64_t kIssued = 1'700'000'000'000;
constexpr std::string_view kRecordHex =
    "010189dd441078d42647ac012ce1641634d312622ee5c611145a98d66dc0405584b88a88e3dd7409f195fd52"
    "db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0068e5cf8b010000100e0000113139382e35312e3130"
    "302e373a37343030df6bc1ced296db4a14f818c26a6bb2a24cb962b9560a0797476a8caee3af5c0024af3437"
    "da089fb690e39cf46fe4c04ce59033499321556302c3c1b473128f0a";

DhtRecord GroupRecord(int64_t issued_ms = kIssued, uint8_t key = 1) {
  return SignDhtRecord(DhtKind::kCarriesGroup, DhtGroupKey("blog"), TestKey(key),
                       "198.51.100.7:7400", issued_ms, 3'600);
}

Bytes FromHexOrDie(std::string_view hex) {
  Bytes b;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    b.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return b;
}

TEST(DhtRecordTest, GoldenVectors) {
  // Keys: BLAKE2b-256 of the domain string, its zero byte, then the name or the key.
  EXPECT_EQ(ToHex(DhtGroupKey("blog")),
            "89dd441078d42647ac012ce1641634d312622ee5c611145a98d66dc0405584b8");
  EXPECT_EQ(ToHex(DhtFeedKey(TestKey(2).public_key())),
            "4cd7f5b02408eade5359ab227c59441345ad7a4d9241e3e2bebaeb87ab12da53");
  // The record of docs/dht-format.md's vectors: kind 1, the key of group "blog", the key
  // whose seed is 32 bytes of 0x01, issued 1,700,000,000,000, ttl 3,600 s.
  const DhtRecord r = GroupRecord();
  EXPECT_EQ(ToHex(r.bytes), kRecordHex);
  EXPECT_EQ(r.bytes.size(), 160u);
  EXPECT_EQ(ToHex(r.id()), "121770e914961a340022dc417d69c9ddc46ff04ec20435b7be28d07978541bbd");
  EXPECT_EQ(DhtPoint(r.key), 0x4726d4781044dd89u);
  EXPECT_EQ(DhtPoint(DhtKeyAt(0x4726d4781044dd89u)), 0x4726d4781044dd89u);
  EXPECT_EQ(ToHex(EncodeDhtMessage(DhtFind{7, r.key, 1})),
            "01010700000089dd441078d42647ac012ce1641634d312622ee5c611145a98d66dc0405584b801");
  auto ref = std::make_shared<const DhtRecord>(r);
  EXPECT_EQ(ToHex(EncodeDhtMessage(DhtFound{7, {1, 0x1122334455667788}, {ref}})),
            "010207000000020100000000000000887766554433221101a000" + std::string(kRecordHex));
  EXPECT_EQ(ToHex(EncodeDhtMessage(DhtStore{9, ref})),
            "010309000000a000" + std::string(kRecordHex));
  EXPECT_EQ(ToHex(EncodeDhtMessage(DhtStored{9, DhtStoreCode::kFull})), "01040900000002");
  EXPECT_EQ(ToHex(EncodeDhtMessage(DhtFlood{0x0102030405060708, r.key, 1, 5})),
            "01050807060504030201"
            "89dd441078d42647ac012ce1641634d312622ee5c611145a98d66dc0405584b8"
            "0105");
  EXPECT_EQ(ToHex(EncodeDhtMessage(DhtFloodHit{0x0102030405060708, {ref}})),
            "01060807060504030201"
            "01a000" +
                std::string(kRecordHex));
}

TEST(DhtRecordTest, DecodesToTheSameRecordAndVerifies) {
  const DhtRecord r = GroupRecord();
  auto d = DecodeDhtRecord(r.bytes);
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  EXPECT_EQ(d->kind, DhtKind::kCarriesGroup);
  EXPECT_EQ(d->key, r.key);
  EXPECT_EQ(d->publisher, TestKey(1).public_key());
  EXPECT_EQ(d->issued_ms, kIssued);
  EXPECT_EQ(d->ttl_s, 3'600u);
  EXPECT_EQ(d->address, "198.51.100.7:7400");
  EXPECT_EQ(d->bytes, r.bytes);
  EXPECT_TRUE(VerifyDhtRecord(*d).ok());
  // Any flipped bit of the signed part or the signature fails verification, or decoding.
  for (size_t i = 0; i < r.bytes.size(); ++i) {
    Bytes b = r.bytes;
    b[i] ^= 0x01;
    auto t = DecodeDhtRecord(b);
    if (t.ok()) {
      EXPECT_EQ(VerifyDhtRecord(*t).code(), codes::kBadSignature) << i;
    }
  }
}

TEST(DhtRecordTest, FreshWithinAMinuteAheadAndUntilItsTtl) {
  const DhtRecord r = GroupRecord();
  EXPECT_TRUE(DhtRecordFresh(r, kIssued).ok());
  EXPECT_TRUE(DhtRecordFresh(r, kIssued - kDhtClockSkewMs).ok());
  EXPECT_EQ(DhtRecordFresh(r, kIssued - kDhtClockSkewMs - 1).code(), codes::kFutureTimestamp);
  EXPECT_TRUE(DhtRecordFresh(r, kIssued + 3'600'000 - 1).ok());
  EXPECT_EQ(DhtRecordFresh(r, kIssued + 3'600'000).code(), codes::kExpired);
}

TEST(DhtRecordTest, TheLaterIssueIsNewerThenTheGreaterId) {
  const DhtRecord a = GroupRecord(kIssued), b = GroupRecord(kIssued + 1);
  EXPECT_TRUE(DhtRecordNewer(b, a));
  EXPECT_FALSE(DhtRecordNewer(a, b));
  const DhtRecord c = SignDhtRecord(DhtKind::kCarriesGroup, DhtGroupKey("blog"), TestKey(1),
                                    "198.51.100.8:7400", kIssued, 3'600);
  EXPECT_NE(DhtRecordNewer(a, c), DhtRecordNewer(c, a));
  EXPECT_EQ(DhtRecordNewer(a, c), a.id() > c.id());
}

TEST(DhtRecordTest, TheDecoderRefusesWhatTheSpecRefuses) {
  const Bytes good = GroupRecord().bytes;
  auto refused = [](Bytes b) { return DecodeDhtRecord(b).code() == codes::kMalformed; };
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_TRUE(refused(Bytes(good.begin(), good.begin() + static_cast<ptrdiff_t>(n)))) << n;
  }
  Bytes b = good;
  b.push_back(0);
  EXPECT_TRUE(refused(b));  // Trailing bytes.
  b = good;
  b[0] = 2;
  EXPECT_TRUE(refused(b));  // Version.
  for (uint8_t kind : {0, 5, 255}) {
    b = good;
    b[1] = kind;
    EXPECT_TRUE(refused(b)) << int{kind};
  }
  auto with_ttl = [&](uint32_t ttl) {
    Bytes t = good;
    for (int i = 0; i < 4; ++i) t[74 + i] = static_cast<uint8_t>(ttl >> (8 * i));
    return t;
  };
  EXPECT_TRUE(refused(with_ttl(59)));
  EXPECT_TRUE(refused(with_ttl(86'401)));
  EXPECT_FALSE(refused(with_ttl(60)));  // Decodes; its signature no longer verifies.
  b = good;
  b[73] = 0x80;  // issued_ms >= 2^63.
  EXPECT_TRUE(refused(b));
  b = good;
  b[79] = ' ';  // An address byte below 0x21.
  EXPECT_TRUE(refused(b));
  b = good;
  b[78] = 0;  // An empty address (the rest no longer fits either).
  EXPECT_TRUE(refused(b));
}

TEST(DhtRecordTest, MessagesRoundTripAndTheDecoderRefusesTheRest) {
  auto ref = std::make_shared<const DhtRecord>(GroupRecord());
  DhtFound found{3, {}, {}};
  for (NodeId id = 1; id <= kDhtNodesMax; ++id) found.nodes.push_back(id * 977);
  for (size_t i = 0; i < kDhtRecordsMax; ++i) found.records.push_back(ref);
  for (const DhtMessage& m : std::vector<DhtMessage>{
           DhtFind{1, ref->key, 0}, DhtFind{2, ref->key, 4}, found, DhtFound{4, {}, {}},
           DhtStore{5, ref}, DhtStored{6, DhtStoreCode::kStored}, DhtStored{6, DhtStoreCode::kRate},
           DhtStored{7, DhtStoreCode::kFar}, DhtFlood{8, ref->key, 4, kDhtFloodHopsMax},
           DhtFloodHit{9, found.records}}) {
    const Bytes bytes = EncodeDhtMessage(m);
    EXPECT_EQ(bytes.size(), DhtMessageBytes(m));
    EXPECT_LE(bytes.size(), kDhtMessageBytesMax);
    auto d = DecodeDhtMessage(bytes);
    ASSERT_TRUE(d.ok()) << d.error().ToString();
    EXPECT_EQ(EncodeDhtMessage(*d), bytes);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_EQ(DecodeDhtMessage(ByteSpan(bytes.data(), n)).code(), codes::kMalformed) << n;
    }
    Bytes longer = bytes;
    longer.push_back(0);
    EXPECT_EQ(DecodeDhtMessage(longer).code(), codes::kMalformed);
  }
  EXPECT_EQ(DhtNamedIds(found), found.nodes);
  auto refused = [](std::string_view hex) {
    return DecodeDhtMessage(FromHexOrDie(hex)).code() == codes::kMalformed;
  };
  EXPECT_TRUE(refused("02040900000000"));  // Version 2.
  EXPECT_TRUE(refused("01070900000000"));  // Type 7.
  const std::string flood_head =
      "0105080706050403020189dd441078d42647ac012ce1641634d312622ee5c611145a98d66dc0405584b8";
  EXPECT_TRUE(refused(flood_head + "0005"));       // FLOOD of kind 0.
  EXPECT_TRUE(refused(flood_head + "0500"));       // Hops 0.
  EXPECT_TRUE(refused(flood_head + "0109"));       // Hops 9.
  EXPECT_TRUE(refused("0106080706050403020100"));  // A FLOOD_HIT with no record.
  EXPECT_TRUE(refused("01040900000005"));          // STORED code 5.
  EXPECT_TRUE(refused(
      "01010700000089dd441078d42647ac012ce1641634d312622ee5c611145a98d66dc0405584b805"));  // kind 5
  EXPECT_TRUE(refused("01020700000001ffffffffffffffff00"));  // The no-node id.
  // 21 node ids, all present.
  std::string many = "01020700000015";
  for (int i = 0; i < 21; ++i) many += "0100000000000000";
  EXPECT_TRUE(refused(many + "00"));
  // A FOUND whose record does not decode (its version byte changed).
  std::string bad_record =
      "010207000000"
      "00"
      "01"
      "a000"
      "02" +
      std::string(kRecordHex.substr(2));
  EXPECT_TRUE(refused(bad_record));
}

}  // namespace
}  // namespace pando::proto
