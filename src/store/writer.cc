#include "store/writer.h"

#include <chrono>

#include "core/error_codes.h"

namespace pando::store {
namespace {

std::string KeyString(const PublicKey& key) {
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

// Bounds the caches; they are rebuilt from the database on demand.
constexpr size_t kCachedFeedsMax = 200'000;

}  // namespace

Result<std::unique_ptr<Store::Writer>> Store::Writer::Open(const std::string& path) {
  auto db = Db::Open(path, false);
  if (!db.ok()) return db.error();
  PANDO_RETURN_IF_ERROR(ConfigureConnection(*db));
  std::unique_ptr<Writer> w(new Writer(std::move(db).value()));
  PANDO_RETURN_IF_ERROR(w->Prepare());
  return w;
}

Status Store::Writer::Prepare() {
  auto prep = [&](std::optional<Stmt>& slot, std::string_view sql) -> Status {
    auto s = db_.Prepare(sql);
    if (!s.ok()) return s.error();
    slot.emplace(std::move(s).value());
    return Status::Ok();
  };
  PANDO_RETURN_IF_ERROR(prep(sel_author_, "SELECT author_ref, forked FROM authors WHERE key=?"));
  PANDO_RETURN_IF_ERROR(prep(ins_author_, "INSERT INTO authors(key) VALUES(?)"));
  PANDO_RETURN_IF_ERROR(prep(sel_group_, "SELECT group_ref FROM groups WHERE name=?"));
  PANDO_RETURN_IF_ERROR(prep(ins_group_, "INSERT INTO groups(name) VALUES(?)"));
  PANDO_RETURN_IF_ERROR(prep(sel_feed_,
                             "SELECT feed_ref, head_seq, head_id, head_ts FROM feeds "
                             "WHERE author_ref=? AND group_ref=?"));
  PANDO_RETURN_IF_ERROR(prep(ins_feed_,
                             "INSERT INTO feeds(author_ref, group_ref, head_seq, head_id, "
                             "head_ts) VALUES(?,?,?,?,?)"));
  PANDO_RETURN_IF_ERROR(
      prep(upd_feed_, "UPDATE feeds SET head_seq=?, head_id=?, head_ts=? WHERE feed_ref=?"));
  PANDO_RETURN_IF_ERROR(prep(ins_entry_,
                             "INSERT INTO entries(feed_ref, seq, group_ref, ts, kind, "
                             "id_prefix, id, raw) VALUES(?,?,?,?,?,?,?,?)"));
  PANDO_RETURN_IF_ERROR(prep(sel_id_at_, "SELECT id FROM entries WHERE feed_ref=? AND seq=?"));
  PANDO_RETURN_IF_ERROR(prep(sel_feed_from_,
                             "SELECT raw FROM entries WHERE feed_ref=? AND seq>=? "
                             "ORDER BY seq LIMIT 64"));
  PANDO_RETURN_IF_ERROR(prep(ins_proof_,
                             "INSERT OR IGNORE INTO fork_proofs(author_ref, proof, "
                             "detected_ms) VALUES(?,?,?)"));
  PANDO_RETURN_IF_ERROR(prep(upd_forked_, "UPDATE authors SET forked=1 WHERE author_ref=?"));
  // The post index (posts.cc); the store opens the writer after its migrations.
  PANDO_RETURN_IF_ERROR(prep(sel_upto_, "SELECT upto FROM post_index"));
  PANDO_RETURN_IF_ERROR(prep(sel_unindexed_,
                             "SELECT e.entry_ref, e.kind, e.raw, f.author_ref, e.group_ref "
                             "FROM entries e JOIN feeds f USING (feed_ref) "
                             "WHERE e.entry_ref > ? ORDER BY e.entry_ref LIMIT ?"));
  PANDO_RETURN_IF_ERROR(prep(ins_post_,
                             "INSERT OR IGNORE INTO posts(entry_ref, kind, author_ref, "
                             "group_ref, ts, title, target_group, target_id, id, slug) "
                             "VALUES(?,?,?,?,?,?,?,?,?,?)"));
  PANDO_RETURN_IF_ERROR(prep(ins_text_,
                             "INSERT INTO post_text(rowid, title, body, grp, author) "
                             "VALUES(?,?,?,?,?)"));
  PANDO_RETURN_IF_ERROR(prep(upd_upto_, "UPDATE post_index SET upto=?"));
  PANDO_RETURN_IF_ERROR(prep(ins_name_,
                             "INSERT OR IGNORE INTO name_claims(entry_ref, group_ref, skeleton, "
                             "owner) VALUES(?,?,?,?)"));
  auto crdt = CrdtApplier::Prepare(db_);
  if (!crdt.ok()) return crdt.error();
  crdt_ = std::move(crdt).value();
  return Status::Ok();
}

Status Store::Writer::Begin() { return db_.Exec("BEGIN IMMEDIATE"); }

Status Store::Writer::Commit() {
  for (auto& [k, feed] : feeds_) {
    if (!feed.dirty) continue;
    upd_feed_->Bind(1, static_cast<int64_t>(feed.head.seq))
        .Bind(2, ByteSpan(feed.head.id))
        .Bind(3, feed.head.timestamp_ms)
        .Bind(4, feed.ref);
    PANDO_RETURN_IF_ERROR(upd_feed_->Run());
  }
  PANDO_RETURN_IF_ERROR(db_.Exec("COMMIT"));
  for (auto& [k, feed] : feeds_) feed.dirty = false;
  if (feeds_.size() > kCachedFeedsMax) {
    feeds_.clear();
    authors_.clear();
    groups_.clear();
  }
  return Status::Ok();
}

void Store::Writer::Rollback() {
  (void)db_.Exec("ROLLBACK");
  feeds_.clear();
  authors_.clear();
  groups_.clear();
}

Result<Store::Writer::AuthorState*> Store::Writer::Author(const PublicKey& key) {
  auto [it, inserted] = authors_.try_emplace(KeyString(key));
  if (!inserted) return &it->second;
  sel_author_->Bind(1, ByteSpan(key));
  auto row = sel_author_->Step();
  if (row.ok() && *row) it->second = AuthorState{sel_author_->Int(0), sel_author_->Int(1) != 0};
  sel_author_->Reset();
  if (!row.ok()) {
    authors_.erase(it);
    return row.error();
  }
  return &it->second;
}

Result<int64_t> Store::Writer::GroupRef(std::string_view group, bool create) {
  auto it = groups_.find(std::string(group));
  if (it != groups_.end()) return it->second;
  sel_group_->Bind(1, group);
  auto row = sel_group_->Step();
  int64_t ref = row.ok() && *row ? sel_group_->Int(0) : 0;
  sel_group_->Reset();
  if (!row.ok()) return row.error();
  if (ref == 0 && !create) return 0;
  if (ref == 0) {
    ins_group_->Bind(1, group);
    PANDO_RETURN_IF_ERROR(ins_group_->Run());
    ref = db_.LastInsertRowid();
  }
  groups_.emplace(std::string(group), ref);
  return ref;
}

Result<Store::Writer::FeedState*> Store::Writer::Feed(AuthorState& author, const PublicKey& key,
                                                      std::string_view group) {
  std::string cache_key = KeyString(key);
  cache_key.append(group);
  auto [it, inserted] = feeds_.try_emplace(std::move(cache_key));
  if (!inserted || author.ref == 0) return &it->second;
  // Lookups never write: a group row appears only with its first entry.
  auto group_ref = GroupRef(group, /*create=*/false);
  if (!group_ref.ok()) return group_ref.error();
  if (*group_ref == 0) return &it->second;
  sel_feed_->Bind(1, author.ref).Bind(2, *group_ref);
  auto row = sel_feed_->Step();
  if (row.ok() && *row) {
    FeedState& f = it->second;
    f.ref = sel_feed_->Int(0);
    f.head.seq = static_cast<uint64_t>(sel_feed_->Int(1));
    f.head.id = sel_feed_->Blob32(2).value_or(Hash32{});  // `verify` reports a bad one.
    f.head.timestamp_ms = sel_feed_->Int(3);
  }
  sel_feed_->Reset();
  if (!row.ok()) {
    feeds_.erase(it);
    return row.error();
  }
  return &it->second;
}

Status Store::Writer::Insert(AuthorState& author, FeedState& feed, const Entry& e) {
  auto group_ref = GroupRef(e.group(), /*create=*/true);
  if (!group_ref.ok()) return group_ref.error();
  if (author.ref == 0) {
    PublicKey key = e.author();
    ins_author_->Bind(1, ByteSpan(key));
    PANDO_RETURN_IF_ERROR(ins_author_->Run());
    author.ref = db_.LastInsertRowid();
  }
  if (feed.ref == 0) {
    ins_feed_->Bind(1, author.ref).Bind(2, *group_ref).Bind(3, 0).Bind(4, ByteSpan(e.id()));
    ins_feed_->Bind(5, e.timestamp_ms());
    PANDO_RETURN_IF_ERROR(ins_feed_->Run());
    feed.ref = db_.LastInsertRowid();
  }
  ins_entry_->Bind(1, feed.ref)
      .Bind(2, static_cast<int64_t>(e.seq()))
      .Bind(3, *group_ref)
      .Bind(4, e.timestamp_ms())
      .Bind(5, static_cast<int64_t>(e.kind()))
      .Bind(6, IdPrefix(e.id()))
      .Bind(7, ByteSpan(e.id()))
      .Bind(8, ByteSpan(e.bytes()));
  PANDO_RETURN_IF_ERROR(ins_entry_->Run());
  feed.head = FeedHead{e.seq(), e.id(), e.timestamp_ms()};
  feed.dirty = true;
  return Status::Ok();
}

std::vector<Status> Store::Writer::ApplyRun(const Run& run) {
  std::vector<Status> out;
  out.reserve(run.entries.size());
  for (size_t i = 0; i < run.entries.size(); ++i) out.push_back(ApplyEntry(run, i));
  return out;
}

Status Store::Writer::ApplyEntry(const Run& run, size_t i) {
  const Entry& e = run.entries[i];
  if (i >= run.authenticated) {
    return Error{codes::kBadSignature, "Entry " + ToHex(e.id()) +
                                           " is signed neither by its author nor through a "
                                           "later entry of its feed."};
  }
  const PublicKey key = e.author();
  auto author = Author(key);
  if (!author.ok()) return author.error();
  if ((*author)->forked) return AuthorForkedError(key);
  auto feed = Feed(**author, key, e.group());
  if (!feed.ok()) return feed.error();
  FeedState& f = **feed;
  if (e.seq() > f.head.seq) {
    PANDO_RETURN_IF_ERROR(CheckSuccessor(f.head, e));
    return Insert(**author, f, e);
  }
  // At or below the head: the same entry again (common: re-delivery, re-import), or a
  // second entry for a taken seq. The duplicate check reads only the stored id.
  sel_id_at_->Bind(1, f.ref).Bind(2, static_cast<int64_t>(e.seq()));
  auto row = sel_id_at_->Step();
  const bool same = row.ok() && *row && sel_id_at_->Blob32(0) == e.id();
  sel_id_at_->Reset();
  if (!row.ok()) return row.error();
  if (same) return Error{codes::kDuplicate, "Entry " + ToHex(e.id()) + " is already stored."};
  auto stored = StoredSide(f.ref, e.seq());
  if (!stored.ok()) return stored.error();
  // The incoming side: from this entry to the first one whose own signature verifies.
  std::vector<Entry> incoming;
  for (size_t j = i; j < run.authenticated && incoming.size() < kForkProofRunEntriesMax; ++j) {
    incoming.push_back(run.entries[j]);
    if (VerifyEntrySignature(run.entries[j]).ok()) break;
  }
  if (!VerifyEntrySignature(incoming.back()).ok()) {
    return Error{codes::kBadSignature, "Entry " + ToHex(e.id()) +
                                           " conflicts with a stored entry but its signature "
                                           "cannot be shown within 64 entries."};
  }
  return RecordFork(**author, std::move(stored).value(), std::move(incoming));
}

Result<std::vector<Entry>> Store::Writer::StoredSide(int64_t feed_ref, uint64_t seq) {
  std::vector<Entry> side;
  sel_feed_from_->Bind(1, feed_ref).Bind(2, static_cast<int64_t>(seq));
  while (true) {
    auto row = sel_feed_from_->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto e = Entry::Decode(sel_feed_from_->Blob(0));
    if (!e.ok()) {
      sel_feed_from_->Reset();
      return Error{codes::kStore, "A stored entry no longer decodes: " + e.error().message};
    }
    side.push_back(std::move(e).value());
    if (VerifyEntrySignature(side.back()).ok()) break;
  }
  sel_feed_from_->Reset();
  if (side.empty() || side.front().seq() != seq) {
    return Error{codes::kStore,
                 "The store lacks seq " + std::to_string(seq) + " below its feed head."};
  }
  return side;
}

Status Store::Writer::RecordFork(AuthorState& author, std::vector<Entry> stored_side,
                                 std::vector<Entry> incoming_side) {
  ForkProof proof{std::move(stored_side), std::move(incoming_side)};
  // The stored side is authenticated by the feed's head, but a proof side may hold only 64
  // entries; if no signature verifies that close, the conflict cannot be shown to others.
  if (!VerifyForkProof(proof).ok()) {
    return Error{codes::kConflict, "Entry " + ToHex(proof.b.front().id()) +
                                       " conflicts with a stored entry, but no stored "
                                       "signature within 64 entries proves the fork; the "
                                       "entry is refused and the author is not cut off."};
  }
  PANDO_RETURN_IF_ERROR(StoreProof(author, proof));
  return Error{codes::kForked, "Entry " + ToHex(proof.b.front().id()) + " and stored entry " +
                                   ToHex(proof.a.front().id()) + " share seq " +
                                   std::to_string(proof.seq()) +
                                   ": the fork proof is stored "
                                   "and author " +
                                   AuthorId(proof.author()) + " is refused."};
}

Status Store::Writer::StoreProof(AuthorState& author, const ForkProof& proof) {
  if (author.ref == 0) {
    const PublicKey key = proof.author();
    ins_author_->Bind(1, ByteSpan(key));
    PANDO_RETURN_IF_ERROR(ins_author_->Run());
    author.ref = db_.LastInsertRowid();
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const Bytes encoded = EncodeForkProof(proof);
  ins_proof_->Bind(1, author.ref).Bind(2, ByteSpan(encoded)).Bind(3, now_ms);
  PANDO_RETURN_IF_ERROR(ins_proof_->Run());
  upd_forked_->Bind(1, author.ref);
  PANDO_RETURN_IF_ERROR(upd_forked_->Run());
  author.forked = true;
  return Status::Ok();
}

Status Store::Writer::ApplyForkProof(const ForkProof& proof) {
  auto author = Author(proof.author());
  if (!author.ok()) return author.error();
  if ((*author)->forked) return Status::Ok();
  return StoreProof(**author, proof);
}

}  // namespace pando::store
