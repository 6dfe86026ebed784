// Discovery on real nodes (docs/dht-format.md): 12 `pando node` processes on 127.0.0.1 in
// three groups publish who carries what in the DHT; a newcomer that bootstraps through a node
// carrying none of its groups finds their carriers, joins every one, and receives posts in
// each within 2 s; `pando find` shows the carriers; a group nobody else carries is reported.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>

#include "node/harness.h"

namespace pando::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class DiscoveryNodeTest : public NodesTest {
 protected:
  static nlohmann::json Status(const NodeProcess& n) {
    auto s = n.api().Get("/api/v1/status");
    return s.ok() ? *s : nlohmann::json::object();
  }
  // Whether node n has, in each of its groups, a neighbour among that group's carriers
  // (node ids by group): a bootstrap contact is a neighbour at once, until it says it does
  // not carry the group.
  static bool Joined(const NodeProcess& n,
                     const std::map<std::string, std::set<std::string>>& carriers) {
    const nlohmann::json s = Status(n);
    if (!s.contains("groups")) return false;
    for (const auto& g : s["groups"]) {
      const std::string name = g["name"];
      bool found = false;
      for (const auto& id : g["neighbours"]) {
        found = found || name == "catalog" || carriers.at(name).contains(id.get<std::string>());
      }
      if (!found) return false;
    }
    return true;
  }
  // Posts `text` in `group` on `from` and reports whether `to` holds it within `limit`.
  static bool Arrives(const NodeProcess& from, const NodeProcess& to, const std::string& group,
                      const std::string& text, milliseconds limit) {
    std::optional<Entry> e = from.Sign(group, text);
    if (!e) return false;
    const std::string id = ToHex(e->id());
    // The wait starts first; the post follows once the wait has surely reached the node.
    auto held = std::async(std::launch::async, [&to, id, limit] {
      auto r = to.api().Get("/api/v1/wait?id=" + id +
                            "&timeout_ms=" + std::to_string(limit.count() + 300));
      return r.ok() && (*r)["held"].get<bool>();
    });
    std::this_thread::sleep_for(milliseconds(300));
    auto posted = from.api().Post("/api/v1/entries", {{"entry", ToHex(e->bytes())}});
    EXPECT_TRUE(posted.ok()) << (posted.ok() ? "" : posted.error().message);
    return held.get();
  }
};

TEST_F(DiscoveryNodeTest, ANewcomerJoinsItsGroupsThroughANodeThatCarriesNoneOfThem) {
  const std::vector<std::string> groups = {"alpha", "beta", "gamma"};
  // Node i carries groups[i % 3]; all bootstrap through node 0 (alpha).
  Start({"--group", "alpha"});
  for (size_t i = 1; i < 12; ++i) {
    Start({"--group", groups[i % 3], "--bootstrap", nodes_[0]->bootstrap()});
  }
  std::map<std::string, std::set<std::string>> carriers;
  for (size_t i = 0; i < 12; ++i) {
    carriers[groups[i % 3]].insert(Status(*nodes_[i])["node_id"].get<std::string>());
  }
  // Each group's four carriers find one another through the DHT (node 0 carries only
  // alpha): every node ends with a carrier for a neighbour in each of its groups.
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_TRUE(WaitFor(seconds(30), [&] { return Joined(*nodes_[i], carriers); }))
        << "node " << i << ": " << Status(*nodes_[i]).dump(2);
  }

  // The newcomer carries beta and gamma and bootstraps through node 0.
  NodeProcess& fresh =
      Start({"--group", "beta", "--group", "gamma", "--bootstrap", nodes_[0]->bootstrap()});
  const auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor(seconds(15), [&] { return Joined(fresh, carriers); }))
      << Status(fresh).dump(2);
  const auto joined_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - began).count();
  std::cout << "the newcomer joined beta and gamma " << joined_ms << " ms after its start\n";
  EXPECT_TRUE(Arrives(*nodes_[1], fresh, "beta", "a beta post", milliseconds(2000)));
  EXPECT_TRUE(Arrives(*nodes_[2], fresh, "gamma", "a gamma post", milliseconds(2000)));

  // pando find shows beta's carriers, the newcomer among them once it has published.
  ASSERT_TRUE(WaitFor(seconds(10), [&] {
    auto [code, out] = RunPando({"--data-dir", fresh.dir(), "find", "group", "beta", "--json"});
    if (code != 0) return false;
    auto j = nlohmann::json::parse(out, nullptr, false);
    return !j.is_discarded() && j["nodes"].size() >= 5;
  }));
  auto [code, out] = RunPando({"--data-dir", nodes_[0]->dir(), "find", "group", "gamma"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("nodes found (dht:"), std::string::npos) << out;
  EXPECT_NE(out.find(nodes_[2]->author()), std::string::npos) << out;
  // And who holds a feed: node 1 holds its own beta feed, and so do the other beta carriers.
  std::tie(code, out) = RunPando({"--data-dir", fresh.dir(), "find", "feed", nodes_[1]->author()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find(nodes_[1]->author()), std::string::npos) << out;
  EXPECT_GT(Status(fresh)["discovery"]["carriers_found"].get<int>(), 0);
}

TEST_F(DiscoveryNodeTest, AGroupNobodyElseCarriesIsReportedAndFindSaysNotFound) {
  NodeProcess& hub = Start({"--group", "hub"});
  NodeProcess& alone = Start({"--group", "lonely", "--bootstrap", hub.bootstrap()});
  EXPECT_TRUE(WaitFor(seconds(15), [&] {
    const nlohmann::json status = Status(alone);
    if (!status.contains("groups")) return false;
    for (const auto& g : status["groups"]) {
      if (g["name"] == "lonely") return g["no_carrier_found"].get<bool>();
    }
    return false;
  })) << Status(alone).dump(2);
  std::string err;
  auto [code, out] = RunPando({"--data-dir", hub.dir(), "find", "group", "nobody-has-it"}, &err);
  EXPECT_EQ(code, 1) << out << err;
  EXPECT_NE(err.find("NOT_FOUND: No node carries group nobody-has-it"), std::string::npos) << err;
  // The lonely group is found through the hub, carried by its one node.
  std::tie(code, out) = RunPando({"--data-dir", hub.dir(), "find", "group", "lonely", "--json"});
  ASSERT_EQ(code, 0) << out;
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  ASSERT_EQ(j["nodes"].size(), 1u) << out;
  EXPECT_EQ(j["nodes"][0]["author"], alone.author());
  // Usage errors exit 2.
  std::tie(code, out) = RunPando({"--data-dir", hub.dir(), "find", "group", "Not A Group"});
  EXPECT_EQ(code, 2) << out;
  std::tie(code, out) = RunPando({"--data-dir", hub.dir(), "find", "feed", "nobody"});
  EXPECT_EQ(code, 2) << out;
}

}  // namespace
}  // namespace pando::testing
