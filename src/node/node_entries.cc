// Node: the entries it holds, admits from peers, posts and stores.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "core/chain.h"
#include "core/error_codes.h"
#include "node/node.h"
#include "node/node_internal.h"

namespace pando::node {
namespace asio = boost::asio;

namespace {
// Entries whose bytes stay in memory for relaying, most recent first out last.
constexpr size_t kRecentEntries = 16'384;
// Fork proofs whose bytes stay in memory for relaying (each at most kFrameBytesMax to be
// sent at all, usually a few hundred bytes).
constexpr size_t kRecentProofs = 64;

bool IsForkCode(std::string_view code) {
  return code == codes::kForked || code == codes::kAuthorForked;
}

// What one turn of DrainIngest admits at most, so the loop goes back to its sockets, timers
// and HTTP requests every few tens of milliseconds however much waits: about 20 ms of
// signature checks (12,000 a second on one core), or one large ENTRIES answer.
constexpr size_t kIngestEntriesPerTurn = 256;
constexpr uint64_t kIngestBytesPerTurn = 512 * 1024;

// Puts entries in feed order (author, then seq), so each finds its predecessor held.
void SortByFeed(std::vector<Entry>& entries) {
  const auto feed_order = [](const Entry& a, const Entry& b) {
    return proto::EncodingsInFeedOrder(a.bytes(), b.bytes());
  };
  if (!std::is_sorted(entries.begin(), entries.end(), feed_order)) {
    std::stable_sort(entries.begin(), entries.end(), feed_order);
  }
}

// Authenticates each linked run of one feed among entries in feed order by the signature of
// its last entry (chain verification), so the core checks no other signature of the run.
std::vector<proto::ArrivingEntry> AuthenticateRuns(std::vector<Entry>& entries) {
  std::vector<proto::ArrivingEntry> arriving(entries.size());
  for (size_t k = 0; k < entries.size(); ++k) arriving[k].entry = &entries[k];
  size_t i = 0;
  while (i < entries.size()) {
    size_t j = i + 1;
    while (j < entries.size() && proto::SameAuthor(entries[j].bytes(), entries[i].bytes())) {
      ++j;
    }
    if (j - i > 1) {
      RunVerdict v = AuthenticateRun(std::span(entries).subspan(i, j - i));
      for (size_t k = 0; k < v.authenticated; ++k) arriving[i + k].authenticated = true;
    }
    i = j;
  }
  return arriving;
}

}  // namespace

Status Node::LoadIndex() {
  for (uint32_t g = 0; g < core_->group_count(); ++g) {
    auto items = store_->GroupItems(core_->group_name(g));
    if (!items.ok()) return items.error();
    std::vector<proto::ReconItem> recon;
    std::vector<uint32_t> sizes;
    recon.reserve(items->size());
    sizes.reserve(items->size());
    for (const store::ItemInfo& item : *items) {
      recon.push_back(proto::ReconItem{static_cast<uint64_t>(item.timestamp_ms), item.id});
      sizes.push_back(item.size);
    }
    spdlog::info("group {}: {} entries", core_->group_name(g), recon.size());
    core_->LoadHeld(g, std::move(recon), std::move(sizes));
  }
  auto forked = store_->ForkedAuthors();
  if (!forked.ok()) return forked.error();
  if (!forked->empty()) spdlog::info("{} forked authors", forked->size());
  core_->LoadForked(*forked);
  return {};
}

void Node::RememberProof(const PublicKey& author, Bytes bytes) {
  if (!proofs_.insert_or_assign(author, std::move(bytes)).second) return;
  proofs_order_.push_back(author);
  if (proofs_order_.size() > kRecentProofs) {
    proofs_.erase(proofs_order_.front());
    proofs_order_.pop_front();
  }
}

std::optional<Bytes> Node::ProofBytes(const PublicKey& author) {
  if (auto it = proofs_.find(author); it != proofs_.end()) return it->second;
  auto stored = store_->ForkProofOf(author);
  if (!stored.ok()) {
    spdlog::error("reading the fork proof of {}: {}", AuthorId(author), stored.error().message);
    return std::nullopt;
  }
  return std::move(stored).value();
}

void Node::ForgetAuthor(const PublicKey& author) {
  store::LogQuery q;
  q.author = author;
  auto entries = store_->Log(q);
  if (!entries.ok()) {
    spdlog::error("reading the entries of {}: {}", AuthorId(author), entries.error().message);
    return;
  }
  std::vector<std::pair<Hash32, uint32_t>> ids;
  for (const Entry& e : *entries) {
    if (auto g = core_->GroupOf(e.group())) ids.emplace_back(e.id(), *g);
  }
  core_->Forget(ids, {});
}

void Node::LearnStoredFork(const PublicKey& author) {
  if (core_->IsForked(author)) return;
  std::optional<Bytes> bytes = ProofBytes(author);
  if (!bytes) return;
  auto proof = DecodeForkProof(*bytes);
  if (!proof.ok()) {
    spdlog::error("the stored fork proof of {} does not decode: {}", AuthorId(author),
                  proof.error().message);
    return;
  }
  RememberProof(author, std::move(*bytes));
  out_.Clear();
  core_->OnForkProof(NowMs(), proto::kNoNode, *proof, *core_host_, out_);
  Flush();
}

std::optional<Bytes> Node::EntryBytes(const Hash32& id) {
  return std::move(EntriesBytes(std::span(&id, 1)).front());
}

std::vector<std::optional<Bytes>> Node::EntriesBytes(std::span<const Hash32> ids) {
  std::vector<std::optional<Bytes>> out(ids.size());
  std::vector<Hash32> stored;  // The ids not in memory, in order.
  for (size_t i = 0; i < ids.size(); ++i) {
    if (auto a = arriving_.find(ids[i]); a != arriving_.end()) {
      out[i] = a->second->bytes();
    } else if (auto it = recent_.find(ids[i]); it != recent_.end()) {
      out[i] = it->second;
    } else {
      stored.push_back(ids[i]);
    }
  }
  if (!stored.empty()) {
    auto read = store_->GetRaw(stored);
    if (!read.ok()) {
      spdlog::error("reading {} entries: {}", stored.size(), read.error().message);
      return out;
    }
    size_t next = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!out[i]) out[i] = std::move((*read)[next++]);
    }
  }
  // A forked author's entries are served no more, whatever asks for them.
  if (core_->forked_count() > 0) {
    for (std::optional<Bytes>& b : out) {
      if (b && b->size() >= entry_layout::kOverhead &&
          core_->IsForked(proto::AuthorOfEncoding(*b))) {
        b.reset();
      }
    }
  }
  return out;
}

void Node::Remember(const Entry& e) {
  if (!entry_waiters_.empty()) WakeWaiters(e.id());
  // Entries of the frame being handled are relayed while it is handled (EntriesBytes finds
  // them in arriving_); only broadcast and local ones are likely to be asked for again soon.
  if (recent_.emplace(e.id(), e.bytes()).second) {
    recent_order_.push_back(e.id());
    if (recent_order_.size() > kRecentEntries) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
  }
}

void Node::WaitForEntry(const Hash32& id, std::chrono::milliseconds timeout,
                        std::function<void(bool)> done) {
  if (core_->HasEntry(id)) return done(true);
  auto timer = std::make_shared<asio::steady_timer>(io_, timeout);
  entry_waiters_.emplace(id, EntryWaiter{timer, std::move(done)});
  timer->async_wait([this, id, raw = timer.get()](const boost::system::error_code& ec) {
    if (ec) return;  // Woken: the entry arrived.
    auto [begin, end] = entry_waiters_.equal_range(id);
    for (auto it = begin; it != end; ++it) {
      if (it->second.timer.get() != raw) continue;
      std::function<void(bool)> done = std::move(it->second.done);
      entry_waiters_.erase(it);
      done(false);
      return;
    }
  });
}

void Node::WakeWaiters(const Hash32& id) {
  auto [begin, end] = entry_waiters_.equal_range(id);
  if (begin == end) return;
  std::vector<EntryWaiter> woken;
  for (auto it = begin; it != end; ++it) woken.push_back(std::move(it->second));
  entry_waiters_.erase(begin, end);
  for (EntryWaiter& w : woken) {
    w.timer->cancel();
    w.done(true);
  }
}

void Node::FlushStore(std::vector<std::pair<Entry, uint32_t>> to_store) {
  if (to_store.empty()) return;
  struct Stored {
    Hash32 id;
    PublicKey author;
    uint32_t group;
  };
  auto futures = std::make_shared<std::vector<std::future<std::vector<Status>>>>();
  auto stored = std::make_shared<std::vector<Stored>>();
  stored->reserve(to_store.size());
  // The listener hears of each entry once it is committed; only then are copies kept.
  std::shared_ptr<std::vector<Entry>> copies;
  if (stored_listener_) {
    copies = std::make_shared<std::vector<Entry>>();
    copies->reserve(to_store.size());
    for (const auto& [e, group] : to_store) copies->push_back(e);
  }
  size_t i = 0;
  while (i < to_store.size()) {
    // A stretch of one feed is one run; the node has authenticated every entry of it.
    const PublicKey author = to_store[i].first.author();
    const uint32_t group = to_store[i].second;
    discovery_->HoldsFeed(NowMs(), author);
    store::Run run;
    while (i < to_store.size() && to_store[i].second == group &&
           to_store[i].first.author() == author) {
      stored->push_back(Stored{to_store[i].first.id(), author, group});
      run.entries.push_back(std::move(to_store[i].first));
      ++i;
    }
    run.authenticated = run.entries.size();
    futures->push_back(store_->Submit(std::move(run)));
  }
  waiter_->Add([this, futures, stored, copies] {
    std::vector<std::pair<Stored, Status>> refused;
    std::vector<size_t> committed;
    size_t k = 0;
    for (auto& f : *futures) {
      for (Status& s : f.get()) {
        if (!s.ok() && s.error().code != codes::kDuplicate) refused.emplace_back((*stored)[k], s);
        if (s.ok() && copies) committed.push_back(k);
        ++k;
      }
    }
    if (!committed.empty()) {
      asio::post(io_, [this, copies, committed = std::move(committed)] {
        if (!stored_listener_) return;
        for (size_t i : committed) stored_listener_((*copies)[i]);
      });
    }
    if (refused.empty()) return;
    asio::post(io_, [this, refused = std::move(refused)] {
      std::vector<std::pair<Hash32, uint32_t>> ids;
      std::vector<std::pair<PublicKey, uint32_t>> feeds;
      std::vector<PublicKey> forked;
      for (const auto& [e, s] : refused) {
        spdlog::info("entry {} not stored: {}: {}", ToHex(e.id), s.error().code, s.error().message);
        // Forget it, and what the core assumed of its feed: the store knows better.
        ids.emplace_back(e.id, e.group);
        feeds.emplace_back(e.author, e.group);
        if (IsForkCode(s.error().code)) forked.push_back(e.author);
      }
      core_->Forget(ids, feeds);
      for (const PublicKey& author : forked) LearnStoredFork(author);
    });
  });
}

void Node::PostLocal(Entry entry, std::function<void(pando::Status)> done) {
  if (stopping_) return done(Error{codes::kShuttingDown, "The node is stopping."});
  if (!core_->GroupOf(entry.group())) {
    return done(Error{codes::kInvalidGroup,
                      "This node does not carry group '" + std::string(entry.group()) +
                          "'; start it with --group " + std::string(entry.group()) + "."});
  }
  if (core_->IsForked(entry.author())) return done(AuthorForkedError(entry.author()));
  if (auto s = CheckArrival(entry, NowMs()); !s.ok()) return done(s);
  // A client's entry counts against its author's quotas, as a peer's does. The node's own
  // entries do not: they were signed already (refusing one now would leave its seq to be
  // signed again), and they are few; peers hold them to their own quotas anyway.
  if (entry.author() != identity_->key()) {
    if (auto s = core_->ChargeQuota(NowMs(), entry); !s.ok()) return done(s);
  }
  auto result =
      std::make_shared<std::future<std::vector<pando::Status>>>(store_->Submit({{entry}, 1}));
  waiter_->Add([this, result, entry = std::move(entry), done = std::move(done)]() mutable {
    std::vector<pando::Status> statuses = result->get();
    pando::Status s = statuses.empty() ? pando::Status() : statuses.front();
    asio::post(io_, [this, s, entry = std::move(entry), done = std::move(done)] {
      if (s.ok()) {
        out_.Clear();
        if (core_->AddLocal(NowMs(), entry, *core_host_, out_)) {
          discovery_->HoldsFeed(NowMs(), entry.author());
          Remember(entry);
          if (stored_listener_) stored_listener_(entry);
        }
        Flush();
      } else if (IsForkCode(s.error().code)) {
        LearnStoredFork(entry.author());  // This post proved a fork: spread the proof.
      }
      done(s);
    });
  });
}

void Node::Ingest(Arrival a) {
  // An entry the node asked for is a kept promise when it arrives, even if the ingest queue
  // then has no room for it: that is this node's overload, not the peer's fault.
  if (core_->scores().open_promises() > 0) {
    std::vector<Hash32> ids;
    ids.reserve(a.entries.size());
    for (const Entry& e : a.entries) ids.push_back(e.id());
    core_->scores().Arrived(a.from, ids, std::holds_alternative<proto::Entries>(a.body));
  }
  // Entries the node holds already cost nothing (no signature, no store): a message of only
  // those does not wait (a second GOSSIP is how Plumtree prunes a link), and an answer's
  // pieces carry only the others.
  const auto held = [this](const Entry& e) { return core_->HasEntry(e.id()); };
  if (std::all_of(a.entries.begin(), a.entries.end(), held)) {
    std::vector<proto::ArrivingEntry> arriving;
    for (const Entry& e : a.entries) arriving.push_back({&e, false});
    if (auto* m = std::get_if<proto::Entries>(&a.body)) {
      for (const Entry& e : a.entries) m->ids.push_back(e.id());
    }
    return OnMessage(a.from, a.group, std::move(a.body), arriving, a.from_broadcast);
  }
  if (std::holds_alternative<proto::Entries>(a.body)) std::erase_if(a.entries, held);
  const auto push = [this](Arrival piece, uint64_t bytes) {
    const uint32_t group = piece.group;
    const auto count = static_cast<uint32_t>(piece.entries.size());
    // Dropped when its group's share is full: reconciliation offers the entries again later.
    return ingest_.Push(group, std::move(piece), bytes, count);
  };
  bool queued = false;
  if (std::holds_alternative<proto::Entries>(a.body)) {
    // Feeds in seq order, so that each piece holds whole stretches of feeds (linked runs for
    // chain verification), then pieces of at most piece_bytes_max.
    SortByFeed(a.entries);
    proto::ForEachPiece(
        a.entries.size(), ingest_.limits().piece_bytes_max,
        [&](size_t i) { return a.entries[i].bytes().size(); },
        [&](size_t begin, size_t end, uint64_t bytes) {
          Arrival piece{a.from, a.group, proto::Entries{{}, bytes}, {}, false};
          piece.entries.assign(std::make_move_iterator(a.entries.begin() + begin),
                               std::make_move_iterator(a.entries.begin() + end));
          queued |= push(std::move(piece), bytes);
        });
  } else {
    uint64_t bytes = 0;
    for (const Entry& e : a.entries) bytes += e.bytes().size();
    queued = push(std::move(a), bytes);
  }
  if (!queued || ingest_posted_) return;
  ingest_posted_ = true;
  asio::post(io_, [this] { DrainIngest(); });
}

void Node::DrainIngest() {
  ingest_posted_ = false;
  if (stopping_) return;
  size_t entries = 0;
  uint64_t bytes = 0;
  while (entries < kIngestEntriesPerTurn && bytes < kIngestBytesPerTurn) {
    std::optional<proto::FairQueue<Arrival>::Served> s = ingest_.Pop();
    if (!s) break;
    entries += s->entries;
    bytes += s->bytes;
    Arrival& a = s->item;
    // Its sender was banned while it waited: nothing it sent is taken.
    if (guard_.Banned(MonoMs(), a.from)) continue;
    std::vector<proto::ArrivingEntry> arriving;
    if (auto* m = std::get_if<proto::Entries>(&a.body)) {
      arriving = AuthenticateRuns(a.entries);
      m->ids.reserve(a.entries.size());
      for (const Entry& e : a.entries) m->ids.push_back(e.id());
    } else {
      for (const Entry& e : a.entries) arriving.push_back({&e, false});
    }
    const uint64_t duplicates = core_->counters().duplicates;
    OnMessage(a.from, a.group, std::move(a.body), arriving, a.from_broadcast);
    // Copies of entries that arrived while this one waited cost no work: the group's credit
    // goes back, so a group's turn counts the entries it really made the node check.
    if (const uint64_t copies = core_->counters().duplicates - duplicates;
        copies > 0 && s->entries > 0) {
      ingest_.Refund(s->group, s->bytes * std::min<uint64_t>(copies, s->entries) / s->entries);
    }
  }
  if (ingest_.empty() || ingest_posted_) return;
  ingest_posted_ = true;
  asio::post(io_, [this] { DrainIngest(); });
}

}  // namespace pando::node
