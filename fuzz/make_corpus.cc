// pando_fuzz_make_corpus OUT_DIR: writes a seed corpus for the fuzz targets.
//
// OUT_DIR/entry/        valid entries (several groups, payload sizes, seq 1 and later)
// OUT_DIR/fork_proof/   valid fork proofs (single-entry sides and a two-entry side)
// OUT_DIR/bundle/       valid bundles (entries and a fork proof, with the end record)
// OUT_DIR/catalog/      catalog records (kind 2 payloads): valid ones and one of each error
// OUT_DIR/markdown/     posts (kind 1 payloads): the Markdown the web UI renders, and hostile
// OUT_DIR/crdt/         CRDT operations (kind 3 payloads): valid ones of every action
// OUT_DIR/name/         name claims (docs/names.md) and a typed name
// OUT_DIR/name_answer/  what a site's registry node answers about names (node/names.h)
// OUT_DIR/etcd/         answers of etcd's v3 JSON gateway to the name registry's requests
//
// Keys come from fixed seeds and timestamps are fixed, so the corpus is the same each run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/bundle.h"
#include "core/crypto.h"
#include "core/entry.h"
#include "core/fork_proof.h"
#include "core/name_claim.h"
#include "core/post.h"
#include "crdt/op.h"
#include "names/etcd_codec.h"
#include "proto/broadcast.h"
#include "proto/dht_record.h"
#include "proto/frame.h"
#include "proto/membership_codec.h"
#include "proto/reconcile.h"

namespace {

namespace fs = std::filesystem;
using pando::Bytes;
using pando::Entry;
using pando::EntryDraft;
using pando::KeyPair;

constexpr int64_t kBaseTimestampMs = 1'700'000'000'000;

KeyPair Key(uint8_t n) {
  pando::Seed seed{};
  seed.fill(n);
  return KeyPair::FromSeed(seed);
}

Entry MustSign(const EntryDraft& draft, const KeyPair& key) {
  auto e = Entry::Sign(draft, key);
  if (!e.ok()) {
    std::cerr << "make_corpus: " << e.error().ToString() << "\n";
    std::exit(1);
  }
  return std::move(e).value();
}

// A feed of `count` linked entries.
std::vector<Entry> Feed(const KeyPair& key, const std::string& group, int count,
                        size_t payload_bytes) {
  std::vector<Entry> feed;
  for (int i = 0; i < count; ++i) {
    EntryDraft d;
    d.seq = static_cast<uint64_t>(i + 1);
    if (i > 0) d.prev = feed.back().id();
    d.timestamp_ms = kBaseTimestampMs + i * 1000;
    d.group = group;
    d.kind = static_cast<uint16_t>(i % 3);
    d.payload.assign(payload_bytes, static_cast<uint8_t>('a' + i % 26));
    feed.push_back(MustSign(d, key));
  }
  return feed;
}

void WriteFile(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) {
    std::cerr << "make_corpus: cannot write " << path << "\n";
    std::exit(1);
  }
}

Bytes ToBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " OUT_DIR\n";
    return 2;
  }
  pando::InitCrypto();
  const fs::path out = argv[1];
  for (const char* sub : {"entry", "fork_proof", "bundle", "reconcile", "overlay", "frame",
                          "catalog", "markdown", "crdt", "name", "etcd", "name_answer", "dht"}) {
    fs::create_directories(out / sub);
  }

  const KeyPair alice = Key(1);
  const KeyPair bob = Key(2);
  const std::vector<Entry> a_blog = Feed(alice, "blog.alice", 4, 40);
  const std::vector<Entry> a_chat = Feed(alice, "chat", 2, 0);
  const std::vector<Entry> b_big = Feed(bob, "0big-payloads_v2", 2, 3000);

  // Entries.
  int n = 0;
  for (const auto* feed : {&a_blog, &a_chat, &b_big}) {
    for (const Entry& e : *feed)
      WriteFile(out / "entry" / ("entry-" + std::to_string(n++)), e.bytes());
  }
  {
    // A 64-byte group name and a payload with every byte value.
    EntryDraft d;
    d.timestamp_ms = kBaseTimestampMs;
    d.group = std::string(64, 'g');
    d.kind = 65535;
    for (int i = 0; i < 256; ++i) d.payload.push_back(static_cast<uint8_t>(i));
    WriteFile(out / "entry" / ("entry-" + std::to_string(n++)), MustSign(d, bob).bytes());
  }

  // A fork: bob signs two different entries at seq 2 of "fork.test"; side b is a run of
  // two entries (the conflicting one and its successor).
  const std::vector<Entry> fork_base = Feed(bob, "fork.test", 1, 8);
  auto fork_entry = [&](const std::string& text, uint64_t seq, const pando::Hash32& prev) {
    EntryDraft d;
    d.seq = seq;
    d.prev = prev;
    d.timestamp_ms = kBaseTimestampMs + static_cast<int64_t>(seq) * 1000;
    d.group = "fork.test";
    d.payload = ToBytes(text);
    return MustSign(d, bob);
  };
  const Entry x = fork_entry("one version", 2, fork_base[0].id());
  const Entry y = fork_entry("another version", 2, fork_base[0].id());
  const Entry y3 = fork_entry("after the other", 3, y.id());
  const pando::ForkProof proof1{{x}, {y}};
  const pando::ForkProof proof2{{x}, {y, y3}};
  for (const auto* p : {&proof1, &proof2}) {
    if (!pando::VerifyForkProof(*p).ok()) {
      std::cerr << "make_corpus: the seed fork proof does not verify\n";
      return 1;
    }
  }
  WriteFile(out / "fork_proof" / "proof-0", pando::EncodeForkProof(proof1));
  WriteFile(out / "fork_proof" / "proof-1", pando::EncodeForkProof(proof2));

  // Bundles: an empty one, one with entries only, one with entries and a fork proof.
  auto bundle = [&](bool entries, bool proof) {
    std::ostringstream s;
    pando::BundleWriter w(&s);
    if (proof) w.WriteForkProof(proof2);
    if (entries) {
      for (const auto* feed : {&a_blog, &a_chat, &fork_base}) {
        for (const Entry& e : *feed) w.WriteEntry(e);
      }
    }
    if (!w.Finish().ok()) {
      std::cerr << "make_corpus: writing a bundle failed\n";
      std::exit(1);
    }
    return ToBytes(s.str());
  };
  WriteFile(out / "bundle" / "bundle-empty", bundle(false, false));
  WriteFile(out / "bundle" / "bundle-entries", bundle(true, false));
  WriteFile(out / "bundle" / "bundle-entries-proof", bundle(true, true));

  // Reconciliation: every message of a session between two overlapping sets.
  std::vector<pando::proto::ReconItem> xs, ys;
  for (uint64_t k = 0; k < 400; ++k) {
    const pando::Hash32 id = pando::Blake2b256(pando::AsBytes(std::to_string(k)));
    if (k % 7 != 0) xs.push_back({1'700'000'000'000 + k / 4, id});
    if (k % 5 != 0) ys.push_back({1'700'000'000'000 + k / 4, id});
  }
  pando::proto::ItemSet a(xs), b(ys);
  pando::proto::Session sa(&a), sb(&b);
  std::optional<Bytes> msg = sa.Initiate();
  pando::proto::Session* receiver = &sb;
  for (int i = 0; msg && i < 20; ++i) {
    WriteFile(out / "reconcile" / ("message-" + std::to_string(i)), *msg);
    msg = receiver->Respond(*msg).value();
    receiver = receiver == &sb ? &sa : &sb;
  }

  // Overlay messages: one of each membership and broadcast type.
  int m = 0;
  const pando::proto::MembershipMessage memberships[] = {pando::proto::Join{},
                                                         pando::proto::ForwardJoin{7, 3},
                                                         pando::proto::Disconnect{},
                                                         pando::proto::Neighbor{true},
                                                         pando::proto::NeighborReply{false},
                                                         pando::proto::Shuffle{9, 4, {1, 2, 3}},
                                                         pando::proto::ShuffleReply{{4, 5}}};
  for (const auto& msg : memberships) {
    Bytes b;
    pando::proto::Encode(msg, b);
    WriteFile(out / "overlay" / ("membership-" + std::to_string(m++)), b);
  }
  const pando::proto::BroadcastMessage broadcasts[] = {
      pando::proto::Gossip{{}, 3, 200}, pando::proto::IHave{{}, 2}, pando::proto::Graft{},
      pando::proto::Graft{{}, /*link_only=*/true}, pando::proto::Prune{}};
  for (const auto& msg : broadcasts) {
    Bytes b;
    pando::proto::Encode(msg, b);
    WriteFile(out / "overlay" / ("broadcast-" + std::to_string(m++)), b);
  }

  // DHT records and messages (docs/dht-format.md).
  {
    namespace P = pando::proto;
    auto group = std::make_shared<const P::DhtRecord>(
        P::SignDhtRecord(P::DhtKind::kCarriesGroup, P::DhtGroupKey("blog"), alice,
                         "198.51.100.7:7400", 1'700'000'000'000, 3'600));
    auto feed = std::make_shared<const P::DhtRecord>(
        P::SignDhtRecord(P::DhtKind::kHoldsFeed, P::DhtFeedKey(bob.public_key()), bob,
                         "[2001:db8::1]:7400", 1'700'000'000'000, 86'400));
    WriteFile(out / "dht" / "record-group", group->bytes);
    WriteFile(out / "dht" / "record-feed", feed->bytes);
    const P::DhtMessage dht[] = {P::DhtFind{1, group->key, 0},
                                 P::DhtFind{2, feed->key, 2},
                                 P::DhtFound{3, {1, 2, 3}, {group, feed}},
                                 P::DhtStore{4, group},
                                 P::DhtStored{5, P::DhtStoreCode::kFull},
                                 P::DhtFlood{6, group->key, 1, 5},
                                 P::DhtFloodHit{7, {group, feed}}};
    int d = 0;
    for (const auto& msg : dht) {
      WriteFile(out / "dht" / ("message-" + std::to_string(d++)), P::EncodeDhtMessage(msg));
    }
  }

  // Peer frames: one of each type, and a stream of several.
  {
    namespace P = pando::proto;
    const pando::Hash32 key = alice.public_key();
    const P::NodeId named = P::NodeIdOfKey(key);
    const std::vector<P::Frame> frames = {
        P::HelloFrame{1, "127.0.0.1:7000"},
        P::GroupFrame{1, "blog.alice"},
        P::GoAwayFrame{"MALFORMED", "bad frame"},
        P::MembershipFrame{1, P::ForwardJoin{named, 6}, {{key, "10.0.0.2:7000"}}},
        P::MembershipFrame{1, P::Shuffle{1, 4, {1, named}}, {{key, "h:1"}}},
        P::BroadcastFrame{
            1, P::Gossip{a_blog[0].id(), 2, static_cast<uint32_t>(a_blog[0].bytes().size())},
            a_blog[0].bytes()},
        P::BroadcastFrame{1, P::IHave{a_blog[1].id(), 3}, {}},
        P::ReconcileFrame{1, true, {1, 0, 0, 2, 0}},
        P::WantFrame{1, {a_blog[2].id()}},
        P::EntriesFrame{1, {a_blog[2].bytes(), a_blog[3].bytes()}},
        P::ForkProofFrame{pando::EncodeForkProof(proof1)},
        P::DhtFrame{P::DhtFind{7, P::DhtGroupKey("blog.alice"), 1}, {}},
        P::DhtFrame{P::DhtFound{7,
                                {named},
                                {std::make_shared<const P::DhtRecord>(P::SignDhtRecord(
                                    P::DhtKind::kCarriesGroup, P::DhtGroupKey("blog.alice"), alice,
                                    "10.0.0.2:7000", 1'700'000'000'000, 3'600))}},
                    {{key, "10.0.0.2:7000"}}},
        P::NotCarriedFrame{"blog.alice"},
    };
    Bytes stream;
    int f = 0;
    for (const P::Frame& frame : frames) {
      WriteFile(out / "frame" / ("frame-" + std::to_string(f++)), P::EncodeFrame(frame));
      P::EncodeFrame(frame, stream);
    }
    WriteFile(out / "frame" / "stream", stream);
  }

  // Catalog records: valid ones, then one of each error (MALFORMED, INVALID_GROUP, BAD_ID).
  {
    const std::string id = pando::ToHex(a_blog[0].id());
    const pando::CatalogRecord records[] = {
        {"Hello, world", "blog", a_blog[0].id()},
        {"Caf\xc3\xa9 \xf0\x9f\x98\x80 \"quoted\" \\ <b>", "blog.alice", a_blog[1].id()},
        {std::string(pando::kTitleBytesMax, 't'), std::string(64, 'g'), a_blog[2].id()},
        {"", "catalog", b_big[0].id()},
    };
    int c = 0;
    for (const pando::CatalogRecord& r : records) {
      WriteFile(out / "catalog" / ("record-" + std::to_string(c++)), pando::EncodeCatalogRecord(r));
    }
    const std::string bad[] = {
        "not json",
        "[\"t\", \"blog\", \"" + id + "\"]",
        "{\"title\": 1, \"group\": \"blog\", \"entry\": \"" + id + "\"}",
        "{\"title\": \"t\", \"group\": \"Bad Group\", \"entry\": \"" + id + "\"}",
        "{\"title\": \"t\", \"group\": \"blog\", \"entry\": \"" + id.substr(1) + "\"}",
        "{\"title\": \"# \\u0001 line\\nnext\", \"group\": \"blog\", \"entry\": \"" + id +
            "\", \"extra\": [1, 2.5e3, null, {\"k\": true}]}",
    };
    for (const std::string& b : bad) {
      WriteFile(out / "catalog" / ("record-" + std::to_string(c++)), ToBytes(b));
    }
  }

  // Posts: each construct the web UI renders, and hostile text it must render harmlessly.
  {
    const std::string posts[] = {
        "# A title\n\nSome *emphasis*, **strong**, `code` and ~~strikethrough~~.\n",
        "[a link](https://example.com \"title\") ![an image](https://example.com/a.png)\n"
        "<https://example.com/auto> www.example.com alice@example.com\n",
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n",
        "- [ ] to do\n- [x] done\n\n1. one\n2. two\n\n> quoted\n\n---\n",
        "```cpp\nint main() { return 0; }\n```\n\n    indented code\n",
        "[ref]\n\n[ref]: https://example.com/r \"Ref\"\n",
        "<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n<!-- comment -->\n",
        "[x](javascript:alert(1)) [y](JaVaScRiPt&#58;alert(1)) ![z](data:text/html,x)\n"
        "<vbscript:msgbox(1)> [w](data:image/png;base64,AAAA)\n",
        "&amp; &#x3C; &lt; &#0; &bogus; \\* \\_ \\[\n",
        "Setext title\n===\n\ntext with a hard  \nbreak\n",
        std::string("nul ") + '\0' + " byte, bad \xff\xfe bytes, cut \xe2\x82",
    };
    int m = 0;
    for (const std::string& p : posts) {
      WriteFile(out / "markdown" / ("post-" + std::to_string(m++)), ToBytes(p));
    }
  }

  // CRDT operations: a few of each action, from small to near the limits.
  {
    namespace C = pando::crdt;
    const C::Hlc t = C::HlcFromMs(kBaseTimestampMs);
    const C::ElemId a{a_blog[0].id(), 0}, b{a_blog[1].id(), 2};
    std::vector<C::Op> ops;
    auto add = [&](bool personal, std::string name, C::Hlc hlc, C::Action action) {
      C::Op op;
      op.personal = personal;
      op.name = std::move(name);
      op.hlc = hlc;
      op.action = std::move(action);
      ops.push_back(std::move(op));
    };
    C::MapUpdate many;
    for (int i = 0; i < 1024; ++i) {
      char field[16];
      std::snprintf(field, sizeof field, "f%04d", i);
      many.fields.push_back(
          {field, i % 3 ? std::optional<std::string>(std::to_string(i)) : std::nullopt});
    }
    std::string long_field;
    while (long_field.size() < 254) long_field += "\xc3\xa9";  // 127 times U+00E9
    long_field += "x";
    add(false, "profile", t, C::MapUpdate{{{"name", "\"Ada\""}}});
    add(true, "profile", t + 1,
        C::MapUpdate{{{"bio", std::nullopt}, {"name", "{\"k\": [1, 2.5e3, null, true]}"}}});
    add(false, std::string(C::kNameBytesMax, 'n'), t + 2, std::move(many));
    add(false, "caf\xc3\xa9", t + 3, C::MapUpdate{{{long_field, "\"\\u00e9\""}}});
    add(false, "tags", t + 4, C::SetAdd{{"\"x\""}});
    add(true, "tags", t + 5, C::SetAdd{{"1", "\"two\"", "[3]", "{\"four\": 4}", "\"x\""}});
    add(false, "tags", t + 6, C::SetRemove{"\"x\"", {a}});
    add(false, "tags", t + 7, C::SetRemove{"\"x\"", {a, b}});
    add(false, "doc", t + 8, C::SeqInsert{std::nullopt, {"\"H\"", "\"i\""}});
    add(false, "doc", t + 9, C::SeqInsert{a, {"\"!\""}});
    C::SeqInsert run{b, {}};
    for (int i = 0; i < 300; ++i)
      run.values.push_back("\"" + std::string(1, static_cast<char>('a' + i % 26)) + "\"");
    add(true, "doc", t + 10, std::move(run));
    add(false, "doc", t + 11, C::SeqDelete{{a}});
    add(false, "doc", t + 12, C::SeqDelete{{a, b, a}});
    add(false, "likes", t + 13, C::CounterAdd{1});
    add(false, "likes", t + 14, C::CounterAdd{-5});
    add(true, "likes", t + 15, C::CounterAdd{std::numeric_limits<int64_t>::min()});
    add(false, "likes", (uint64_t{1} << 63) - 1,
        C::CounterAdd{std::numeric_limits<int64_t>::max()});
    int c = 0;
    for (const C::Op& op : ops) {
      if (!C::CheckOp(op).ok()) {
        std::cerr << "make_corpus: seed CRDT operation " << c << " is invalid\n";
        return 1;
      }
      WriteFile(out / "crdt" / ("op-" + std::to_string(c++)), C::EncodeOp(op));
    }
  }

  // Name claims (docs/names.md): a registration and a transfer.
  {
    namespace N = pando::names;
    const N::Claim reg = N::SignRegistration("ada_lovelace", alice, 1'700'000'000'000);
    WriteFile(out / "name" / "registration", N::EncodeClaim(reg));
    WriteFile(out / "name" / "transfer",
              N::EncodeClaim(N::SignTransfer("ada_lovelace", alice, Key(2).public_key(),
                                             N::ClaimId(reg), 1'700'000'000'001)));
    const std::string typed = "Ada-Lovelace";
    WriteFile(out / "name" / "typed", pando::Bytes(typed.begin(), typed.end()));
  }

  // etcd's answers (names/etcd_codec.h), as etcd 3.4 writes them: a record and its owner
  // index pair, a page with more to come, transactions that succeeded and failed, and errors.
  {
    namespace N = pando::names;
    namespace E = pando::names::etcd;
    const std::string prefix = "pando/names/";
    const N::Claim reg = N::SignRegistration("ada_lovelace", alice, 1'700'000'000'000);
    const std::string value = E::ToBase64(N::EncodeClaim(reg));
    auto kv = [&](const std::string& key) {
      return R"({"key":")" + E::ToBase64(pando::AsBytes(key)) +
             R"(","create_revision":"5","mod_revision":"9","version":"2","value":")" + value +
             R"("})";
    };
    const std::string header =
        R"("header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",)"
        R"("revision":"12","raft_term":"2"})";
    const std::string record = kv(E::RecordKey(prefix, reg.name));
    const std::string index = kv(E::OwnerKey(prefix, reg.owner, reg.name));
    const std::string answers[] = {
        "{" + header + "}",
        "{" + header + R"(,"kvs":[)" + record + R"(],"count":"1"})",
        "{" + header + R"(,"kvs":[)" + index + "," + index + R"(],"more":true,"count":"7"})",
        "{" + header +
            R"(,"succeeded":true,"responses":[{"response_put":{"header":{"revision":"12"}}},)"
            R"({"response_delete_range":{"header":{},"deleted":"1"}},{"response_put":{}}]})",
        "{" + header + R"(,"responses":[{"response_range":{"header":{"revision":"12"},"kvs":[)" +
            record + R"(],"count":"1"}}]})",
        "{" + header + R"(,"kvs":[)" + kv(E::RecordKey(prefix, "adb")) + "]}",
        R"({"error":"etcdserver: leader changed","message":"etcdserver: leader changed",)"
        R"("code":14})",
        R"({"error":"illegal base64 data at input byte 0","message":"illegal base64 data at )"
        R"(input byte 0","code":3})",
    };
    int a = 0;
    for (const std::string& answer : answers) {
      WriteFile(out / "etcd" / ("answer-" + std::to_string(a++)), ToBytes(answer));
    }
  }

  // A registry node's answers (node/names_json.cc): a record, a registration and a refusal.
  {
    namespace N = pando::names;
    const N::Claim reg = N::SignRegistration("ada_lovelace", alice, 1'700'000'000'000);
    const std::string record = R"({"name":"ada_lovelace","owner":")" + pando::AuthorId(reg.owner) +
                               R"(","claim":")" + pando::ToHex(N::EncodeClaim(reg)) +
                               R"(","timestamp_ms":1})";
    const std::string answers[] = {
        record,
        R"({"outcome":"registered","record":)" + record + R"(,"attestation":")" +
            std::string(64, 'a') + R"("})",
        R"({"outcome":"taken","holder":)" + record +
            R"(,"error":{"code":"NAME_TAKEN","message":"taken"}})",
        R"({"outcome":"invalid","why":{"code":"INVALID_NAME","message":"reserved"}})",
    };
    int a = 0;
    for (const std::string& answer : answers) {
      WriteFile(out / "name_answer" / ("answer-" + std::to_string(a++)), ToBytes(answer));
    }
  }

  std::cout << "make_corpus: wrote " << n << " entries, 2 fork proofs, 3 bundles to "
            << out.string() << "\n";
  return 0;
}
