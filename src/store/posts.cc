// The post index: the writer's side (IndexPosts) and the reader's queries.
#include "store/posts.h"

#include <limits>

#include "core/entry.h"
#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/post.h"
#include "store/read.h"
#include "store/store.h"
#include "store/writer.h"

namespace pando::store {
namespace {

// Most search terms taken from a query; the rest are ignored.
constexpr size_t kSearchTermsMax = 16;

bool WordByte(unsigned char c) { return c >= 0x80 || std::isalnum(c) != 0; }

}  // namespace

std::string SearchQuery(std::string_view text) {
  std::string out;
  size_t terms = 0;
  size_t i = 0;
  while (i < text.size() && terms < kSearchTermsMax) {
    while (i < text.size() && !WordByte(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && WordByte(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) {
      // Words hold only letters, digits and non-ASCII bytes, so quoting needs no escapes.
      if (!out.empty()) out += ' ';
      out += '"';
      out.append(text.substr(i, j - i));
      out += "\"*";
      ++terms;
    }
    i = j;
  }
  return out;
}

Status Store::Writer::IndexSlice(size_t max, size_t* n) {
  *n = 0;
  auto row = sel_upto_->Step();
  const int64_t post_upto = row.ok() && *row ? sel_upto_->Int(0) : 0;
  sel_upto_->Reset();
  if (!row.ok()) return row.error();
  PANDO_RETURN_IF_ERROR(crdt_->Load());
  const int64_t crdt_upto = crdt_->upto();
  int64_t last = std::min(post_upto, crdt_upto);
  sel_unindexed_->Bind(1, last).Bind(2, static_cast<int64_t>(max));
  Status failure;
  while (failure.ok()) {
    auto r = sel_unindexed_->Step();
    if (!r.ok()) failure = r.error();
    if (!r.ok() || !*r) break;
    ++*n;
    last = sel_unindexed_->Int(0);
    const int64_t kind = sel_unindexed_->Int(1);
    const bool post = last > post_upto && (kind == kinds::kPost || kind == kinds::kCatalog);
    const bool crdt = last > crdt_upto && kind == kinds::kCrdt;
    const bool name = last > post_upto && kind == kinds::kName;
    if (!post && !crdt && !name) continue;
    auto e = Entry::Decode(sel_unindexed_->Blob(2));
    if (!e.ok()) continue;  // Verify reports damaged rows; the index skips them.
    if (post) failure = IndexOne(last, *e, sel_unindexed_->Int(3), sel_unindexed_->Int(4));
    if (crdt) failure = crdt_->Apply(last, *e, sel_unindexed_->Int(4));
    if (name) failure = IndexName(last, *e, sel_unindexed_->Int(4));
  }
  sel_unindexed_->Reset();
  if (failure.ok() && last > post_upto) failure = upd_upto_->Bind(1, last).Run();
  if (failure.ok()) failure = crdt_->Save(last);
  return failure;
}

Status Store::Writer::IndexDerived(size_t max, bool* more) {
  *more = false;
  PANDO_RETURN_IF_ERROR(Begin());
  size_t n = 0;
  Status failure = IndexSlice(max, &n);
  if (failure.ok()) failure = db_.Exec("COMMIT");
  if (!failure.ok()) {
    Rollback();
    return failure;
  }
  *more = n == max;
  return Status::Ok();
}

Result<int64_t> Store::Writer::RebuildCrdt(size_t slice) {
  PANDO_RETURN_IF_ERROR(Begin());
  Status failure = crdt_->Clear();
  for (size_t n = slice; failure.ok() && n == slice;) failure = IndexSlice(slice, &n);
  if (failure.ok()) failure = db_.Exec("COMMIT");
  if (!failure.ok()) {
    Rollback();
    return failure.error();
  }
  return crdt_->applied();
}

Status Store::Writer::IndexOne(int64_t ref, const Entry& e, int64_t author_ref, int64_t group_ref) {
  const PostReading r = ReadPost(e);
  if (!r.post && !r.record) return Status::Ok();  // Not UTF-8, or a record that does not parse.
  ins_post_->Bind(1, ref)
      .Bind(2, static_cast<int64_t>(e.kind()))
      .Bind(3, author_ref)
      .Bind(4, group_ref)
      .Bind(5, e.timestamp_ms())
      .Bind(6, std::string_view(r.title));
  // Bound as SQLITE_STATIC: the slug must outlive the Run below.
  const std::string slug = r.record ? std::string() : Slug(r.title);
  ins_post_->Bind(9, ByteSpan(e.id()));
  if (r.record) {
    ins_post_->Bind(7, std::string_view(r.record->group))
        .Bind(8, ByteSpan(r.record->entry))
        .BindNull(10);
  } else {
    ins_post_->BindNull(7).BindNull(8).Bind(10, std::string_view(slug));
  }
  PANDO_RETURN_IF_ERROR(ins_post_->Run());
  const std::string author = AuthorId(e.author());
  const std::string_view grp = r.record ? std::string_view(r.record->group) : e.group();
  ins_text_->Bind(1, ref)
      .Bind(2, std::string_view(r.title))
      .Bind(3, r.text)
      .Bind(4, grp)
      .Bind(5, std::string_view(author));
  return ins_text_->Run();
}

}  // namespace pando::store

namespace pando::store {
namespace {

// Columns: id, author key, group, timestamp, kind, title, target_group, target_id[, rank].
// They come from the columns the writer filled when it indexed the entry, not by decoding
// the entry again: a list of 20 posts would otherwise hash 20 entries for their ids.
constexpr std::string_view kPostColumns =
    "SELECT p.id, a.key, g.name, p.ts, p.kind, p.title, p.target_group, p.target_id";
// Joins every query of posts p needs for those columns.
constexpr std::string_view kPostJoins =
    " JOIN authors a ON a.author_ref = p.author_ref JOIN groups g ON g.group_ref = p.group_ref";

// Steps s to its end and resets it (it is a cached statement).
Result<std::vector<PostInfo>> CollectPosts(Stmt& s, bool ranked) {
  std::vector<PostInfo> out;
  struct ResetAtEnd {
    Stmt& s;
    ~ResetAtEnd() { s.Reset(); }
  } reset{s};
  while (true) {
    auto row = s.Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto id = s.Blob32(0);
    auto author = s.Blob32(1);
    if (!id || !author) {
      return Error{codes::kStore, "The store holds a damaged record: a post's id or author."};
    }
    PostInfo p;
    p.id = *id;
    p.author = *author;
    p.group = s.Text(2);
    p.timestamp_ms = s.Int(3);
    p.kind = static_cast<uint16_t>(s.Int(4));
    p.title = s.Text(5);
    p.target_group = s.Text(6);
    if (auto t = s.Blob32(7)) p.target_id = *t;
    if (ranked) p.rank = s.Double(8);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

namespace {

// Binds a page's cursor to ?3 and ?4 of a query ordered by (p.ts, e.id) descending: from
// the newest entry on when there is none.
void BindBefore(Stmt& s, const std::optional<LogCursor>& before) {
  static const Hash32 kLast = [] {
    Hash32 h;
    h.fill(0xff);
    return h;
  }();
  s.Bind(3, before ? before->timestamp_ms : std::numeric_limits<int64_t>::max())
      .Bind(4, ByteSpan(before ? before->id : kLast));
}

// Entries strictly before the cursor (?3, ?4) in (ts, id) order, newest first: the order
// every node holding the same entries shows. The first condition lets an index on
// (..., ts, id) start at the cursor, and the same index gives the order without a sort.
constexpr std::string_view kBeforeAndOrder =
    " AND p.ts <= ?3 AND (p.ts < ?3 OR p.id < ?4) ORDER BY p.ts DESC, p.id DESC LIMIT ?2";

}  // namespace

Result<std::vector<PostInfo>> Store::Latest(uint16_t kind, size_t limit,
                                            std::optional<LogCursor> before) {
  MutexLock lock(&read_mu_);
  auto s = Prepared(latest_, std::string(kPostColumns) + " FROM posts p" + std::string(kPostJoins) +
                                 " WHERE p.kind=?1" + std::string(kBeforeAndOrder));
  if (!s.ok()) return s.error();
  (*s)->Bind(1, static_cast<int64_t>(kind)).Bind(2, static_cast<int64_t>(limit));
  BindBefore(**s, before);
  return CollectPosts(**s, false);
}

Result<std::vector<PostInfo>> Store::PostsBy(const PublicKey& author, size_t limit,
                                             std::optional<LogCursor> before) {
  MutexLock lock(&read_mu_);
  auto s =
      Prepared(posts_by_, std::string(kPostColumns) + " FROM posts p" + std::string(kPostJoins) +
                              " WHERE p.author_ref=(SELECT author_ref FROM authors WHERE "
                              "key=?1) AND p.kind=1" +
                              std::string(kBeforeAndOrder));
  if (!s.ok()) return s.error();
  (*s)->Bind(1, ByteSpan(author)).Bind(2, static_cast<int64_t>(limit));
  BindBefore(**s, before);
  return CollectPosts(**s, false);
}

Result<std::optional<PostInfo>> Store::CatalogRecordFor(const Hash32& post) {
  MutexLock lock(&read_mu_);
  auto s =
      Prepared(record_for_, std::string(kPostColumns) + " FROM posts p" + std::string(kPostJoins) +
                                " WHERE p.target_id=? AND p.kind=2 ORDER BY p.ts, p.id LIMIT 1");
  if (!s.ok()) return s.error();
  (*s)->Bind(1, ByteSpan(post));
  auto found = CollectPosts(**s, false);
  if (!found.ok()) return found.error();
  if (found->empty()) return std::optional<PostInfo>();
  return std::optional<PostInfo>(std::move(found->front()));
}

Result<std::optional<PostInfo>> Store::FirstPostWithSlug(const PublicKey& author,
                                                         std::string_view slug,
                                                         std::optional<IdHead> id_head) {
  MutexLock lock(&read_mu_);
  auto s = Prepared(slug_, std::string(kPostColumns) + " FROM posts p" + std::string(kPostJoins) +
                               " WHERE p.author_ref=(SELECT author_ref FROM authors WHERE "
                               "key=?1) AND p.slug=?2 AND (?3 IS NULL OR substr(p.id, 1, 4)=?3) "
                               "ORDER BY p.ts, p.id LIMIT 1");
  if (!s.ok()) return s.error();
  (*s)->Bind(1, ByteSpan(author)).Bind(2, slug);
  if (id_head) {
    (*s)->Bind(3, ByteSpan(*id_head));
  } else {
    (*s)->BindNull(3);
  }
  auto found = CollectPosts(**s, false);
  if (!found.ok()) return found.error();
  if (found->empty()) return std::optional<PostInfo>();
  return std::optional<PostInfo>(std::move(found->front()));
}

Result<std::vector<PostInfo>> Store::Search(std::string_view text, size_t limit) {
  const std::string query = SearchQuery(text);
  if (query.empty()) return std::vector<PostInfo>();
  MutexLock lock(&read_mu_);
  // bm25 weights: a title match counts 10 times a body match, an author or group match 4.
  // Equal ranks (the same text) are ordered by id, so every node lists them alike; that
  // needs the ids of all matches, not only of the best `limit` (FTS5 ranks every match
  // anyway, so this costs one lookup in posts per match).
  auto s = Prepared(search_, std::string(kPostColumns) +
                                 ", t.rank FROM (SELECT rowid, bm25(post_text, 10.0, 1.0, 4.0, "
                                 "4.0) AS rank FROM post_text WHERE post_text MATCH ?1) t "
                                 "JOIN posts p ON p.entry_ref=t.rowid" +
                                 std::string(kPostJoins) + " ORDER BY t.rank, p.id LIMIT ?2");
  if (!s.ok()) return s.error();
  (*s)->Bind(1, std::string_view(query)).Bind(2, static_cast<int64_t>(limit));
  return CollectPosts(**s, true);
}

}  // namespace pando::store
