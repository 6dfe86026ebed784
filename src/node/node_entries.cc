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
}  // namespace

Status Node::LoadIndex() {
  for (Group& g : groups_) {
    auto items = store_->GroupItems(g.name);
    if (!items.ok()) return items.error();
    g.items.reserve(items->size());
    for (const store::ItemInfo& item : *items) {
      g.items.push_back(proto::ReconItem{static_cast<uint64_t>(item.timestamp_ms), item.id});
      g.sizes.emplace(item.id, item.size);
    }
    spdlog::info("group {}: {} entries", g.name, g.items.size());
  }
  return {};
}

std::optional<Bytes> Node::EntryBytes(const Hash32& id) {
  return std::move(EntriesBytes(std::span(&id, 1)).front());
}

std::vector<std::optional<Bytes>> Node::EntriesBytes(std::span<const Hash32> ids) {
  std::vector<std::optional<Bytes>> out(ids.size());
  std::vector<Hash32> stored;  // The ids not in memory, in order.
  for (size_t i = 0; i < ids.size(); ++i) {
    if (auto a = arriving_.find(ids[i]); a != arriving_.end()) {
      out[i] = a->second.entry.bytes();
    } else if (auto it = recent_.find(ids[i]); it != recent_.end()) {
      out[i] = it->second;
    } else if (auto p = pending_bytes_.find(ids[i]); p != pending_bytes_.end()) {
      out[i] = p->second;
    } else {
      stored.push_back(ids[i]);
    }
  }
  if (stored.empty()) return out;
  auto read = store_->GetRaw(stored);
  if (!read.ok()) {
    spdlog::error("reading {} entries: {}", stored.size(), read.error().message);
    return out;
  }
  size_t next = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!out[i]) out[i] = std::move((*read)[next++]);
  }
  return out;
}

FeedHead* Node::HeadOf(const FeedKey& feed) {
  auto it = heads_.find(feed);
  if (it != heads_.end()) return &it->second;
  auto head = store_->Head(feed.author, groups_[feed.group].name);
  if (!head.ok()) {
    spdlog::error("reading a feed head: {}", head.error().message);
    return nullptr;
  }
  return &heads_.emplace(feed, head->value_or(FeedHead{})).first->second;
}

void Node::Hold(Group& g, const Entry& e) {
  const uint32_t size = static_cast<uint32_t>(e.bytes().size());
  g.items.push_back(proto::ReconItem{static_cast<uint64_t>(e.timestamp_ms()), e.id()});
  g.sizes.emplace(e.id(), size);
  if (!entry_waiters_.empty()) WakeWaiters(e.id());
  // Reconciled entries are relayed while their frame is handled (EntriesBytes finds them
  // in arriving_); only broadcast and local ones are likely to be asked for again soon.
  if (!from_broadcast_ && arriving_.contains(e.id())) return;
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
  for (const Group& g : groups_) {
    if (g.sizes.contains(id)) return done(true);
  }
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

void Node::Submit(const Entry& e, uint32_t group) { to_store_.emplace_back(e, group); }

void Node::FlushStore() {
  if (to_store_.empty()) return;
  struct Stored {
    Hash32 id;
    PublicKey author;
    uint32_t group;
  };
  auto futures = std::make_shared<std::vector<std::future<std::vector<Status>>>>();
  auto stored = std::make_shared<std::vector<Stored>>();
  stored->reserve(to_store_.size());
  // The listener hears of each entry once it is committed; only then are copies kept.
  std::shared_ptr<std::vector<Entry>> copies;
  if (stored_listener_) {
    copies = std::make_shared<std::vector<Entry>>();
    copies->reserve(to_store_.size());
    for (const auto& [e, group] : to_store_) copies->push_back(e);
  }
  size_t i = 0;
  while (i < to_store_.size()) {
    // A stretch of one feed is one run; the node has authenticated every entry of it.
    const PublicKey author = to_store_[i].first.author();
    const uint32_t group = to_store_[i].second;
    store::Run run;
    while (i < to_store_.size() && to_store_[i].second == group &&
           to_store_[i].first.author() == author) {
      stored->push_back(Stored{to_store_[i].first.id(), author, group});
      run.entries.push_back(std::move(to_store_[i].first));
      ++i;
    }
    run.authenticated = run.entries.size();
    futures->push_back(store_->Submit(std::move(run)));
  }
  to_store_.clear();
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
      std::unordered_set<Hash32, HashOf32> gone;
      for (const auto& [e, s] : refused) {
        spdlog::info("entry {} not stored: {}: {}", ToHex(e.id), s.error().code, s.error().message);
        // Forget it, and what this node assumed of its feed: the store knows better.
        if (groups_[e.group].sizes.erase(e.id) > 0) gone.insert(e.id);
        heads_.erase(FeedKey{e.author, e.group});
      }
      if (gone.empty()) return;
      for (Group& g : groups_) {
        std::erase_if(g.items,
                      [&](const proto::ReconItem& item) { return gone.contains(item.id); });
      }
    });
  });
}

Result<std::optional<uint32_t>> Node::Admit(Group& g, const Entry& e, bool authenticated,
                                            proto::NodeId /*from*/) {
  if (e.group() != g.name) {
    return Error{codes::kProtocol, "An entry of group '" + std::string(e.group()) +
                                       "' came in a message of group '" + g.name + "'."};
  }
  if (g.sizes.contains(e.id())) {
    ++counters_.duplicates;
    return std::optional<uint32_t>();
  }
  if (auto s = CheckNotFromFuture(e, NowMs()); !s.ok()) {
    spdlog::debug("entry {} refused for now: {}", ToHex(e.id()), s.error().message);
    return std::optional<uint32_t>();
  }
  if (!authenticated) {
    if (auto s = VerifyEntrySignature(e); !s.ok()) return s.error();
  }
  const FeedKey feed{e.author(), g.key};
  FeedHead* head = HeadOf(feed);
  if (head == nullptr) return std::optional<uint32_t>();
  if (e.seq() <= head->seq) {
    // Another entry holds this position: the store keeps the fork proof.
    Submit(e, g.key);
    return std::optional<uint32_t>();
  }
  if (e.seq() > head->seq + 1) {
    if (pending_.size() >= config_.pending_entries_max) return std::optional<uint32_t>();
    Hold(g, e);
    pending_.emplace(e.prev(), Waiting{e, g.key});
    pending_bytes_.emplace(e.id(), e.bytes());
    if (from_broadcast_ && !g.sizes.contains(e.prev()) && asked_.insert(e.prev()).second) {
      if (asked_.size() > 100'000) asked_.clear();
      wanted_.emplace_back(g.key, e.prev());
    }
    ++counters_.entries_received;
    return std::optional<uint32_t>(static_cast<uint32_t>(e.bytes().size()));
  }
  if (auto s = CheckSuccessor(*head, e); !s.ok()) {
    Submit(e, g.key);  // The store decides: a fork proof, or a refusal.
    return std::optional<uint32_t>();
  }
  Hold(g, e);
  Submit(e, g.key);
  *head = FeedHead{e.seq(), e.id(), e.timestamp_ms()};
  ++counters_.entries_received;
  Release(e.id());
  return std::optional<uint32_t>(static_cast<uint32_t>(e.bytes().size()));
}

void Node::Release(const Hash32& first) {
  if (pending_.empty()) return;
  std::vector<Hash32> stack = {first};
  while (!stack.empty()) {
    const Hash32 id = stack.back();
    stack.pop_back();
    auto [begin, end] = pending_.equal_range(id);
    std::vector<Waiting> ready;
    for (auto it = begin; it != end; ++it) ready.push_back(it->second);
    pending_.erase(begin, end);
    for (const Waiting& w : ready) pending_bytes_.erase(w.entry.id());
    for (const Waiting& w : ready) {
      FeedHead* head = HeadOf(FeedKey{w.entry.author(), w.group});
      Submit(w.entry, w.group);
      if (head != nullptr && CheckSuccessor(*head, w.entry).ok()) {
        *head = FeedHead{w.entry.seq(), w.entry.id(), w.entry.timestamp_ms()};
        stack.push_back(w.entry.id());
      }
    }
  }
}

void Node::PostLocal(Entry entry, std::function<void(pando::Status)> done) {
  if (stopping_) return done(Error{codes::kShuttingDown, "The node is stopping."});
  auto g = group_index_.find(std::string(entry.group()));
  if (g == group_index_.end()) {
    return done(Error{codes::kInvalidGroup,
                      "This node does not carry group '" + std::string(entry.group()) +
                          "'; start it with --group " + std::string(entry.group()) + "."});
  }
  if (auto s = VerifyEntrySignature(entry); !s.ok()) return done(s);
  if (auto s = CheckNotFromFuture(entry, NowMs()); !s.ok()) return done(s);
  auto result =
      std::make_shared<std::future<std::vector<pando::Status>>>(store_->Submit({{entry}, 1}));
  const uint32_t key = g->second;
  waiter_->Add([this, result, entry = std::move(entry), key, done = std::move(done)]() mutable {
    std::vector<pando::Status> statuses = result->get();
    pando::Status s = statuses.empty() ? pando::Status() : statuses.front();
    asio::post(io_, [this, s, entry = std::move(entry), key, done = std::move(done)] {
      if (s.ok()) {
        Group& group = groups_[key];
        if (!group.sizes.contains(entry.id())) {
          Hold(group, entry);
          heads_[FeedKey{entry.author(), key}] =
              FeedHead{entry.seq(), entry.id(), entry.timestamp_ms()};
          ++counters_.entries_posted;
          if (stored_listener_) stored_listener_(entry);
          if (started_) {
            out_.Clear();
            replica_->Post(NowMs(), key, entry.id(), static_cast<uint32_t>(entry.bytes().size()),
                           *host_, out_);
            Flush();
          }
        }
      }
      done(s);
    });
  });
}

}  // namespace pando::node
