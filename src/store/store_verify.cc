// Store's whole-store operations: export to a bundle and re-verification.
#include "core/error_codes.h"
#include "store/store.h"

namespace pando::store {

Status Store::Export(BundleWriter* out) {
  MutexLock lock(&read_mu_);
  // One read transaction, so the bundle is a consistent snapshot even while the writer runs.
  PANDO_RETURN_IF_ERROR(reader_->Exec("BEGIN"));
  auto finish = [&](Status s) {
    read_mu_.AssertHeld();  // Called only in this scope; the analysis does not follow lambdas.
    (void)reader_->Exec("COMMIT");
    return s;
  };
  auto entries = reader_->Prepare("SELECT raw FROM entries ORDER BY feed_ref, seq");
  if (!entries.ok()) return finish(entries.error());
  while (true) {
    auto row = entries->Step();
    if (!row.ok()) return finish(row.error());
    if (!*row) break;
    auto e = Entry::Decode(entries->Blob(0));
    if (!e.ok()) return finish(Error{codes::kStore, "A stored entry no longer decodes."});
    out->WriteEntry(*e);
  }
  // Proofs come last, so an importer first takes the author's entries from before the
  // fork, as this node holds them, and only then refuses the author.
  auto proofs = reader_->Prepare("SELECT proof FROM fork_proofs ORDER BY author_ref");
  if (!proofs.ok()) return finish(proofs.error());
  while (true) {
    auto row = proofs->Step();
    if (!row.ok()) return finish(row.error());
    if (!*row) break;
    auto p = DecodeForkProof(proofs->Blob(0));
    if (!p.ok()) return finish(Error{codes::kStore, "A stored fork proof no longer decodes."});
    out->WriteForkProof(*p);
  }
  return finish(Status::Ok());
}

namespace {

// Walks one feed's rows in seq order and records what is wrong with them.
class FeedChecker {
 public:
  FeedChecker(VerifyReport* report, bool all_signatures)
      : report_(report), all_signatures_(all_signatures) {}

  void Start(int64_t feed_ref, const FeedHead& stored_head) {
    feed_ref_ = feed_ref;
    stored_head_ = stored_head;
    head_ = FeedHead{};
    last_.reset();
    ++report_->feeds_checked;
  }

  void Add(const Entry& e) {
    ++report_->entries_checked;
    if (e.seq() != head_.seq + 1) {
      Problem("seq " + std::to_string(e.seq()) + " follows seq " + std::to_string(head_.seq));
    } else if (Status s = CheckSuccessor(head_, e); !s.ok()) {
      Problem(s.error().ToString());
    }
    if (all_signatures_) {
      ++report_->signatures_checked;
      last_signature_ok_ = VerifyEntrySignature(e).ok();
      if (!last_signature_ok_) ++report_->chain_authenticated_only;
    }
    head_ = FeedHead{e.seq(), e.id(), e.timestamp_ms()};
    last_ = e;
  }

  void Finish() {
    if (!last_) return;
    if (head_.seq != stored_head_.seq || head_.id != stored_head_.id ||
        head_.timestamp_ms != stored_head_.timestamp_ms) {
      Problem("the feed's head row does not match its last entry");
    }
    // Every accepted run ends in an entry whose own signature verifies, so a feed's head
    // always carries a valid signature; it authenticates the whole chain below it.
    if (!all_signatures_) {
      ++report_->signatures_checked;
      last_signature_ok_ = VerifyEntrySignature(*last_).ok();
    } else if (!last_signature_ok_) {
      --report_->chain_authenticated_only;  // Not covered by anything: a problem instead.
    }
    if (!last_signature_ok_) Problem("the head's signature does not verify");
  }

  void Problem(const std::string& what) {
    report_->problems.push_back("feed " + std::to_string(feed_ref_) + ": " + what);
  }

 private:
  VerifyReport* report_;
  bool all_signatures_;
  int64_t feed_ref_ = 0;
  FeedHead stored_head_;
  FeedHead head_;
  std::optional<Entry> last_;
  bool last_signature_ok_ = false;
};

}  // namespace

Result<VerifyReport> Store::Verify(bool all_signatures) {
  VerifyReport report;
  MutexLock lock(&read_mu_);
  PANDO_RETURN_IF_ERROR(reader_->Exec("BEGIN"));
  struct Commit {
    Db* db;
    ~Commit() { (void)db->Exec("COMMIT"); }
  } commit{&*reader_};

  auto rows = reader_->Prepare(
      "SELECT e.feed_ref, e.seq, e.ts, e.kind, e.id_prefix, e.id, e.raw, g.name, a.key, "
      "f.head_seq, f.head_id, f.head_ts, e.group_ref = f.group_ref "
      "FROM entries e JOIN feeds f USING (feed_ref) JOIN groups g ON g.group_ref = e.group_ref "
      "JOIN authors a ON a.author_ref = f.author_ref ORDER BY e.feed_ref, e.seq");
  if (!rows.ok()) return rows.error();
  FeedChecker checker(&report, all_signatures);
  int64_t feed = -1;
  while (true) {
    auto row = rows->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    if (rows->Int(0) != feed) {
      checker.Finish();
      feed = rows->Int(0);
      FeedHead stored;
      stored.seq = static_cast<uint64_t>(rows->Int(9));
      stored.id = rows->Blob32(10).value_or(Hash32{});  // A bad head id shows as a mismatch.
      stored.timestamp_ms = rows->Int(11);
      checker.Start(feed, stored);
    }
    auto e = Entry::Decode(rows->Blob(6));
    if (!e.ok()) {
      checker.Problem("seq " + std::to_string(rows->Int(1)) +
                      " does not decode: " + e.error().ToString());
      continue;
    }
    const bool columns_match = rows->Blob32(5) == e->id() &&
                               rows->Int(1) == static_cast<int64_t>(e->seq()) &&
                               rows->Int(2) == e->timestamp_ms() && rows->Int(3) == e->kind() &&
                               rows->Int(4) == IdPrefix(e->id()) && rows->Text(7) == e->group() &&
                               rows->Int(12) == 1 && rows->Blob32(8) == e->author();
    if (!columns_match) {
      checker.Problem("seq " + std::to_string(e->seq()) + ": its columns disagree with its bytes");
    }
    checker.Add(*e);
  }
  checker.Finish();

  auto proofs = reader_->Prepare("SELECT proof FROM fork_proofs");
  if (!proofs.ok()) return proofs.error();
  while (true) {
    auto row = proofs->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto p = DecodeForkProof(proofs->Blob(0));
    if (!p.ok() || !VerifyForkProof(*p).ok()) report.problems.push_back("a fork proof is invalid");
  }
  auto integrity = reader_->Prepare("PRAGMA integrity_check");
  if (!integrity.ok()) return integrity.error();
  while (true) {
    auto row = integrity->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    if (integrity->Text(0) != "ok") report.problems.push_back("sqlite: " + integrity->Text(0));
  }
  return report;
}

}  // namespace pando::store
