// Store's read side: queries on the reader connection, export and whole-store verification.
#include <algorithm>

#include "core/chain.h"
#include "core/check.h"
#include "core/error_codes.h"
#include "store/read.h"
#include "store/store.h"

namespace pando::store {
namespace {

Error Corrupt(const std::string& what) {
  return Error{codes::kStore, "The store holds a damaged record: " + what + "."};
}

}  // namespace

Result<Entry> DecodeStored(ByteSpan raw) {
  auto e = Entry::Decode(raw);
  if (!e.ok()) return Corrupt("an entry no longer decodes (" + e.error().message + ")");
  return e;
}

// Runs stmt to the end, decoding column 0 of every row as an entry.
Result<std::vector<Entry>> CollectEntries(Stmt& stmt) {
  std::vector<Entry> out;
  while (true) {
    auto row = stmt.Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto e = DecodeStored(stmt.Blob(0));
    if (!e.ok()) return e.error();
    out.push_back(std::move(e).value());
  }
  return out;
}

Result<Stmt*> Store::Prepared(std::optional<Stmt>& slot, const std::string& sql) {
  if (!slot) {
    auto stmt = reader_->Prepare(sql);
    if (!stmt.ok()) return stmt.error();
    slot.emplace(std::move(stmt).value());
  }
  return &*slot;
}

Result<Stmt*> Store::RawById() {
  return Prepared(raw_by_id_, "SELECT raw FROM entries WHERE id_prefix=? AND id=?");
}

Result<std::optional<Entry>> Store::Get(const Hash32& id) {
  auto raw = GetRaw(std::span(&id, 1));
  if (!raw.ok()) return raw.error();
  if (!raw->front()) return std::optional<Entry>();
  auto e = DecodeStored(*raw->front());
  if (!e.ok()) return e.error();
  return std::optional<Entry>(std::move(e).value());
}

Result<std::vector<std::optional<Bytes>>> Store::GetRaw(std::span<const Hash32> ids) {
  MutexLock lock(&read_mu_);
  auto stmt = RawById();
  if (!stmt.ok()) return stmt.error();
  Stmt& s = **stmt;
  std::vector<std::optional<Bytes>> out;
  out.reserve(ids.size());
  for (const Hash32& id : ids) {
    s.Bind(1, IdPrefix(id)).Bind(2, ByteSpan(id));
    auto row = s.Step();
    if (!row.ok()) {
      s.Reset();
      return row.error();
    }
    if (*row) {
      const ByteSpan raw = s.Blob(0);
      out.emplace_back(Bytes(raw.begin(), raw.end()));
    } else {
      out.emplace_back();
    }
    s.Reset();
  }
  return out;
}

Result<std::vector<ItemInfo>> Store::GroupItems(std::string_view group) {
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT e.ts, e.id, length(e.raw) FROM entries e JOIN groups g ON e.group_ref=g.group_ref "
      "WHERE g.name=? ORDER BY e.ts, e.id");
  if (!stmt.ok()) return stmt.error();
  stmt->Bind(1, group);
  std::vector<ItemInfo> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto id = stmt->Blob32(1);
    if (!id) return Corrupt("an entry id is not 32 bytes");
    out.push_back(ItemInfo{stmt->Int(0), *id, static_cast<uint32_t>(stmt->Int(2))});
  }
  return out;
}

Result<std::vector<Entry>> Store::FindByIdPrefix(std::string_view hex_prefix) {
  const bool all_hex = std::all_of(hex_prefix.begin(), hex_prefix.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (hex_prefix.size() < 4 || hex_prefix.size() > 64 || !all_hex) {
    return Error{codes::kBadId, "'" + std::string(hex_prefix) +
                                    "' is not an entry id: give 4 to 64 lower-case hex digits."};
  }
  // The first 15 hex digits (60 bits) select a range of id_prefix; the rest filter.
  std::string head(hex_prefix.substr(0, std::min<size_t>(15, hex_prefix.size())));
  std::string lo = head + std::string(16 - head.size(), '0');
  std::string hi = head + std::string(16 - head.size(), 'f');
  auto to_prefix = [](const std::string& h) {
    Hash32 id{};
    auto b = FromHex(h);
    std::copy(b->begin(), b->end(), id.begin());
    return IdPrefix(id);
  };
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT raw FROM entries WHERE id_prefix BETWEEN ? AND ? ORDER BY id LIMIT 1000");
  if (!stmt.ok()) return stmt.error();
  stmt->Bind(1, to_prefix(lo)).Bind(2, to_prefix(hi));
  auto found = CollectEntries(*stmt);
  if (!found.ok()) return found.error();
  std::vector<Entry> out;
  for (Entry& e : *found) {
    if (ToHex(e.id()).starts_with(hex_prefix) && out.size() < 10) out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<Entry>> Store::Log(const LogQuery& q) {
  std::string sql = "SELECT e.raw FROM entries e";
  if (q.group) sql += " JOIN groups g ON g.group_ref = e.group_ref AND g.name = ?1";
  if (q.author) {
    sql +=
        " JOIN feeds f ON f.feed_ref = e.feed_ref JOIN authors a ON a.author_ref = "
        "f.author_ref AND a.key = ?2";
  }
  sql += q.newest_first ? " ORDER BY e.ts DESC, e.id DESC" : " ORDER BY e.ts, e.id";
  if (q.limit) sql += " LIMIT " + std::to_string(q.limit);
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(sql);
  if (!stmt.ok()) return stmt.error();
  if (q.group) stmt->Bind(1, std::string_view(*q.group));
  if (q.author) stmt->Bind(2, ByteSpan(*q.author));
  return CollectEntries(*stmt);
}

namespace {

// One row of a log page: its place in the log order and its encoding.
struct LogRow {
  int64_t ts = 0;
  Hash32 id{};
  Bytes raw;
};

bool Before(const LogRow& a, const LogRow& b) { return a.ts != b.ts ? a.ts < b.ts : a.id < b.id; }

// The SQL of one group's part of a log page: the group's index (group_ref, ts, id) gives the
// rows in order, from the cursor on, so a page costs its own rows and not the log's.
std::string LogPageSql(const LogQuery& q) {
  std::string sql = "SELECT e.ts, e.id, e.raw FROM entries e";
  if (q.author) {
    sql +=
        " JOIN feeds f ON f.feed_ref = e.feed_ref JOIN authors a ON a.author_ref = "
        "f.author_ref AND a.key = ?2";
  }
  sql += " WHERE e.group_ref = ?1";
  const char* dir = q.newest_first ? " DESC" : "";
  if (q.from)
    sql += q.newest_first ? " AND (e.ts, e.id) < (?3, ?4)" : " AND (e.ts, e.id) > (?3, ?4)";
  sql += std::string(" ORDER BY e.ts") + dir + ", e.id" + dir + " LIMIT ?5";
  return sql;
}

}  // namespace

Result<LogPageResult> Store::LogPage(const LogQuery& q) {
  CHECK(q.limit > 0);
  MutexLock lock(&read_mu_);
  std::vector<int64_t> groups;
  {
    auto g = reader_->Prepare(q.group ? "SELECT group_ref FROM groups WHERE name = ?"
                                      : "SELECT group_ref FROM groups");
    if (!g.ok()) return g.error();
    if (q.group) g->Bind(1, std::string_view(*q.group));
    while (true) {
      auto row = g->Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      groups.push_back(g->Int(0));
    }
  }
  auto stmt = reader_->Prepare(LogPageSql(q));
  if (!stmt.ok()) return stmt.error();
  // Each group gives at most limit + 1 rows and bytes_max bytes (and one row more), which is
  // all a merged page can take from it; the extra row tells whether more follow.
  std::vector<LogRow> rows;
  for (int64_t group : groups) {
    stmt->Reset();
    stmt->Bind(1, group).Bind(5, static_cast<int64_t>(q.limit + 1));
    if (q.author) stmt->Bind(2, ByteSpan(*q.author));
    if (q.from) stmt->Bind(3, q.from->timestamp_ms).Bind(4, ByteSpan(q.from->id));
    size_t bytes = 0;
    while (q.bytes_max == 0 || bytes <= q.bytes_max) {
      auto row = stmt->Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      auto id = stmt->Blob32(1);
      if (!id) return Corrupt("an entry id is not 32 bytes");
      const ByteSpan raw = stmt->Blob(2);
      bytes += raw.size();
      rows.push_back(LogRow{stmt->Int(0), *id, Bytes(raw.begin(), raw.end())});
    }
  }
  std::sort(rows.begin(), rows.end(), [&](const LogRow& a, const LogRow& b) {
    return q.newest_first ? Before(b, a) : Before(a, b);
  });
  LogPageResult page;
  size_t bytes = 0;
  for (const LogRow& r : rows) {
    const bool full = page.entries.size() == q.limit || (q.bytes_max > 0 && !page.entries.empty() &&
                                                         bytes + r.raw.size() > q.bytes_max);
    if (full) {
      page.more = true;
      break;
    }
    auto e = DecodeStored(r.raw);
    if (!e.ok()) return e.error();
    bytes += r.raw.size();
    page.entries.push_back(std::move(e).value());
  }
  return page;
}

Result<std::vector<PublicKey>> Store::ForkedAmong(std::span<const PublicKey> authors) {
  MutexLock lock(&read_mu_);
  auto s = Prepared(forked_, "SELECT 1 FROM authors WHERE key = ? AND forked != 0");
  if (!s.ok()) return s.error();
  std::vector<PublicKey> out;
  for (const PublicKey& a : authors) {
    (*s)->Bind(1, ByteSpan(a));
    auto row = (*s)->Step();
    (*s)->Reset();
    if (!row.ok()) return row.error();
    if (*row) out.push_back(a);
  }
  return out;
}

Result<int64_t> Store::DataVersion() {
  MutexLock lock(&read_mu_);
  auto s = Prepared(data_version_, "PRAGMA data_version");
  if (!s.ok()) return s.error();
  auto row = (*s)->Step();
  const int64_t version = row.ok() && *row ? (*s)->Int(0) : 0;
  (*s)->Reset();
  if (!row.ok()) return row.error();
  return version;
}

Result<std::optional<FeedHead>> Store::Head(const PublicKey& author, std::string_view group) {
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT f.head_seq, f.head_id, f.head_ts FROM feeds f JOIN authors a USING (author_ref) "
      "JOIN groups g USING (group_ref) WHERE a.key = ? AND g.name = ?");
  if (!stmt.ok()) return stmt.error();
  stmt->Bind(1, ByteSpan(author)).Bind(2, group);
  auto row = stmt->Step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<FeedHead>();
  FeedHead h;
  h.seq = static_cast<uint64_t>(stmt->Int(0));
  auto id = stmt->Blob32(1);
  if (!id) return Corrupt("a feed head id is not 32 bytes");
  h.id = *id;
  h.timestamp_ms = stmt->Int(2);
  return std::optional<FeedHead>(h);
}

Result<std::vector<AuthorInfo>> Store::Authors() {
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT a.key, a.forked, (SELECT COALESCE(SUM(f.head_seq), 0) FROM feeds f "
      "WHERE f.author_ref = a.author_ref) FROM authors a ORDER BY a.key");
  if (!stmt.ok()) return stmt.error();
  std::vector<AuthorInfo> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    AuthorInfo info;
    auto key = stmt->Blob32(0);
    if (!key) return Corrupt("an author key is not 32 bytes");
    info.key = *key;
    info.forked = stmt->Int(1) != 0;
    info.entries = stmt->Int(2);
    out.push_back(info);
  }
  return out;
}

Result<std::vector<FeedInfo>> Store::Feeds() {
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT a.key, g.name, f.head_seq, f.head_id, f.head_ts FROM feeds f "
      "JOIN authors a USING (author_ref) JOIN groups g USING (group_ref) ORDER BY a.key, g.name");
  if (!stmt.ok()) return stmt.error();
  std::vector<FeedInfo> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    FeedInfo f;
    auto key = stmt->Blob32(0);
    auto id = stmt->Blob32(3);
    if (!key || !id) return Corrupt("a feed row has a bad key or id");
    f.author = *key;
    f.group = stmt->Text(1);
    f.head.seq = static_cast<uint64_t>(stmt->Int(2));
    f.head.id = *id;
    f.head.timestamp_ms = stmt->Int(4);
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::vector<ForkProof>> Store::ForkProofs() {
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT p.proof FROM fork_proofs p JOIN authors a USING (author_ref) ORDER BY a.key");
  if (!stmt.ok()) return stmt.error();
  std::vector<ForkProof> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto p = DecodeForkProof(stmt->Blob(0));
    if (!p.ok()) return Corrupt("a fork proof no longer decodes");
    out.push_back(std::move(p).value());
  }
  return out;
}

Result<std::vector<PublicKey>> Store::ForkedAuthors() {
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare("SELECT key FROM authors WHERE forked != 0");
  if (!stmt.ok()) return stmt.error();
  std::vector<PublicKey> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto key = stmt->Blob32(0);
    if (!key) return Corrupt("an author key is not 32 bytes");
    out.push_back(*key);
  }
  return out;
}

Result<std::optional<Bytes>> Store::ForkProofOf(const PublicKey& author) {
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT p.proof FROM fork_proofs p JOIN authors a USING (author_ref) WHERE a.key = ?");
  if (!stmt.ok()) return stmt.error();
  stmt->Bind(1, ByteSpan(author));
  auto row = stmt->Step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<Bytes>();
  const ByteSpan proof = stmt->Blob(0);
  return std::optional<Bytes>(Bytes(proof.begin(), proof.end()));
}

Result<StoreStats> Store::Stats() {
  MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT (SELECT COUNT(*) FROM entries), (SELECT COUNT(*) FROM authors), "
      "(SELECT COUNT(*) FROM feeds), (SELECT COUNT(*) FROM groups), "
      "(SELECT COUNT(*) FROM fork_proofs)");
  if (!stmt.ok()) return stmt.error();
  auto row = stmt->Step();
  if (!row.ok()) return row.error();
  return StoreStats{stmt->Int(0), stmt->Int(1), stmt->Int(2), stmt->Int(3), stmt->Int(4)};
}

}  // namespace pando::store
