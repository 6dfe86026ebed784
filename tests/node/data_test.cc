// The data API against real `pando node` processes on 127.0.0.1: concurrent writes to one
// key on two nodes converge to the same winner within 2 s and the change feed reports it;
// follows make a home timeline; profiles, slugs and bad requests answer as documented.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <thread>

#include "core/error_codes.h"
#include "node/harness.h"
#include "testutil/feed.h"

namespace pando::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using nlohmann::json;

class DataTest : public ::testing::Test {
 protected:
  NodeProcess& Start(const std::vector<std::string>& extra = {}) {
    nodes_.push_back(
        std::make_unique<NodeProcess>(dir_.path() + "/n" + std::to_string(nodes_.size())));
    EXPECT_TRUE(nodes_.back()->Start(extra)) << "node did not start";
    return *nodes_.back();
  }
  // Two nodes carrying kv and blog, B connected to A.
  std::pair<NodeProcess*, NodeProcess*> Pair() {
    NodeProcess& a = Start({"--group", "kv", "--group", "blog"});
    NodeProcess& b = Start({"--group", "kv", "--group", "blog", "--bootstrap", a.bootstrap()});
    EXPECT_TRUE(WaitFor(std::chrono::seconds(20), [&] {
      auto s = b.api().Get("/api/v1/status");
      return s.ok() && (*s)["started"].get<bool>() && !(*s)["peers"].empty();
    }));
    return {&a, &b};
  }
  TempDir dir_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
};

// A WebSocket on a node's change feed for `group`.
class Feed {
 public:
  Feed(const NodeProcess& n, const std::string& group) : ws_(io_) {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(ws_).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), n.api().endpoint().port));
    ws_.handshake("127.0.0.1", "/api/v1/kv/stream?group=" + group);
  }
  // Reads messages until pred holds for one or 10 s pass.
  template <typename P>
  std::optional<json> Until(P pred) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      beast::flat_buffer buf;
      beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
      beast::error_code ec;
      ws_.read(buf, ec);
      if (ec) return std::nullopt;
      auto j = json::parse(beast::buffers_to_string(buf.data()), nullptr, false);
      if (!j.is_discarded() && pred(j)) return j;
    }
    return std::nullopt;
  }

 private:
  asio::io_context io_;
  websocket::stream<beast::tcp_stream> ws_;
};

TEST_F(DataTest, ConcurrentEditsOnTwoNodesConvergeWithinTwoSeconds) {
  auto [a, b] = Pair();
  Feed feed_a(*a, "kv"), feed_b(*b, "kv");
  double worst_ms = 0;
  for (int round = 0; round < 5; ++round) {
    const std::string key = "/api/v1/kv/kv/shared/k" + std::to_string(round % 2);
    // Both nodes write the same key at the same moment, each its own value.
    Result<json> ra = Error{codes::kInternal, ""}, rb = Error{codes::kInternal, ""};
    std::thread ta([&, key] { ra = a->api().Put(key, json{{"by", "a"}, {"round", round}}); });
    std::thread tb([&, key] { rb = b->api().Put(key, json{{"by", "b"}, {"round", round}}); });
    ta.join();
    tb.join();
    ASSERT_TRUE(ra.ok()) << ra.error().ToString();
    ASSERT_TRUE(rb.ok()) << rb.error().ToString();
    const auto written = Clock::now();
    // The winner: the greater (clock, entry id).
    const bool a_wins =
        std::make_pair((*ra)["hlc"].get<uint64_t>(), (*ra)["id"].get<std::string>()) >
        std::make_pair((*rb)["hlc"].get<uint64_t>(), (*rb)["id"].get<std::string>());
    const json want = {{"by", a_wins ? "a" : "b"}, {"round", round}};
    const std::string winner = a_wins ? (*ra)["id"] : (*rb)["id"];
    bool converged = WaitFor(std::chrono::seconds(2), [&] {
      auto ga = a->api().Get(key);
      auto gb = b->api().Get(key);
      return ga.ok() && gb.ok() && (*ga)["value"] == want && (*gb)["value"] == want &&
             (*ga)["entry"] == winner && (*gb)["entry"] == winner;
    });
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - written).count();
    worst_ms = std::max(worst_ms, ms);
    ASSERT_TRUE(converged) << "round " << round << ": the nodes did not agree within 2 s";
    // Each node's feed reports the key's merged value; the last report is the winner.
    for (Feed* f : {&feed_a, &feed_b}) {
      auto msg = f->Until([&](const json& j) {
        return j.value("type", "") == "change" && j["changes"].size() == 1 &&
               j["changes"][0]["key"] == key.substr(key.rfind('/') + 1) &&
               j["changes"][0]["value"] == want;
      });
      ASSERT_TRUE(msg) << "round " << round << ": a change feed did not report the winner";
      EXPECT_EQ((*msg)["object"]["name"], "shared");
      EXPECT_TRUE((*msg)["object"]["owner"].is_null());
    }
  }
  std::cout << "[ figure ] worst time from both writes answered to both nodes agreeing: "
            << worst_ms << " ms\n";
  // Deleting a key is a write like any other.
  ASSERT_TRUE(a->api().Delete("/api/v1/kv/kv/shared/k0").ok());
  ASSERT_TRUE(WaitFor(std::chrono::seconds(10), [&] {
    auto g = b->api().Get("/api/v1/kv/kv/shared/k0");
    return !g.ok() && g.error().code == codes::kNotFound;
  }));
  auto list = b->api().Get("/api/v1/kv/kv/shared");
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE((*list)["fields"].contains("k0"));
  EXPECT_TRUE((*list)["fields"].contains("k1"));
}

TEST_F(DataTest, FollowsMakeAHomeTimelineAndProfilesAndSlugsAnswer) {
  auto [a, b] = Pair();
  const std::string post = b->Post("blog", "# A Day at the Sea!\n\nwaves");
  ASSERT_FALSE(post.empty());
  auto home = [&] {
    auto t = a->api().Get("/api/v1/timeline?view=home");
    std::vector<std::string> ids;
    if (t.ok()) {
      for (const auto& p : (*t)["posts"]) ids.push_back(p["id"]);
    }
    return ids;
  };
  ASSERT_TRUE(WaitFor(std::chrono::seconds(10), [&] { return !a->Ids().empty(); }));
  EXPECT_TRUE(home().empty());
  ASSERT_TRUE(a->api().Post("/api/v1/follows", {{"author", b->author()}}).ok());
  ASSERT_TRUE(
      WaitFor(std::chrono::seconds(10), [&] { return home() == std::vector<std::string>{post}; }));
  // B sees whom A follows: follows are in the catalog, which every node carries.
  ASSERT_TRUE(WaitFor(std::chrono::seconds(10), [&] {
    auto f = b->api().Get("/api/v1/authors/" + a->author() + "/follows");
    return f.ok() && (*f)["follows"] == json::array({b->author()});
  }));
  auto t = a->api().Get("/api/v1/timeline?view=home");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)["posts"][0]["slug"], "a-day-at-the-sea");
  auto by_slug = a->api().Get("/api/v1/authors/" + b->author() + "/posts/a-day-at-the-sea");
  ASSERT_TRUE(by_slug.ok()) << by_slug.error().ToString();
  EXPECT_EQ((*by_slug)["id"], post);
  ASSERT_TRUE(a->api().Delete("/api/v1/follows/" + b->author()).ok());
  ASSERT_TRUE(WaitFor(std::chrono::seconds(10), [&] { return home().empty(); }));
  auto again = a->api().Delete("/api/v1/follows/" + b->author());
  EXPECT_EQ(again.code(), codes::kNotFound);

  ASSERT_TRUE(a->api().Put("/api/v1/profile", {{"name", "Ada"}, {"bio", "sea"}}).ok());
  ASSERT_TRUE(WaitFor(std::chrono::seconds(10), [&] {
    auto p = b->api().Get("/api/v1/authors/" + a->author() + "/profile");
    return p.ok() && (*p)["fields"] == json{{"name", "Ada"}, {"bio", "sea"}};
  }));
}

TEST_F(DataTest, BadRequestsGetTheirCodeAndSignNothing) {
  NodeProcess& a = Start({"--group", "kv"});
  auto api = a.api();
  auto heads = [&] { return a.Ids().size(); };
  const size_t before = heads();
  EXPECT_EQ(api.Put("/api/v1/profile", json::array()).code(), codes::kBadJson);
  EXPECT_EQ(api.Post("/api/v1/follows", {{"author", "nobody"}}).code(), codes::kBadId);
  EXPECT_EQ(api.Get("/api/v1/objects?type=tree").code(), codes::kBadArgument);
  EXPECT_EQ(api.Get("/api/v1/objects/kv/tree/x").code(), codes::kBadArgument);
  EXPECT_EQ(api.Get("/api/v1/kv/kv/none").code(), codes::kNotFound);
  EXPECT_EQ(api.Get("/api/v1/kv/kv/none/key").code(), codes::kNotFound);
  EXPECT_EQ(api.Put("/api/v1/kv/elsewhere/m/k", json(1)).code(), codes::kInvalidGroup);
  EXPECT_EQ(api.Get("/api/v1/timeline?view=sideways").code(), codes::kBadArgument);
  EXPECT_EQ(api.Post("/api/v1/kv/kv/m/k", json(1)).code(), codes::kMethodNotAllowed);
  EXPECT_EQ(heads(), before);
  // A key may be any text: it travels percent-encoded in the path.
  ASSERT_TRUE(api.Put("/api/v1/kv/kv/m/a%2Fb%20c", json("x")).ok());
  auto got = api.Get("/api/v1/kv/kv/m");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["fields"], json({{"a/b c", "x"}}));
  auto objects = api.Get("/api/v1/objects?group=kv&owner=shared&type=map");
  ASSERT_TRUE(objects.ok());
  ASSERT_EQ((*objects)["objects"].size(), 1u);
  EXPECT_EQ((*objects)["objects"][0]["name"], "m");
}

}  // namespace
}  // namespace pando::testing
