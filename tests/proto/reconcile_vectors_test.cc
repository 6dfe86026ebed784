// Golden vectors of docs/reconcile-format.md ("Golden vectors"). Each test recomputes one
// vector with the code and compares it with the hex printed in the doc, so the wire format
// and the way Pando builds its messages can never change silently. If a test fails, the code
// changed the protocol: fix the code, or bump kReconcileVersion and write new vectors; never
// edit the hex here (or in the doc) alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "proto/reconcile.h"

namespace pando::proto {
namespace {

constexpr uint64_t kT = 1'700'000'000'000;

// Item k of the vectors: id = BLAKE2b-256 of the ASCII decimal digits of k, timestamp
// kT + k / 4 (four items per millisecond).
Hash32 VecId(uint64_t k) {
  InitCrypto();
  return Blake2b256(AsBytes(std::to_string(k)));
}
ReconItem VecItem(uint64_t k) { return ReconItem{kT + k / 4, VecId(k)}; }

// Items [begin, end) without `except`.
std::vector<ReconItem> VecItems(uint64_t begin, uint64_t end, std::vector<uint64_t> except = {}) {
  std::vector<ReconItem> out;
  for (uint64_t k = begin; k < end; ++k) {
    if (std::find(except.begin(), except.end(), k) == except.end()) out.push_back(VecItem(k));
  }
  return out;
}

// The ids of items ks, sorted by their bytes as need() and have() return them.
std::vector<Hash32> SortedIds(std::vector<uint64_t> ks) {
  std::vector<Hash32> out;
  for (uint64_t k : ks) out.push_back(VecId(k));
  std::sort(out.begin(), out.end());
  return out;
}

// Hex written with spaces between fields, as in the doc's tables; the spaces are dropped.
std::string Unspaced(std::string_view spaced) {
  std::string out;
  for (char c : spaced) {
    if (c != ' ') out.push_back(c);
  }
  return out;
}

// A bound's bytes as they appear in a message: a one-range message minus the version and
// mode bytes.
std::string BoundHex(const Bound& b) {
  const Bytes m = EncodeReconcileMessage(std::vector<Range>{Range{b, RangeMode::kSkip, {}, {}}});
  return ToHex(ByteSpan(m).subspan(1, m.size() - 2));
}

struct Transcript {
  std::vector<Bytes> messages;
  std::vector<Hash32> a_need, a_have, b_need, b_have;
};

// A opens; the sides alternate until one has nothing to send.
Transcript RunSession(const ItemSet& a, const ItemSet& b,
                      size_t budget = kReconcileMessageBytesMax) {
  Session sa(&a, budget), sb(&b, budget);
  Transcript t;
  std::optional<Bytes> msg = sa.Initiate();
  Session* receiver = &sb;
  while (msg && t.messages.size() < 100) {
    t.messages.push_back(*msg);
    auto reply = receiver->Respond(*msg);
    EXPECT_TRUE(reply.ok()) << reply.error().ToString();
    if (!reply.ok()) break;
    msg = std::move(reply).value();
    receiver = receiver == &sb ? &sa : &sb;
  }
  t.a_need = sa.need();
  t.a_have = sa.have();
  t.b_need = sb.need();
  t.b_have = sb.have();
  return t;
}

// Vector 1.
TEST(ReconcileVectorTest, FingerprintOfThreeItems) {
  EXPECT_EQ(ToHex(VecId(0)), "0fd923ca5e7218c4ba3c3801c26a617ecdbfdaebb9c76ce2eca166e7855efbb8");
  EXPECT_EQ(ToHex(VecId(1)), "92cdf578c47085a5992256f0dcf97d0b19f1f1c9de4d5fe30c3ace6191b6e5db");
  EXPECT_EQ(ToHex(VecId(2)), "31237cdb79ae1dfa7ffb87cde7ea8a80352d300ee5ac758a6cddd19d671925ec");
  const ItemSet set(VecItems(0, 3));
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(ToHex(set.Fp(0, 3)), "1630f7c767be3fbfe7a3d2b30f39cb84");
  EXPECT_EQ(ToHex(ItemSet({}).Fp(0, 0)), "4a1931803561f431decab002e7425f0a");

  // The formula of the doc, computed here without ItemSet: little-endian sum mod 2^256, then
  // BLAKE2b-256 of the sum and the count (u64 LE), first 16 bytes.
  Bytes sum(32, 0);
  for (uint64_t k = 0; k < 3; ++k) {
    const Hash32 id = VecId(k);
    unsigned carry = 0;
    for (size_t i = 0; i < 32; ++i) {
      carry += sum[i] + id[i];
      sum[i] = static_cast<uint8_t>(carry);
      carry >>= 8;
    }
  }
  EXPECT_EQ(ToHex(sum), "d2c9951e9d91bb63d45a16bf864f6a0a1cdefcc37dc2415066b906e77e2e0681");
  Bytes input = sum;
  PutU64(input, 3);
  const Hash32 h = Blake2b256(input);
  EXPECT_EQ(ToHex(h), "1630f7c767be3fbfe7a3d2b30f39cb8423f6e682d155e0b3b2260f1b4ba9b413");
  EXPECT_EQ(ToHex(ByteSpan(h).first(16)), ToHex(set.Fp(0, 3)));
}

// Vector 2, and the varint examples of the doc (a bound carries timestamp + 1).
TEST(ReconcileVectorTest, Bounds) {
  const ReconItem a = VecItem(109), b = VecItem(110);
  ASSERT_EQ(a.timestamp_ms, kT + 27);
  ASSERT_EQ(b.timestamp_ms, kT + 27);
  EXPECT_EQ(ToHex(ByteSpan(a.id).first(4)), "6611be8e");
  EXPECT_EQ(ToHex(ByteSpan(b.id).first(4)), "6617c211");
  const Bound same = Bound::Between(a, b);
  EXPECT_EQ(BoundHex(same), Unspaced("9cd095ffbc31 02 6617"));
  EXPECT_LT(same.Compare(a), 0);
  EXPECT_GE(same.Compare(b), 0);

  const Bound differ = Bound::Between(VecItem(3), VecItem(4));
  EXPECT_EQ(BoundHex(differ), Unspaced("82d095ffbc31 00"));
  EXPECT_LT(differ.Compare(VecItem(3)), 0);
  EXPECT_EQ(differ.Compare(ReconItem{kT + 1, {}}), 0);  // The key is (T+1, 32 zero bytes).

  EXPECT_EQ(BoundHex(Bound::Infinity()), "0000");
  EXPECT_EQ(BoundHex(Bound{126, 0, {}}), "7f00");
  EXPECT_EQ(BoundHex(Bound{127, 0, {}}), "800100");
  EXPECT_EQ(BoundHex(Bound{299, 0, {}}), "ac0200");
  EXPECT_EQ(BoundHex(Bound{~uint64_t{0} - 1, 0, {}}), "ffffffffffffffffff0100");
}

// Vector 3.
TEST(ReconcileVectorTest, OpeningMessageOf100Items) {
  const ItemSet set(VecItems(0, 100));
  Session session(&set);
  const Bytes msg = session.Initiate();
  EXPECT_EQ(ToHex(msg),
            "0182d095ffbc31017b013cb73b10d129d6250aee2b682e378bba84d095ffbc31"
            "00013a0d8c49e196d5c22af48eb337ec126c85d095ffbc3101e70123596286b7"
            "c0142ea3730aee3a53c07387d095ffbc31014801980453d38719f97e6e4fb244"
            "e931534588d095ffbc3101b601d3eb36b7bc9ff9f82ccbff14eab43fea8ad095"
            "ffbc310172016aec34c26b39a56e13d99484ff6657918bd095ffbc310194013b"
            "c57948e2e415e44a41f56e73c3ccd88dd095ffbc31014b01e16c89c4048ad682"
            "6962c4abe10c97588fd095ffbc310001c4abebcd44becd16910d7b42750fd78b"
            "90d095ffbc31018f01784f3ca1ac5d6867f16cbd2391a6e90692d095ffbc3100"
            "0110cc442c1d4d8d9d752381154cc96f7993d095ffbc310191016ecf8df6fd58"
            "ab36dfadd00006c6d5d695d095ffbc310164015ca00719cfa123c9d32fe59709"
            "284a0396d095ffbc3101bd01ecd61a2bd7cefe6d34e44a204b4bff7b98d095ff"
            "bc31016101225be6287608970364e66f8974598521000001e73358b66c035851"
            "29017ef037dc4fbb");
  auto ranges = DecodeReconcileMessage(msg);
  ASSERT_TRUE(ranges.ok());
  ASSERT_EQ(ranges->size(), kReconcileBuckets);
  for (const Range& r : *ranges) EXPECT_EQ(r.mode, RangeMode::kFingerprint);
  EXPECT_TRUE(ranges->back().upper.IsInfinity());
}

// Vector 4.
TEST(ReconcileVectorTest, SessionBetweenTwoSetsOf40) {
  const ItemSet a(VecItems(0, 40)), b(VecItems(0, 43, {7, 20, 33}));
  ASSERT_EQ(a.size(), 40u);
  ASSERT_EQ(b.size(), 40u);
  const Transcript t = RunSession(a, b);
  ASSERT_EQ(t.messages.size(), 3u);
  EXPECT_EQ(ToHex(t.messages[0]),
            "0181d095ffbc31015801978035d035d127144b630ea8679e2b6f82d095ffbc31"
            "017001e463498826b2fe528b91221c6b8ee9a782d095ffbc3101eb011c6536f6"
            "65ef00dacd31d1bf2acb95e083d095ffbc3101d00141f1c1fb900064c915e844"
            "6fa24ec91784d095ffbc31000166f3400c4b78fde05799eaf4e39c5eb884d095"
            "ffbc3101c8011dd62031a2078cfb2f339dd4f0773fb885d095ffbc3101d8014e"
            "16e100ffbc3e1a8736493145d286a486d095ffbc310001eab14844ff628903e4"
            "1665090113d18186d095ffbc3101d7018b03f1f5ddcfb45aba7cd649ef4f09d8"
            "87d095ffbc310148017420aa624403e5da629a1db21393456487d095ffbc3101"
            "b90104629086d4090a9d60d4b4c8b77ac16088d095ffbc3101720164f376a16d"
            "11c662d6776e8ec042c40989d095ffbc310001cb3961a67122b592d77bf719eb"
            "487d9589d095ffbc3101ef013328659751f4f19c2b5012ae9a3b04ae8ad095ff"
            "bc31017201688e1a15321289ce8ded76a87364eadb00000105284f586a8984e8"
            "1a46e3f079326df6");
  EXPECT_EQ(ToHex(t.messages[1]),
            "0181d095ffbc3101580082d095ffbc3101700202581348337b0f3e148620173d"
            "aaa5f94d00d881705dcbf0aa83efdaba61d2ede192cdf578c47085a5992256f0"
            "dcf97d0b19f1f1c9de4d5fe30c3ace6191b6e5db86d095ffbc3101d70087d095"
            "ffbc3101480202d7f629d9cf2c7ce0404ac62c874a9b1eafe7e31f3747cbcc8b"
            "6f56481dc74aed2bd17e0a4badad68cb294e2c28109c538c32dfd6039ceca39a"
            "7aea65cd5848e189d095ffbc3101ef008ad095ffbc31017202016f5637341636"
            "4d05337c982f06c593f4216b286abcbb5db7d67e811c21214a64000002067255"
            "6f9e87139a328460af11f246f2c24fc72d7517d1b8f4569d3ee5ed18198a734e"
            "6548dd0d402596f655a38c3e8347dc2b3be1bb7708d1f33af2a4eef3d16dbf89"
            "026e3ed49b4a25a4047c237e996126c7d0aada79ddb85554c485bc51d1970e53"
            "700affd2b55c896323e89a3cdb918b2fe8d8228cca361cefcf07c84c9e322f00"
            "39e93a27221fcf657fb877a1d4f60307106113e885096cb44a461cd0afbf3a60"
            "88ad1fd331d91f4d7db6e05ca2aed53102c69fa0b6e16b9123ac2cf2ec98");
  EXPECT_EQ(ToHex(t.messages[2]),
            "0181d095ffbc3101580082d095ffbc31017003010a420b072ce72f6a6833576f"
            "fa74ea21dcca4ce7c025dbee7b1dae478cba6f2986d095ffbc3101d70087d095"
            "ffbc3101480301da2da4e3366bca0044c0340f33a10067c0be5235a081f4a87b"
            "4f3958bb2aea7789d095ffbc3101ef008ad095ffbc3101720301ef97c9e36f5e"
            "33370c795599501e8f834363461eb001fd227831992c57b5bedf");
  EXPECT_EQ(t.a_need, SortedIds({40, 41, 42}));
  EXPECT_EQ(t.a_have, SortedIds({7, 20, 33}));
  EXPECT_EQ(t.b_need, SortedIds({7, 20, 33}));
  EXPECT_TRUE(t.b_have.empty());  // B listed 40..42 in IdLists; only Missing fills have().
}

// Vector 5.
TEST(ReconcileVectorTest, OpeningMessageOfEmptySet) {
  const ItemSet empty({});
  Session opener(&empty), responder(&empty);
  const Bytes msg = opener.Initiate();
  EXPECT_EQ(ToHex(msg), "0100000200");
  auto reply = responder.Respond(msg);
  ASSERT_TRUE(reply.ok());
  EXPECT_FALSE(reply->has_value());  // Nothing left to say: the session is over.
}

// Vector 6: a 512-byte budget cuts B's Missing list after 12 ids and closes each reply with
// one fingerprint from the cut to infinity.
TEST(ReconcileVectorTest, CutMissingListAndClosingFingerprint) {
  // The smallest budget a session accepts, against an empty side: replies must cut their
  // Missing lists and close with a fingerprint to infinity. Messages past the first few are
  // pinned by size and by one BLAKE2b-256 digest of the whole transcript.
  const ItemSet a({}), b(VecItems(0, 400));
  const Transcript t = RunSession(a, b, /*budget=*/kReconcileMessageBytesMin);
  std::string sizes;
  Bytes all;
  for (const Bytes& m : t.messages) {
    sizes += std::to_string(m.size()) + " ";
    all.insert(all.end(), m.begin(), m.end());
    EXPECT_LE(m.size(), kReconcileMessageBytesMin);
  }
  EXPECT_EQ(ToHex(t.messages.at(0)), "0100000200");
  EXPECT_EQ(sizes, "5 1918 14 1927 14 1927 14 1926 13 1926 14 1927 14 1486 ");
  EXPECT_EQ(ToHex(Blake2b256(all)),
            "26e3d40138250ce0ec327f73555ddc69af3eff6a23b484e1cdab132ad1b2dd88");
  std::vector<uint64_t> every(400);
  for (uint64_t k = 0; k < 400; ++k) every[k] = k;
  EXPECT_EQ(t.a_need, SortedIds(every));
  EXPECT_EQ(t.b_have, SortedIds(every));
  EXPECT_TRUE(t.a_have.empty());
  EXPECT_TRUE(t.b_need.empty());
}

// Vector 7. An empty code means the message is valid.
TEST(ReconcileVectorTest, Validation) {
  struct Case {
    std::string hex;
    std::string_view code;
  };
  const std::vector<Case> cases = {
      {"", codes::kMalformed},
      {"02", codes::kUnknownVersion},
      {"01", ""},
      {"01 8600 00 00", codes::kMalformed},
      {"01 ffffffffffffffffff02 00 00", codes::kMalformed},
      {"01 ffffffffffffffffff01 00 00", ""},
      {"01 06 21", codes::kMalformed},
      {"01 00 01 07 00", codes::kMalformed},
      {"01 06 00 04", codes::kMalformed},
      {"01 06 00 00 06 00 00", codes::kMalformed},
      {"01 06 01 00 00", ""},
      {"01 06 01 00 00 06 00 00", codes::kMalformed},
      {"01 00 00 02 8140", codes::kMalformed},
      {"01 00 00 02 8040", codes::kMalformed},
      {"01 00 00 01", codes::kMalformed},
  };
  for (const Case& c : cases) {
    const auto bytes = FromHex(Unspaced(c.hex));
    ASSERT_TRUE(bytes.has_value()) << c.hex;
    auto r = DecodeReconcileMessage(*bytes);
    if (c.code.empty()) {
      EXPECT_TRUE(r.ok()) << c.hex << ": " << r.error().ToString();
    } else {
      ASSERT_FALSE(r.ok()) << c.hex;
      EXPECT_EQ(r.error().code, c.code) << c.hex;
    }
  }
  // Size is checked before the version.
  auto r = DecodeReconcileMessage(Bytes(kReconcileMessageBytesMax + 1, 2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, codes::kOversize);
  // The largest finite bound decodes to timestamp 2^64 - 2.
  auto max = DecodeReconcileMessage(*FromHex(Unspaced("01 ffffffffffffffffff01 00 00")));
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->at(0).upper.timestamp_ms, ~uint64_t{0} - 1);
}

}  // namespace
}  // namespace pando::proto
