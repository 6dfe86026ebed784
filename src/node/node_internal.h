// Node's helpers shared by its source files: the waiter thread, the core's host and
// discovery's host. Not part of the node's interface.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <map>

#include "core/mutex.h"
#include "node/node.h"
#include "proto/peer_score.h"

namespace pando::node {

using proto::NodeHex;

// Whether `endpoint` (host:port) names the IP address `ip`; a host name never does. A peer
// may name only an address at the IP it connects from: otherwise any peer could make the
// network dial a host:port of its choosing.
inline bool AtIp(const std::string& endpoint, const std::string& ip) {
  auto ep = ParseEndpoint(endpoint);
  if (!ep.ok()) return false;
  boost::system::error_code e1, e2;
  const auto named = boost::asio::ip::make_address(ep->host, e1);
  const auto actual = boost::asio::ip::make_address(ip, e2);
  return !e1 && !e2 && named == actual;
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

class Node::DiscoveryHost final : public proto::DiscoveryHost {
 public:
  explicit DiscoveryHost(Node* node) : node_(node) {}
  uint64_t PointOf(proto::NodeId node) const override { return node; }
  uint64_t RangeOf(proto::NodeId node) const override {
    const proto::PeerRecord* r = node_->book_.Find(node);
    if (r == nullptr) return 0;
    auto ep = ParseEndpoint(r->address);
    return ep.ok() ? proto::RangeKey(ep->host) : 0;
  }
  int64_t UnixMs(proto::TimeMs now) const override { return now; }  // NowMs is Unix time.
  // A record comes from its publisher, naming the address it connects from (AtIp).
  bool MayStore(proto::NodeId from, const proto::DhtRecord& r) const override {
    if (proto::NodeIdOfKey(r.publisher) != from) return false;
    auto it = node_->peers_.find(from);
    if (it == node_->peers_.end() || !it->second.conn) return false;
    auto remote = ParseEndpoint(it->second.conn->remote());
    return remote.ok() && AtIp(r.address, remote->host);
  }
  std::vector<proto::NodeId> Neighbours() const override {
    return node_->core_->replica().Connections();
  }
  proto::DhtRecordRef SignRecord(proto::DhtKind kind, const Hash32& key, int64_t issued_ms,
                                 uint32_t ttl_s) override {
    return std::make_shared<const proto::DhtRecord>(
        proto::SignDhtRecord(kind, key, *node_->signing_key_, node_->advertise_, issued_ms, ttl_s));
  }

 private:
  Node* node_;
};

}  // namespace pando::node
