// Quotas on real node processes (docs/node.md, "Quotas"): a client that posts a fresh key's
// entries faster than the node's quota is refused QUOTA_EXCEEDED after the burst, and what
// was taken still replicates; a peer that relays more than a node's quota lets through is
// throttled, not refused: the node takes the rest by reconciliation as its bucket refills,
// so both nodes end with the same entries. Every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/error_codes.h"
#include "node/harness.h"
#include "testutil/feed.h"

namespace pando::testing {
namespace {

using std::chrono::seconds;

class QuotaTest : public NodesTest {
 protected:
  // A config file giving a young feed `burst` entries at once and one a second.
  std::string SmallQuota(int burst) {
    const std::string path = dir_.path() + "/quota" + std::to_string(burst) + ".toml";
    std::ofstream(path) << "quota_young_entries_burst = " << burst
                        << "\nquota_young_entries_per_s = 1\n";
    return path;
  }
  static int64_t Counter(const NodeProcess& n, const std::string& name) {
    auto s = n.api().Get("/api/v1/status");
    return s.ok() ? (*s)["counters"][name].get<int64_t>() : -1;
  }
  static Status Submit(const NodeProcess& n, const Entry& e) {
    auto r = n.api().Post("/api/v1/entries", {{"entry", ToHex(e.bytes())}});
    return r.ok() ? Status() : Status(r.error());
  }
  static bool Holds(const NodeProcess& n, const std::vector<Entry>& es) {
    const std::set<std::string> ids = n.Ids();
    for (const Entry& e : es) {
      if (!ids.contains(ToHex(e.id()))) return false;
    }
    return true;
  }
};

TEST_F(QuotaTest, AClientOverItsQuotaIsRefusedAndWhatWasTakenReplicates) {
  const std::string config = SmallQuota(5);
  NodeProcess& a = Start({"--group", "blog", "--config", config});
  NodeProcess& b = Start({"--group", "blog", "--bootstrap", a.bootstrap()});
  ASSERT_TRUE(WaitFor(seconds(20), [&] { return a.Joined() && b.Joined(); }));

  FeedBuilder client(TestKey(9), "blog", NowMs());
  const std::vector<Entry> es = client.Take(7);
  for (size_t i = 0; i < 5; ++i) ASSERT_TRUE(Submit(a, es[i]).ok()) << "entry " << i;
  const Status over = Submit(a, es[5]);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, codes::kQuotaExceeded) << over.error().ToString();
  EXPECT_GE(Counter(a, "entries_over_quota"), 1);
  // The five taken reach the peer; the refused one is nowhere.
  const std::vector<Entry> taken(es.begin(), es.begin() + 5);
  EXPECT_TRUE(WaitFor(seconds(10), [&] { return Holds(b, taken); }));
  EXPECT_FALSE(a.Ids().contains(ToHex(es[5].id())));
  // A second later the bucket holds a token again.
  std::this_thread::sleep_for(seconds(1));
  EXPECT_TRUE(Submit(a, es[5]).ok());
}

TEST_F(QuotaTest, APeerRelayingMoreThanTheQuotaIsThrottledAndBothEndEqual) {
  NodeProcess& a = Start({"--group", "blog"});
  NodeProcess& b =
      Start({"--group", "blog", "--bootstrap", a.bootstrap(), "--config", SmallQuota(4)});
  ASSERT_TRUE(WaitFor(seconds(20), [&] { return a.Joined() && b.Joined(); }));

  FeedBuilder client(TestKey(10), "blog", NowMs());
  const std::vector<Entry> es = client.Take(10);
  for (const Entry& e : es) ASSERT_TRUE(Submit(a, e).ok());  // a's default quotas take all.
  // b takes four at once and drops the rest for now ...
  ASSERT_TRUE(WaitFor(seconds(10), [&] { return Counter(b, "entries_over_quota") > 0; }));
  EXPECT_FALSE(Holds(b, es));
  // ... then takes them as reconciliation offers them again and its bucket refills.
  EXPECT_TRUE(WaitFor(seconds(90), [&] { return Holds(b, es); }))
      << "b holds " << b.Ids().size() << " entries";
  EXPECT_EQ(a.Ids(), b.Ids());
  // What b took passed its ingest queue (docs/node.md, "Overload"): empty at the end, and too
  // little arrived to drop any.
  EXPECT_EQ(Counter(b, "entries_queued"), 0);
  EXPECT_EQ(Counter(b, "entries_queue_dropped"), 0);
}

}  // namespace
}  // namespace pando::testing
