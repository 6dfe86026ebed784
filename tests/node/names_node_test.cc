// Unique names across real `pando node` processes on 127.0.0.1 (docs/names.md): node A hosts
// the site's embedded registry, B and C register and look up through it. A registration made
// through B is won once, attested in the log by A, and C shows /@name as soon as it arrives;
// a confusable or reserved name gets a clear answer; an attestation signed by a key nobody
// trusts changes nothing; a transfer signed by the owner moves the name everywhere; a node
// without a registry answers from the log, and a node whose registry node is gone says so.
#include <gtest/gtest.h>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/name_claim.h"
#include "node/harness.h"
#include "testutil/feed.h"

namespace pando::testing {
namespace {

using nlohmann::json;

int64_t NowMsForTest() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class NamesNodeTest : public NodesTest {
 protected:
  // A: the registry node. B, C: remote to A, peers of A.
  void StartSite() {
    a_ = &Start();
    const std::string remote = a_->author() + "@" + a_->api().endpoint().ToString();
    b_ = &Start(
        {"--bootstrap", a_->bootstrap(), "--names-backend", "remote", "--names-remote", remote});
    c_ = &Start(
        {"--bootstrap", a_->bootstrap(), "--names-backend", "remote", "--names-remote", remote});
    EXPECT_TRUE(WaitFor(std::chrono::seconds(20),
                        [&] { return a_->Joined() && b_->Joined() && c_->Joined(); }));
  }
  static client::ApiClient::Answer Post(const NodeProcess& n, const std::string& target,
                                        const names::Claim& c) {
    auto a = n.api().Exchange("POST", target, json{{"claim", ToHex(names::EncodeClaim(c))}}.dump());
    EXPECT_TRUE(a.ok()) << a.error().ToString();
    return a.ok() ? *a : client::ApiClient::Answer{};
  }
  static client::ApiClient::Answer Get(const NodeProcess& n, const std::string& target) {
    auto a = n.api().Exchange("GET", target);
    EXPECT_TRUE(a.ok()) << a.error().ToString();
    return a.ok() ? *a : client::ApiClient::Answer{};
  }
  static std::string Code(const client::ApiClient::Answer& a) {
    return a.body.contains("error") ? a.body["error"].value("code", "") : "";
  }
  // A page's HTML, or "" unless it answers 200.
  static std::string PageHtml(const NodeProcess& n, const std::string& path) {
    HttpAnswer a = Http(n.api().endpoint().port, boost::beast::http::verb::get, path);
    return a.status == 200 ? a.body : "";
  }

  NodeProcess *a_ = nullptr, *b_ = nullptr, *c_ = nullptr;
};

TEST_F(NamesNodeTest, ARegistrationThroughOneNodeIsWonOnceAndEveryNodeShowsIt) {
  StartSite();
  const KeyPair ada = TestKey(1), bob = TestKey(2);
  const int64_t now = NowMsForTest();
  // Through B: A's registry decides, A attests, B answers once the attestation is here.
  auto won = Post(*b_, "/api/v1/names", names::SignRegistration("ada_lovelace", ada, now));
  ASSERT_EQ(won.status, 201u) << won.body.dump();
  EXPECT_EQ(won.body["outcome"], "registered");
  ASSERT_TRUE(won.body.contains("attestation"));
  // The same claim again (a client whose answer was lost): the same answer, one attestation.
  auto again = Post(*b_, "/api/v1/names", names::SignRegistration("ada_lovelace", ada, now));
  EXPECT_EQ(again.status, 201u) << again.body.dump();
  EXPECT_EQ(again.body["attestation"], won.body["attestation"]);
  // The same name, or a confusable one, through C: taken, and the answer says by whom.
  for (const char* other : {"ada_lovelace", "Ada-1ovelace"}) {
    auto lost = Post(*c_, "/api/v1/names",
                     names::SignRegistration(names::Normalize(other).value(), bob, now));
    EXPECT_EQ(lost.status, 409u) << lost.body.dump();
    EXPECT_EQ(Code(lost), "NAME_TAKEN");
    EXPECT_EQ(lost.body["holder"]["owner"], AuthorId(ada.public_key()));
  }
  // Reserved, forged and damaged claims.
  auto reserved = Post(*c_, "/api/v1/names", names::SignRegistration("admin", bob, now));
  EXPECT_EQ(reserved.status, 400u);
  EXPECT_EQ(Code(reserved), "INVALID_NAME");
  names::Claim forged = names::SignRegistration("carol", bob, now);
  forged.owner = ada.public_key();
  forged.signer = ada.public_key();
  auto bad_sig = Post(*c_, "/api/v1/names", forged);
  EXPECT_EQ(Code(bad_sig), "BAD_SIGNATURE");
  auto junk = c_->api().Exchange("POST", "/api/v1/names", R"({"claim":"0102"})");
  ASSERT_TRUE(junk.ok());
  EXPECT_EQ(junk->status, 400u);
  EXPECT_EQ(Code(*junk), "BAD_CLAIM");

  // Every node answers lookups the same, in any case, with the owner-signed claim.
  for (NodeProcess* n : {a_, b_, c_}) {
    auto r = Get(*n, "/api/v1/names/ADA_LOVELACE");
    ASSERT_EQ(r.status, 200u) << r.body.dump();
    EXPECT_EQ(r.body["owner"], AuthorId(ada.public_key()));
    EXPECT_EQ(Get(*n, "/api/v1/names/nobody_yet").status, 404u);
  }
  // The attestation reaches C by replication: /@ada_lovelace is Ada's blog there. Broadcast
  // brings it within milliseconds; if C sits off the broadcast tree at that moment,
  // reconciliation does within seconds.
  EXPECT_TRUE(WaitFor(std::chrono::seconds(30),
                      [&] {
                        return PageHtml(*c_, "/@ada_lovelace").find(AuthorId(ada.public_key())) !=
                               std::string::npos;
                      }))
      << Get(*c_, "/api/v1/entries/" + won.body["attestation"].get<std::string>()).body.dump()
      << Get(*c_, "/api/v1/names/ada_lovelace").body.dump();
  EXPECT_NE(PageHtml(*c_, "/a/" + AuthorId(ada.public_key())).find("@ada_lovelace"),
            std::string::npos);
  // Ada set no profile name: her username heads her blog.
  EXPECT_NE(PageHtml(*c_, "/@ada_lovelace").find("<title>Blog of @ada_lovelace"),
            std::string::npos);
  auto list = Get(*c_, "/api/v1/names?owner=" + AuthorId(ada.public_key()));
  ASSERT_EQ(list.body["names"].size(), 1u);
  EXPECT_EQ(list.body["names"][0]["name"], "ada_lovelace");

  // Transfer, signed by Ada, naming her record: the name moves, on every node's pages too.
  const Hash32 prev = names::ClaimId(names::SignRegistration("ada_lovelace", ada, now));
  const std::string xfer = "/api/v1/names/ada_lovelace/transfer";
  auto not_owner =
      Post(*b_, xfer, names::SignTransfer("ada_lovelace", bob, bob.public_key(), prev, now + 1));
  EXPECT_EQ(Code(not_owner), "BAD_SIGNATURE");
  const names::Claim move =
      names::SignTransfer("ada_lovelace", ada, bob.public_key(), prev, now + 1);
  auto moved = Post(*b_, xfer, move);
  EXPECT_EQ(moved.status, 200u) << moved.body.dump();
  // A retry of the same transfer answers as made; an old record's transfer is stale.
  EXPECT_EQ(Post(*b_, xfer, move).status, 200u);
  auto stale =
      Post(*b_, xfer, names::SignTransfer("ada_lovelace", ada, ada.public_key(), prev, now + 2));
  EXPECT_EQ(stale.status, 409u) << stale.body.dump();
  EXPECT_EQ(Code(stale), "STALE_CLAIM");
  EXPECT_TRUE(WaitFor(std::chrono::seconds(30), [&] {
    return PageHtml(*c_, "/@ada_lovelace").find(AuthorId(bob.public_key())) != std::string::npos;
  }));
}

TEST_F(NamesNodeTest, AnAttestationByAnUntrustedKeyChangesNothing) {
  StartSite();
  const KeyPair ada = TestKey(1), mallory = TestKey(7);
  const int64_t now = NowMsForTest();
  ASSERT_EQ(Post(*b_, "/api/v1/names", names::SignRegistration("ada", ada, now)).status, 201u);
  // Mallory signs a valid claim of her own to "ada" (older than Ada's) and a fresh name, and
  // publishes both as attestations of her own through C.
  auto attest = [&](const names::Claim& c, int64_t ts) {
    EntryDraft d;
    d.group = "catalog";
    d.kind = kinds::kName;
    d.payload = names::EncodeClaim(c);
    d.timestamp_ms = ts;
    auto head =
        c_->api().Get("/api/v1/head?author=" + AuthorId(mallory.public_key()) + "&group=catalog");
    if (head.ok() && (*head)["seq"].get<uint64_t>() > 0) {
      d.seq = (*head)["seq"].get<uint64_t>() + 1;
      auto p = FromHex((*head)["id"].get<std::string>());
      std::copy(p->begin(), p->end(), d.prev.begin());
    }
    auto e = Entry::Sign(d, mallory).value();
    auto r = c_->api().Post("/api/v1/entries", {{"entry", ToHex(e.bytes())}});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return e.id();
  };
  attest(names::SignRegistration("ada", mallory, now - 60'000), now - 60'000);
  const Hash32 last = attest(names::SignRegistration("mallory_x", mallory, now), now);
  auto held = c_->api().Get("/api/v1/wait?id=" + ToHex(last) + "&timeout_ms=5000");
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(WaitFor(
      std::chrono::seconds(30),
      [&] { return PageHtml(*c_, "/@ada").find(AuthorId(ada.public_key())) != std::string::npos; }))
      << PageHtml(*c_, "/@ada") << Get(*c_, "/api/v1/names/ada").body.dump();
  EXPECT_EQ(PageHtml(*c_, "/@ada").find(AuthorId(mallory.public_key())), std::string::npos)
      << PageHtml(*c_, "/@ada") << Get(*c_, "/api/v1/names/ada").body.dump();
  EXPECT_EQ(PageHtml(*c_, "/@mallory_x"), "");  // 404: nobody trusted attested it.
  // A node without a registry that trusts Mallory's attestations (its operator's choice)
  // believes her.
  NodeProcess& d = Start({"--bootstrap", a_->bootstrap(), "--names-backend", "none",
                          "--names-attester", AuthorId(mallory.public_key())});
  EXPECT_TRUE(WaitFor(std::chrono::seconds(20), [&] {
    return PageHtml(d, "/@mallory_x").find(AuthorId(mallory.public_key())) != std::string::npos;
  }));
  auto from_log = Get(d, "/api/v1/names/mallory_x");
  EXPECT_EQ(from_log.status, 200u);
  EXPECT_EQ(from_log.body["source"], "log");
  auto no_registry = Post(d, "/api/v1/names", names::SignRegistration("dora", ada, now));
  EXPECT_EQ(no_registry.status, 501u);
  EXPECT_EQ(Code(no_registry), "NO_REGISTRY");
}

TEST_F(NamesNodeTest, ANodeWhoseRegistryNodeIsGoneSaysSo) {
  StartSite();
  a_->Kill();
  auto r = Post(*b_, "/api/v1/names", names::SignRegistration("ada", TestKey(1), NowMsForTest()));
  EXPECT_EQ(r.status, 503u) << r.body.dump();
  EXPECT_EQ(Code(r), "REGISTRY_UNAVAILABLE");
  EXPECT_EQ(Code(Get(*b_, "/api/v1/names/ada")), "REGISTRY_UNAVAILABLE");
}

}  // namespace
}  // namespace pando::testing
