// FeedWriter: the one writer of "the next entry of a feed" (docs/entry-format.md, "The next
// entry of a feed") for every signer of a data directory: `pando post`, `pando kv` and the
// other data verbs without a node, and a running node's own entries (Node::PostOp and
// Node::PostSigned).
//
// The rule has two halves. The pure half, NextDraft and NextOpClock, computes seq, prev,
// timestamp and an operation's clock from a feed head, the newest clock seen and now_ms;
// the browser script (http/static/app.js) follows the same rule and both are checked against
// the golden cases of docs/entry-format.md. The other half is exclusion: two processes
// signing for one identity at once would both take the same seq and sign a fork, which every
// node punishes by refusing the author for good, so a FeedWriter signs only while it holds
// the data directory's post.lock, from reading the head until the entry is stored.
//
// No clock is read inside: every call takes now_ms, so the node's sans-IO core can call it.
// A FeedWriter is used by one thread; the key it signs with must outlive it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/error.h"
#include "crdt/op.h"

namespace pando::store {

class Store;

// How often Lock tries a taken post.lock again, and how long it tries before TIMEOUT.
inline constexpr std::chrono::milliseconds kPostLockRetryMs{10};
inline constexpr std::chrono::milliseconds kPostLockWaitMsMax{5000};

// The pure rule for any entry: seq = head seq + 1, prev = head id (zero for the first
// entry), timestamp = max(now_ms, head timestamp), so a feed's timestamps never decrease
// even when this clock is behind the one that signed the head. Group, kind and payload are
// kept.
EntryDraft NextDraft(const std::optional<FeedHead>& head, EntryDraft draft, int64_t now_ms);

// The pure rule's part for a CRDT operation (kind 3): its clock is crdt::HlcForWrite(seen,
// now_ms), later than every reading seen, and the entry's timestamp is raised to at least
// the clock's milliseconds so the operation keeps its clock bound (docs/crdt.md).
crdt::Hlc NextOpClock(crdt::Hlc seen, int64_t now_ms, EntryDraft* draft);

// TIMEOUT: another process held post.lock for `waited`.
Error PostLockTimeout(std::chrono::milliseconds waited);

class FeedWriter {
 public:
  // Signs with *key; post.lock and post.pending are files of data_dir.
  FeedWriter(std::string data_dir, const KeyPair* key);
  ~FeedWriter();  // Releases post.lock.
  FeedWriter(const FeedWriter&) = delete;
  FeedWriter& operator=(const FeedWriter&) = delete;

  // Takes post.lock if no other process holds it: true when this writer holds it now.
  // Errors: IO_ERROR.
  Result<bool> TryLock();
  // Takes post.lock, trying every kPostLockRetryMs, for at most about wait_ms_max. Errors:
  // TIMEOUT (another process kept it), IO_ERROR.
  Status Lock(std::chrono::milliseconds wait_ms_max = kPostLockWaitMsMax);
  void Unlock();
  bool locked() const { return locked_; }

  // Signs draft as the next entry after `head`, the head of (key's author, draft.group) that
  // the caller read while holding the lock. Errors: those of Entry::Sign.
  Result<Entry> Sign(const std::optional<FeedHead>& head, EntryDraft draft, int64_t now_ms) const;
  // Signs *op as a kind 3 entry of `group` after `head`: sets op->hlc to NextOpClock(seen,
  // now_ms), where seen is the newest clock reading the caller knows of (the store's, and
  // its own last). Errors: BAD_OPERATION, those of Entry::Sign.
  Result<Entry> SignOp(const std::optional<FeedHead>& head, std::string group, crdt::Op* op,
                       crdt::Hlc seen, int64_t now_ms) const;

  // Sign and submit in one: reads the head (and for an operation the store's newest clock)
  // from `store`, signs and stores the entry (Store::Add with now_ms). The lock must be
  // held. Errors: the store's, and its refusal of the entry.
  Result<Entry> Append(Store& store, EntryDraft draft, int64_t now_ms) const;
  Result<Entry> AppendOp(Store& store, std::string group, crdt::Op op, int64_t now_ms) const;

  // The entry signed and sent but not known to be stored: a signer whose answer was lost
  // keeps it (post.pending) so that the next signer resends those bytes, or learns they are
  // stored, instead of signing another entry for the same seq. The lock must be held.
  // Errors: IO_ERROR, MALFORMED (a damaged file).
  Result<std::optional<Entry>> Pending() const;
  Status KeepPending(const Entry& entry) const;
  Status ClearPending() const;

 private:
  std::string dir_;
  const KeyPair* key_;
  int fd_ = -1;
  bool locked_ = false;
};

}  // namespace pando::store
