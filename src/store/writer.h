// Store::Writer: the single writing connection and the rules applied at write time
// (feed heads, duplicates, forks). Used only by the store's writer thread.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/entry.h"
#include "core/fork_proof.h"
#include "store/crdt.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace pando::store {

class Store::Writer {
 public:
  static Result<std::unique_ptr<Writer>> Open(const std::string& path);

  Status Begin();
  // Writes pending feed heads, then commits.
  Status Commit();
  // Rolls back and forgets every cached row, since the cache may describe rolled-back rows.
  void Rollback();

  std::vector<Status> ApplyRun(const Run& run);
  Status ApplyForkProof(const ForkProof& proof);
  // Derives what the store keeps besides entries from up to `max` entries stored since the
  // last call, in a transaction of its own: posts and post_text (posts.cc), and the CRDT
  // state (crdt.cc). *more: entries may remain.
  Status IndexDerived(size_t max, bool* more);
  // Clears the CRDT state and applies every entry again, in one transaction, in slices of
  // `slice` entries. Returns the operations applied.
  Result<int64_t> RebuildCrdt(size_t slice);

 private:
  struct AuthorState {
    int64_t ref = 0;  // 0 while the author has no row.
    bool forked = false;
  };
  struct FeedState {
    int64_t ref = 0;  // 0 while the feed has no row.
    FeedHead head;
    bool dirty = false;  // head differs from the feeds row.
  };

  explicit Writer(Db db) : db_(std::move(db)) {}
  Status Prepare();
  Status ApplyEntry(const Run& run, size_t i);
  Result<AuthorState*> Author(const PublicKey& key);
  Result<FeedState*> Feed(AuthorState& author, const PublicKey& key, std::string_view group);
  // The group's row id; 0 when it has none and create is false.
  Result<int64_t> GroupRef(std::string_view group, bool create);
  Status Insert(AuthorState& author, FeedState& feed, const Entry& e);
  Status RecordFork(AuthorState& author, std::vector<Entry> stored_side,
                    std::vector<Entry> incoming_side);
  Status StoreProof(AuthorState& author, const ForkProof& proof);
  Result<std::vector<Entry>> StoredSide(int64_t feed_ref, uint64_t seq);
  Status IndexOne(int64_t ref, const Entry& e, int64_t author_ref, int64_t group_ref);
  // A name attestation (kind 4) whose claim verifies (names.cc); others are skipped.
  Status IndexName(int64_t ref, const Entry& e, int64_t group_ref);
  // The work of IndexDerived inside an open transaction; *n: entries read.
  Status IndexSlice(size_t max, size_t* n);

  Db db_;
  std::optional<Stmt> sel_author_, ins_author_, sel_group_, ins_group_, sel_feed_, ins_feed_,
      upd_feed_, ins_entry_, sel_id_at_, sel_feed_from_, ins_proof_, upd_forked_;
  // The post index's statements.
  std::optional<Stmt> sel_upto_, sel_unindexed_, ins_post_, ins_text_, upd_upto_, ins_name_;
  std::unique_ptr<CrdtApplier> crdt_;
  std::unordered_map<std::string, AuthorState> authors_;  // Keyed by the 32 key bytes.
  std::unordered_map<std::string, FeedState> feeds_;      // Keyed by key bytes + group.
  std::unordered_map<std::string, int64_t> groups_;
};

}  // namespace pando::store
