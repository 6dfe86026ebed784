// Node::PostOp: CRDT operations signed by the node's own key (the HTTP API's key-value,
// profile and follow routes, and the CLI's `pando kv`, `pando follow` through a running
// node).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "node/node.h"

namespace pando::node {
namespace {

// How often a taken post.lock is tried again, and for how long.
constexpr auto kLockRetry = std::chrono::milliseconds(10);
constexpr auto kLockWaitMax = std::chrono::seconds(5);

}  // namespace

void Node::PostOp(std::string group, crdt::Op op, std::function<void(Result<Entry>)> done) {
  if (stopping_) return done(Error{codes::kShuttingDown, "The node is stopping."});
  ops_.push_back({std::move(group),
                  std::move(op),
                  kinds::kCrdt,
                  {},
                  std::move(done),
                  std::chrono::steady_clock::now()});
  SignNext();
}

void Node::PostSigned(std::string group, uint16_t kind, Bytes payload,
                      std::function<void(Result<Entry>)> done) {
  if (stopping_) return done(Error{codes::kShuttingDown, "The node is stopping."});
  ops_.push_back({std::move(group), std::nullopt, kind, std::move(payload), std::move(done),
                  std::chrono::steady_clock::now()});
  SignNext();
}

void Node::SignNext() {
  if (signing_ || ops_.empty()) return;
  if (post_lock_fd_ < 0) {
    const std::string path = config_.data_dir + "/post.lock";
    post_lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (post_lock_fd_ < 0) {
      auto done = std::move(ops_.front().done);
      ops_.pop_front();
      done(Error{codes::kIo, "Cannot open " + path + "."});
      return SignNext();
    }
  }
  // `pando post` holds the lock between reading a feed's head and storing its next entry.
  if (::flock(post_lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (std::chrono::steady_clock::now() - ops_.front().since > kLockWaitMax) {
      auto done = std::move(ops_.front().done);
      ops_.pop_front();
      done(Error{codes::kTimeout, "Another pando process held post.lock for 5 s."});
      return SignNext();
    }
    if (!sign_timer_) sign_timer_ = std::make_unique<boost::asio::steady_timer>(io_);
    sign_timer_->expires_after(kLockRetry);
    sign_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (!ec) SignNext();
    });
    return;
  }
  PendingOp p = std::move(ops_.front());
  ops_.pop_front();
  signing_ = true;
  auto finish = [this, done = std::move(p.done)](Result<Entry> r) {
    ::flock(post_lock_fd_, LOCK_UN);
    signing_ = false;
    done(std::move(r));
    if (!stopping_) boost::asio::post(io_, [this] { SignNext(); });
  };
  const PublicKey& me = signing_key_->public_key();
  auto head = store_->Head(me, p.group);
  if (!head.ok()) return finish(head.error());
  const int64_t now = NowMs();
  EntryDraft d;
  d.group = p.group;
  d.kind = p.kind;
  d.payload = std::move(p.payload);
  d.timestamp_ms = now;
  if (p.op) {
    auto seen = store_->CrdtLastHlc();
    if (!seen.ok()) return finish(seen.error());
    last_hlc_ = crdt::HlcForWrite(std::max(last_hlc_, *seen), now);
    p.op->hlc = last_hlc_;
    if (auto s = crdt::CheckOp(*p.op); !s.ok()) return finish(s.error());
    d.payload = crdt::EncodeOp(*p.op);
  }
  if (head->has_value()) {
    d.seq = (*head)->seq + 1;
    d.prev = (*head)->id;
    d.timestamp_ms = std::max(now, (*head)->timestamp_ms);
  }
  // The clock may run ahead of this node's (a peer's clock was ahead); the entry's
  // timestamp follows it so the op stays within CheckClock's bound.
  if (p.op) d.timestamp_ms = std::max(d.timestamp_ms, crdt::HlcMs(p.op->hlc));
  auto entry = Entry::Sign(d, *signing_key_);
  if (!entry.ok()) return finish(entry.error());
  Entry e = *entry;
  PostLocal(std::move(entry).value(), [finish, e](Status s) mutable {
    if (!s.ok()) return finish(s.error());
    finish(std::move(e));
  });
}

}  // namespace pando::node
