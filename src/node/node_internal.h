// Node's helpers shared by node.cc and node_entries.cc: the waiter thread and the
// ReplicaHost. Not part of the node's interface.
#pragma once

#include <map>

#include "node/node.h"

namespace pando::node {

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
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void Add(std::function<void()> job) { (void)TryAdd(std::move(job), SIZE_MAX); }
  // Queues job unless `jobs_max` jobs wait already.
  bool TryAdd(std::function<void()> job, size_t jobs_max) {
    {
      std::lock_guard lock(mu_);
      if (jobs_.size() >= jobs_max) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

// What the Replica borrows on each call.
class Node::Host final : public proto::ReplicaHost {
 public:
  explicit Host(Node* node) : n_(node) {}
  const proto::ReplicaConfig& config() const override { return n_->replica_config_; }
  std::optional<uint32_t> EntryBytes(uint32_t group, const Hash32& id) override {
    const Group& g = n_->groups_[group];
    auto it = g.sizes.find(id);
    if (it == g.sizes.end()) return std::nullopt;
    return it->second;
  }
  std::vector<proto::ReconItem> Items(uint32_t group) override { return n_->groups_[group].items; }
  std::optional<uint32_t> Accept(uint32_t group, const Hash32& id, proto::NodeId from) override {
    auto it = n_->arriving_.find(id);
    if (it == n_->arriving_.end()) return std::nullopt;
    auto admitted = n_->Admit(n_->groups_[group], it->second.entry, it->second.authenticated, from);
    if (!admitted.ok()) {
      if (!n_->violation_) n_->violation_ = admitted.error();
      return std::nullopt;
    }
    return *admitted;
  }
  proto::SyncSession* FindSession(proto::NodeId peer, uint32_t group) override {
    auto it = sessions_.find({peer, group});
    return it == sessions_.end() ? nullptr : it->second.get();
  }
  proto::SyncSession& SetSession(proto::NodeId peer, uint32_t group,
                                 std::unique_ptr<proto::SyncSession> session) override {
    auto& slot = sessions_[{peer, group}];
    slot = std::move(session);
    return *slot;
  }
  void EraseSession(proto::NodeId peer, uint32_t group) override { sessions_.erase({peer, group}); }

 private:
  Node* n_;
  std::map<std::pair<proto::NodeId, uint32_t>, std::unique_ptr<proto::SyncSession>> sessions_;
};

}  // namespace pando::node
