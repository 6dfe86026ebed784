// Node::PostOp and PostSigned: entries signed by the node's own key (the HTTP API's key-value,
// profile and follow routes, name attestations, and the CLI's `pando kv`, `pando follow`
// through a running node). proto::SignQueue decides the order and the waiting; this file
// takes post.lock, reads the head, signs and stores.
#include <boost/asio/post.hpp>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "node/node.h"
#include "store/feed_writer.h"

namespace pando::node {

void Node::PostOp(std::string group, crdt::Op op, std::function<void(Result<Entry>)> done) {
  if (stopping_) return done(Error{codes::kShuttingDown, "The node is stopping."});
  signing_.Push(MonoMs(), {std::move(group), std::move(op), kinds::kCrdt, {}, std::move(done)});
  SignNext();
}

void Node::PostSigned(std::string group, uint16_t kind, Bytes payload,
                      std::function<void(Result<Entry>)> done) {
  if (stopping_) return done(Error{codes::kShuttingDown, "The node is stopping."});
  signing_.Push(MonoMs(),
                {std::move(group), std::nullopt, kind, std::move(payload), std::move(done)});
  SignNext();
}

void Node::SignNext() {
  using Kind = SignQueue::Step::Kind;
  SignQueue::Step step = signing_.Next(MonoMs());
  switch (step.kind) {
    case Kind::kNothing:
      return;
    case Kind::kTimedOut:
      step.job->done(store::PostLockTimeout(store::kPostLockWaitMsMax));
      return SignNext();
    case Kind::kRetryAt:
      if (!sign_timer_) sign_timer_ = std::make_unique<boost::asio::steady_timer>(io_);
      sign_timer_->expires_after(
          std::chrono::milliseconds(std::max<proto::TimeMs>(0, step.at - MonoMs())));
      sign_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) SignNext();
      });
      return;
    case Kind::kTryLock:
      break;
  }
  // The writer holds post.lock from reading the head until the entry is stored, as `pando
  // post` does; it lives in `finish` below and releases the lock when the store answered.
  auto writer = std::make_shared<store::FeedWriter>(config_.data_dir, &*signing_key_);
  auto taken = writer->TryLock();
  if (taken.ok() && !*taken) {
    signing_.LockBusy(MonoMs());
    return SignNext();
  }
  PendingOp p = signing_.Locked();
  auto finish = [this, writer, done = std::move(p.done)](Result<Entry> r) {
    writer->Unlock();
    signing_.Done();
    done(std::move(r));
    if (!stopping_) boost::asio::post(io_, [this] { SignNext(); });
  };
  if (!taken.ok()) return finish(taken.error());
  auto head = store_->Head(signing_key_->public_key(), p.group);
  if (!head.ok()) return finish(head.error());
  const int64_t now = NowMs();
  auto entry = [&]() -> Result<Entry> {
    if (!p.op) {
      EntryDraft d;
      d.group = p.group;
      d.kind = p.kind;
      d.payload = std::move(p.payload);
      return writer->Sign(*head, std::move(d), now);
    }
    auto seen = store_->CrdtLastHlc();
    if (!seen.ok()) return seen.error();
    // The node's own last clock counts too: its last operation may not be applied yet.
    auto signed_op = writer->SignOp(*head, p.group, &*p.op, signing_.HlcFloor(*seen), now);
    if (signed_op.ok()) signing_.Signed(p.op->hlc);
    return signed_op;
  }();
  if (!entry.ok()) return finish(entry.error());
  Entry e = *entry;
  PostLocal(std::move(entry).value(), [finish, e](const Status& s) mutable {
    if (!s.ok()) return finish(s.error());
    finish(std::move(e));
  });
}

}  // namespace pando::node
