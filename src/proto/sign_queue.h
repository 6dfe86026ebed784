// SignQueue: the order in which a node signs entries with its own key (key-value writes,
// profiles, follows and name attestations made through its API). One entry is signed at a
// time, under the data directory's post.lock (store::FeedWriter), so `pando post` run beside
// the node never signs the same seq; a job waits while another process holds the lock, and
// fails with TIMEOUT once it has waited longer than wait_ms_max. It also keeps the newest
// CRDT clock the node signed, since its last operation may not be applied by the store yet.
//
// Sans-IO: the runtime (node/node_sign.cc) takes the lock, reads the head, signs and stores;
// it tells the queue what happened and does what the queue answers. `Job` is the runtime's
// description of one entry to sign (with its callback).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "proto/types.h"

namespace pando::proto {

template <typename Job>
class SignQueue {
 public:
  // What the runtime does next.
  struct Step {
    enum class Kind {
      kNothing,   // Nothing to sign, or a job is being signed.
      kTryLock,   // Try to take post.lock now, then call Locked or LockBusy.
      kRetryAt,   // post.lock was taken by another process: call Next again at `at`.
      kTimedOut,  // The front job waited too long for post.lock: fail `job` with TIMEOUT.
    };
    Kind kind = Kind::kNothing;
    TimeMs at = 0;
    std::optional<Job> job;
  };

  SignQueue(TimeMs retry_ms, TimeMs wait_ms_max) : retry_ms_(retry_ms), wait_ms_max_(wait_ms_max) {}

  void Push(TimeMs now, Job job) { jobs_.push_back({now, std::move(job)}); }

  // What to do now.
  Step Next(TimeMs now) {
    if (signing_ || jobs_.empty()) return {};
    if (retry_at_ && now < *retry_at_) return {Step::Kind::kRetryAt, *retry_at_, {}};
    retry_at_.reset();
    if (now - jobs_.front().since > wait_ms_max_) {
      Step s{Step::Kind::kTimedOut, 0, std::move(jobs_.front().job)};
      jobs_.pop_front();
      return s;
    }
    return {Step::Kind::kTryLock, 0, {}};
  }
  // The lock was taken: the front job is signed now (call Done when it is stored or failed).
  Job Locked() {
    signing_ = true;
    Job j = std::move(jobs_.front().job);
    jobs_.pop_front();
    return j;
  }
  // Another process holds the lock: the runtime calls Next again at the time this returns.
  TimeMs LockBusy(TimeMs now) {
    retry_at_ = now + retry_ms_;
    return *retry_at_;
  }
  // The job being signed is done (stored or failed); the lock is released.
  void Done() { signing_ = false; }

  // The floor of the next CRDT clock: later than every clock this node signed and than
  // `seen`, the newest the store has applied.
  uint64_t HlcFloor(uint64_t seen) const { return std::max(last_hlc_, seen); }
  void Signed(uint64_t hlc) { last_hlc_ = std::max(last_hlc_, hlc); }

 private:
  struct Waiting {
    TimeMs since = 0;
    Job job;
  };
  TimeMs retry_ms_;
  TimeMs wait_ms_max_;
  std::deque<Waiting> jobs_;
  bool signing_ = false;
  std::optional<TimeMs> retry_at_;
  uint64_t last_hlc_ = 0;
};

}  // namespace pando::proto
