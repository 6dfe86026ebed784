#include "store/migrations.h"

#include <string>

#include "core/error_codes.h"

namespace pando::store {
namespace {

// Migration 1: feeds, entries and fork proofs (docs/store.md explains every column).
constexpr std::string_view kSchema1 = R"sql(
CREATE TABLE authors (
  author_ref INTEGER PRIMARY KEY,
  key        BLOB NOT NULL UNIQUE,        -- Ed25519 public key, 32 bytes
  forked     INTEGER NOT NULL DEFAULT 0   -- 1 once a fork proof for this author is stored
);
CREATE TABLE groups (
  group_ref INTEGER PRIMARY KEY,
  name      TEXT NOT NULL UNIQUE
);
CREATE TABLE feeds (
  feed_ref   INTEGER PRIMARY KEY,
  author_ref INTEGER NOT NULL REFERENCES authors(author_ref),
  group_ref  INTEGER NOT NULL REFERENCES groups(group_ref),
  head_seq   INTEGER NOT NULL,
  head_id    BLOB NOT NULL,
  head_ts    INTEGER NOT NULL,
  UNIQUE (author_ref, group_ref)
);
CREATE TABLE entries (
  entry_ref  INTEGER PRIMARY KEY,   -- local arrival order
  feed_ref   INTEGER NOT NULL REFERENCES feeds(feed_ref),
  seq        INTEGER NOT NULL,
  group_ref  INTEGER NOT NULL,
  ts         INTEGER NOT NULL,
  kind       INTEGER NOT NULL,
  id_prefix  INTEGER NOT NULL,      -- first 63 bits of the id, for a compact id index
  id         BLOB NOT NULL,
  raw        BLOB NOT NULL          -- canonical encoding, docs/entry-format.md
);
CREATE UNIQUE INDEX entries_by_feed_seq ON entries (feed_ref, seq);
CREATE INDEX entries_by_group_time ON entries (group_ref, ts, id);
CREATE INDEX entries_by_id ON entries (id_prefix);
CREATE TABLE fork_proofs (
  author_ref  INTEGER PRIMARY KEY REFERENCES authors(author_ref),
  proof       BLOB NOT NULL,        -- docs/bundle-format.md, "Fork proof"
  detected_ms INTEGER NOT NULL
);
)sql";

// Migration 2: posts and catalog records read out of kind 1 and kind 2 entries, and their
// full-text index (docs/store.md, "Posts and search"). The writer fills them after its
// commits, from entries above the watermark in post_index, so ingest does not wait on them.
constexpr std::string_view kSchema2 = R"sql(
CREATE TABLE posts (
  entry_ref    INTEGER PRIMARY KEY,   -- entries.entry_ref
  kind         INTEGER NOT NULL,      -- 1 post, 2 catalog record
  author_ref   INTEGER NOT NULL,
  group_ref    INTEGER NOT NULL,
  ts           INTEGER NOT NULL,
  title        TEXT NOT NULL,
  target_group TEXT,                  -- catalog records: the post's group
  target_id    BLOB                   -- catalog records: the post's id
);
CREATE INDEX posts_by_kind_time ON posts (kind, ts);
CREATE INDEX posts_by_author_time ON posts (author_ref, ts);
CREATE INDEX posts_by_target ON posts (target_id) WHERE target_id IS NOT NULL;
CREATE VIRTUAL TABLE post_text USING fts5 (
  title, body, grp, author, content='', tokenize='unicode61 remove_diacritics 2'
);
CREATE TABLE post_index (
  one  INTEGER PRIMARY KEY CHECK (one = 1),
  upto INTEGER NOT NULL               -- every entry_ref up to this one is indexed
);
INSERT INTO post_index VALUES (1, 0);
)sql";

// Migration 3: the state of CRDT objects, derived from kind 3 entries (docs/store.md,
// "CRDT state"; the merge rules are docs/crdt.md). The writer applies entries above the
// watermark in crdt_index after its commits, like the post index; Store::RebuildCrdt
// clears these tables and applies every entry again.
constexpr std::string_view kSchema3 = R"sql(
CREATE TABLE crdt_objects (
  obj_ref    INTEGER PRIMARY KEY,
  group_ref  INTEGER NOT NULL,
  owner      BLOB NOT NULL,         -- author key of a personal object; x'' for a shared one
  type       INTEGER NOT NULL,      -- 1 map, 2 set, 3 seq, 4 counter
  name       TEXT NOT NULL,
  counter    INTEGER NOT NULL DEFAULT 0,  -- counters: the sum, modulo 2^64
  changed    INTEGER NOT NULL,      -- entry_ref of the last operation applied
  UNIQUE (group_ref, owner, type, name)
);
CREATE INDEX crdt_objects_by_owner ON crdt_objects (owner, group_ref);
CREATE TABLE crdt_map (
  obj_ref INTEGER NOT NULL,
  field   TEXT NOT NULL,
  hlc     INTEGER NOT NULL,         -- the winning write's clock
  entry   BLOB NOT NULL,            -- and its entry id
  value   TEXT,                     -- JSON text; NULL: deleted
  PRIMARY KEY (obj_ref, field)
) WITHOUT ROWID;
CREATE TABLE crdt_set (
  obj_ref   INTEGER NOT NULL,
  element   TEXT NOT NULL,          -- JSON text
  tag_entry BLOB NOT NULL,          -- the add: entry id and index
  tag_index INTEGER NOT NULL,
  added     INTEGER NOT NULL,       -- 1 once the add arrived
  removed   INTEGER NOT NULL,       -- 1 once a remove named this tag
  PRIMARY KEY (obj_ref, element, tag_entry, tag_index)
) WITHOUT ROWID;
CREATE TABLE crdt_seq (
  obj_ref      INTEGER NOT NULL,
  elem_entry   BLOB NOT NULL,       -- the element: entry id and index
  elem_index   INTEGER NOT NULL,
  parent_entry BLOB,                -- the element it follows; NULL: the head
  parent_index INTEGER,
  hlc          INTEGER NOT NULL,
  value        TEXT,                -- JSON text; NULL while only a delete has arrived
  deleted      INTEGER NOT NULL,
  PRIMARY KEY (obj_ref, elem_entry, elem_index)
) WITHOUT ROWID;
CREATE TABLE crdt_index (
  one     INTEGER PRIMARY KEY CHECK (one = 1),
  upto    INTEGER NOT NULL,         -- every entry_ref up to this one is applied
  hlc_max INTEGER NOT NULL          -- the newest clock reading applied
);
INSERT INTO crdt_index VALUES (1, 0, 0);
)sql";

// Migration 4: name attestations (kind 4 entries) whose claim decodes and verifies, by the
// claim's skeleton and owner (docs/store.md, "Name attestations"; docs/names.md). The writer
// fills it with the post index, under the same watermark.
constexpr std::string_view kSchema4 = R"sql(
CREATE TABLE name_claims (
  entry_ref INTEGER PRIMARY KEY,    -- entries.entry_ref of the attestation
  group_ref INTEGER NOT NULL,
  skeleton  TEXT NOT NULL,          -- names::Skeleton of the claim's name
  owner     BLOB NOT NULL           -- the claim's owner key
);
CREATE INDEX name_claims_by_skeleton ON name_claims (skeleton);
CREATE INDEX name_claims_by_owner ON name_claims (owner);
)sql";

// Migration 5: every view is a function of the entries alone (docs/store.md, "Posts and
// search"). Posts keep their id, so lists order by (ts, id) through an index instead of
// joining entries to break ties, and a post's slug, so the owner of a slug (the author's
// post with that slug first in (ts, id) order) is one index lookup among all the author's
// posts. Slugs are computed in C++ (core/post.h), so the index is emptied and the writer
// fills it again from the entries, as it does for a store of schema version 1; name claims
// share its watermark and are refilled too. The CRDT state has its own watermark and stays.
constexpr std::string_view kSchema5 = R"sql(
DELETE FROM posts;
DELETE FROM name_claims;
INSERT INTO post_text(post_text) VALUES ('delete-all');
UPDATE post_index SET upto = 0;
ALTER TABLE posts ADD COLUMN id BLOB;   -- entries.id
ALTER TABLE posts ADD COLUMN slug TEXT; -- posts: Slug(title); NULL for catalog records
DROP INDEX posts_by_kind_time;
DROP INDEX posts_by_author_time;
DROP INDEX posts_by_target;
CREATE INDEX posts_by_kind_time_id ON posts (kind, ts, id);
CREATE INDEX posts_by_author_time_id ON posts (author_ref, kind, ts, id);
CREATE INDEX posts_by_target_time_id ON posts (target_id, ts, id) WHERE target_id IS NOT NULL;
CREATE INDEX posts_by_slug ON posts (author_ref, slug, ts, id) WHERE slug IS NOT NULL;
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchema1}, {2, kSchema2}, {3, kSchema3}, {4, kSchema4}, {5, kSchema5},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

Result<int> SchemaVersion(Db& db) {
  auto stmt = db.Prepare("PRAGMA user_version");
  if (!stmt.ok()) return stmt.error();
  auto row = stmt->Step();
  if (!row.ok()) return row.error();
  return static_cast<int>(stmt->Int(0));
}

Status Migrate(Db& db, std::span<const Migration> migrations) {
  auto current = SchemaVersion(db);
  if (!current.ok()) return current.error();
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (*current > latest) {
    return Error{codes::kStoreTooNew, "The store has schema version " + std::to_string(*current) +
                                          " but this pando knows " + "only up to " +
                                          std::to_string(latest) + "; use a newer pando."};
  }
  for (const Migration& m : migrations) {
    if (m.version <= *current) continue;
    PANDO_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    // Another process may have migrated between our read and our lock: read again.
    auto locked = SchemaVersion(db);
    if (!locked.ok() || *locked >= m.version) {
      (void)db.Exec("COMMIT");
      if (!locked.ok()) return locked.error();
      continue;
    }
    Status s = db.Exec(m.sql);
    if (s.ok()) s = db.Exec("PRAGMA user_version = " + std::to_string(m.version));
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      (void)db.Exec("ROLLBACK");
      return Error{codes::kStore, "Migration " + std::to_string(m.version) +
                                      " failed and was rolled back: " + s.error().message};
    }
  }
  return Status::Ok();
}

}  // namespace pando::store
