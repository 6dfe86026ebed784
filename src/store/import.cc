#include "store/import.h"

#include <deque>
#include <future>

#include "core/chain.h"
#include "core/error_codes.h"

namespace pando::store {
namespace {

class Importer {
 public:
  Importer(Store& store, const ImportOptions& options, ImportReport* report)
      : store_(store), options_(options), report_(report) {}

  void AddEntry(Entry e) {
    ++report_->records;
    if (Status s = CheckNotFromFuture(e, options_.now_ms); !s.ok()) {
      // Nothing after it in its feed can link, and settling stays in bundle order.
      FlushFeed();
      SettleDirect(std::move(s));
      return;
    }
    if (!pending_.empty() && !SameFeed(pending_.back(), e)) FlushFeed();
    pending_.push_back(std::move(e));
    if (pending_.size() >= kImportRunEntriesMax + carried_) Authenticate(/*feed_ended=*/false);
  }

  void AddForkProof(const ForkProof& proof) {
    ++report_->records;
    FlushFeed();
    if (Status s = VerifyForkProof(proof); !s.ok()) {
      SettleDirect(std::move(s));
      return;
    }
    auto fut = store_.SubmitForkProof(proof);
    InFlight f;
    f.count = 1;
    f.proof = std::move(fut);
    Push(std::move(f));
  }

  void Finish() {
    FlushFeed();
    while (!in_flight_.empty()) Collect();
  }

 private:
  struct InFlight {
    size_t count = 0;  // Bundle entries this item settles.
    std::optional<std::future<std::vector<Status>>> run;
    std::optional<std::future<Status>> proof;
    // Decided without the store (a future timestamp, an invalid proof); counted when the
    // item is collected, so refusals are reported in bundle order like every other outcome.
    std::optional<Status> direct;
  };

  static bool SameFeed(const Entry& a, const Entry& b) {
    return a.author() == b.author() && a.group() == b.group();
  }

  void FlushFeed() {
    while (!pending_.empty()) Authenticate(/*feed_ended=*/true);
  }

  // Authenticates the front of pending_ and submits what can be decided now. Entries not
  // yet authenticated stay pending while more of their feed may follow.
  void Authenticate(bool feed_ended) {
    RunVerdict v = AuthenticateRun(pending_);
    report_->signatures_checked += static_cast<int64_t>(v.signatures_checked);
    size_t take = v.linked;
    if (v.authenticated < v.linked && !feed_ended && v.linked == pending_.size() &&
        pending_.size() < kImportPendingEntriesMax && PendingBytes() < kImportPendingBytesMax) {
      // The unauthenticated tail may be covered by an entry still to come: keep it.
      take = v.authenticated;
    }
    Run run;
    run.entries.assign(std::make_move_iterator(pending_.begin()),
                       std::make_move_iterator(pending_.begin() + static_cast<long>(take)));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(take));
    run.authenticated = std::min(v.authenticated, take);
    carried_ = pending_.size();
    if (run.entries.empty()) return;
    InFlight f;
    f.count = run.entries.size();
    f.run = store_.Submit(std::move(run));
    Push(std::move(f));
  }

  size_t PendingBytes() const {
    size_t n = 0;
    for (const Entry& e : pending_) n += e.bytes().size();
    return n;
  }

  void Push(InFlight f) {
    in_flight_.push_back(std::move(f));
    while (in_flight_.size() > kImportRunsInFlight) Collect();
  }

  void Refuse(const Status& s) {
    ++report_->refused[s.code()];
    if (s.code() == codes::kDuplicate) return;
    if (report_->first_refusal.empty()) report_->first_refusal = s.code();
    if (report_->first_errors.size() < 20) report_->first_errors.push_back(s.error().ToString());
  }

  void SettleDirect(Status refusal) {
    InFlight f;
    f.count = 1;
    f.direct = std::move(refusal);
    Push(std::move(f));
  }

  void Collect() {
    InFlight f = std::move(in_flight_.front());
    in_flight_.pop_front();
    std::vector<Status> results;
    if (f.run) results = f.run->get();
    if (f.direct) Refuse(*f.direct);
    if (f.proof) {
      Status s = f.proof->get();
      if (s.ok())
        ++report_->fork_proofs;
      else
        Refuse(s);
    }
    for (const Status& s : results) {
      if (s.ok())
        ++report_->accepted;
      else
        Refuse(s);
    }
    settled_ += static_cast<int64_t>(f.count);
    if (options_.on_progress) options_.on_progress(settled_);
  }

  Store& store_;
  const ImportOptions& options_;
  ImportReport* report_;
  std::vector<Entry> pending_;  // One feed's entries not yet submitted, in bundle order.
  size_t carried_ = 0;          // Unauthenticated entries kept from the last run.
  std::deque<InFlight> in_flight_;
  int64_t settled_ = 0;
};

}  // namespace

ImportReport ImportBundle(Store& store, std::istream* in, const ImportOptions& options) {
  ImportReport report;
  BundleReader reader(in);
  Importer importer(store, options, &report);
  while (true) {
    auto rec = reader.Next();
    if (!rec.ok()) {
      report.bundle_status = rec.error();
      break;
    }
    if (!*rec) break;
    if (auto* e = std::get_if<Entry>(&**rec)) {
      importer.AddEntry(std::move(*e));
    } else {
      importer.AddForkProof(std::get<ForkProof>(**rec));
    }
  }
  importer.Finish();
  return report;
}

}  // namespace pando::store
