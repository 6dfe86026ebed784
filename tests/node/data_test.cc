// The data API against real `pando node` processes on 127.0.0.1: concurrent writes to one
// key on two nodes converge to the same winner within 2 s and the change feed reports it;
// follows make a home timeline; profiles, slugs and bad requests answer as documented; a
// client with its own key reads the clock and the follow tags and unfollows by an entry it
// signed itself, as the web UI does.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <thread>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "crdt/op.h"
#include "node/harness.h"
#include "testutil/feed.h"

namespace pando::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using nlohmann::json;

class DataTest : public NodesTest {
 protected:
  // Two nodes carrying kv and blog, B connected to A.
  std::pair<NodeProcess*, NodeProcess*> Pair() {
    NodeProcess& a = Start({"--group", "kv", "--group", "blog"});
    NodeProcess& b = Start({"--group", "kv", "--group", "blog", "--bootstrap", a.bootstrap()});
    EXPECT_TRUE(WaitFor(std::chrono::seconds(20), [&] { return a.Joined() && b.Joined(); }));
    return {&a, &b};
  }
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
  // Named pointers, not a structured binding: clang 14 cannot capture one in a lambda.
  const auto nodes = Pair();
  NodeProcess* a = nodes.first;
  NodeProcess* b = nodes.second;
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
  // Named pointers, not a structured binding: clang 14 cannot capture one in a lambda.
  const auto nodes = Pair();
  NodeProcess* a = nodes.first;
  NodeProcess* b = nodes.second;
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

// GET /api/v1/clock and the live tags of follows: what a client that signs its own kind 3
// entries (the browser) needs to pick its clock and to name the adds an unfollow removes.
TEST_F(DataTest, ClockAndFollowTagsLetAClientUnfollowByItsOwnEntry) {
  NodeProcess& a = Start();
  auto api = a.api();
  auto clock = [&]() -> uint64_t {
    auto c = api.Get("/api/v1/clock");
    EXPECT_TRUE(c.ok()) << c.error().ToString();
    if (!c.ok()) return 0;
    EXPECT_TRUE((*c)["hlc"].is_string()) << c->dump();
    EXPECT_EQ(c->size(), 1u) << c->dump();
    return std::stoull((*c)["hlc"].get<std::string>());
  };
  const uint64_t before = clock();
  auto put = api.Put("/api/v1/profile", {{"name", "Ada"}});
  ASSERT_TRUE(put.ok()) << put.error().ToString();
  const uint64_t hlc = (*put)["hlc"].get<uint64_t>();
  EXPECT_GT(hlc, before);
  EXPECT_EQ(clock(), hlc) << "the clock is the newest reading applied";
  EXPECT_EQ(api.Post("/api/v1/clock", json::object()).code(), codes::kMethodNotAllowed);

  // The node's author follows B twice (two adds, two tags), then C once.
  const std::string b = AuthorId(KeyPair::Generate().public_key());
  const std::string c = AuthorId(KeyPair::Generate().public_key());
  std::vector<std::string> b_tags;
  for (int i = 0; i < 2; ++i) {
    auto f = api.Post("/api/v1/follows", {{"author", b}});
    ASSERT_TRUE(f.ok()) << f.error().ToString();
    b_tags.push_back((*f)["id"].get<std::string>() + ":0");
  }
  auto fc = api.Post("/api/v1/follows", {{"author", c}});
  ASSERT_TRUE(fc.ok()) << fc.error().ToString();
  EXPECT_EQ(clock(), (*fc)["hlc"].get<uint64_t>());
  std::sort(b_tags.begin(), b_tags.end());
  auto follows = api.Get("/api/v1/authors/" + a.author() + "/follows");
  ASSERT_TRUE(follows.ok()) << follows.error().ToString();
  EXPECT_EQ((*follows)["follows"], (std::min(b, c) == b ? json{b, c} : json{c, b}));
  EXPECT_EQ((*follows)["tags"][b], json(b_tags)) << follows->dump();
  EXPECT_EQ((*follows)["tags"][c], json{(*fc)["id"].get<std::string>() + ":0"});
  // The set's state carries the same tags, one list per element, in the elements' order.
  auto set = api.Get("/api/v1/objects/catalog/set/follows?owner=" + a.author());
  ASSERT_TRUE(set.ok()) << set.error().ToString();
  ASSERT_EQ((*set)["elements"].size(), 2u);
  ASSERT_EQ((*set)["tags"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*set)["tags"][i], (*follows)["tags"][(*set)["elements"][i].get<std::string>()]);
  }
  // An author who follows nobody: empty lists.
  auto none = api.Get("/api/v1/authors/" + b + "/follows");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)["follows"], json::array());
  EXPECT_EQ((*none)["tags"], json::object());

  // A client with its own key follows B, then unfollows with a remove it signs itself,
  // naming the tags the route gave and a clock from GET /api/v1/clock.
  const KeyPair me = KeyPair::Generate();
  const std::string my_id = AuthorId(me.public_key());
  auto sign = [&](crdt::Action action) -> std::string {
    auto head = api.Get("/api/v1/head?author=" + my_id + "&group=catalog");
    if (!head.ok()) return "";
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    crdt::Op op;
    op.personal = true;
    op.name = "follows";
    op.hlc = crdt::HlcForWrite(clock(), now);
    op.action = std::move(action);
    EntryDraft d;
    d.group = "catalog";
    d.kind = kinds::kCrdt;
    d.payload = crdt::EncodeOp(op);
    d.timestamp_ms = std::max(now, crdt::HlcMs(op.hlc));
    if ((*head)["seq"].get<uint64_t>() > 0) {
      d.seq = (*head)["seq"].get<uint64_t>() + 1;
      auto prev = FromHex((*head)["id"].get<std::string>());
      std::copy(prev->begin(), prev->end(), d.prev.begin());
      d.timestamp_ms = std::max(d.timestamp_ms, (*head)["timestamp_ms"].get<int64_t>());
    }
    auto e = Entry::Sign(d, me);
    if (!e.ok()) return "";
    auto r = api.Post("/api/v1/entries", {{"entry", ToHex(e->bytes())}});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? ToHex(e->id()) : "";
  };
  const std::string element = json(b).dump();
  const std::string add = sign(crdt::SetAdd{{element}});
  ASSERT_FALSE(add.empty());
  auto mine = [&] { return api.Get("/api/v1/authors/" + my_id + "/follows"); };
  ASSERT_TRUE(WaitFor(std::chrono::seconds(5), [&] {
    auto m = mine();
    return m.ok() && (*m)["follows"] == json{b};
  }));
  auto m = mine();
  ASSERT_TRUE(m.ok());
  ASSERT_EQ((*m)["tags"][b], json{add + ":0"});
  crdt::SetRemove remove{element, {}};
  for (const auto& t : (*m)["tags"][b]) {
    const std::string text = t.get<std::string>();
    crdt::ElemId id;
    auto entry = FromHex(text.substr(0, 64));
    ASSERT_TRUE(entry && entry->size() == 32) << text;
    std::copy(entry->begin(), entry->end(), id.entry.begin());
    id.index = static_cast<uint16_t>(std::stoul(text.substr(65)));
    remove.tags.push_back(id);
  }
  ASSERT_FALSE(sign(remove).empty());
  ASSERT_TRUE(WaitFor(std::chrono::seconds(5), [&] {
    auto r = mine();
    return r.ok() && (*r)["follows"] == json::array() && (*r)["tags"] == json::object();
  }));
  // The node's own follows are untouched by another author's remove.
  auto still = api.Get("/api/v1/authors/" + a.author() + "/follows");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ((*still)["tags"][b], json(b_tags));
}

// Values another signer wrote as bytes that parsing would not keep: `pando kv get` and
// `kv list` print them exactly as signed, through the running node and on the store alone.
TEST_F(DataTest, KvPrintsTheBytesSigned) {
  NodeProcess& a = Start({"--group", "kv"});
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  crdt::Op op;
  op.name = "m";
  op.hlc = crdt::HlcFromMs(now);
  op.action = crdt::MapUpdate{
      {{"big", "1e308"}, {"dup", "{\"a\":1,\"a\":2}"}, {"neg", "-0"}, {"ws", " [1 ,2] "}}};
  ASSERT_TRUE(crdt::CheckOp(op).ok());
  EntryDraft d;
  d.group = "kv";
  d.kind = kinds::kCrdt;
  d.payload = crdt::EncodeOp(op);
  d.timestamp_ms = now;
  auto e = Entry::Sign(d, KeyPair::Generate());
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(a.api().Post("/api/v1/entries", {{"entry", ToHex(e->bytes())}}).ok());
  ASSERT_TRUE(
      WaitFor(std::chrono::seconds(5), [&] { return a.api().Get("/api/v1/kv/kv/m/ws").ok(); }));
  auto got = a.api().Get("/api/v1/kv/kv/m/dup");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["raw"], "{\"a\":1,\"a\":2}");

  const std::string listed = "big\t1e308\ndup\t{\"a\":1,\"a\":2}\nneg\t-0\nws\t [1 ,2] \n";
  auto kv = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data-dir", a.dir(), "kv"});
    std::string err;
    auto [code, out] = RunPando(args, &err);
    EXPECT_EQ(code, 0) << err;
    return out;
  };
  EXPECT_EQ(kv({"get", "-g", "kv", "-m", "m", "big"}), "1e308\n");
  EXPECT_EQ(kv({"get", "-g", "kv", "-m", "m", "neg"}), "-0\n");
  EXPECT_EQ(kv({"get", "-g", "kv", "-m", "m", "dup"}), "{\"a\":1,\"a\":2}\n");
  EXPECT_EQ(kv({"list", "-g", "kv", "-m", "m"}), listed);
  // Without the node, from the store: the same bytes.
  ASSERT_EQ(a.Stop(), 0);
  EXPECT_EQ(kv({"get", "-g", "kv", "-m", "m", "big"}), "1e308\n");
  EXPECT_EQ(kv({"list", "-g", "kv", "-m", "m"}), listed);
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
