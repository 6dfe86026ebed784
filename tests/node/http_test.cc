// The node's HTTP port against real `pando node` processes on 127.0.0.1: bad requests get
// the right status and stable code and store nothing; the WebSocket stream delivers entries
// posted here and arriving from a peer; pages list, find and show posts and escape hostile
// text; /metrics speaks the Prometheus format.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <map>
#include <memory>

#include "core/kinds.h"
#include "core/post.h"
#include "node/harness.h"
#include "testutil/feed.h"

namespace pando::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

uint16_t HttpPort(const NodeProcess& n) { return n.api().endpoint().port; }

class HttpTest : public NodesTest {
 protected:
  // A post of `node`'s identity in `group`, and its catalog record; returns the post id.
  std::string PostWithRecord(const NodeProcess& node, const std::string& group,
                             const std::string& text) {
    const std::string id = node.Post(group, text);
    if (id.empty()) return "";
    CatalogRecord r;
    r.title = PostTitle(text);
    r.group = group;
    std::copy_n(FromHex(id)->begin(), 32, r.entry.begin());
    std::optional<Entry> rec = node.Sign("catalog", "");
    if (!rec) return "";
    // Sign() makes a kind-1 entry; re-sign the same position as a catalog record.
    auto key = LoadIdentity(node.dir());
    EntryDraft d;
    d.group = "catalog";
    d.kind = kinds::kCatalog;
    d.seq = rec->seq();
    d.prev = rec->prev();
    d.timestamp_ms = rec->timestamp_ms();
    d.payload = EncodeCatalogRecord(r);
    auto e = Entry::Sign(d, *key);
    if (!e.ok()) return "";
    auto posted = node.api().Post("/api/v1/entries", {{"entry", ToHex(e->bytes())}});
    return posted.ok() ? id : "";
  }
  size_t Held(const NodeProcess& n) { return n.Ids().size(); }
};

TEST_F(HttpTest, BadRequestsGetTheirStatusAndCodeAndStoreNothing) {
  NodeProcess& n = Start({"--group", "blog"});
  const uint16_t port = HttpPort(n);
  ASSERT_FALSE(n.Post("blog", "# first").empty());
  const size_t before = Held(n);

  std::optional<Entry> good = n.Sign("blog", "# second");
  ASSERT_TRUE(good);
  Bytes bad_sig = good->bytes();
  bad_sig[bad_sig.size() - 1] ^= 1;
  std::optional<Entry> elsewhere = n.Sign("other", "# not carried");
  ASSERT_TRUE(elsewhere);
  struct Case {
    const char* name;
    bhttp::verb method;
    std::string target, body;
    unsigned status;
    std::string_view code;
  };
  const std::vector<Case> cases = {
      {"malformed JSON", bhttp::verb::post, "/api/v1/entries", "{\"entry\": ", 400, "BAD_JSON"},
      {"not an object", bhttp::verb::post, "/api/v1/entries", "[1,2]", 400, "BAD_ARGUMENT"},
      {"wrong type", bhttp::verb::post, "/api/v1/entries", "{\"entry\": 5}", 400, "BAD_ARGUMENT"},
      {"not hex", bhttp::verb::post, "/api/v1/entries", "{\"entry\": \"zz\"}", 400, "BAD_ARGUMENT"},
      {"truncated entry", bhttp::verb::post, "/api/v1/entries",
       "{\"entry\": \"" + ToHex(good->bytes()).substr(0, 100) + "\"}", 400, "MALFORMED"},
      {"bad signature", bhttp::verb::post, "/api/v1/entries",
       "{\"entry\": \"" + ToHex(bad_sig) + "\"}", 422, "BAD_SIGNATURE"},
      {"group not carried", bhttp::verb::post, "/api/v1/entries",
       "{\"entry\": \"" + ToHex(elsewhere->bytes()) + "\"}", 422, "INVALID_GROUP"},
      {"unknown route", bhttp::verb::get, "/api/v1/nothing", "", 404, "NOT_FOUND"},
      {"wrong method", bhttp::verb::delete_, "/api/v1/entries", "", 405, "METHOD_NOT_ALLOWED"},
      {"bad id", bhttp::verb::get, "/api/v1/entries/12", "", 400, "BAD_ID"},
      {"unknown id", bhttp::verb::get, "/api/v1/entries/" + std::string(64, 'a'), "", 404,
       "NOT_FOUND"},
      {"bad limit", bhttp::verb::get, "/api/v1/latest?limit=x", "", 400, "BAD_ARGUMENT"},
      {"bad author", bhttp::verb::get, "/api/v1/authors/pdnope/posts", "", 400, "BAD_ID"},
      {"bad block seconds", bhttp::verb::post, "/api/v1/peers/block",
       "{\"peers\": [], \"seconds\": \"x\"}", 400, "BAD_ARGUMENT"},
      {"oversize body", bhttp::verb::post, "/api/v1/entries", std::string(2 << 20, 'x'), 413,
       "OVERSIZE"},
  };
  for (const Case& c : cases) {
    HttpAnswer a = Http(port, c.method, c.target, c.body);
    EXPECT_EQ(a.status, c.status) << c.name << ": " << a.body.substr(0, 200);
    EXPECT_EQ(a.code, c.code) << c.name << ": " << a.body.substr(0, 200);
  }
  EXPECT_EQ(Held(n), before);
  // The node still works, and the good entry goes in.
  HttpAnswer ok = Http(port, bhttp::verb::post, "/api/v1/entries",
                       "{\"entry\": \"" + ToHex(good->bytes()) + "\"}");
  EXPECT_EQ(ok.status, 201u) << ok.body;
  EXPECT_EQ(Held(n), before + 1);
  // Pages answer unknown paths with a 404 page, not JSON.
  HttpAnswer page = Http(port, bhttp::verb::get, "/no/such/page");
  EXPECT_EQ(page.status, 404u);
  EXPECT_NE(page.body.find("<!doctype html>"), std::string::npos);
}

// Reads stream messages until one has id `id` or 10 s pass.
bool StreamDelivers(websocket::stream<beast::tcp_stream>& ws, const std::string& id,
                    nlohmann::json* got) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    beast::flat_buffer buf;
    beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
    beast::error_code ec;
    ws.read(buf, ec);
    if (ec) return false;
    auto j = nlohmann::json::parse(beast::buffers_to_string(buf.data()), nullptr, false);
    if (!j.is_discarded() && j.value("id", "") == id) {
      *got = j;
      return true;
    }
  }
  return false;
}

TEST_F(HttpTest, StreamDeliversLocalPostsAndEntriesFromPeers) {
  NodeProcess& a = Start({"--group", "blog"});
  NodeProcess& b = Start({"--group", "blog", "--bootstrap", a.bootstrap()});
  ASSERT_TRUE(WaitFor(std::chrono::seconds(20), [&] {
    auto s = b.api().Get("/api/v1/status");
    return s.ok() && (*s)["started"].get<bool>() && !(*s)["peers"].empty();
  }));
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws(io);
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(ws).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), HttpPort(a)));
  ws.handshake("127.0.0.1", "/api/v1/stream?group=blog");

  nlohmann::json got;
  const std::string local = a.Post("blog", "# Local *post*\n\nbody");
  ASSERT_FALSE(local.empty());
  ASSERT_TRUE(StreamDelivers(ws, local, &got));
  EXPECT_EQ(got["title"], "Local *post*");
  EXPECT_EQ(got["group"], "blog");
  EXPECT_EQ(got["author"], a.author());
  auto bytes = FromHex(got["entry"].get<std::string>());
  ASSERT_TRUE(bytes);
  EXPECT_EQ(ToHex(Entry::Decode(*bytes)->id()), local);

  const std::string remote = b.Post("blog", "# From the peer");
  ASSERT_FALSE(remote.empty());
  ASSERT_TRUE(StreamDelivers(ws, remote, &got)) << "an entry from a peer did not arrive";
  EXPECT_EQ(got["author"], b.author());

  // A stream needs a valid group.
  HttpAnswer bad = Http(HttpPort(a), bhttp::verb::get, "/api/v1/stream?group=Bad%20Group");
  EXPECT_NE(bad.status, 101u);
}

TEST_F(HttpTest, PagesListFindAndShowPostsAndEscapeHostileText) {
  NodeProcess& n = Start({"--group", "blog"});
  const uint16_t port = HttpPort(n);
  const std::string hostile = "<img src=x onerror=alert(1)> \"quoted\" & kingfisher";
  const std::string id =
      PostWithRecord(n, "blog", "# " + hostile + "\n\n<script>alert(2)</script>");
  ASSERT_FALSE(id.empty());

  HttpAnswer front = Http(port, bhttp::verb::get, "/");
  ASSERT_EQ(front.status, 200u);
  EXPECT_NE(front.body.find("data-id=\"" + id + "\""), std::string::npos) << front.body;
  EXPECT_EQ(front.body.find("<img src=x"), std::string::npos);
  EXPECT_NE(front.body.find("&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &amp; "),
            std::string::npos);

  // The index trails the commit by a moment.
  HttpAnswer search;
  EXPECT_TRUE(WaitFor(std::chrono::seconds(5), [&] {
    search = Http(port, bhttp::verb::get, "/search?q=kingfisher");
    return search.body.find("/p/" + id) != std::string::npos;
  })) << search.body;
  EXPECT_EQ(search.body.find("<img src=x"), std::string::npos);
  HttpAnswer json = Http(port, bhttp::verb::get, "/api/v1/search?q=KINGF");
  EXPECT_NE(json.body.find(id), std::string::npos) << json.body;

  HttpAnswer post = Http(port, bhttp::verb::get, "/p/" + id);
  ASSERT_EQ(post.status, 200u);
  EXPECT_EQ(post.body.find("<script>alert"), std::string::npos);
  EXPECT_EQ(post.body.find("<img src=x"), std::string::npos);
  EXPECT_NE(post.body.find("id=\"sig-badge\""), std::string::npos);

  HttpAnswer blog = Http(port, bhttp::verb::get, "/a/" + n.author());
  EXPECT_NE(blog.body.find("/p/" + id), std::string::npos);
  HttpAnswer group = Http(port, bhttp::verb::get, "/g/blog");
  EXPECT_NE(group.body.find("/p/" + id), std::string::npos);
  HttpAnswer latest = Http(port, bhttp::verb::get, "/api/v1/latest?limit=5");
  auto j = nlohmann::json::parse(latest.body);
  ASSERT_EQ(j["posts"].size(), 1u);
  EXPECT_EQ(j["posts"][0]["target"]["entry"], id);
  EXPECT_EQ(j["posts"][0]["title"], hostile);
}

// GET /api/v1/groups once read a freed temporary and answered {"groups": []}.
TEST_F(HttpTest, GroupsListTheNodesGroups) {
  NodeProcess& n = Start({"--group", "blog"});
  ASSERT_FALSE(n.Post("blog", "# one").empty());
  auto groups = n.api().Get("/api/v1/groups");
  ASSERT_TRUE(groups.ok()) << groups.error().message;
  std::map<std::string, int64_t> entries;
  for (const auto& g : (*groups)["groups"]) entries[g["name"]] = g["entries"].get<int64_t>();
  ASSERT_TRUE(entries.contains("blog")) << groups->dump();
  EXPECT_TRUE(entries.contains("catalog")) << groups->dump();
  EXPECT_EQ(entries["blog"], 1);
}

// The log answers in pages keyed by (timestamp, id): newest first with limit and before, in
// log order with after; pages join up to the whole log without gaps or repeats.
TEST_F(HttpTest, LogIsPagedByTimestampAndId) {
  NodeProcess& n = Start({"--group", "blog"});
  for (int i = 0; i < 7; ++i) ASSERT_FALSE(n.Post("blog", "# post " + std::to_string(i)).empty());
  auto all = n.api().Get("/api/v1/log?group=blog");
  ASSERT_TRUE(all.ok());
  const auto log = (*all)["entries"].get<std::vector<std::string>>();
  ASSERT_EQ(log.size(), 7u);
  EXPECT_FALSE(all->contains("next"));

  std::vector<std::string> newest_first;
  std::string target = "/api/v1/groups/blog/entries?limit=3";
  for (int pages = 0; pages < 10; ++pages) {
    auto page = n.api().Get(target);
    ASSERT_TRUE(page.ok()) << target;
    const auto got = (*page)["entries"].get<std::vector<std::string>>();
    EXPECT_LE(got.size(), 3u);
    newest_first.insert(newest_first.end(), got.begin(), got.end());
    if (!page->contains("next")) break;
    target = "/api/v1/groups/blog/entries?limit=3&before=" + (*page)["next"].get<std::string>();
  }
  EXPECT_EQ(newest_first, std::vector<std::string>(log.rbegin(), log.rend()));

  std::vector<std::string> oldest_first;
  target = "/api/v1/log?group=blog&limit=0";
  auto first = n.api().Get(target);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)["entries"].size(), 7u);  // limit=0 is the default page, in log order.
  // A cursor from the middle: what follows it in log order.
  auto mid = Entry::Decode(*FromHex(log[2]));
  ASSERT_TRUE(mid.ok());
  auto rest = n.api().Get("/api/v1/log?group=blog&after=" + std::to_string(mid->timestamp_ms()) +
                          "." + ToHex(mid->id()));
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ((*rest)["entries"].get<std::vector<std::string>>(),
            std::vector<std::string>(log.begin() + 3, log.end()));

  const uint16_t port = HttpPort(n);
  for (const std::string& bad : std::vector<std::string>{
           "/api/v1/log?limit=1001", "/api/v1/log?before=12", "/api/v1/log?after=1.zz",
           "/api/v1/log?before=1." + ToHex(mid->id()) + "&after=1." + ToHex(mid->id())}) {
    HttpAnswer a = Http(port, bhttp::verb::get, bad);
    EXPECT_EQ(a.status, 400u) << bad;
    EXPECT_NE(a.body.find("BAD_ARGUMENT"), std::string::npos) << bad << ": " << a.body;
  }
}

// Pages are cached until the store changes: a new post shows on the front page at once.
TEST_F(HttpTest, CachedPagesFollowTheStore) {
  NodeProcess& n = Start({"--group", "blog"});
  const uint16_t port = HttpPort(n);
  const std::string first = PostWithRecord(n, "blog", "# first\n\nmail x@example.org");
  ASSERT_FALSE(first.empty());
  for (int i = 0; i < 2; ++i) {
    HttpAnswer front = Http(port, bhttp::verb::get, "/");
    EXPECT_NE(front.body.find("data-id=\"" + first + "\""), std::string::npos);
    HttpAnswer post = Http(port, bhttp::verb::get, "/p/" + first);
    EXPECT_NE(post.body.find("href=\"mailto:x@example.org\""), std::string::npos) << post.body;
    HttpAnswer entry = Http(port, bhttp::verb::get, "/api/v1/entries/" + first);
    EXPECT_NE(entry.body.find("\"id\":\"" + first + "\""), std::string::npos) << entry.body;
  }
  const std::string second = PostWithRecord(n, "blog", "# second");
  ASSERT_FALSE(second.empty());
  HttpAnswer front = Http(port, bhttp::verb::get, "/");
  EXPECT_NE(front.body.find("data-id=\"" + second + "\""), std::string::npos) << front.body;
}

TEST_F(HttpTest, AuthorPagesShowTheProfileEscapedAndPostsHaveSlugAddresses) {
  NodeProcess& n = Start({"--group", "blog"});
  const uint16_t port = HttpPort(n);
  ASSERT_TRUE(n.api().Put("/api/v1/profile", {{"name", "<b>Ada</b>"}, {"bio", "sea & sky"}}).ok());
  const std::string post = n.Post("blog", "# Hello, There!\n\nbody");
  ASSERT_FALSE(post.empty());
  HttpAnswer page = Http(port, bhttp::verb::get, "/a/" + n.author());
  ASSERT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("<span id=\"profile-name\">&lt;b&gt;Ada&lt;/b&gt;</span>"),
            std::string::npos);
  EXPECT_EQ(page.body.find("<b>Ada</b>"), std::string::npos);
  EXPECT_NE(page.body.find("<p id=\"profile-bio\">sea &amp; sky</p>"), std::string::npos);
  const std::string address = "/a/" + n.author() + "/hello-there";
  HttpAnswer by_slug = Http(port, bhttp::verb::get, address);
  ASSERT_EQ(by_slug.status, 200u);
  EXPECT_NE(by_slug.body.find("data-id=\"" + post + "\""), std::string::npos);
  HttpAnswer permalink = Http(port, bhttp::verb::get, "/p/" + post);
  EXPECT_NE(permalink.body.find("href=\"" + address + "\""), std::string::npos);
  EXPECT_EQ(Http(port, bhttp::verb::get, "/a/" + n.author() + "/no-such-post").status, 404u);
}

TEST_F(HttpTest, MetricsSpeakPrometheusText) {
  NodeProcess& n = Start({"--location", "52.52,13.4"});
  const uint16_t port = HttpPort(n);
  Http(port, bhttp::verb::get, "/");
  Http(port, bhttp::verb::get, "/api/v1/nothing");
  HttpAnswer m = Http(port, bhttp::verb::get, "/metrics");
  ASSERT_EQ(m.status, 200u);
  for (const char* want :
       {"# TYPE pando_http_requests_total counter",
        "pando_http_requests_total{route=\"page\",code=\"200\"} 1",
        "pando_http_requests_total{route=\"api\",code=\"404\"} 1", "pando_build_info{revision=\"",
        "pando_heartbeat_timestamp_seconds ", "pando_group_entries{group=\"catalog\"} 0",
        "pando_http_request_duration_seconds_bucket{route=\"page\",le=\"+Inf\"} 1",
        "pando_entries_received_total 0",
        "pando_node_location{latitude=\"52.52\",longitude=\"13.4\"} 1"}) {
    EXPECT_NE(m.body.find(want), std::string::npos) << want << "\n" << m.body;
  }
}

}  // namespace
}  // namespace pando::testing
