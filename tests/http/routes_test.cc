// The route table (src/http/routes.h) in-process: requests are built in memory and dispatched
// through the table to the real handlers, over a FakeBackend that records what the handlers
// asked of the node and answers with canned values (and an empty store in a temporary
// directory for reads). No node, no sockets, no threads.
#include "http/routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error_codes.h"
#include "http/backend.h"
#include "http/metrics.h"
#include "testutil/feed.h"

// Heap allocations so far in this program (allocation_count.cc); 0 when not counted.
uint64_t AllocationCount();
bool AllocationsCounted();

namespace pando::http {
namespace {

using bhttp::verb;
using nlohmann::json;
using testing::TempDir;
using testing::TestKey;

// Records every call as one line ("PostOp blog", "Block 1 600") and answers each at once.
class FakeBackend : public Backend {
 public:
  explicit FakeBackend(const std::string& dir)
      : store_(store::Store::Open(store::StoreOptions{dir + "/pando.db"}).value()),
        key_(TestKey(7).public_key()) {}

  std::vector<std::string> calls;
  bool stopping_now = false;
  bool registry = false;
  bool find_answers = true;  // Find returns one record (else none).

  store::Store& store() override { return *store_; }
  const PublicKey& key() const override { return key_; }
  nlohmann::json StatusJson() const override {
    return {{"author", AuthorId(key_)},
            {"groups", {{{"name", "blog"}, {"entries", 3}, {"neighbours", json::array()}}}}};
  }
  bool stopping() const override { return stopping_now; }

  void PostLocal(Entry entry, std::function<void(Status)> done) override {
    calls.push_back("PostLocal " + std::string(entry.group()));
    done(Status::Ok());
  }
  void PostOp(std::string group, crdt::Op, std::function<void(Result<Entry>)> done) override {
    calls.push_back("PostOp " + group);
    testing::FeedBuilder feed(TestKey(7), group);
    done(feed.Next("signed"));
  }
  void Block(const std::vector<PublicKey>& peers, std::chrono::seconds duration) override {
    calls.push_back("Block " + std::to_string(peers.size()) + " " +
                    std::to_string(duration.count()));
  }
  void Unblock(const std::vector<PublicKey>& peers) override {
    calls.push_back("Unblock " + std::to_string(peers.size()));
  }
  void WaitForEntry(const Hash32&, std::chrono::milliseconds timeout,
                    std::function<void(bool)> done) override {
    calls.push_back("WaitForEntry " + std::to_string(timeout.count()));
    done(true);
  }
  void Find(proto::DhtKind kind, const Hash32& key,
            std::function<void(Result<proto::DhtLookupResult>)> done) override {
    calls.push_back("Find " + std::to_string(static_cast<int>(kind)) + " " + ToHex(key));
    proto::DhtLookupResult r;
    r.target = key;
    r.kind = static_cast<uint8_t>(kind);
    r.requests = 3;
    if (find_answers) {
      r.records.push_back(std::make_shared<const proto::DhtRecord>(
          proto::SignDhtRecord(kind, key, TestKey(8), "127.0.0.1:7000", 1'700'000'000'000, 3'600)));
    }
    done(r);
  }
  bool has_registry() const override { return registry; }
  bool TrustsAttester(const PublicKey& key) const override { return key == key_; }
  void RegisterName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) override {
    calls.push_back("RegisterName " + claim.name);
    done(Error{codes::kNoRegistry, "No registry."});
  }
  void TransferName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) override {
    calls.push_back("TransferName " + claim.name);
    done(Error{codes::kNoRegistry, "No registry."});
  }
  void LookupName(std::string typed,
                  std::function<void(Result<std::optional<names::Record>>)> done) override {
    calls.push_back("LookupName " + typed);
    done(std::optional<names::Record>());
  }
  void NamesOf(PublicKey, std::function<void(Result<std::vector<names::Record>>)> done) override {
    calls.push_back("NamesOf");
    done(std::vector<names::Record>());
  }

 private:
  std::unique_ptr<store::Store> store_;
  PublicKey key_;
};

// What one dispatch came to.
struct Outcome {
  int answers = 0;  // How many times the handler answered (must be 1, or 0 for an upgrade).
  Response res;
  Stream stream = Stream::kNone;

  unsigned status() const { return res.result_int(); }
  std::string code() const {
    auto j = json::parse(res.body(), nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
  std::string message() const {
    auto j = json::parse(res.body(), nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
  }
  std::string header(bhttp::field f) const { return std::string(res[f]); }
};

// A request as a client sends it; the defaults are the node's operator on its machine.
struct Req {
  Req(verb m, std::string t, std::string b = "", bool from_loopback = true)
      : method(m), target(std::move(t)), body(std::move(b)), loopback(from_loopback) {}
  verb method;
  std::string target;
  std::string body;
  bool loopback;
  bool upgrade = false;
  std::vector<std::pair<std::string, std::string>> headers;
};

class RoutesTest : public ::testing::Test {
 protected:
  RoutesTest() : backend_(dir_.path()) {
    ctx_.backend = &backend_;
    ctx_.metrics = &metrics_;
    ctx_.host = "127.0.0.1:7480";
    ctx_.port = 7480;
    ctx_.streams_open = [] { return size_t{2}; };
  }

  Outcome Do(const Req& r) {
    Request req{r.method, r.target, 11};
    req.set(bhttp::field::host, "127.0.0.1:7480");
    if (!r.body.empty() || r.method == verb::post || r.method == verb::put) {
      req.set(bhttp::field::content_type, "application/json");
    }
    for (const auto& [k, v] : r.headers) req.set(k, v);
    req.body() = r.body;
    req.prepare_payload();
    const std::string_view target(req.target().data(), req.target().size());
    const size_t q = target.find('?');
    const Call call{req, target.substr(0, q),
                    q == std::string_view::npos ? "" : target.substr(q + 1), r.loopback, r.upgrade};
    Outcome out;
    out.stream = Dispatch(ctx_, call, [&out](Response res) {
      ++out.answers;
      out.res = std::move(res);
    });
    return out;
  }
  Outcome Do(verb method, std::string target, std::string body = "") {
    return Do(Req{method, std::move(target), std::move(body)});
  }

  TempDir dir_;
  FakeBackend backend_;
  Metrics metrics_;
  Context ctx_;
};

const std::string kAuthor = AuthorId(TestKey(3).public_key());

// The path of a pattern with every parameter replaced by `value`.
std::string PathOf(std::string_view pattern, std::string_view value) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out += pattern[i];
      continue;
    }
    out += value;
    i = pattern.find('}', i);
  }
  return out;
}

TEST_F(RoutesTest, AnUnknownApiPathIsNotFoundInJson) {
  Outcome o = Do(verb::get, "/api/v1/nothing");
  EXPECT_EQ(o.answers, 1);
  EXPECT_EQ(o.status(), 404u);
  EXPECT_EQ(o.code(), "NOT_FOUND");
  EXPECT_EQ(o.header(bhttp::field::content_type), "application/json");
  // A parameter segment may not be empty, so a trailing slash is no route either.
  EXPECT_EQ(Do(verb::get, "/api/v1/entries/").code(), "NOT_FOUND");
  EXPECT_EQ(Do(verb::get, "/api/v1/groups/a/b/entries").code(), "NOT_FOUND");
  EXPECT_EQ(Do(verb::post, "/api/v1/groups/blog").code(), "NOT_FOUND");
}

TEST_F(RoutesTest, AnUnknownPageIsTheHtmlErrorPage) {
  Outcome o = Do(verb::get, "/no/such/page");
  EXPECT_EQ(o.status(), 404u);
  EXPECT_EQ(o.header(bhttp::field::content_type), "text/html; charset=utf-8");
  EXPECT_NE(o.res.body().find("<!doctype html>"), std::string::npos);
  EXPECT_NE(o.res.body().find("NOT_FOUND"), std::string::npos);
  // A static file that is not embedded answers in JSON, like the API.
  EXPECT_EQ(Do(verb::get, "/static/nope.js").code(), "NOT_FOUND");
  EXPECT_EQ(Do(verb::get, "/static/a/b").code(), "NOT_FOUND");
}

TEST_F(RoutesTest, AKnownPathWithAnotherMethodIs405WithAllow) {
  Outcome o = Do(verb::delete_, "/api/v1/entries");
  EXPECT_EQ(o.status(), 405u);
  EXPECT_EQ(o.code(), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(o.header(bhttp::field::allow), "POST");

  o = Do(verb::patch, "/api/v1/kv/blog/m/k");
  EXPECT_EQ(o.code(), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(o.header(bhttp::field::allow), "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(Do(verb::post, "/api/v1/names").status(), 400u);  // Taken: BAD_JSON.
  EXPECT_EQ(Do(verb::put, "/api/v1/names").header(bhttp::field::allow), "GET, HEAD, POST");
  EXPECT_EQ(Do(verb::get, "/api/v1/follows").header(bhttp::field::allow), "POST");

  // Pages answer GET only, with their HTML error page.
  o = Do(verb::post, "/");
  EXPECT_EQ(o.status(), 405u);
  EXPECT_EQ(o.header(bhttp::field::allow), "GET, HEAD");
  EXPECT_NE(o.res.body().find("<!doctype html>"), std::string::npos);
  EXPECT_EQ(Do(verb::post, "/p/" + std::string(64, 'a')).status(), 405u);
  // /metrics and static files too, in JSON.
  EXPECT_EQ(Do(verb::post, "/metrics").code(), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(Do(verb::delete_, "/static/style.css").code(), "METHOD_NOT_ALLOWED");
  EXPECT_TRUE(backend_.calls.empty());
}

TEST_F(RoutesTest, HeadIsServedAsGetWithoutABody) {
  Outcome get = Do(verb::get, "/api/v1/status");
  Outcome head = Do(verb::head, "/api/v1/status");
  EXPECT_EQ(get.status(), 200u);
  EXPECT_EQ(head.status(), 200u);
  EXPECT_TRUE(head.res.body().empty());
  EXPECT_EQ(head.header(bhttp::field::content_length), std::to_string(get.res.body().size()));
  EXPECT_EQ(Do(verb::head, "/").status(), 200u);
  EXPECT_EQ(Do(verb::head, "/static/style.css").status(), 200u);
  EXPECT_EQ(Do(verb::head, "/api/v1/entries").header(bhttp::field::allow), "POST");
}

TEST_F(RoutesTest, OperatorRoutesRefuseOtherMachinesAndOtherSites) {
  const std::string block = R"({"peers": [")" + kAuthor + R"("], "seconds": 60})";
  Req remote{verb::post, "/api/v1/peers/block", block, false};
  Outcome o = Do(remote);
  EXPECT_EQ(o.status(), 403u);
  EXPECT_EQ(o.code(), "FORBIDDEN");
  EXPECT_NE(o.message().find("Peer blocks"), std::string::npos);

  Req foreign{verb::put, "/api/v1/kv/blog/m/k", "1"};
  foreign.headers = {{"Origin", "http://evil.example"}};
  o = Do(foreign);
  EXPECT_EQ(o.status(), 403u);
  EXPECT_EQ(o.code(), "CROSS_SITE");

  Req rebound{verb::delete_, "/api/v1/follows/" + kAuthor};
  rebound.headers = {{"Host", "evil.example:7480"}};
  EXPECT_EQ(Do(rebound).code(), "CROSS_SITE");

  Req text{verb::put, "/api/v1/profile", R"({"name": "x"})"};
  text.headers = {{"Content-Type", "text/plain"}};
  EXPECT_EQ(Do(text).code(), "CROSS_SITE");

  Req remote_kv{verb::put, "/api/v1/kv/blog/m/k", "1", false};
  o = Do(remote_kv);
  EXPECT_EQ(o.code(), "FORBIDDEN");
  EXPECT_NE(o.message().find("signed by the node's own key"), std::string::npos);
  // Nothing was signed or blocked.
  EXPECT_TRUE(backend_.calls.empty());

  // The operator passes, and the handlers reach the backend.
  EXPECT_EQ(Do(verb::post, "/api/v1/peers/block", block).status(), 200u);
  EXPECT_EQ(Do(verb::post, "/api/v1/peers/unblock", block).status(), 200u);
  o = Do(verb::put, "/api/v1/kv/blog/m/k", "{\"a\": 1}");
  EXPECT_EQ(o.status(), 201u) << o.res.body();
  EXPECT_EQ(backend_.calls, (std::vector<std::string>{"Block 1 60", "Unblock 1", "PostOp blog"}));
}

TEST_F(RoutesTest, RoutesForAnyoneTakeCallsFromElsewhere) {
  Req remote{verb::get, "/api/v1/wait?id=" + std::string(64, 'b') + "&timeout_ms=5"};
  remote.loopback = false;
  remote.headers = {{"Origin", "http://elsewhere.example"}};
  Outcome o = Do(remote);
  EXPECT_EQ(o.status(), 200u);
  EXPECT_EQ(json::parse(o.res.body())["held"], true);
  EXPECT_EQ(backend_.calls, std::vector<std::string>{"WaitForEntry 5"});
}

TEST_F(RoutesTest, ParametersArePercentDecoded) {
  EXPECT_EQ(ParamsOf("/api/v1/kv/{group}/{map}/{key}", "/api/v1/kv/blog/m%20x/a%2Fb%20c"),
            (Params{"blog", "m x", "a/b c"}));
  EXPECT_EQ(ParamsOf("/@{name}/{slug}", "/@ada/first-post"), (Params{"ada", "first-post"}));
  Outcome o = Do(verb::get, "/api/v1/kv/blog/m/a%2Fb%20c");
  EXPECT_EQ(o.code(), "NOT_FOUND");
  EXPECT_NE(o.message().find("'a/b c'"), std::string::npos) << o.message();
  EXPECT_EQ(Do(verb::put, "/api/v1/kv/my%2Dgroup/m/k", "1").status(), 201u);
  EXPECT_EQ(backend_.calls, std::vector<std::string>{"PostOp my-group"});
  // A bad escape or an empty segment matches no route.
  EXPECT_EQ(Do(verb::get, "/api/v1/kv/blog/m/%zz").code(), "NOT_FOUND");
  EXPECT_EQ(Do(verb::get, "/api/v1/kv/blog/m/a%2").code(), "NOT_FOUND");
  EXPECT_EQ(Do(verb::get, "/api/v1/kv/blog//k").code(), "NOT_FOUND");
  EXPECT_EQ(Do(verb::get, "/api/v1/names/%41da").status(), 404u);
  EXPECT_EQ(backend_.calls.size(), 1u);  // No registry: answered from the log.
}

TEST_F(RoutesTest, FindRoutesAnswerTheDhtsRecordsOrNotFound) {
  Outcome o = Do(verb::get, "/api/v1/find/group/news");
  ASSERT_EQ(o.status(), 200u) << o.res.body();
  const auto j = nlohmann::json::parse(o.res.body());
  EXPECT_EQ(j["group"], "news");
  EXPECT_EQ(j["key"], ToHex(proto::DhtGroupKey("news")));
  ASSERT_EQ(j["nodes"].size(), 1u);
  EXPECT_EQ(j["nodes"][0]["author"], AuthorId(TestKey(8).public_key()));
  EXPECT_EQ(j["nodes"][0]["address"], "127.0.0.1:7000");
  EXPECT_EQ(j["nodes"][0]["this_node"], false);
  EXPECT_EQ(j["lookup"]["how"], "dht");
  EXPECT_EQ(j["lookup"]["requests"], 3);
  EXPECT_EQ(Do(verb::get, "/api/v1/find/feed/" + kAuthor).status(), 200u);
  EXPECT_EQ(backend_.calls, (std::vector<std::string>{
                                "Find 1 " + ToHex(proto::DhtGroupKey("news")),
                                "Find 2 " + ToHex(proto::DhtFeedKey(TestKey(3).public_key()))}));
  // Bad questions are refused before any lookup; a lookup that finds nobody is NOT_FOUND.
  EXPECT_EQ(Do(verb::get, "/api/v1/find/group/Bad%20Name").code(), "INVALID_GROUP");
  EXPECT_EQ(Do(verb::get, "/api/v1/find/feed/nobody").code(), "BAD_ID");
  EXPECT_EQ(backend_.calls.size(), 2u);
  backend_.find_answers = false;
  o = Do(verb::get, "/api/v1/find/group/news");
  EXPECT_EQ(o.status(), 404u);
  EXPECT_EQ(o.code(), "NOT_FOUND");
  EXPECT_NE(o.message().find("No node carries group news"), std::string::npos) << o.message();
}

TEST_F(RoutesTest, StreamRoutesUpgradeOrAnswer405) {
  Req upgrade{verb::get, "/api/v1/stream?group=blog"};
  upgrade.upgrade = true;
  Outcome o = Do(upgrade);
  EXPECT_EQ(o.stream, Stream::kEntries);
  EXPECT_EQ(o.answers, 0);
  upgrade.target = "/api/v1/kv/stream?group=blog";
  EXPECT_EQ(Do(upgrade).stream, Stream::kChanges);

  o = Do(verb::get, "/api/v1/stream");
  EXPECT_EQ(o.stream, Stream::kNone);
  EXPECT_EQ(o.status(), 405u);
  EXPECT_EQ(o.code(), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(o.header(bhttp::field::allow), "GET");
  // Another method is no stream, whatever its headers say.
  upgrade.method = verb::post;
  o = Do(upgrade);
  EXPECT_EQ(o.stream, Stream::kNone);
  EXPECT_EQ(o.header(bhttp::field::allow), "GET, HEAD");
}

TEST_F(RoutesTest, AStoppingNodeRefusesTheApiButServesPages) {
  backend_.stopping_now = true;
  EXPECT_EQ(Do(verb::get, "/api/v1/status").code(), "SHUTTING_DOWN");
  EXPECT_EQ(Do(verb::get, "/api/v1/status").status(), 503u);
  EXPECT_EQ(Do(verb::get, "/api/v1/nothing").code(), "SHUTTING_DOWN");
  EXPECT_EQ(Do(verb::get, "/").status(), 200u);
  EXPECT_TRUE(backend_.calls.empty());
}

TEST_F(RoutesTest, EveryRowIsReachable) {
  std::set<std::pair<verb, std::string_view>> seen;
  for (const Route& row : Routes()) {
    EXPECT_TRUE(seen.insert({row.method, row.pattern}).second)
        << row.pattern << " appears twice with one method";
    // The first row to take a path made from this row's pattern is this row.
    const std::string path = PathOf(row.pattern, "x");
    EXPECT_EQ(FindRoute(row.method, path), &row) << path << " is shadowed by an earlier row";
    if (row.method == verb::get) {
      EXPECT_EQ(FindRoute(verb::head, path), &row) << path;
    }
    // A stream row hands a WebSocket upgrade over to its stream.
    if (row.stream != Stream::kNone) {
      Req upgrade{row.method, path};
      upgrade.upgrade = true;
      EXPECT_EQ(Do(upgrade).stream, row.stream) << path;
      continue;
    }
    // Dispatched (as the operator, with a JSON body where one is taken), it is answered
    // exactly once by its handler, not refused by the table.
    Outcome o = Do(row.method, path, row.method == verb::get ? "" : "{}");
    EXPECT_EQ(o.answers, 1) << path;
    EXPECT_NE(o.status(), 405u) << path << ": " << o.res.body();
    EXPECT_NE(o.message().find("No route"), 0u) << path;
  }
  EXPECT_GE(Routes().size(), 45u);
}

TEST_F(RoutesTest, EveryRowNamesAHandlerAndOperatorRowsTheirRefusal) {
  for (const Route& row : Routes()) {
    EXPECT_NE(row.handler, nullptr) << row.pattern;
    EXPECT_TRUE(row.pattern.starts_with("/")) << row.pattern;
    if (row.caller.operator_only) {
      EXPECT_FALSE(row.caller.forbidden.empty()) << row.pattern;
      // Only writes act as the operator; a GET must be answerable by anyone.
      EXPECT_NE(row.method, verb::get) << row.pattern;
    }
  }
}

TEST_F(RoutesTest, MatchingAStaticSegmentAllocatesNothing) {
  if (!AllocationsCounted()) GTEST_SKIP() << "allocations are not counted in this build";
  const std::string post = "/p/" + std::string(64, 'c');
  const std::string entry = "/api/v1/entries/" + std::string(64, 'c');
  const uint64_t before = AllocationCount();
  const Route* front = FindRoute(verb::get, "/");
  const Route* permalink = FindRoute(verb::get, post);
  const Route* api = FindRoute(verb::head, entry);
  const Route* none = FindRoute(verb::get, "/api/v1/no/such/route/at/all");
  const bool kv = Matches("/api/v1/kv/{group}/{map}/{key}", "/api/v1/kv/blog/m/a%2Fb");
  EXPECT_EQ(AllocationCount(), before);
  ASSERT_NE(front, nullptr);
  ASSERT_NE(permalink, nullptr);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(front->pattern, "/");
  EXPECT_EQ(permalink->pattern, "/p/{id}");
  EXPECT_EQ(api->pattern, "/api/v1/entries/{id}");
  EXPECT_EQ(none, nullptr);
  EXPECT_TRUE(kv);
}

}  // namespace
}  // namespace pando::http
