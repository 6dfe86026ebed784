// Tests of proto/reconcile.h: bounds, fingerprints, the message codec, and whole sessions
// between two item sets checked against the plain set differences.
#include "proto/reconcile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "proto/types.h"

namespace pando::proto {
namespace {

Hash32 IdOf(uint64_t n) {
  uint8_t buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<uint8_t>(n >> (8 * i));
  return Blake2b256(ByteSpan(buf, 8));
}

// Items 0..n-1 of a universe: item k has id IdOf(k) and a timestamp from a small range, so
// many items share a timestamp and bounds need id prefixes.
ReconItem Item(uint64_t k) { return ReconItem{1'700'000'000'000 + k / 3, IdOf(k)}; }

struct Outcome {
  std::vector<Hash32> a_need, a_have, b_need, b_have;
  size_t messages = 0;
  size_t bytes = 0;
};

// Runs a session between a (initiator) and b until one side has nothing to say.
Outcome Reconcile(const ItemSet& a, const ItemSet& b, size_t budget = kReconcileMessageBytesMax) {
  Session sa(&a, budget), sb(&b, budget);
  Outcome o;
  std::optional<Bytes> msg = sa.Initiate();
  Session* receiver = &sb;
  while (msg) {
    ++o.messages;
    o.bytes += msg->size();
    EXPECT_LE(msg->size(), budget);
    auto reply = receiver->Respond(*msg);
    EXPECT_TRUE(reply.ok()) << reply.error().ToString();
    if (!reply.ok()) break;
    msg = std::move(reply).value();
    receiver = receiver == &sb ? &sa : &sb;
    if (o.messages > 200) {
      ADD_FAILURE() << "no convergence";
      break;
    }
  }
  o.a_need = sa.need();
  o.a_have = sa.have();
  o.b_need = sb.need();
  o.b_have = sb.have();
  return o;
}

std::vector<Hash32> Difference(const std::vector<ReconItem>& x, const std::vector<ReconItem>& y) {
  std::set<Hash32> ys;
  for (const auto& i : y) ys.insert(i.id);
  std::set<Hash32> out;
  for (const auto& i : x) {
    if (!ys.count(i.id)) out.insert(i.id);
  }
  return {out.begin(), out.end()};
}

void ExpectExact(const std::vector<ReconItem>& xa, const std::vector<ReconItem>& xb,
                 size_t budget = kReconcileMessageBytesMax) {
  ItemSet a(xa), b(xb);
  Outcome o = Reconcile(a, b, budget);
  const auto b_minus_a = Difference(xb, xa), a_minus_b = Difference(xa, xb);
  // Sizes first: printing thousands of ids on failure helps nobody.
  ASSERT_EQ(o.a_need.size(), b_minus_a.size());
  ASSERT_EQ(o.b_need.size(), a_minus_b.size());
  EXPECT_TRUE(o.a_need == b_minus_a);
  EXPECT_TRUE(o.b_need == a_minus_b);
  // What one side offers is a subset of what the other needs, and together they cover it.
  for (const Hash32& id : o.a_have)
    EXPECT_TRUE(std::binary_search(a_minus_b.begin(), a_minus_b.end(), id));
  for (const Hash32& id : o.b_have)
    EXPECT_TRUE(std::binary_search(b_minus_a.begin(), b_minus_a.end(), id));
}

TEST(BoundTest, BetweenSeparatesAdjacentItems) {
  Rng rng(7);
  for (int i = 0; i < 2000; ++i) {
    ReconItem a = Item(rng.Below(1000)), b = Item(rng.Below(1000));
    if (a.timestamp_ms == b.timestamp_ms && rng.Chance(1, 2)) b.id = a.id, b.id[rng.Below(32)] ^= 1;
    if (a == b) continue;
    if (b < a) std::swap(a, b);
    Bound bound = Bound::Between(a, b);
    EXPECT_LT(bound.Compare(a), 0);
    EXPECT_GE(bound.Compare(b), 0);
  }
  EXPECT_TRUE(Bound::Infinity().IsInfinity());
}

TEST(ItemSetTest, FingerprintsDependOnContentNotOrder) {
  std::vector<ReconItem> xs;
  for (uint64_t k = 0; k < 100; ++k) xs.push_back(Item(k));
  std::vector<ReconItem> reversed(xs.rbegin(), xs.rend());
  reversed.push_back(xs[5]);  // Duplicates collapse.
  ItemSet a(xs), b(reversed);
  ASSERT_EQ(b.size(), 100u);
  EXPECT_EQ(a.Fp(0, 100), b.Fp(0, 100));
  std::vector<ReconItem> middle;
  for (size_t i = 10; i < 20; ++i) middle.push_back(a[i]);
  EXPECT_EQ(a.Fp(10, 20), ItemSet(middle).Fp(0, 10));
  EXPECT_NE(a.Fp(0, 100), a.Fp(0, 99));
  EXPECT_NE(a.Fp(0, 0), a.Fp(0, 1));
  // An id appearing twice in a sum would cancel under XOR; sums modulo 2^256 keep it.
  std::vector<ReconItem> two = {ReconItem{1, IdOf(1)}, ReconItem{2, IdOf(1)}};
  EXPECT_NE(ItemSet(two).Fp(0, 2), ItemSet({}).Fp(0, 0));
}

TEST(CodecTest, RoundTrip) {
  std::vector<Range> ranges = {
      Range{Bound{5, 0, {}}, RangeMode::kSkip, {}, {}},
      Range{Bound{5, 2, {0xab, 0xcd}}, RangeMode::kFingerprint, {1, 2, 3}, {}},
      Range{Bound{9, 0, {}}, RangeMode::kIdList, {}, {IdOf(1), IdOf(2)}},
      Range{Bound::Infinity(), RangeMode::kMissing, {}, {IdOf(3)}},
  };
  Bytes bytes = EncodeReconcileMessage(ranges);
  auto back = DecodeReconcileMessage(bytes);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  ASSERT_EQ(back->size(), ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_EQ((*back)[i].upper, ranges[i].upper);
    EXPECT_EQ((*back)[i].mode, ranges[i].mode);
    EXPECT_EQ((*back)[i].fingerprint, ranges[i].fingerprint);
    EXPECT_EQ((*back)[i].ids, ranges[i].ids);
  }
}

TEST(CodecTest, RejectsMalformedMessages) {
  const Bytes good = EncodeReconcileMessage(
      std::vector<Range>{Range{Bound{5, 1, {0x10}}, RangeMode::kFingerprint, {}, {}},
                         Range{Bound::Infinity(), RangeMode::kIdList, {}, {IdOf(1)}}});
  ASSERT_TRUE(DecodeReconcileMessage(good).ok());
  for (size_t n = 0; n < good.size(); ++n) {
    if (n == 1 || n == 21) continue;  // Cut at a range boundary: a valid, shorter message.
    auto r = DecodeReconcileMessage(ByteSpan(good).first(n));
    EXPECT_FALSE(r.ok()) << n;
  }
  struct Case {
    Bytes bytes;
    std::string_view code;
  };
  const std::vector<Case> cases = {
      {{}, codes::kMalformed},
      {{2}, codes::kUnknownVersion},
      {{1, 0x86, 0x00, 0, 0}, codes::kMalformed},           // Non-minimal varint.
      {{1, 6, 33}, codes::kMalformed},                      // Prefix longer than 32.
      {{1, 6, 0, 4}, codes::kMalformed},                    // Unknown mode.
      {{1, 6, 0, 0, 6, 0, 0}, codes::kMalformed},           // Bounds not increasing.
      {{1, 0, 0, 0, 6, 0, 0}, codes::kMalformed},           // Range after infinity.
      {{1, 0, 1, 7, 0}, codes::kMalformed},                 // Infinity with a prefix.
      {{1, 0, 0, 2, 0xff, 0xff, 0x03}, codes::kMalformed},  // Id list longer than the message.
      {Bytes(kReconcileMessageBytesMax + 1, 1), codes::kOversize},
  };
  for (const Case& c : cases) {
    auto r = DecodeReconcileMessage(c.bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, c.code)
        << ToHex(ByteSpan(c.bytes).first(std::min<size_t>(8, c.bytes.size())));
  }
}

TEST(SessionTest, IdenticalSetsAgreeInOneRoundTrip) {
  std::vector<ReconItem> xs;
  for (uint64_t k = 0; k < 10'000; ++k) xs.push_back(Item(k));
  ItemSet a(xs), b(xs);
  Outcome o = Reconcile(a, b);
  EXPECT_EQ(o.messages, 1u);  // The opening fingerprints; the reply would be all Skip.
  EXPECT_TRUE(o.a_need.empty() && o.b_need.empty());
}

TEST(SessionTest, EmptyAndOneSided) {
  std::vector<ReconItem> none, some;
  for (uint64_t k = 0; k < 500; ++k) some.push_back(Item(k));
  ExpectExact(none, none);
  ExpectExact(none, some);
  ExpectExact(some, none);
}

TEST(SessionTest, FindsSmallDifferencesInFewRoundTrips) {
  std::vector<ReconItem> base;
  for (uint64_t k = 0; k < 100'000; ++k) base.push_back(Item(k));
  for (size_t diff : {1u, 10u, 100u}) {
    std::vector<ReconItem> a = base, b = base;
    for (size_t i = 0; i < diff; ++i) (i % 2 ? a : b).push_back(Item(1'000'000 + i));
    ItemSet sa(a), sb(b);
    Outcome o = Reconcile(sa, sb);
    EXPECT_TRUE(o.a_need == Difference(b, a));
    EXPECT_TRUE(o.b_need == Difference(a, b));
    EXPECT_LE(o.messages, 8u) << diff;          // log16(100000 / 32) ~ 3 levels, plus the lists.
    EXPECT_LT(o.bytes, 100'000u / 10) << diff;  // Far below sending every id (3.2 MB).
  }
}

// Property test: random sets with random overlap, many seeds, exact differences.
TEST(SessionTest, RandomSetsReconcileExactly) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    Rng rng(seed);
    const uint64_t universe = 1 + rng.Below(4000);
    std::vector<ReconItem> a, b;
    for (uint64_t k = 0; k < universe; ++k) {
      const uint64_t r = rng.Below(10);
      if (r < 7) {
        a.push_back(Item(k));
        b.push_back(Item(k));
      } else if (r < 8) {
        a.push_back(Item(k));
      } else if (r < 9) {
        b.push_back(Item(k));
      }
    }
    SCOPED_TRACE("seed " + std::to_string(seed));
    ExpectExact(a, b);
  }
}

// A tiny message budget forces truncated replies; the exchange must still finish exactly.
TEST(SessionTest, SmallBudgetStillConverges) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed);
    std::vector<ReconItem> a, b;
    for (uint64_t k = 0; k < 3000; ++k) {
      const uint64_t r = rng.Below(4);
      if (r != 0) a.push_back(Item(k));
      if (r != 1) b.push_back(Item(k));
    }
    SCOPED_TRACE("seed " + std::to_string(seed));
    ExpectExact(a, b, /*budget=*/2048);
  }
}

TEST(SessionTest, BadMessageIsAnErrorNotACrash) {
  ItemSet a({Item(1)});
  Session s(&a);
  auto r = s.Respond(Bytes{1, 6, 0, 9});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, codes::kMalformed);
}

}  // namespace
}  // namespace pando::proto

namespace pando::proto {
namespace {

// need_in_order() holds the same ids as need(), in the peer's item order: a node fetching
// in that order gets each feed's entries oldest first. Large sets make the exchange recurse
// over several rounds, whose id lists arrive out of item order.
TEST(ReconcileOrderTest, NeedInOrderIsTheNeedInThePeersItemOrder) {
  for (size_t n : {50u, 5'000u, 60'000u}) {
    std::vector<ReconItem> xa, xb;
    for (uint64_t k = 0; k < n; ++k) {
      xb.push_back(Item(k));
      if (k % 4 == 0) xa.push_back(Item(k));  // a lacks three quarters of b.
    }
    ItemSet a(xa), b(xb);
    Session sa(&a), sb(&b);
    std::optional<Bytes> msg = sa.Initiate();
    Session* receiver = &sb;
    for (int round = 0; msg && round < 1000; ++round) {
      auto reply = receiver->Respond(*msg);
      ASSERT_TRUE(reply.ok());
      msg = std::move(reply).value();
      receiver = receiver == &sb ? &sa : &sb;
    }
    const std::vector<Hash32> in_order = sa.need_in_order();
    std::vector<Hash32> sorted = in_order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, sa.need()) << n;
    // Positions in b's item order never go down.
    std::vector<ReconItem> order = xb;
    std::sort(order.begin(), order.end());
    std::map<Hash32, size_t> position;
    for (size_t i = 0; i < order.size(); ++i) position[order[i].id] = i;
    for (size_t i = 1; i < in_order.size(); ++i) {
      ASSERT_LT(position[in_order[i - 1]], position[in_order[i]]) << n << " at " << i;
    }
  }
}

}  // namespace
}  // namespace pando::proto
