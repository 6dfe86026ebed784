// A fork proof spreads between real `pando node` processes on 127.0.0.1 and cuts the author
// off on every node (docs/node.md, "Fork proofs"). Three nodes in a line, A - B - C (A and C
// block each other); an author signs two entries with one seq and posts one to A and the
// other to C. Where the two meet the store finds the fork, and the proof must reach every
// node: each reports the author as forked (forked_authors in /api/v1/log) and refuses a later
// entry of it with AUTHOR_FORKED. And a post that itself proves a fork (FORKED) sends the
// proof on. Every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/error_codes.h"
#include "node/harness.h"

namespace pando::testing {
namespace {

using std::chrono::seconds;

class ForkNodesTest : public NodesTest {
 protected:
  // Whether the node's log names `author` among its forked authors.
  static bool ReportsForked(const NodeProcess& n, const std::string& author) {
    auto log = n.api().Get("/api/v1/log?author=" + author);
    if (!log.ok()) return false;
    for (const auto& a : (*log)["forked_authors"]) {
      if (a.get<std::string>() == author) return true;
    }
    return false;
  }
  static uint64_t Counter(const NodeProcess& n, const std::string& name) {
    auto s = n.api().Get("/api/v1/status");
    return s.ok() ? (*s)["counters"].value(name, uint64_t{0}) : 0;
  }
  // Posts a signed entry through the node's API; returns "" if stored, else the error code.
  static std::string PostCode(const NodeProcess& n, const Entry& e) {
    auto r = n.api().Post("/api/v1/entries", {{"entry", ToHex(e.bytes())}});
    return r.ok() ? "" : std::string(r.error().code);
  }
};

TEST_F(ForkNodesTest, AProofReachesEveryNodeOfALineAndEachRefusesTheAuthor) {
  NodeProcess& a = Start();
  NodeProcess& b = Start({"--bootstrap", a.bootstrap()});
  NodeProcess& c = Start({"--bootstrap", b.bootstrap()});
  // A and C never talk: whatever reaches one from the other goes through B.
  for (auto [n, other] : {std::pair{&a, &c}, std::pair{&c, &a}}) {
    ASSERT_TRUE(n->api()
                    .Post("/api/v1/peers/block",
                          {{"peers", nlohmann::json::array({other->author()})}, {"seconds", 3600}})
                    .ok());
  }
  ASSERT_TRUE(WaitFor(seconds(30), [&] { return a.Joined() && b.Joined() && c.Joined(); }))
      << "the line did not form";

  // One author, two entries for seq 1 of one feed.
  const KeyPair key = KeyPair::Generate();
  const std::string author = AuthorId(key.public_key());
  EntryDraft d;
  d.group = "catalog";
  d.kind = 1;
  d.timestamp_ms = NowMs();
  const std::string one = "one version", other = "another version";
  d.payload.assign(one.begin(), one.end());
  const Entry x = SignOrDie(d, key);
  d.payload.assign(other.begin(), other.end());
  const Entry y = SignOrDie(d, key);
  ASSERT_EQ(PostCode(a, x), "");
  // If x has reached C through B already, this post itself proves the fork.
  const std::string second = PostCode(c, y);
  ASSERT_TRUE(second.empty() || second == codes::kForked) << second;

  // The proof reaches every node, each of which holds one side at most.
  const auto started = Clock::now();
  EXPECT_TRUE(WaitFor(seconds(20),
                      [&] {
                        return ReportsForked(a, author) && ReportsForked(b, author) &&
                               ReportsForked(c, author);
                      }))
      << "forked on A " << ReportsForked(a, author) << ", B " << ReportsForked(b, author) << ", C "
      << ReportsForked(c, author);
  std::printf(
      "the proof was on all three nodes %lld ms after the two posts\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()));
  for (const NodeProcess* n : {&a, &b, &c}) EXPECT_EQ(Counter(*n, "forked_authors"), 1u);
  // Someone found the fork in its store and sent the proof: not every node found it alone.
  uint64_t received = 0;
  for (const NodeProcess* n : {&a, &b, &c}) received += Counter(*n, "proofs_received");
  EXPECT_GE(received, 1u);

  // A later entry of the author is refused everywhere, and goes nowhere.
  d.seq = 2;
  d.prev = x.id();
  d.timestamp_ms = NowMs();
  const Entry later = SignOrDie(d, key);
  for (const NodeProcess* n : {&a, &b, &c}) {
    EXPECT_EQ(PostCode(*n, later), codes::kAuthorForked);
  }
  // And one signed by an honest node still replicates along the line.
  const std::string honest = a.Post("catalog", "after the fork");
  ASSERT_FALSE(honest.empty());
  EXPECT_TRUE(WaitFor(seconds(20), [&] { return c.Ids().contains(honest); }));
  for (const NodeProcess* n : {&a, &b, &c}) EXPECT_FALSE(n->Ids().contains(ToHex(later.id())));

  // A restarted node loads the forked author from its store.
  ASSERT_EQ(b.Stop(), 0);
  ASSERT_TRUE(b.Start({"--bootstrap", a.bootstrap()}));
  EXPECT_EQ(Counter(b, "forked_authors"), 1u);
  EXPECT_EQ(PostCode(b, later), codes::kAuthorForked);
}

// A post that proves the fork (its seq is taken on this node): the API answers FORKED and the
// node sends the proof on, so the node that holds only the first side learns it too.
TEST_F(ForkNodesTest, APostThatProvesAForkSpreadsTheProof) {
  NodeProcess& a = Start();
  NodeProcess& b = Start({"--bootstrap", a.bootstrap()});
  ASSERT_TRUE(WaitFor(seconds(30), [&] { return a.Joined() && b.Joined(); }));
  const KeyPair key = KeyPair::Generate();
  const std::string author = AuthorId(key.public_key());
  EntryDraft d;
  d.group = "catalog";
  d.kind = 1;
  d.timestamp_ms = NowMs();
  d.payload = {'x'};
  const Entry x = SignOrDie(d, key);
  d.payload = {'y'};
  const Entry y = SignOrDie(d, key);
  ASSERT_EQ(PostCode(a, x), "");
  ASSERT_TRUE(WaitFor(seconds(20), [&] { return b.Ids().contains(ToHex(x.id())); }));
  EXPECT_EQ(PostCode(b, y), codes::kForked);
  EXPECT_TRUE(WaitFor(seconds(10), [&] { return ReportsForked(a, author); }))
      << "the proof did not reach the node that holds only one side";
  EXPECT_EQ(Counter(a, "proofs_received"), 1u);
  EXPECT_EQ(Counter(b, "proofs_sent"), 1u);
  EXPECT_FALSE(a.Ids().contains(ToHex(y.id())));
}

}  // namespace
}  // namespace pando::testing
