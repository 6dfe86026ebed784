// AuthorQuotas: what one author may make a node take, driven with explicit times; and
// NodeCore's admission, which drops an entry over quota for now and takes it later.
#include "proto/quota.h"

#include <gtest/gtest.h>

#include "core/error_codes.h"
#include "proto/node_core.h"
#include "testutil/feed.h"

namespace pando::proto {
namespace {

using testing::FeedBuilder;
using testing::TestKey;

constexpr TimeMs kNow = 1'700'000'100'000;
constexpr TimeMs kLive = kNow - 100'000;       // 100 s old: live.
constexpr TimeMs kOld = kNow - 2 * 3'600'000;  // Two hours old: history.

QuotaLimits Small() {
  QuotaLimits l;
  l.entries_per_s = 10;
  l.entries_burst = 20;
  l.young_seq_max = 5;
  l.young_entries_per_s = 1;
  l.young_entries_burst = 3;
  l.young_group_entries_per_s = 2;
  l.young_group_entries_burst = 8;
  l.bytes_per_day = 86'400.0 * 1000;  // 1,000 bytes a second, 86.4 MB of burst.
  l.young_bytes_per_day = 86'400.0 * 100;
  return l;
}

// Charges every entry of `entries` at `now`; returns how many were taken.
size_t ChargeAll(AuthorQuotas& q, TimeMs now, const std::vector<Entry>& entries, uint32_t g = 0) {
  size_t taken = 0;
  for (const Entry& e : entries) taken += q.Charge(now, e, g).ok() ? 1 : 0;
  return taken;
}

// Entries of one feed from seq `from` (the ones before it are skipped).
std::vector<Entry> FeedFrom(uint8_t key, uint64_t from, size_t n, TimeMs ts) {
  FeedBuilder f(TestKey(key), "blog", ts);
  for (uint64_t s = 1; s < from; ++s) f.Next();
  return f.Take(n);
}

TEST(QuotaTest, LiveEntriesGetTheBurstThenTheRate) {
  AuthorQuotas q(Small());
  const std::vector<Entry> es = FeedFrom(1, 6, 40, kLive);  // Past the young entries.
  EXPECT_EQ(ChargeAll(q, kNow, {es.begin(), es.begin() + 25}), 20u);
  const Status over = q.Charge(kNow, es[25], 0);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, codes::kQuotaExceeded);
  EXPECT_NE(over.error().message.find("entries per second"), std::string::npos);
  // One second later, ten more.
  EXPECT_EQ(ChargeAll(q, kNow + 1'000, {es.begin() + 25, es.end()}), 10u);
  EXPECT_EQ(q.counters().refused_entries, 6u + 5u);
  // Another author and another group have buckets of their own.
  EXPECT_TRUE(q.Charge(kNow, FeedFrom(2, 6, 1, kLive)[0], 0).ok());
  EXPECT_TRUE(q.Charge(kNow, es[39], 1).ok());
}

TEST(QuotaTest, AYoungFeedGetsLessAndFreshKeysShareOneGroupAllowance) {
  AuthorQuotas q(Small());
  EXPECT_EQ(ChargeAll(q, kNow, FeedFrom(1, 1, 5, kLive)), 3u);  // young_entries_burst
  // Twenty fresh keys, one entry each: the group's young bucket holds 8, 3 are spent.
  size_t taken = 0;
  for (uint8_t k = 10; k < 30; ++k) taken += ChargeAll(q, kNow, FeedFrom(k, 1, 1, kLive));
  EXPECT_EQ(taken, 5u);
  // Past young_seq_max the author has the full allowance, and the group bucket is not asked.
  EXPECT_EQ(ChargeAll(q, kNow, FeedFrom(1, 6, 25, kLive)), 20u);
}

TEST(QuotaTest, HistoryCostsBytesOnly) {
  QuotaLimits l = Small();
  l.bytes_per_day = 10'000;  // A day's worth as the burst.
  AuthorQuotas q(l);
  // Old entries are not held to the live rate: a catching-up node takes them at once ...
  const std::vector<Entry> old = FeedFrom(1, 6, 200, kOld);
  const size_t each = old[0].bytes().size();
  const size_t fit = 10'000 / each;
  ASSERT_LT(fit, 200u);
  // ... up to the author's bytes per day.
  EXPECT_EQ(ChargeAll(q, kNow, old), fit);
  const Status over = q.Charge(kNow, old.back(), 0);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("bytes per day"), std::string::npos);
  EXPECT_EQ(q.counters().refused_entries, 0u);
}

TEST(QuotaTest, RecordsAreBoundedAndIdleOnesAreForgotten) {
  QuotaLimits l = Small();
  l.tracked_max = 4;
  AuthorQuotas q(l);
  for (uint8_t k = 1; k <= 4; ++k) ASSERT_TRUE(q.Charge(kNow, FeedFrom(k, 6, 1, kLive)[0], 0).ok());
  EXPECT_EQ(q.tracked(), 4u);
  // Nothing is forgettable yet: a fifth author is charged to the group's young bucket.
  EXPECT_TRUE(q.Charge(kNow, FeedFrom(5, 6, 1, kLive)[0], 0).ok());
  EXPECT_EQ(q.tracked(), 4u);
  // A minute later every bucket is full again: they are forgotten and the sixth gets a record.
  EXPECT_TRUE(q.Charge(kNow + 60'000, FeedFrom(6, 6, 1, kLive)[0], 0).ok());
  EXPECT_EQ(q.tracked(), 1u);
  EXPECT_EQ(q.counters().forgotten, 4u);
}

TEST(QuotaTest, DisabledTakesEverything) {
  QuotaLimits l = Small();
  l.enabled = false;
  AuthorQuotas q(l);
  EXPECT_EQ(ChargeAll(q, kNow, FeedFrom(1, 1, 100, kLive)), 100u);
}

// A host whose store is empty.
class EmptyHost final : public NodeCoreHost {
 public:
  Result<std::optional<FeedHead>> StoredHead(const PublicKey&, uint32_t) override {
    return std::optional<FeedHead>();
  }
  Status Verify(const Entry& e) override { return VerifyEntrySignature(e); }
};

TEST(QuotaTest, NodeCoreDropsAnEntryOverQuotaForNowAndTakesItLater) {
  NodeLimits limits;
  limits.quota = Small();
  EmptyHost host;
  NodeCore core(1, {"catalog", "blog"}, ReplicaConfig{}, limits, 7);
  NodeOutbox out;
  core.Start(kNow, kNoNode, host, out);
  FeedBuilder f(TestKey(1), "blog", kLive);
  const std::vector<Entry> es = f.Take(4);  // A young feed: 3 at once.
  const auto deliver = [&](TimeMs now) {
    std::vector<ArrivingEntry> arriving;
    Entries m;
    for (const Entry& e : es) {
      arriving.push_back({&e, false});
      m.ids.push_back(e.id());
    }
    out.Clear();
    core.OnMessage(now, 77, GroupMessage{1, m}, arriving, false, host, out);
  };
  deliver(kNow);
  EXPECT_EQ(out.to_store.size(), 3u);
  EXPECT_FALSE(core.HasEntry(es[3].id()));
  EXPECT_FALSE(out.violation.has_value());  // The peer did nothing wrong.
  EXPECT_EQ(core.counters().quota_dropped, 1u);
  EXPECT_EQ(core.waiting_count(), 0u);
  // Reconciliation brings it again once the bucket has refilled.
  deliver(kNow + 1'000);
  ASSERT_EQ(out.to_store.size(), 1u);
  EXPECT_EQ(out.to_store[0].first.id(), es[3].id());
  EXPECT_TRUE(core.HasEntry(es[3].id()));
  // A client's entry is charged the same way.
  FeedBuilder g(TestKey(2), "blog", kLive);
  for (const Entry& e : g.Take(3)) EXPECT_TRUE(core.ChargeQuota(kNow, e).ok());
  EXPECT_EQ(core.ChargeQuota(kNow, g.Next()).error().code, codes::kQuotaExceeded);
  EXPECT_EQ(core.ChargeQuota(kNow, FeedBuilder(TestKey(3), "other").Next()).error().code,
            codes::kInvalidGroup);
}

}  // namespace
}  // namespace pando::proto
