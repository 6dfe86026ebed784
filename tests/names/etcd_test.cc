// The etcd backend of the name registry (src/names/etcd_registry.cc) against a real 3-member
// etcd cluster on 127.0.0.1 (testutil/etcd_cluster.h): the behaviour every backend shares, 50
// clients racing for 100 names (also while the leader is killed part-way), the answer when no
// member can serve, and damaged records. And the gateway codec on its own.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>

#include "core/error_codes.h"
#include "names/behaviour.h"
#include "names/etcd_codec.h"
#include "names/etcd_http.h"
#include "names/etcd_registry.h"
#include "names/race.h"
#include "testutil/etcd_cluster.h"
#include "testutil/feed.h"

namespace pando::names {
namespace {

using std::chrono::milliseconds;
using testing::TestKey;
constexpr int64_t kNow = 1'700'000'000'000;
constexpr std::string_view kPrefix = "pando/names/";

std::unique_ptr<EtcdRegistry> OpenEtcd(std::vector<std::string> endpoints,
                                       milliseconds call_timeout = milliseconds(15000),
                                       milliseconds request_timeout = milliseconds(2000)) {
  EtcdOptions o;
  o.endpoints = std::move(endpoints);
  o.prefix = std::string(kPrefix);
  o.call_timeout = call_timeout;
  o.request_timeout = request_timeout;
  auto r = EtcdRegistry::Open(std::move(o));
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// The endpoints starting from the n-th, so that clients spread over the members.
std::vector<std::string> Rotated(std::vector<std::string> v, int n) {
  std::rotate(v.begin(), v.begin() + n % v.size(), v.end());
  return v;
}

TEST(EtcdOptionsTest, OpenRefusesWhatCannotWork) {
  auto bad = [](std::vector<std::string> endpoints, milliseconds call = milliseconds(1000)) {
    EtcdOptions o;
    o.endpoints = std::move(endpoints);
    o.call_timeout = call;
    return EtcdRegistry::Open(std::move(o)).code();
  };
  EXPECT_EQ(bad({}), codes::kBadConfig);
  EXPECT_EQ(bad({"https://127.0.0.1:2379"}), codes::kBadConfig);
  EXPECT_EQ(bad({"127.0.0.1:2379"}), codes::kBadConfig);
  EXPECT_EQ(bad({"http://127.0.0.1"}), codes::kBadConfig);
  EXPECT_EQ(bad({"http://127.0.0.1:70000"}), codes::kBadConfig);
  EXPECT_EQ(bad({"http://127.0.0.1:2379/v3"}), codes::kBadConfig);
  EXPECT_EQ(bad({"http://127.0.0.1:2379"}, milliseconds(0)), codes::kBadConfig);
  EXPECT_EQ(bad({"http://127.0.0.1:2379/", "http://[::1]:2379", "http://etcd-1:2379"}),
            std::string_view());
}

TEST(EtcdCodecTest, AnswersWithDefaultsLeftOutAndDamagedAnswers) {
  const Bytes claim = EncodeClaim(SignRegistration("ada", TestKey(1), kNow));
  const std::string key = etcd::ToBase64(AsBytes(etcd::RecordKey(kPrefix, "ada")));
  // As etcd 3.4 writes them: int64 as strings, defaults left out.
  auto range = etcd::ParseRange(R"({"header":{"revision":"7"},"kvs":[{"key":")" + key +
                                R"(","create_revision":"5","mod_revision":"6","value":")" +
                                etcd::ToBase64(claim) + R"("}],"count":"1"})");
  ASSERT_TRUE(range.ok()) << range.error().ToString();
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->revision, 7);
  EXPECT_EQ(range->kvs[0].mod_revision, 6);
  EXPECT_FALSE(range->more);
  EXPECT_EQ(etcd::RecordOf(range->kvs[0], kPrefix)->owner, TestKey(1).public_key());
  EXPECT_TRUE(etcd::ParseRange(R"({"header":{"revision":"1"}})")->kvs.empty());
  auto txn = etcd::ParseTxn(R"({"header":{},"responses":[{"response_put":{"header":{}}}]})");
  ASSERT_TRUE(txn.ok());
  EXPECT_FALSE(txn->succeeded);
  EXPECT_TRUE(etcd::ParseTxn(R"({"succeeded":true})")->succeeded);
  for (const char* damaged : {"", "[]", R"({"kvs":{}})", R"({"kvs":[{"key":"not base64!"}]})",
                              R"({"kvs":[{"key":"YQ==","mod_revision":"x"}]})", R"({"more":"yes"})",
                              R"({"succeeded":1})"}) {
    EXPECT_TRUE(etcd::ParseRange(damaged).code() == codes::kStore ||
                etcd::ParseTxn(damaged).code() == codes::kStore)
        << damaged;
  }
  auto error = etcd::ParseError(
      R"({"error":"etcdserver: leader changed","message":"etcdserver: leader changed","code":14})");
  ASSERT_TRUE(error);
  EXPECT_TRUE(etcd::IsTransient(503, error));
  EXPECT_TRUE(etcd::IsTransient(400, etcd::EtcdError{"etcdserver: request timed out", 2}));
  EXPECT_FALSE(etcd::IsTransient(400, etcd::EtcdError{"etcdserver: duplicate key", 3}));
  EXPECT_EQ(etcd::PrefixEnd("pando/o/"), "pando/o0");
  EXPECT_EQ(etcd::PrefixEnd("a\xff"), "b");
}

// A member that loses the answers to writes: it passes every request on to a real member,
// answers reads, and closes the connection of a transaction unanswered, as a leader that
// commits and then dies does.
class LosingMember {
 public:
  explicit LosingMember(const std::string& real_url)
      : real_(etcd::ParseEndpoint(real_url).value()),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        thread_([this] { Serve(); }) {}
  ~LosingMember() {
    stop_ = true;
    boost::asio::ip::tcp::socket wake(io_);  // Unblocks accept().
    boost::beast::error_code ignored;
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int lost() const { return lost_; }

 private:
  void Serve() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::asio::ip::tcp::socket s(io_);
      boost::beast::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(s, buffer, req, ec);
      if (ec) continue;
      const std::string target(req.target());
      auto reply = etcd::Post(real_, target, req.body(), milliseconds(5000));
      if (!reply.ok()) continue;
      if (target == "/v3/kv/txn") {
        ++lost_;
        continue;  // The socket closes unanswered.
      }
      http::response<http::string_body> res;
      res.result(static_cast<unsigned>(reply->status));
      res.body() = reply->body;
      res.prepare_payload();
      http::write(s, res, ec);
    }
  }

  etcd::Endpoint real_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> lost_{0};
  std::thread thread_;
};

class EtcdRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = testing::EtcdCluster::Start();
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    cluster_ = std::move(c).value();
  }
  // Writes value under key directly, as a broken or hostile cluster might.
  void Put(const std::string& key, ByteSpan value) {
    auto e = etcd::ParseEndpoint(cluster_->endpoints()[0]).value();
    auto r = etcd::Post(e, "/v3/kv/put", etcd::PutRequest(key, value), milliseconds(5000));
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.error().ToString());
  }
  std::unique_ptr<testing::EtcdCluster> cluster_;
};

TEST_F(EtcdRegistryTest, RegisterLookupTakenInvalidAndTransfer) {
  CheckRegistryBehaviour(
      [this] { return std::unique_ptr<Registry>(OpenEtcd(cluster_->endpoints())); });
}

TEST_F(EtcdRegistryTest, FiftyClientsRaceForAHundredNamesAndEachIsWonOnce) {
  Race race;
  race.open = [this](int c) -> std::unique_ptr<Registry> {
    return OpenEtcd(Rotated(cluster_->endpoints(), c));
  };
  const auto start = std::chrono::steady_clock::now();
  race.Run(kNow);
  std::cout
      << "race: " << race.ops.size() << " operations in "
      << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count()
      << " ms\n";
  race.CheckEachWonOnceAndHeld(*OpenEtcd(cluster_->endpoints()));
}

// The leader dies (SIGKILL) after a third of the operations: the clients' calls fail over to
// the other members and retry; no call may fail, each name is still won once, the history is
// still linearizable, and every acknowledged registration is on the surviving members.
TEST_F(EtcdRegistryTest, TheRaceSurvivesTheLeadersDeath) {
  const int leader = cluster_->LeaderIndex();
  ASSERT_GE(leader, 0);
  std::atomic<int> completed{0};
  std::atomic<bool> finished{false};
  Race race;
  race.completed = &completed;
  race.open = [this](int c) -> std::unique_ptr<Registry> {
    return OpenEtcd(Rotated(cluster_->endpoints(), c));
  };
  const int total = race.clients * race.names;
  int killed_after = -1;
  std::thread killer([&] {
    while (completed < total / 3 && !finished) std::this_thread::sleep_for(milliseconds(1));
    if (finished) return;
    cluster_->Kill(leader);
    killed_after = completed;
  });
  const auto start = std::chrono::steady_clock::now();
  race.Run(kNow);
  finished = true;
  killer.join();
  std::cout
      << "race with the leader killed after " << killed_after << " operations: " << race.ops.size()
      << " operations in "
      << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count()
      << " ms\n";
  ASSERT_GE(killed_after, total / 3);
  ASSERT_LT(killed_after, total) << "the leader died only after the race";
  ASSERT_EQ(static_cast<int>(race.ops.size()), total);
  race.CheckEachWonOnceAndHeld(*OpenEtcd(cluster_->LiveEndpoints()));
  const int next = cluster_->LeaderIndex();
  EXPECT_GE(next, 0);
  EXPECT_NE(next, leader);
}

// A write committed by a member whose answer never arrives: the registry sends it again to
// the next member, whose transaction shows the claim already there, and answers as the lost
// answer would have. Each write is applied once.
TEST_F(EtcdRegistryTest, AWriteWhoseAnswerIsLostIsAppliedOnceAndAnsweredOnRetry) {
  LosingMember losing(cluster_->endpoints()[0]);
  const std::vector<std::string> endpoints = {losing.url(), cluster_->endpoints()[1]};
  const KeyPair ada = TestKey(1), bob = TestKey(2);
  const Claim claim = SignRegistration("ada", ada, kNow);
  EXPECT_EQ(OpenEtcd(endpoints)->Register(claim)->outcome, Outcome::kRegistered);
  EXPECT_EQ(losing.lost(), 1);
  const Claim move = SignTransfer("ada", ada, bob.public_key(), ClaimId(claim), kNow + 1);
  EXPECT_EQ(OpenEtcd(endpoints)->Transfer(move)->outcome, Outcome::kTransferred);
  EXPECT_EQ(losing.lost(), 2);
  auto reg = OpenEtcd(cluster_->endpoints());
  EXPECT_EQ(reg->Lookup("ada")->value().owner, bob.public_key());
  EXPECT_EQ(reg->NamesOf(bob.public_key())->size(), 1u);
  EXPECT_TRUE(reg->NamesOf(ada.public_key())->empty());
}

// With no quorum (a member answers but cannot commit) and then with no member at all, a call
// fails with REGISTRY_UNAVAILABLE once its call_timeout has passed, not before and not long
// after, naming the members it tried.
TEST_F(EtcdRegistryTest, WithoutAQuorumACallIsUnavailableWithinItsTimeout) {
  const milliseconds call(1500);
  auto reg = OpenEtcd(cluster_->endpoints(), call, milliseconds(300));
  ASSERT_EQ(reg->Register(SignRegistration("ada", TestKey(1), kNow))->outcome,
            Outcome::kRegistered);
  auto timed = [&](auto f) {
    const auto start = std::chrono::steady_clock::now();
    auto r = f();
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.code(), codes::kRegistryUnavailable) << (r.ok() ? "" : r.error().ToString());
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find(cluster_->endpoints()[0]), std::string::npos);
    }
    EXPECT_GE(took, call - milliseconds(50));
    EXPECT_LT(took, call + milliseconds(1000));
  };
  cluster_->Kill(0);
  cluster_->Kill(1);
  timed([&] { return reg->Register(SignRegistration("bob", TestKey(2), kNow)); });
  timed([&] { return reg->Lookup("ada"); });
  cluster_->Kill(2);
  timed([&] { return reg->Register(SignRegistration("bob", TestKey(2), kNow)); });
  timed([&] { return reg->NamesOf(TestKey(1).public_key()); });
}

// The registry checks every record it reads: bytes that are no claim, a claim that does not
// verify, or a valid claim under another name's key are STORE_ERROR, never an answer.
TEST_F(EtcdRegistryTest, ADamagedRecordIsAStoreErrorNotAnAnswer) {
  auto reg = OpenEtcd(cluster_->endpoints());
  const KeyPair ada = TestKey(1), mallory = TestKey(9);
  auto expect_damaged = [&](std::string_view what) {
    auto found = reg->Lookup("ada");
    ASSERT_FALSE(found.ok()) << what;
    EXPECT_EQ(found.code(), codes::kStore) << what;
    EXPECT_NE(found.error().message.find("damaged claim"), std::string::npos) << what;
    EXPECT_EQ(reg->Register(SignRegistration("ada", ada, kNow)).code(), codes::kStore) << what;
  };
  const std::string key = etcd::RecordKey(kPrefix, "ada");
  const std::string garbage = "not a claim";
  Put(key, AsBytes(garbage));
  expect_damaged("garbage");
  Claim forged = SignRegistration("ada", mallory, kNow);
  forged.owner = ada.public_key();
  Put(key, EncodeClaim(forged));
  expect_damaged("a claim that does not verify");
  Put(key, EncodeClaim(SignRegistration("adb", mallory, kNow)));
  expect_damaged("another name's claim");
  // The owner index is checked the same way.
  Put(etcd::OwnerKey(kPrefix, ada.public_key(), "zed"), EncodeClaim(forged));
  EXPECT_EQ(reg->NamesOf(ada.public_key()).code(), codes::kStore);
}

// n0000, n0001, ...: distinct skeletons, in the order of i.
std::string PagedName(int i) {
  std::string digits = std::to_string(i);
  return "n" + std::string(4 - std::min<size_t>(4, digits.size()), '0') + digits;
}

// An owner's names are read in pages of etcd::kRangePairsMax, as one snapshot.
TEST_F(EtcdRegistryTest, NamesOfReadsALongListInPages) {
  constexpr int kNames = etcd::kRangePairsMax + 5, kThreads = 10;
  const KeyPair ada = TestKey(1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto reg = OpenEtcd(Rotated(cluster_->endpoints(), t));
      for (int i = t; i < kNames; i += kThreads) {
        const std::string name = PagedName(i);
        auto r = reg->Register(SignRegistration(name, ada, kNow));
        ASSERT_TRUE(r.ok()) << r.error().ToString();
        ASSERT_EQ(r->outcome, Outcome::kRegistered) << name;
      }
    });
  }
  for (auto& t : threads) t.join();
  auto names = OpenEtcd(cluster_->endpoints())->NamesOf(ada.public_key());
  ASSERT_TRUE(names.ok()) << names.error().ToString();
  ASSERT_EQ(names->size(), static_cast<size_t>(kNames));
  for (int i = 0; i < kNames; ++i) EXPECT_EQ((*names)[i].name, PagedName(i));
}

}  // namespace
}  // namespace pando::names
