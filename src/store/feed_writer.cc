#include "store/feed_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <span>
#include <thread>

#include "core/check.h"
#include "core/error_codes.h"
#include "core/kinds.h"
#include "store/store.h"

namespace pando::store {
namespace {

Error IoErrorOf(const std::string& what, const std::string& path) {
  return Error{codes::kIo, "Cannot " + what + " " + path + ": " + std::strerror(errno) + "."};
}

}  // namespace

EntryDraft NextDraft(const std::optional<FeedHead>& head, EntryDraft draft, int64_t now_ms) {
  draft.seq = 1;
  draft.prev = Hash32{};
  draft.timestamp_ms = now_ms;
  if (head.has_value() && head->seq > 0) {
    draft.seq = head->seq + 1;
    draft.prev = head->id;
    // A clock behind the head's must not make the feed's timestamps decrease
    // (TIMESTAMP_REGRESSION): the entry takes the head's timestamp instead.
    draft.timestamp_ms = std::max(now_ms, head->timestamp_ms);
  }
  return draft;
}

crdt::Hlc NextOpClock(crdt::Hlc seen, int64_t now_ms, EntryDraft* draft) {
  const crdt::Hlc hlc = crdt::HlcForWrite(seen, now_ms);
  // The clock may run ahead of now_ms (a reading seen from a clock ahead of this one); the
  // entry's timestamp follows it so the operation stays within its clock bound.
  draft->timestamp_ms = std::max(draft->timestamp_ms, crdt::HlcMs(hlc));
  return hlc;
}

Error PostLockTimeout(std::chrono::milliseconds waited) {
  return Error{codes::kTimeout, "Another pando process held post.lock for " +
                                    std::to_string(waited.count() / 1000) + " s."};
}

FeedWriter::FeedWriter(std::string data_dir, const KeyPair* key)
    : dir_(std::move(data_dir)), key_(key) {}

FeedWriter::~FeedWriter() {
  // Closing the descriptor releases the flock.
  if (fd_ >= 0) ::close(fd_);
}

Result<bool> FeedWriter::TryLock() {
  if (locked_) return true;
  const std::string path = dir_ + "/post.lock";
  if (fd_ < 0) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return IoErrorOf("open", path);
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return false;
    return IoErrorOf("lock", path);
  }
  locked_ = true;
  return true;
}

Status FeedWriter::Lock(std::chrono::milliseconds wait_ms_max) {
  // Tries are counted rather than timed, so no clock is read here.
  const int64_t tries = std::max<int64_t>(1, wait_ms_max / kPostLockRetryMs);
  for (int64_t i = 0; i < tries; ++i) {
    auto taken = TryLock();
    if (!taken.ok()) return taken.error();
    if (*taken) return {};
    std::this_thread::sleep_for(kPostLockRetryMs);
  }
  return PostLockTimeout(wait_ms_max);
}

void FeedWriter::Unlock() {
  if (!locked_) return;
  ::flock(fd_, LOCK_UN);
  locked_ = false;
}

Result<Entry> FeedWriter::Sign(const std::optional<FeedHead>& head, EntryDraft draft,
                               int64_t now_ms) const {
  CHECK(locked_);
  return Entry::Sign(NextDraft(head, std::move(draft), now_ms), *key_);
}

Result<Entry> FeedWriter::SignOp(const std::optional<FeedHead>& head, std::string group,
                                 crdt::Op* op, crdt::Hlc seen, int64_t now_ms) const {
  CHECK(locked_);
  EntryDraft d;
  d.group = std::move(group);
  d.kind = kinds::kCrdt;
  d = NextDraft(head, std::move(d), now_ms);
  op->hlc = NextOpClock(seen, now_ms, &d);
  PANDO_RETURN_IF_ERROR(crdt::CheckOp(*op));
  d.payload = crdt::EncodeOp(*op);
  return Entry::Sign(d, *key_);
}

namespace {

Result<Entry> StoreOne(Store& store, Result<Entry> entry, int64_t now_ms) {
  if (!entry.ok()) return entry;
  Status s = store.Add(std::span(&*entry, 1), now_ms).front();
  if (!s.ok()) return s.error();
  return entry;
}

}  // namespace

Result<Entry> FeedWriter::Append(Store& store, EntryDraft draft, int64_t now_ms) const {
  auto head = store.Head(key_->public_key(), draft.group);
  if (!head.ok()) return head.error();
  return StoreOne(store, Sign(*head, std::move(draft), now_ms), now_ms);
}

Result<Entry> FeedWriter::AppendOp(Store& store, std::string group, crdt::Op op,
                                   int64_t now_ms) const {
  auto head = store.Head(key_->public_key(), group);
  if (!head.ok()) return head.error();
  auto seen = store.CrdtLastHlc();
  if (!seen.ok()) return seen.error();
  return StoreOne(store, SignOp(*head, std::move(group), &op, *seen, now_ms), now_ms);
}

Result<std::optional<Entry>> FeedWriter::Pending() const {
  CHECK(locked_);
  const std::string path = dir_ + "/post.pending";
  std::ifstream f(path);
  if (!f) return std::optional<Entry>();
  std::string hex;
  f >> hex;
  auto bytes = FromHex(hex);
  if (!bytes) return Error{codes::kMalformed, path + " does not hold an entry as hex."};
  auto entry = Entry::Decode(std::move(*bytes));
  if (!entry.ok()) return Error{entry.error().code, path + ": " + entry.error().message};
  return std::optional<Entry>(std::move(entry).value());
}

Status FeedWriter::KeepPending(const Entry& entry) const {
  CHECK(locked_);
  const std::string path = dir_ + "/post.pending", tmp = path + ".tmp";
  const std::string text = ToHex(entry.bytes()) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoErrorOf("create", tmp);
  // Synced before the entry is sent: a signer that crashes after sending still leaves it.
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return IoErrorOf("write", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoErrorOf("write", path);
  return {};
}

Status FeedWriter::ClearPending() const {
  CHECK(locked_);
  const std::string path = dir_ + "/post.pending";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return IoErrorOf("remove", path);
  return {};
}

}  // namespace pando::store
