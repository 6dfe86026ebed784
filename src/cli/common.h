// What the CLI verbs share: locating the data directory, opening the store, reporting
// errors with their stable code, and formatting entries for people and for scripts.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "client/api_client.h"
#include "core/crypto.h"
#include "core/entry.h"
#include "core/error.h"
#include "crdt/op.h"
#include "store/feed_writer.h"
#include "store/store.h"

namespace pando::cli {

// Exit statuses of `pando`: 0 success, 1 the operation failed (an error code was printed),
// 2 bad usage.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Options every verb shares.
struct Context {
  std::string data_dir_flag;  // --data-dir, empty when not given.
  // --data-dir, else $PANDO_HOME, else $XDG_DATA_HOME/pando, else ~/.local/share/pando.
  std::string DataDir() const;
  Result<std::unique_ptr<store::Store>> OpenStore(bool create) const;
  // The node running with this data directory, if one is: verbs then act through its API
  // instead of opening the store themselves.
  std::optional<client::ApiClient> RunningNode() const;
};

// Thrown by verbs to end with an error; main() prints "error: CODE: message" on stderr and
// exits with kExitFailure.
struct Failure {
  Error error;
};
[[noreturn]] void Fail(const Error& error);
template <typename T>
T Check(Result<T> r) {
  if (!r.ok()) Fail(r.error());
  return std::move(r).value();
}
inline void Check(const Status& s) {
  if (!s.ok()) Fail(s.error());
}

int64_t NowMs();
std::string FormatTime(int64_t ms);  // UTC, "2026-11-21 23:59:07.123"
// Parses an entry id: 64 hex digits. Error: BAD_ID.
Result<Hash32> ParseEntryId(std::string_view text);
// Resolves a full id or a prefix of at least 4 hex digits to one stored entry.
Entry ResolveEntry(store::Store& store, std::string_view id_or_prefix);

nlohmann::json EntryJson(const Entry& e, bool author_forked);

class EntrySink;  // Where a Signer's entries go (signer.cc).

// Signs entries for the data directory's identity, each as the next entry of its feed
// (store::FeedWriter), and stores them: through the running node (which broadcasts them)
// when there is one, else in the store. It holds post.lock from its construction to its
// end, so no other process signs for the identity meanwhile (TIMEOUT after 5 s).
//
// An entry whose answer was lost (the node took it and did not say whether it stored it) is
// never replaced by a newly signed one: it is kept in post.pending and the next Signer asks
// whether it is stored and resends the same bytes if not (docs/cli.md, "When an answer is
// lost"). Every failure ends the verb (Fail).
class Signer {
 public:
  explicit Signer(Context& ctx);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // Signs draft (group, kind, payload) and stores it. If an entry left by an earlier run
  // with the same group, kind and payload is stored now, that one is the answer: a command
  // run again after a lost answer does not post twice.
  Entry Post(EntryDraft draft);
  // Signs a CRDT operation as a kind 3 entry of group and stores it, without a node (a
  // running node signs operations itself, Node::PostOp).
  Entry PostOp(std::string group, crdt::Op op);

 private:
  void SettlePending();
  KeyPair key_;
  std::unique_ptr<store::FeedWriter> writer_;
  std::unique_ptr<EntrySink> sink_;
  std::optional<Entry> settled_;  // An earlier run's entry, stored by SettlePending.
};

// Registration of each verb (one file each).
void AddInit(CLI::App& app, Context& ctx);
void AddId(CLI::App& app, Context& ctx);
void AddPost(CLI::App& app, Context& ctx);
void AddName(CLI::App& app, Context& ctx);
void AddLog(CLI::App& app, Context& ctx);
void AddShow(CLI::App& app, Context& ctx);
void AddVerify(CLI::App& app, Context& ctx);
void AddExport(CLI::App& app, Context& ctx);
void AddImport(CLI::App& app, Context& ctx);
void AddForks(CLI::App& app, Context& ctx);
void AddSim(CLI::App& app, Context& ctx);
void AddNode(CLI::App& app, Context& ctx);
void AddStatus(CLI::App& app, Context& ctx);
void AddFind(CLI::App& app, Context& ctx);
void AddDevnet(CLI::App& app, Context& ctx);
void AddData(CLI::App& app, Context& ctx);  // kv, follow, unfollow, timeline, profile

}  // namespace pando::cli
