#include "store/store.h"

#include <algorithm>
#include <map>

#include "core/chain.h"
#include "core/error_codes.h"
#include "store/migrations.h"
#include "store/writer.h"

namespace pando::store {

struct Store::WriteJob {
  std::variant<Run, ForkProof, RebuildRequest> item;
  std::promise<std::vector<Status>> done;
  size_t entries() const {
    return std::holds_alternative<Run>(item) ? std::get<Run>(item).entries.size() : 1;
  }
};

int64_t IdPrefix(const Hash32& id) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | id[i];
  return static_cast<int64_t>(v >> 1);
}

std::string StorePathIn(const std::string& data_dir) { return data_dir + "/pando.db"; }

// WAL with synchronous=FULL: each commit is fsynced before it is acknowledged, so an
// acknowledged entry survives a process kill and a power cut (docs/store.md). These are
// per-connection settings (but journal_mode, which the file keeps), so every connection
// runs this. The WAL is checkpointed every 10,000 pages (about 40 MB) rather than SQLite's
// 1,000: large imports then rewrite the main file far less often.
Status ConfigureConnection(Db& db) {
  return db.Exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;"
      "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000;");
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  auto db = Db::Open(options.path, options.create);
  if (!db.ok()) return db.error();
  PANDO_RETURN_IF_ERROR(ConfigureConnection(*db));
  PANDO_RETURN_IF_ERROR(Migrate(*db, Migrations()));
  auto writer = Writer::Open(options.path);
  if (!writer.ok()) return writer.error();
  PANDO_RETURN_IF_ERROR(db->Exec("PRAGMA query_only=1"));
  std::unique_ptr<Store> store(new Store());
  {
    // Nothing else can see the store yet; the lock is taken for the analysis' sake.
    MutexLock lock(&store->read_mu_);
    store->reader_.emplace(std::move(db).value());
  }
  store->writer_ = std::move(writer).value();
  store->batch_entries_max_ = std::max<size_t>(1, options.batch_entries_max);
  store->writer_thread_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

Store::~Store() {
  {
    MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  queue_cv_.SignalAll();
  if (writer_thread_.joinable()) writer_thread_.join();
}

std::future<std::vector<Status>> Store::Enqueue(std::variant<Run, ForkProof, RebuildRequest> item) {
  auto job = std::make_unique<WriteJob>();
  job->item = std::move(item);
  auto fut = job->done.get_future();
  {
    MutexLock lock(&queue_mu_);
    queue_.push_back(std::move(job));
  }
  queue_cv_.Signal();
  return fut;
}

std::future<std::vector<Status>> Store::Submit(Run run) { return Enqueue(std::move(run)); }

Result<int64_t> Store::RebuildCrdt() {
  RebuildRequest r{std::make_shared<int64_t>(0)};
  auto applied = r.applied;
  Status s = Enqueue(std::move(r)).get().front();
  if (!s.ok()) return s.error();
  return *applied;
}

std::future<Status> Store::SubmitForkProof(ForkProof proof) {
  auto fut = std::make_shared<std::future<std::vector<Status>>>(Enqueue(std::move(proof)));
  return std::async(std::launch::deferred, [fut] { return fut->get().front(); });
}

// Takes every queued job up to batch_entries_max_ entries, applies them in one transaction
// and fulfils their futures after the commit. A store failure anywhere rolls the whole
// batch back and reports STORE_ERROR for all of it, so nothing half-written remains.
void Store::WriterLoop() {
  IndexWhileIdle();  // What an older version stored, or a crash left unindexed.
  while (true) {
    std::vector<std::unique_ptr<WriteJob>> batch;
    {
      MutexLock lock(&queue_mu_);
      while (!stopping_ && queue_.empty()) queue_cv_.Wait(&queue_mu_);
      if (queue_.empty()) return;  // Stopping and drained.
      size_t n = 0;
      // A rebuild is a batch of its own.
      while (!queue_.empty()) {
        const bool rebuild = std::holds_alternative<RebuildRequest>(queue_.front()->item);
        if (!batch.empty() && (rebuild || n + queue_.front()->entries() > batch_entries_max_)) {
          break;
        }
        n += queue_.front()->entries();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (rebuild) break;
      }
    }
    if (auto* r = std::get_if<RebuildRequest>(&batch[0]->item)) {
      auto applied = writer_->RebuildCrdt(kIndexSliceEntries);
      if (applied.ok()) *r->applied = *applied;
      batch[0]->done.set_value({applied.ok() ? Status::Ok() : Status(applied.error())});
      continue;
    }
    std::vector<std::vector<Status>> results;
    Status failure = writer_->Begin();
    for (auto& job : batch) {
      if (!failure.ok()) break;
      if (auto* run = std::get_if<Run>(&job->item)) {
        results.push_back(writer_->ApplyRun(*run));
      } else {
        results.push_back({writer_->ApplyForkProof(std::get<ForkProof>(job->item))});
      }
      for (const Status& s : results.back()) {
        if (s.code() == codes::kStore) failure = s;
      }
    }
    if (failure.ok()) failure = writer_->Commit();
    if (!failure.ok()) {
      writer_->Rollback();
      for (auto& job : batch) {
        job->done.set_value(std::vector<Status>(
            job->entries(),
            Error{codes::kStore, "Nothing of this batch was stored: " + failure.error().message}));
      }
      continue;
    }
    // A small batch (a post made by a person, a few gossiped entries) is indexed before its
    // futures resolve, so a page read after the answer shows the post. Large batches
    // (catch-up) are acknowledged first and indexed while the queue is idle.
    size_t entries = 0;
    for (const auto& job : batch) entries += job->entries();
    if (entries <= kIndexBeforeAckEntriesMax) {
      bool more = false;
      (void)writer_->IndexDerived(kIndexSliceEntries, &more);
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(std::move(results[i]));
    IndexWhileIdle();
  }
}

// Indexes posts of what was committed, in slices, while no write waits: the index trails
// the entries by a moment and never delays a commit by more than one slice.
void Store::IndexWhileIdle() {
  bool more = true;
  while (more) {
    {
      MutexLock lock(&queue_mu_);
      if (!queue_.empty() || stopping_) return;
    }
    if (Status s = writer_->IndexDerived(kIndexSliceEntries, &more); !s.ok()) return;
  }
}

std::vector<Status> Store::Add(std::span<const Entry> entries, int64_t now_ms) {
  std::vector<Status> out(entries.size());
  // Group entries by feed, keeping input order inside each feed, then cut each feed's list
  // into linked runs.
  std::map<std::pair<PublicKey, std::string>, std::vector<size_t>> by_feed;
  for (size_t i = 0; i < entries.size(); ++i) {
    Status s = CheckNotFromFuture(entries[i], now_ms);
    if (!s.ok()) {
      out[i] = s;
      continue;
    }
    by_feed[{entries[i].author(), std::string(entries[i].group())}].push_back(i);
  }
  std::vector<std::pair<std::vector<size_t>, std::future<std::vector<Status>>>> pending;
  for (auto& [feed, idx] : by_feed) {
    std::vector<Entry> feed_entries;
    for (size_t i : idx) feed_entries.push_back(entries[i]);
    for (size_t start = 0; start < idx.size();) {
      const auto rest = std::span(feed_entries).subspan(start);
      RunVerdict v = AuthenticateRun(rest);
      const auto linked = rest.first(v.linked);
      std::vector<Entry> run_entries(linked.begin(), linked.end());
      const auto linked_idx = std::span(idx).subspan(start, v.linked);
      std::vector<size_t> run_idx(linked_idx.begin(), linked_idx.end());
      pending.emplace_back(std::move(run_idx),
                           Submit(Run{std::move(run_entries), v.authenticated}));
      start += v.linked;
    }
  }
  for (auto& [idx, fut] : pending) {
    std::vector<Status> res = fut.get();
    for (size_t k = 0; k < idx.size(); ++k) out[idx[k]] = std::move(res[k]);
  }
  return out;
}

}  // namespace pando::store
