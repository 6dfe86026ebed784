// Node: the entries it holds, admits from peers, posts and stores.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

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

}  // namespace pando::node
