// Node's helpers shared by node.cc, node_peers.cc and node_entries.cc: the waiter thread and
// the core's host. Not part of the node's interface.
#pragma once

#include <map>

#include "core/mutex.h"
#include "node/node.h"

namespace pando::node {

// A node id as the logs and the status show it: 16 hex digits.
inline std::string NodeHex(proto::NodeId id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

// Runs jobs off the loop's thread: with one thread, in order (waiting for the store's
// futures); the names threads call the registry, whose backends may block on the network.
class Node::Waiter {
 public:
  explicit Waiter(size_t threads = 1) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  // Runs the jobs queued, then joins.
  ~Waiter() {
    {
      MutexLock lock(&mu_);
      done_ = true;
    }
    cv_.SignalAll();
    for (std::thread& t : threads_) t.join();
  }
  void Add(std::function<void()> job) { (void)TryAdd(std::move(job), SIZE_MAX); }
  // Queues job unless `jobs_max` jobs wait already.
  bool TryAdd(std::function<void()> job, size_t jobs_max) {
    {
      MutexLock lock(&mu_);
      if (jobs_.size() >= jobs_max) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.Signal();
    return true;
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> job;
      {
        MutexLock lock(&mu_);
        while (!done_ && jobs_.empty()) cv_.Wait(&mu_);
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  bool done_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// What the core borrows on each call: the store's feed heads and signature verification.
class Node::CoreHost final : public proto::NodeCoreHost {
 public:
  explicit CoreHost(Node* node) : n_(node) {}
  Result<std::optional<FeedHead>> StoredHead(const PublicKey& author, uint32_t group) override {
    return n_->store_->Head(author, n_->core_->group_name(group));
  }
  Status Verify(const Entry& entry) override { return VerifyEntrySignature(entry); }

 private:
  Node* n_;
};

}  // namespace pando::node
