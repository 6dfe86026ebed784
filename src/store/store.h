// Store: Pando's SQLite database of entries, feeds and fork proofs.
//
// One writer thread owns the only writing connection and batches queued submissions into
// one transaction each; an entry is accepted only once that transaction has committed, and
// a submission's future is fulfilled only then. Every rejection happens before anything of
// that entry is written, so a rejected input leaves the store exactly as it was.
// Reads use a separate connection (WAL lets them run beside the writer).
//
// Thread safety: every public method may be called from any thread. The Store must outlive
// the futures it hands out being waited on; destroying it drains the queue first.
// docs/store.md describes the schema, the durability settings and what they survive.
#pragma once

#include <array>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/bundle.h"
#include "core/entry.h"
#include "core/error.h"
#include "core/fork_proof.h"
#include "core/mutex.h"
#include "store/crdt.h"
#include "store/posts.h"
#include "store/sqlite.h"

namespace pando::store {

struct StoreOptions {
  std::string path;                 // The database file; "-wal" and "-shm" files sit beside it.
  bool create = true;               // Create the file if it does not exist.
  size_t batch_entries_max = 8192;  // Most entries committed in one transaction.
};

// A linked run of one feed's entries (see core/chain.h) whose first `authenticated`
// entries were authenticated by the caller; the writer refuses the rest with
// BAD_SIGNATURE. Build one with AuthenticateRun() or use Store::Add().
struct Run {
  std::vector<Entry> entries;
  size_t authenticated = 0;
};

// A place in the log order: (timestamp, id), which every node shares (a local row number
// would not be).
struct LogCursor {
  int64_t timestamp_ms = 0;
  Hash32 id{};
};

struct LogQuery {
  std::optional<std::string> group;
  std::optional<PublicKey> author;
  size_t limit = 0;  // 0: no limit.
  bool newest_first = false;
  // Store::LogPage only: entries strictly past this place in the order asked (older than it
  // when newest_first, newer otherwise), and the most bytes of entries a page holds (it
  // holds at least one entry, however large; 0: no byte limit).
  std::optional<LogCursor> from;
  size_t bytes_max = 0;
};

// One page of the log: at most `limit` entries and `bytes_max` bytes; `more` when the log
// holds further entries past the last one (ask again from its place).
struct LogPageResult {
  std::vector<Entry> entries;
  bool more = false;
};

// Which CRDT objects to list (Store::FindCrdt); an unset field matches every object.
// owner PublicKey{} matches shared objects only.
struct CrdtQuery {
  std::optional<std::string> group = {};
  std::optional<PublicKey> owner = {};
  std::optional<crdt::Type> type = {};
  std::optional<std::string> name = {};
  size_t limit = 0;  // 0: no limit.
};

struct AuthorInfo {
  PublicKey key{};
  bool forked = false;
  int64_t entries = 0;
};

struct FeedInfo {
  PublicKey author{};
  std::string group;
  FeedHead head;
};

// What a node needs to know of a stored entry to replicate it without reading it.
struct ItemInfo {
  int64_t timestamp_ms = 0;
  Hash32 id{};
  uint32_t size = 0;  // Bytes of the canonical encoding.
};

struct StoreStats {
  int64_t entries = 0;
  int64_t authors = 0;
  int64_t feeds = 0;
  int64_t groups = 0;
  int64_t fork_proofs = 0;
};

struct VerifyReport {
  int64_t entries_checked = 0;
  int64_t feeds_checked = 0;
  int64_t signatures_checked = 0;
  int64_t chain_authenticated_only =
      0;                              // Entries whose own signature fails but a later one covers.
  std::vector<std::string> problems;  // Empty when the store is sound.
  bool ok() const { return problems.empty(); }
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- Writing -------------------------------------------------------------------------
  // Queues a run; the future yields one Status per entry once its transaction committed
  // (OK: stored; DUPLICATE: already stored; FORKED: it proved a fork, which is now stored
  // and the author refused; or the rejection).
  std::future<std::vector<Status>> Submit(Run run);
  // Queues a fork proof received from elsewhere; the caller has verified it
  // (VerifyForkProof). OK also when the author was already known to be forked.
  std::future<Status> SubmitForkProof(ForkProof proof);

  // Validates and stores entries that arrive together: checks each against the clock
  // (now_ms), splits them into runs of one feed, authenticates each run by chain
  // verification, submits and waits. Returns one Status per entry, in input order.
  std::vector<Status> Add(std::span<const Entry> entries, int64_t now_ms);

  // --- Reading -------------------------------------------------------------------------
  Result<std::optional<Entry>> Get(const Hash32& id);
  // The stored encodings of these entries, in the order asked; nullopt for an id not stored.
  // One lock and one prepared statement for the batch, and no decoding: how a node answers
  // a WANT. The bytes are as stored (they were verified when they came in).
  Result<std::vector<std::optional<Bytes>>> GetRaw(std::span<const Hash32> ids);
  // Entries whose id starts with the given hex prefix (at least 4 characters), at most 10.
  Result<std::vector<Entry>> FindByIdPrefix(std::string_view hex_prefix);
  // Entries in log order: timestamp, then id (the order every node shows).
  Result<std::vector<Entry>> Log(const LogQuery& query);
  // The same as pages: query.limit (required, at least 1) entries from query.from, read
  // through the index of each group in turn and merged, so no page sorts the whole log.
  Result<LogPageResult> LogPage(const LogQuery& query);
  // Which of these authors are known to be forked.
  Result<std::vector<PublicKey>> ForkedAmong(std::span<const PublicKey> authors);
  // SQLite's data_version of the reader connection: it changes whenever another connection
  // (the writer) commits, so a value computed from the store is still true while it stays.
  Result<int64_t> DataVersion();
  // Every stored entry of `group`, in log order (a node's index for reconciliation).
  Result<std::vector<ItemInfo>> GroupItems(std::string_view group);
  Result<std::optional<FeedHead>> Head(const PublicKey& author, std::string_view group);
  // Authors by key; feeds by author key, then group name; fork proofs by author key: orders
  // of the entries alone, never of local row numbers.
  Result<std::vector<AuthorInfo>> Authors();
  Result<std::vector<FeedInfo>> Feeds();
  Result<std::vector<ForkProof>> ForkProofs();
  // The authors known to be forked (a node's set at start).
  Result<std::vector<PublicKey>> ForkedAuthors();
  // The stored proof of `author`, as stored (EncodeForkProof's bytes); nullopt if none.
  Result<std::optional<Bytes>> ForkProofOf(const PublicKey& author);
  Result<StoreStats> Stats();
  // The post index (posts.h). Newest first, by (timestamp, id): entries of `kind`
  // (kinds::kPost or kCatalog), those before `before` when given.
  Result<std::vector<PostInfo>> Latest(uint16_t kind, size_t limit,
                                       std::optional<LogCursor> before = std::nullopt);
  // An author's posts, newest first, likewise.
  Result<std::vector<PostInfo>> PostsBy(const PublicKey& author, size_t limit,
                                        std::optional<LogCursor> before = std::nullopt);
  // The first catalog record that announces `post`, in (timestamp, id) order, if any.
  Result<std::optional<PostInfo>> CatalogRecordFor(const Hash32& post);
  // The first 4 bytes of an id: what a suffixed slug carries (model/data.h).
  using IdHead = std::array<uint8_t, 4>;
  // The author's first post in (timestamp, id) order whose slug (Slug of its title,
  // core/post.h) is `slug` and, when id_head is given, whose id starts with it; among all the
  // author's posts this node holds, so the answer depends on the entries alone.
  Result<std::optional<PostInfo>> FirstPostWithSlug(const PublicKey& author, std::string_view slug,
                                                    std::optional<IdHead> id_head = std::nullopt);
  // Name attestations (kind 4 entries of `group` whose claim verifies, docs/names.md) for
  // names with this skeleton, in log order (timestamp, then id).
  Result<std::vector<Entry>> NameAttestations(std::string_view group, std::string_view skeleton);
  // The same for claims whose owner is `owner` (names it holds or held), in log order.
  Result<std::vector<Entry>> NameAttestationsOf(std::string_view group, const PublicKey& owner);
  // Posts and catalog records matching the words of `text` (SearchQuery), best first, equal
  // ranks by id.
  Result<std::vector<PostInfo>> Search(std::string_view text, size_t limit);
  // CRDT state (crdt.h, docs/store.md "CRDT state"). Objects in key order.
  Result<std::vector<CrdtObjectInfo>> FindCrdt(const CrdtQuery& query);
  // One object's state; nullopt if no operation on it was applied.
  Result<std::optional<CrdtObject>> LoadCrdt(const crdt::ObjectKey& key);
  // One field of a map (its winning write, possibly a delete); nullopt if never written.
  Result<std::optional<crdt::MapState::Cell>> CrdtMapField(const crdt::ObjectKey& key,
                                                           std::string_view field);
  // The newest clock reading of every operation applied (where a local write starts).
  Result<crdt::Hlc> CrdtLastHlc();
  // Every object's state as crdt::Replica::Dump prints it.
  Result<std::string> CrdtDump();
  // Clears the CRDT state and applies every stored entry again, in one transaction (the
  // old state stays readable until it commits). Waits for the writer; returns how many
  // operations were applied.
  Result<int64_t> RebuildCrdt();
  // Writes every feed's entries in seq order, then every fork proof, to *out.
  Status Export(BundleWriter* out);
  // Re-verifies the whole store: each entry decodes and matches its id and columns, each
  // feed's chain links, each feed's head signature verifies (every signature when
  // all_signatures), each fork proof verifies, and SQLite's integrity_check passes.
  Result<VerifyReport> Verify(bool all_signatures);

 private:
  struct WriteJob;
  class Writer;

  Store() = default;
  void WriterLoop();
  void IndexWhileIdle();
  // The post index (posts.h) is filled in slices of this many entries; a committed batch of
  // at most kIndexBeforeAckEntriesMax entries is indexed before its futures resolve.
  static constexpr size_t kIndexSliceEntries = 2048;
  static constexpr size_t kIndexBeforeAckEntriesMax = 64;
  struct RebuildRequest {
    std::shared_ptr<int64_t> applied;  // Set by the writer thread before it fulfils the job.
  };
  std::future<std::vector<Status>> Enqueue(std::variant<Run, ForkProof, RebuildRequest> item);

  Mutex read_mu_;
  std::optional<Db> reader_ GUARDED_BY(read_mu_);
  // "raw of the entry with this id", prepared once, reset after each use. Declared after
  // reader_, so it is finalized before the connection closes.
  std::optional<Stmt> raw_by_id_ GUARDED_BY(read_mu_);
  // The post index's queries (posts.cc), likewise: a page read should not pay for compiling
  // SQL.
  std::optional<Stmt> latest_ GUARDED_BY(read_mu_), posts_by_ GUARDED_BY(read_mu_),
      search_ GUARDED_BY(read_mu_), record_for_ GUARDED_BY(read_mu_), slug_ GUARDED_BY(read_mu_);
  // The name attestations' (names.cc), likewise.
  std::optional<Stmt> names_by_skeleton_ GUARDED_BY(read_mu_), names_by_owner_ GUARDED_BY(read_mu_);
  // The CRDT state's (crdt.cc), likewise.
  std::optional<Stmt> crdt_object_ GUARDED_BY(read_mu_), crdt_map_rows_ GUARDED_BY(read_mu_),
      crdt_set_rows_ GUARDED_BY(read_mu_), crdt_seq_rows_ GUARDED_BY(read_mu_),
      crdt_field_ GUARDED_BY(read_mu_);
  // DataVersion's and ForkedAmong's, likewise.
  std::optional<Stmt> data_version_ GUARDED_BY(read_mu_), forked_ GUARDED_BY(read_mu_);
  // The statement in slot, prepared on the reader connection on first use.
  Result<Stmt*> Prepared(std::optional<Stmt>& slot, const std::string& sql) REQUIRES(read_mu_);
  Result<Stmt*> RawById() REQUIRES(read_mu_);

  Mutex queue_mu_;
  CondVar queue_cv_;  // Waited on with queue_mu_; signalled when a job is queued or on stopping.
  std::deque<std::unique_ptr<WriteJob>> queue_ GUARDED_BY(queue_mu_);
  bool stopping_ GUARDED_BY(queue_mu_) = false;
  std::unique_ptr<Writer> writer_;  // Used by the writer thread only.
  std::thread writer_thread_;
  size_t batch_entries_max_ = 0;
};

// The id_prefix column: the first 63 bits of an id, so integer order matches byte order.
int64_t IdPrefix(const Hash32& id);

// Applies Pando's durability and cache settings to a connection (docs/store.md).
Status ConfigureConnection(Db& db);

// Where a store opened at path keeps its file ("pando.db" inside a data directory).
std::string StorePathIn(const std::string& data_dir);

}  // namespace pando::store
