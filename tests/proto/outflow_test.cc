// Outflow and SignQueue: the node's pacing of owed WANTs and ENTRIES, and the order and
// waiting of the entries it signs, driven with explicit queue sizes and times.
#include "proto/outflow.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "proto/sign_queue.h"
#include "testutil/feed.h"

namespace pando::proto {
namespace {

using testing::FeedBuilder;
using testing::TestKey;

constexpr NodeId kPeer = 9;

// Serves the encodings of the entries it was given; counts reads.
class Shelf final : public OutflowHost {
 public:
  void Put(const Entry& e) { bytes_[e.id()] = e.bytes(); }
  std::vector<std::optional<Bytes>> ReadEntries(std::span<const Hash32> ids) override {
    ++reads;
    std::vector<std::optional<Bytes>> out;
    for (const Hash32& id : ids) {
      auto it = bytes_.find(id);
      out.push_back(it == bytes_.end() ? std::nullopt : std::optional<Bytes>(it->second));
    }
    return out;
  }
  int reads = 0;

 private:
  std::map<Hash32, Bytes> bytes_;
};

// n distinct made-up ids (1, 2, ... in their first two bytes), of no entry.
std::vector<Hash32> MadeUpIds(size_t n) {
  std::vector<Hash32> ids(n);
  for (size_t i = 0; i < n; ++i) {
    ids[i][0] = static_cast<uint8_t>(i + 1);
    ids[i][1] = static_cast<uint8_t>((i + 1) >> 8);
  }
  return ids;
}

std::vector<Hash32> IdsOf(const std::vector<Entry>& es) {
  std::vector<Hash32> ids;
  for (const Entry& e : es) ids.push_back(e.id());
  return ids;
}

TEST(OutflowTest, WantsGoFirstInFramesOfAtMostTheWantLimit) {
  Outflow flow;
  Shelf shelf;
  FeedBuilder feed(TestKey(1), "blog");
  std::vector<Entry> es = feed.Take(3);
  for (const Entry& e : es) shelf.Put(e);
  const std::vector<Hash32> wants = MadeUpIds(kWantIdsMax + 5);
  flow.Owe(kPeer, 2, IdsOf(es));
  flow.Want(kPeer, 2, wants);
  std::vector<Frame> out;
  EXPECT_FALSE(flow.Pump(kPeer, 0, shelf, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(std::get<WantFrame>(out[0]).ids.size(), kWantIdsMax);
  EXPECT_EQ(std::get<WantFrame>(out[1]).ids.size(), 5u);
  const auto& entries = std::get<EntriesFrame>(out[2]);
  EXPECT_EQ(entries.handle, 2u);
  ASSERT_EQ(entries.entries.size(), 3u);
  EXPECT_EQ(entries.entries[0], es[0].bytes());
  EXPECT_FALSE(flow.Owes(kPeer));
}

TEST(OutflowTest, SendsOnlyWhileTheQueueIsShortAndResumesWhenItDrains) {
  OutflowLimits limits;
  limits.queue_bytes_max = 4096;
  limits.frame_bytes_max = 1024;
  Outflow flow(limits);
  Shelf shelf;
  FeedBuilder feed(TestKey(2), "blog");
  std::vector<Entry> es;
  for (int i = 0; i < 40; ++i) es.push_back(feed.Next(std::string(300, 'x')));
  for (const Entry& e : es) shelf.Put(e);
  flow.Owe(kPeer, 1, IdsOf(es));
  std::vector<Frame> out;
  // A full queue: nothing goes.
  EXPECT_TRUE(flow.Pump(kPeer, 4096, shelf, out));
  EXPECT_TRUE(out.empty());
  // An empty one: frames until about queue_bytes_max is queued, each under frame_bytes_max.
  EXPECT_TRUE(flow.Pump(kPeer, 0, shelf, out));
  size_t sent = 0, bytes = 0;
  for (const Frame& f : out) {
    const auto& ef = std::get<EntriesFrame>(f);
    size_t in_frame = 0;
    for (const Bytes& b : ef.entries) in_frame += b.size() + 4;
    EXPECT_LE(in_frame, limits.frame_bytes_max);
    sent += ef.entries.size();
    bytes += in_frame;
  }
  EXPECT_GT(sent, 0u);
  EXPECT_LT(sent, es.size());
  EXPECT_LT(bytes, limits.queue_bytes_max + limits.frame_bytes_max);
  // The rest as the queue drains, in feed order, each entry once.
  while (flow.Pump(kPeer, 0, shelf, out)) {
  }
  std::vector<Bytes> all;
  for (const Frame& f : out) {
    for (const Bytes& b : std::get<EntriesFrame>(f).entries) all.push_back(b);
  }
  ASSERT_EQ(all.size(), es.size());
  for (size_t i = 0; i < es.size(); ++i) EXPECT_EQ(all[i], es[i].bytes()) << i;
}

TEST(OutflowTest, ReadsAWindowAtATimeInFeedOrderAndSkipsEntriesNoLongerHeld) {
  OutflowLimits limits;
  limits.read_window = 4;
  Outflow flow(limits);
  Shelf shelf;
  FeedBuilder a(TestKey(3), "blog"), b(TestKey(4), "blog");
  std::vector<Entry> fa = a.Take(2), fb = b.Take(2);
  // Asked interleaved (timestamp order); one id is not held.
  std::vector<Hash32> ids = {fa[0].id(), fb[0].id(), fa[1].id(), fb[1].id(), Hash32{}};
  for (const auto* f : {&fa, &fb}) {
    for (const Entry& e : *f) shelf.Put(e);
  }
  flow.Owe(kPeer, 1, ids);
  std::vector<Frame> out;
  EXPECT_FALSE(flow.Pump(kPeer, 0, shelf, out));
  EXPECT_EQ(shelf.reads, 2);  // 4 ids, then 1.
  ASSERT_EQ(out.size(), 1u);
  const auto& sent = std::get<EntriesFrame>(out[0]).entries;
  ASSERT_EQ(sent.size(), 4u);
  for (size_t i = 1; i < sent.size(); ++i) {
    EXPECT_TRUE(EncodingsInFeedOrder(sent[i - 1], sent[i]));
  }
  EXPECT_TRUE(SameAuthor(sent[0], sent[1]));
  EXPECT_FALSE(SameAuthor(sent[1], sent[2]));
}

TEST(OutflowTest, AForkedAuthorsEntriesReadButNotSentAreWithheld) {
  OutflowLimits limits;
  limits.frame_bytes_max = 1;   // One entry per frame.
  limits.queue_bytes_max = 64;  // One frame per pump.
  Outflow flow(limits);
  Shelf shelf;
  FeedBuilder a(TestKey(3), "blog"), b(TestKey(4), "blog");
  std::vector<Entry> fa = a.Take(2), fb = b.Take(2);
  for (const auto* f : {&fa, &fb}) {
    for (const Entry& e : *f) shelf.Put(e);
  }
  const std::vector<Hash32> ids = {fa[0].id(), fb[0].id(), fa[1].id(), fb[1].id()};
  flow.Owe(kPeer, 1, ids);
  std::vector<Frame> out;
  EXPECT_TRUE(flow.Pump(kPeer, 0, shelf, out));  // All four read; the first sent.
  ASSERT_EQ(out.size(), 1u);
  // Feed order puts one author first (by key); the other is forked.
  const bool a_first = std::get<EntriesFrame>(out[0]).entries[0] == fa[0].bytes();
  flow.Withhold((a_first ? TestKey(4) : TestKey(3)).public_key());
  EXPECT_EQ(flow.owed_ids(), 1u);
  out.clear();
  EXPECT_FALSE(flow.Pump(kPeer, 0, shelf, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<EntriesFrame>(out[0]).entries[0], (a_first ? fa : fb)[1].bytes());
  EXPECT_EQ(flow.owed_ids(), 0u);
}

TEST(OutflowTest, APeersShareIsBoundedAndDroppedWhenItLeaves) {
  OutflowLimits limits;
  limits.owed_ids_max = 10;
  Outflow flow(limits);
  Shelf shelf;
  const std::vector<Hash32> ids = MadeUpIds(8);
  EXPECT_EQ(flow.Owe(kPeer, 1, ids), 0u);
  EXPECT_EQ(flow.Want(kPeer, 1, ids), 6u);     // 2 fit.
  EXPECT_EQ(flow.Owe(kPeer + 1, 1, ids), 0u);  // Another peer has its own share.
  EXPECT_EQ(flow.dropped(), 6u);
  EXPECT_TRUE(flow.Owes(kPeer));
  flow.Drop(kPeer);
  EXPECT_FALSE(flow.Owes(kPeer));
  std::vector<Frame> out;
  EXPECT_FALSE(flow.Pump(kPeer, 0, shelf, out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(flow.Owes(kPeer + 1));
  EXPECT_EQ(flow.owed_ids(), 8u);
}

TEST(OutflowTest, AllPeersTogetherAreBoundedAndSentIdsLeaveTheCount) {
  OutflowLimits limits;
  limits.owed_ids_max = 10;
  limits.owed_ids_total_max = 15;
  Outflow flow(limits);
  Shelf shelf;
  const std::vector<Hash32> ids = MadeUpIds(10);
  EXPECT_EQ(flow.Want(kPeer, 1, ids), 0u);
  EXPECT_EQ(flow.Owe(kPeer + 1, 1, ids), 5u);  // Its own share has room; all peers' has not.
  EXPECT_EQ(flow.owed_ids(), 15u);
  std::vector<Frame> out;
  EXPECT_FALSE(flow.Pump(kPeer, 0, shelf, out));  // The WANTs go out.
  EXPECT_EQ(flow.owed_ids(), 5u);
  EXPECT_FALSE(flow.Pump(kPeer + 1, 0, shelf, out));  // None of those entries is held.
  EXPECT_EQ(flow.owed_ids(), 0u);
  EXPECT_EQ(flow.Owe(kPeer + 1, 1, ids), 0u);
}

TEST(OutflowTest, GroupsTakeTurnsSoACatchUpDoesNotStarveAnotherGroup) {
  OutflowLimits limits;
  limits.frame_bytes_max = 1024;
  Outflow flow(limits);
  Shelf shelf;
  FeedBuilder big(TestKey(5), "flood"), small(TestKey(6), "quiet");
  std::vector<Entry> flood;
  for (int i = 0; i < 100; ++i) flood.push_back(big.Next(std::string(300, 'x')));
  const std::vector<Entry> quiet = small.Take(2);
  for (const Entry& e : flood) shelf.Put(e);
  for (const Entry& e : quiet) shelf.Put(e);
  flow.Owe(kPeer, 1, IdsOf(flood));
  flow.Want(kPeer, 3, MadeUpIds(kWantIdsMax + 1));
  flow.Owe(kPeer, 2, IdsOf(quiet));
  std::vector<Frame> out;
  EXPECT_FALSE(flow.Pump(kPeer, 0, shelf, out));
  // One frame per group in turn: the quiet group's entries go third, not after the
  // flood's thirty-odd frames; the other group's WANTs go second and fifth.
  ASSERT_GT(out.size(), 30u);
  EXPECT_EQ(std::get<EntriesFrame>(out[0]).handle, 1u);
  EXPECT_EQ(std::get<WantFrame>(out[1]).ids.size(), kWantIdsMax);
  EXPECT_EQ(std::get<EntriesFrame>(out[2]).handle, 2u);
  EXPECT_EQ(std::get<EntriesFrame>(out[2]).entries.size(), 2u);
  EXPECT_EQ(std::get<WantFrame>(out[4]).ids.size(), 1u);
  // The flood's entries all go, in feed order.
  std::vector<Bytes> sent;
  for (const Frame& f : out) {
    if (const auto* e = std::get_if<EntriesFrame>(&f); e != nullptr && e->handle == 1) {
      sent.insert(sent.end(), e->entries.begin(), e->entries.end());
    }
  }
  ASSERT_EQ(sent.size(), flood.size());
  for (size_t i = 0; i < flood.size(); ++i) EXPECT_EQ(sent[i], flood[i].bytes()) << i;
  EXPECT_EQ(flow.owed_ids(), 0u);
}

using Queue = SignQueue<std::string>;

TEST(SignQueueTest, SignsOneAtATimeInOrder) {
  Queue q(10, 5000);
  q.Push(0, "a");
  q.Push(0, "b");
  EXPECT_EQ(q.Next(1).kind, Queue::Step::Kind::kTryLock);
  EXPECT_EQ(q.Locked(), "a");
  EXPECT_EQ(q.Next(2).kind, Queue::Step::Kind::kNothing);  // "a" is being signed.
  q.Done();
  EXPECT_EQ(q.Next(3).kind, Queue::Step::Kind::kTryLock);
  EXPECT_EQ(q.Locked(), "b");
  q.Done();
  EXPECT_EQ(q.Next(4).kind, Queue::Step::Kind::kNothing);
}

TEST(SignQueueTest, WaitsForTheLockThenTimesOut) {
  Queue q(10, 5000);
  q.Push(100, "a");
  q.Push(200, "b");
  ASSERT_EQ(q.Next(100).kind, Queue::Step::Kind::kTryLock);
  EXPECT_EQ(q.LockBusy(100), 110);
  auto s = q.Next(105);
  EXPECT_EQ(s.kind, Queue::Step::Kind::kRetryAt);
  EXPECT_EQ(s.at, 110);
  EXPECT_EQ(q.Next(110).kind, Queue::Step::Kind::kTryLock);
  q.LockBusy(5101);
  // "a" has waited over 5 s: it fails; "b" (4.9 s) is tried again.
  s = q.Next(5111);
  ASSERT_EQ(s.kind, Queue::Step::Kind::kTimedOut);
  EXPECT_EQ(*s.job, "a");
  EXPECT_EQ(q.Next(5111).kind, Queue::Step::Kind::kTryLock);
  EXPECT_EQ(q.Locked(), "b");
}

TEST(SignQueueTest, ClocksOnlyGrow) {
  Queue q(10, 5000);
  EXPECT_EQ(q.HlcFloor(7), 7u);
  q.Signed(50);
  EXPECT_EQ(q.HlcFloor(7), 50u);  // The store has not applied the node's own op yet.
  EXPECT_EQ(q.HlcFloor(60), 60u);
  q.Signed(40);
  EXPECT_EQ(q.HlcFloor(0), 50u);
}

}  // namespace
}  // namespace pando::proto
