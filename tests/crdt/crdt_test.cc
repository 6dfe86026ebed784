// The CRDT merge rules and operation encoding (src/crdt/), and the convergence property:
// replicas that receive the same operations in any order, with duplicates, agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "core/error_codes.h"
#include "core/limits.h"
#include "crdt/op.h"
#include "crdt/state.h"
#include "crdt/workload.h"  // tests/crdt/workload.h
#include "testutil/feed.h"

namespace pando::crdt {
namespace {

using testing::OpFeed;
using testing::RandomOp;
using testing::TestKey;

constexpr int64_t kStart = 1'700'000'000'000;

Op MapSet(std::string name, std::string field, std::optional<std::string> value) {
  Op op;
  op.name = std::move(name);
  op.action = MapUpdate{{{std::move(field), std::move(value)}}};
  return op;
}

ObjectKey Shared(Type t, std::string name, std::string group = "kv") {
  return ObjectKey{std::move(group), PublicKey{}, t, std::move(name)};
}

TEST(CrdtOp, EveryActionRoundTrips) {
  std::vector<Op> ops;
  ops.push_back(MapSet("profile", "name", "\"Ada\""));
  ops.push_back(MapSet("profile", "bio", std::nullopt));
  Op add;
  add.name = "follows";
  add.personal = true;
  add.action = SetAdd{{"\"x\"", "[1,2]"}};
  ops.push_back(add);
  Op rm;
  rm.name = "follows";
  rm.action = SetRemove{"\"x\"", {ElemId{Hash32{1}, 3}}};
  ops.push_back(rm);
  Op ins;
  ins.name = "doc";
  ins.hlc = HlcFromMs(kStart) + 7;
  ins.action = SeqInsert{ElemId{Hash32{9}, 0}, {"\"a\"", "\"b\""}};
  ops.push_back(ins);
  Op del;
  del.name = "doc";
  del.action = SeqDelete{{ElemId{Hash32{2}, 1}}};
  ops.push_back(del);
  Op cnt;
  cnt.name = "likes";
  cnt.action = CounterAdd{-5};
  ops.push_back(cnt);
  for (const Op& op : ops) {
    ASSERT_TRUE(CheckOp(op).ok());
    Bytes b = EncodeOp(op);
    auto back = DecodeOp(b);
    ASSERT_TRUE(back.ok()) << back.error().ToString();
    EXPECT_EQ(EncodeOp(*back), b);
    EXPECT_EQ(back->type(), op.type());
    EXPECT_EQ(back->personal, op.personal);
    EXPECT_EQ(back->hlc, op.hlc);
  }
}

TEST(CrdtOp, BadPayloadsAreRefusedWithACode) {
  const Bytes good = EncodeOp(MapSet("m", "f", "1"));
  // Every cut of a valid payload is refused.
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = DecodeOp(ByteSpan(good).first(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.code(), codes::kBadOperation);
  }
  auto mutate = [&](size_t at, uint8_t v) {
    Bytes b = good;
    b[at] = v;
    return DecodeOp(b).code();
  };
  EXPECT_EQ(mutate(0, 2), codes::kBadOperation);      // format
  EXPECT_EQ(mutate(1, 9), codes::kBadOperation);      // type
  EXPECT_EQ(mutate(2, 7), codes::kBadOperation);      // action
  EXPECT_EQ(mutate(3, 2), codes::kBadOperation);      // flags
  EXPECT_EQ(mutate(11, 0x80), codes::kBadOperation);  // hlc >= 2^63
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(DecodeOp(trailing).code(), codes::kBadOperation);
  // Values must be JSON; fields must be ordered and unique; names plain text.
  EXPECT_FALSE(CheckOp(MapSet("m", "f", "not json")).ok());
  // One JSON text in UTF-8: nothing after a NUL, no byte order mark, no stray bytes.
  EXPECT_FALSE(CheckOp(MapSet("m", "f", std::string("1\0\xff", 3))).ok());
  EXPECT_FALSE(CheckOp(MapSet("m", "f", std::string("\"a\"\0{", 5))).ok());
  EXPECT_FALSE(CheckOp(MapSet("m", "f",
                              "\xEF\xBB\xBF"
                              "1"))
                   .ok());
  EXPECT_FALSE(CheckOp(MapSet("m", "f", "\"\xff\"")).ok());
  EXPECT_FALSE(CheckOp(MapSet("m\n", "f", "1")).ok());
  EXPECT_FALSE(CheckOp(MapSet("", "f", "1")).ok());
  Op twice = MapSet("m", "f", "1");
  std::get<MapUpdate>(twice.action).fields.push_back({"f", "2"});
  EXPECT_FALSE(CheckOp(twice).ok());
  Op zero;
  zero.name = "c";
  zero.action = CounterAdd{0};
  EXPECT_FALSE(CheckOp(zero).ok());
  Op empty;
  empty.name = "s";
  empty.action = SetAdd{};
  EXPECT_FALSE(CheckOp(empty).ok());
}

TEST(CrdtHlc, NextIsLaterThanClockAndEverythingSeen) {
  EXPECT_EQ(HlcNext(0, kStart), HlcFromMs(kStart));
  const Hlc ahead = HlcFromMs(kStart + 5000) + 3;
  EXPECT_EQ(HlcNext(ahead, kStart), ahead + 1);
  EXPECT_EQ(HlcMs(HlcNext(ahead, kStart)), kStart + 5000);
}

TEST(CrdtHlc, LocalWritesDoNotFollowFarClocks) {
  // A reading from another author up to 10 minutes ahead is followed only up to half the
  // skew, so this node's entry (stamped at the clock) is not refused as from the future.
  const Hlc far = HlcFromMs(kStart + 2 * limits::kFutureSkewMsMax);
  const Hlc h = HlcForWrite(far, kStart);
  EXPECT_EQ(HlcMs(h), kStart + limits::kFutureSkewMsMax / 2);
  EXPECT_EQ(HlcForWrite(HlcFromMs(kStart + 10) + 4, kStart), HlcFromMs(kStart + 10) + 5);
}

TEST(CrdtMap, LastWriterWinsPerFieldTiesByEntryId) {
  MapState m;
  m.Apply(Stamp{10, Hash32{1}}, MapField{"a", "1"});
  m.Apply(Stamp{10, Hash32{2}}, MapField{"a", "2"});  // same clock, greater id: wins
  m.Apply(Stamp{9, Hash32{9}}, MapField{"a", "9"});   // older clock: loses
  m.Apply(Stamp{11, Hash32{0}}, MapField{"b", "3"});
  EXPECT_EQ(m.Get("a"), "2");
  EXPECT_EQ(m.Get("b"), "3");
  // A delete is a write that wins or loses like any other and then hides the field.
  m.Apply(Stamp{12, Hash32{0}}, MapField{"a", std::nullopt});
  EXPECT_EQ(m.Get("a"), std::nullopt);
  m.Apply(Stamp{11, Hash32{7}}, MapField{"a", "late"});
  EXPECT_EQ(m.Get("a"), std::nullopt);
}

TEST(CrdtSet, ConcurrentAddWinsOverRemove) {
  SetState s;
  const ElemId t1{Hash32{1}, 0}, t2{Hash32{2}, 0};
  s.Add(t1, "\"x\"");
  // A remove that observed t1 only; t2 was added concurrently.
  s.Remove(SetRemove{"\"x\"", {t1}});
  EXPECT_FALSE(s.Contains("\"x\""));
  s.Add(t2, "\"x\"");
  EXPECT_TRUE(s.Contains("\"x\""));
  // A remove that arrives before its add still removes it.
  SetState early;
  early.Remove(SetRemove{"\"y\"", {t1}});
  early.Add(t1, "\"y\"");
  EXPECT_FALSE(early.Contains("\"y\""));
  // A remove naming a tag of another element does not touch this one.
  SetState other;
  other.Add(t1, "\"a\"");
  other.Remove(SetRemove{"\"b\"", {t1}});
  EXPECT_TRUE(other.Contains("\"a\""));
}

std::string Text(const SeqState& s) {
  std::string out;
  for (const auto& [id, v] : s.Values()) out += v.substr(1, v.size() - 2);
  return out;
}

TEST(CrdtSeq, InsertsAfterTheirParentNewestFirst) {
  SeqState s;
  s.Insert(HlcFromMs(1), Hash32{1}, SeqInsert{std::nullopt, {"\"a\"", "\"b\"", "\"c\""}});
  EXPECT_EQ(Text(s), "abc");
  // Two concurrent inserts after "a": the later clock comes first, and a run stays whole.
  const ElemId a{Hash32{1}, 0};
  s.Insert(HlcFromMs(2), Hash32{2}, SeqInsert{a, {"\"X\"", "\"Y\""}});
  s.Insert(HlcFromMs(3), Hash32{3}, SeqInsert{a, {"\"1\""}});
  EXPECT_EQ(Text(s), "a1XYbc");
  s.Delete(ElemId{Hash32{2}, 1});
  EXPECT_EQ(Text(s), "a1Xbc");
  // An element whose parent has not arrived stays hidden until it does.
  SeqState t;
  t.Insert(HlcFromMs(2), Hash32{2}, SeqInsert{a, {"\"X\""}});
  EXPECT_EQ(Text(t), "");
  t.Insert(HlcFromMs(1), Hash32{1}, SeqInsert{std::nullopt, {"\"a\""}});
  EXPECT_EQ(Text(t), "aX");
}

TEST(CrdtSeq, ALongChainNeedsNoDeepRecursion) {
  SeqState s;
  std::optional<ElemId> after;
  for (uint32_t i = 0; i < 200'000; ++i) {
    Hash32 id{};
    std::memcpy(id.data(), &i, sizeof i);
    s.Insert(HlcFromMs(1) + i, id, SeqInsert{after, {"0"}});
    after = ElemId{id, 0};
  }
  EXPECT_EQ(s.Values().size(), 200'000u);
}

TEST(CrdtCounter, SumsWrapAround) {
  CounterState c;
  c.Add(std::numeric_limits<int64_t>::max());
  c.Add(2);
  EXPECT_EQ(c.value(), std::numeric_limits<int64_t>::min() + 1);
}

TEST(CrdtReplica, PersonalObjectsBelongToTheirAuthor) {
  OpFeed alice(TestKey(1), "kv", kStart), bob(TestKey(2), "kv", kStart);
  Op op = MapSet("profile", "name", "\"Alice\"");
  op.personal = true;
  Replica r;
  ASSERT_TRUE(r.Apply(alice.Next(op, 0)).ok());
  op.action = MapUpdate{{{"name", "\"Mallory\""}}};
  ASSERT_TRUE(r.Apply(bob.Next(op, r.last_hlc())).ok());
  const ObjectKey a{"kv", alice.key().public_key(), Type::kMap, "profile"};
  const ObjectKey b{"kv", bob.key().public_key(), Type::kMap, "profile"};
  EXPECT_EQ(r.Map(a)->Get("name"), "\"Alice\"");
  EXPECT_EQ(r.Map(b)->Get("name"), "\"Mallory\"");
}

TEST(CrdtReplica, RefusesFarClocksDuplicatesAndOtherKinds) {
  OpFeed f(TestKey(1), "kv", kStart);
  Replica r;
  Entry e = f.Next(MapSet("m", "f", "1"), HlcFromMs(kStart + limits::kFutureSkewMsMax + 10));
  EXPECT_EQ(r.Apply(e).code(), codes::kBadOperation);
  Entry ok = f.Next(MapSet("m", "f", "2"), 0);
  EXPECT_TRUE(r.Apply(ok).ok());
  EXPECT_EQ(r.Apply(ok).code(), codes::kDuplicate);
  // A timestamp near 2^63 does not overflow the clock check.
  EntryDraft d;
  d.timestamp_ms = std::numeric_limits<int64_t>::max();
  d.group = "kv";
  d.kind = kinds::kCrdt;
  Op c;
  c.name = "c";
  c.hlc = HlcFromMs(kStart);
  c.action = CounterAdd{1};
  d.payload = EncodeOp(c);
  EXPECT_TRUE(r.Apply(Entry::Sign(d, TestKey(4)).value()).ok());
  testing::FeedBuilder posts(TestKey(3), "kv");
  EXPECT_EQ(r.Apply(posts.Next("hello")).code(), codes::kBadOperation);
  EXPECT_EQ(r.Map(Shared(Type::kMap, "m"))->Get("f"), "2");
}

// The convergence property. Each case: 3..5 replicas, each with its own author, write
// random operations from what they have seen while entries spread in random order, with
// duplicates and delays; at the end everyone receives everything (shuffled again, some
// twice) and every replica's state must be identical, and equal to a replica that applied
// the entries in log order. PANDO_CRDT_CASES sets how many seeds (default 2000).
TEST(CrdtProperty, ReplicasConvergeWhateverTheOrder) {
  const char* env = std::getenv("PANDO_CRDT_CASES");
  const uint64_t cases = env ? std::strtoull(env, nullptr, 10) : 2000;
  for (uint64_t seed = 1; seed <= cases; ++seed) {
    std::mt19937_64 rng(seed);
    const size_t n = 3 + rng() % 3;
    std::vector<Replica> replicas(n);
    std::vector<OpFeed> feeds;
    for (size_t i = 0; i < n; ++i) {
      feeds.emplace_back(TestKey(static_cast<uint8_t>(i + 1)), "kv", kStart);
    }
    std::vector<Entry> all;
    // In flight: (receiver, entry), delivered in random order.
    std::vector<std::pair<size_t, size_t>> inbox;
    const size_t steps = 20 + rng() % 40;
    for (size_t step = 0; step < steps; ++step) {
      const size_t w = rng() % n;
      Op op = RandomOp(rng, replicas[w], "kv", feeds[w].key().public_key());
      Entry e = feeds[w].Next(std::move(op), replicas[w].last_hlc(), 1 + rng() % 3);
      ASSERT_TRUE(replicas[w].Apply(e).ok()) << "seed " << seed;
      all.push_back(e);
      for (size_t to = 0; to < n; ++to) {
        if (to != w && rng() % 2) inbox.emplace_back(to, all.size() - 1);
      }
      // Deliver a few in-flight entries, in random order; some twice.
      for (size_t k = rng() % 4; k > 0 && !inbox.empty(); --k) {
        const size_t pick = rng() % inbox.size();
        auto [to, idx] = inbox[pick];
        (void)replicas[to].Apply(all[idx]);
        if (rng() % 5) inbox.erase(inbox.begin() + static_cast<std::ptrdiff_t>(pick));
      }
    }
    for (auto& r : replicas) {
      std::vector<size_t> order(all.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t i : order) (void)r.Apply(all[i]);
      for (size_t i : order) {
        if (rng() % 4 == 0) {
          EXPECT_EQ(r.Apply(all[i]).code(), codes::kDuplicate);
        }
      }
    }
    Replica in_order;
    for (const Entry& e : all) ASSERT_TRUE(in_order.Apply(e).ok()) << "seed " << seed;
    const std::string want = in_order.Dump();
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(replicas[i].Dump(), want) << "replica " << i << " diverged; failing seed " << seed
                                          << " (rerun with PANDO_CRDT_CASES=" << seed << ")";
    }
  }
}

}  // namespace
}  // namespace pando::crdt

namespace pando::crdt {
namespace {

// A value nested deeper than kValueDepthMax is not a value: shown values are re-encoded
// recursively, so a peer's deeply nested value must never reach a printer.
TEST(CrdtValueTest, DeeplyNestedValuesAreRefused) {
  EXPECT_TRUE(CheckValue(std::string(64, '[') + std::string(64, ']')).ok());
  EXPECT_EQ(CheckValue(std::string(65, '[') + std::string(65, ']')).code(), codes::kBadOperation);
  EXPECT_EQ(CheckValue(std::string(20'000, '[') + std::string(20'000, ']')).code(),
            codes::kBadOperation);
  // Brackets inside strings do not count.
  EXPECT_TRUE(CheckValue("\"" + std::string(1000, '[') + "\"").ok());
  EXPECT_TRUE(CheckValue("[\"\\\"[[[\"]").ok());
}

}  // namespace
}  // namespace pando::crdt
