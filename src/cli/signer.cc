// Signer: how every CLI verb that signs stores its entries (common.h), and how it makes sure
// that an entry whose answer was lost is stored once and never replaced by another.
#include <iostream>
#include <thread>

#include "cli/common.h"
#include "core/check.h"
#include "core/error_codes.h"
#include "core/identity.h"

namespace pando::cli {
namespace {

// How often an entry whose answer was lost is asked about (and resent) before the verb
// gives up, and the pause before each new try (times the try's number).
constexpr int kDeliverTriesMax = 4;
constexpr std::chrono::milliseconds kDeliverPauseMs{250};

bool Unavailable(const Error& e) { return e.code == codes::kNodeUnavailable; }

// Whether `e` may be stored after `head` now: it is the feed's next entry.
bool Follows(const std::optional<FeedHead>& head, const Entry& e) {
  if (!head.has_value() || head->seq == 0) return e.seq() == 1;
  return head->seq + 1 == e.seq() && head->id == e.prev();
}

bool SameContent(const Entry& e, const EntryDraft& d) {
  return e.group() == d.group && e.kind() == d.kind &&
         std::equal(e.payload().begin(), e.payload().end(), d.payload.begin(), d.payload.end());
}

}  // namespace

// Where entries go: the running node's API, or the store.
class EntrySink {
 public:
  virtual ~EntrySink() = default;
  // Whether an answer can be lost after the entry was taken (a node over HTTP).
  virtual bool remote() const = 0;
  virtual Result<std::optional<FeedHead>> Head(const PublicKey& author,
                                               const std::string& group) = 0;
  virtual Result<bool> Stored(const Hash32& id) = 0;
  virtual Status Submit(const Entry& e) = 0;
  // Where the entry was sent, for messages.
  virtual std::string Name() const = 0;
};

namespace {

class NodeSink final : public EntrySink {
 public:
  explicit NodeSink(client::ApiClient api) : api_(std::move(api)) {}
  Result<std::optional<FeedHead>> Head(const PublicKey& author, const std::string& group) override {
    auto j = api_.Get("/api/v1/head?author=" + AuthorId(author) + "&group=" + group);
    if (!j.ok()) return j.error();
    if (j->value("seq", uint64_t{0}) == 0) return std::optional<FeedHead>();
    FeedHead h;
    h.seq = (*j)["seq"].get<uint64_t>();
    auto id = ParseEntryId((*j)["id"].get<std::string>());
    if (!id.ok()) return id.error();
    h.id = *id;
    h.timestamp_ms = (*j)["timestamp_ms"].get<int64_t>();
    return std::optional<FeedHead>(h);
  }
  Result<bool> Stored(const Hash32& id) override {
    auto j = api_.Get("/api/v1/entries/" + ToHex(id));
    if (j.ok()) return true;
    if (j.error().code == codes::kNotFound) return false;
    return j.error();
  }
  Status Submit(const Entry& e) override {
    auto j = api_.Post("/api/v1/entries", {{"entry", ToHex(e.bytes())}});
    if (!j.ok()) return j.error();
    return {};
  }
  bool remote() const override { return true; }
  std::string Name() const override { return "the node at " + api_.endpoint().ToString(); }

 private:
  client::ApiClient api_;
};

class StoreSink final : public EntrySink {
 public:
  explicit StoreSink(std::unique_ptr<store::Store> store) : store_(std::move(store)) {}
  Result<std::optional<FeedHead>> Head(const PublicKey& author, const std::string& group) override {
    return store_->Head(author, group);
  }
  Result<bool> Stored(const Hash32& id) override {
    auto e = store_->Get(id);
    if (!e.ok()) return e.error();
    return e->has_value();
  }
  Status Submit(const Entry& e) override { return store_->Add(std::span(&e, 1), NowMs()).front(); }
  bool remote() const override { return false; }
  std::string Name() const override { return "the store"; }
  store::Store& store() { return *store_; }

 private:
  std::unique_ptr<store::Store> store_;
};

// What became of an entry handed to Deliver.
enum class Delivery { kStored, kSuperseded };

// Stores `e` through sink and confirms it. An answer lost after the request left (the node
// may have stored the entry) is settled by asking whether the entry is stored, then, if it
// is not and it is still the feed's next entry, by sending the same bytes again: a store
// answers DUPLICATE for bytes it holds, so nothing is stored twice and nothing new is
// signed. `sent_before`: an earlier run sent it already. kSuperseded: another entry took
// its seq, so it was never stored and never will be. Errors: NODE_UNAVAILABLE when no
// answer settles it, and the sink's refusals.
Result<Delivery> Deliver(EntrySink& sink, const Entry& e, bool sent_before) {
  for (int attempt = 0; attempt < kDeliverTriesMax; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(kDeliverPauseMs * attempt);
    if (sent_before) {
      auto stored = sink.Stored(e.id());
      if (!stored.ok() && Unavailable(stored.error())) continue;
      if (!stored.ok()) return stored.error();
      if (*stored) return Delivery::kStored;
      auto head = sink.Head(e.author(), std::string(e.group()));
      if (!head.ok() && Unavailable(head.error())) continue;
      if (!head.ok()) return head.error();
      if (!Follows(*head, e)) return Delivery::kSuperseded;
    }
    Status s = sink.Submit(e);
    if (s.ok() || s.error().code == codes::kDuplicate) return Delivery::kStored;
    if (!Unavailable(s.error())) return s.error();
    sent_before = true;
  }
  return Error{codes::kNodeUnavailable,
               "Entry " + ToHex(e.id()) + " (seq " + std::to_string(e.seq()) + " of group " +
                   std::string(e.group()) + ") was signed and sent to " + sink.Name() +
                   ", whose answer was lost; it may be stored. It is kept in post.pending: run "
                   "the command again when the node answers, and the same entry is sent "
                   "again instead of a new one, so it is stored once."};
}

}  // namespace

Signer::Signer(Context& ctx) : key_(Check(LoadIdentity(ctx.DataDir()))) {
  writer_ = std::make_unique<store::FeedWriter>(ctx.DataDir(), &key_);
  Check(writer_->Lock());
  if (auto node = ctx.RunningNode()) {
    sink_ = std::make_unique<NodeSink>(std::move(*node));
  } else {
    // An identity makes the directory a Pando home, so a missing store is created.
    sink_ = std::make_unique<StoreSink>(Check(ctx.OpenStore(/*create=*/true)));
  }
  SettlePending();
}

Signer::~Signer() = default;

// Settles the entry an earlier run left unconfirmed before anything new is signed.
void Signer::SettlePending() {
  std::optional<Entry> pending = Check(writer_->Pending());
  if (!pending) return;
  const std::string id = ToHex(pending->id());
  const Delivery d = Check(Deliver(*sink_, *pending, /*sent_before=*/true));
  if (d == Delivery::kStored) {
    std::cerr << "note: entry " << id << ", whose answer an earlier run lost, is stored.\n";
    settled_ = pending;
  } else {
    std::cerr << "note: entry " << id << ", whose answer an earlier run lost, was not stored "
              << "and another entry took its place (seq " << pending->seq()
              << "); it is dropped.\n";
  }
  Check(writer_->ClearPending());
}

Entry Signer::Post(EntryDraft draft) {
  if (settled_ && SameContent(*settled_, draft)) {
    // The command was run again after a lost answer: its entry is the earlier run's.
    Entry e = *settled_;
    settled_.reset();
    return e;
  }
  // The head is read first: draft is moved into Sign below.
  const std::optional<FeedHead> head = Check(sink_->Head(key_.public_key(), draft.group));
  Entry e = Check(writer_->Sign(head, std::move(draft), NowMs()));
  // Kept before it is sent: if the answer is lost, the next run settles this entry.
  if (sink_->remote()) Check(writer_->KeepPending(e));
  if (Check(Deliver(*sink_, e, /*sent_before=*/false)) != Delivery::kStored) {
    // Only another signer could take its seq, and this one holds post.lock.
    Fail(Error{codes::kConflict, "Entry " + ToHex(e.id()) + " lost its place in its feed."});
  }
  if (sink_->remote()) Check(writer_->ClearPending());
  return e;
}

Entry Signer::PostOp(std::string group, crdt::Op op) {
  auto* local = dynamic_cast<StoreSink*>(sink_.get());
  CHECK(local != nullptr);  // With a node running, the node signs operations.
  return Check(writer_->AppendOp(local->store(), std::move(group), std::move(op), NowMs()));
}

}  // namespace pando::cli
