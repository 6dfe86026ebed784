#include "proto/node_core.h"

#include <algorithm>

#include "core/error_codes.h"

namespace pando::proto {

// What the Replica borrows during one NodeCore call.
class NodeCore::ReplicaHostImpl final : public ReplicaHost {
 public:
  ReplicaHostImpl(NodeCore* core, TimeMs now, NodeCoreHost* host, NodeOutbox* out)
      : core_(core), now_(now), host_(host), out_(out) {
    if (core->arriving_.size() > 8) {
      index_.reserve(core->arriving_.size());
      for (size_t i = 0; i < core->arriving_.size(); ++i) {
        index_.emplace(core->arriving_[i].entry->id(), i);
      }
    }
  }
  const ReplicaConfig& config() const override { return core_->config_; }
  std::optional<uint32_t> EntryBytes(uint32_t group, const Hash32& id) override {
    return core_->SizeOf(group, id);
  }
  std::vector<ReconItem> Items(uint32_t group) override { return core_->groups_[group].items; }
  std::optional<uint32_t> Accept(uint32_t group, const Hash32& id, NodeId from) override {
    const ArrivingEntry* a = Find(id);
    if (a == nullptr) return std::nullopt;
    auto admitted = core_->Admit(now_, group, *a, from, *host_, *out_);
    if (!admitted.ok()) {
      if (!out_->violation) out_->violation = admitted.error();
      return std::nullopt;
    }
    return *admitted;
  }
  SyncSession* FindSession(NodeId peer, uint32_t group) override {
    auto it = core_->sessions_.find({peer, group});
    return it == core_->sessions_.end() ? nullptr : it->second.get();
  }
  SyncSession& SetSession(NodeId peer, uint32_t group,
                          std::unique_ptr<SyncSession> session) override {
    auto& slot = core_->sessions_[{peer, group}];
    slot = std::move(session);
    return *slot;
  }
  void EraseSession(NodeId peer, uint32_t group) override { core_->sessions_.erase({peer, group}); }

 private:
  const ArrivingEntry* Find(const Hash32& id) const {
    if (!index_.empty()) {
      auto it = index_.find(id);
      return it == index_.end() ? nullptr : &core_->arriving_[it->second];
    }
    for (const ArrivingEntry& a : core_->arriving_) {
      if (a.entry->id() == id) return &a;
    }
    return nullptr;
  }

  NodeCore* core_;
  TimeMs now_;
  NodeCoreHost* host_;
  NodeOutbox* out_;
  std::unordered_map<Hash32, size_t, HashOf32> index_;
};

NodeCore::NodeCore(NodeId self, std::vector<std::string> groups, const ReplicaConfig& config,
                   const NodeLimits& limits, uint64_t seed)
    : limits_(limits),
      config_(config),
      replica_(self),
      quotas_(limits.quota),
      scores_(limits.scores),
      rng_(seed) {
  replica_.Reserve(groups.size());
  for (std::string& name : groups) {
    const uint32_t k = static_cast<uint32_t>(groups_.size());
    by_name_.emplace(name, k);
    groups_.push_back(Group{std::move(name), {}, {}});
    replica_.AddGroup(k, config_, rng_.Next());
  }
  if (limits_.scores.enabled) replica_.SetPreference(&scores_);
}

void NodeCore::LoadHeld(uint32_t g, std::vector<ReconItem> items, std::vector<uint32_t> sizes) {
  Group& group = groups_[g];
  group.sizes.reserve(group.sizes.size() + items.size());
  for (size_t i = 0; i < items.size(); ++i) group.sizes.emplace(items[i].id, sizes[i]);
  if (group.items.empty()) {
    group.items = std::move(items);
  } else {
    group.items.insert(group.items.end(), items.begin(), items.end());
  }
}

void NodeCore::Start(TimeMs now, NodeId contact, NodeCoreHost& host, NodeOutbox& out) {
  ReplicaHostImpl rh(this, now, &host, &out);
  for (uint32_t g = 0; g < groups_.size(); ++g) {
    replica_.Start(now, g, contact, rng_.Next(), rh, out.replica);
  }
  started_ = true;
}

void NodeCore::JoinThrough(TimeMs now, uint32_t g, NodeId contact, NodeCoreHost& host,
                           NodeOutbox& out) {
  if (!started_ || g >= groups_.size()) return;
  ReplicaHostImpl rh(this, now, &host, &out);
  replica_.JoinThrough(now, g, contact, rh, out.replica);
}

void NodeCore::NotCarried(TimeMs now, uint32_t g, NodeId peer, NodeCoreHost& host,
                          NodeOutbox& out) {
  if (!started_ || g >= groups_.size()) return;
  ReplicaHostImpl rh(this, now, &host, &out);
  replica_.NotCarried(now, g, peer, rh, out.replica);
}

void NodeCore::OnMessage(TimeMs now, NodeId from, const GroupMessage& m,
                         std::span<const ArrivingEntry> entries, bool from_broadcast,
                         NodeCoreHost& host, NodeOutbox& out) {
  arriving_ = entries;
  from_broadcast_ = from_broadcast;
  if (const auto* g = std::get_if<Gossip>(&m.body)) {
    scores_.Arrived(from, std::span(&g->id, 1), false);
  } else if (const auto* es = std::get_if<Entries>(&m.body)) {
    scores_.Arrived(from, es->ids, true);
  }
  const size_t sent_before = out.replica.sends.size();
  {
    ReplicaHostImpl rh(this, now, &host, &out);
    replica_.OnMessage(now, from, m, rh, out.replica);
  }
  NotePromises(now, sent_before, out);
  arriving_ = {};
  from_broadcast_ = false;
  RelayReleased(now, from, host, out);
  Expire(now);
}

void NodeCore::RelayReleased(TimeMs now, NodeId from, NodeCoreHost& host, NodeOutbox& out) {
  if (released_.empty() || !started_) {
    released_.clear();
    return;
  }
  std::vector<Released> released = std::move(released_);
  released_.clear();
  ReplicaHostImpl rh(this, now, &host, &out);
  for (const Released& r : released)
    replica_.Relay(now, r.group, r.id, r.size, from, rh, out.replica);
}

void NodeCore::OnTimer(TimeMs now, NodeCoreHost& host, NodeOutbox& out) {
  ReplicaHostImpl rh(this, now, &host, &out);
  const size_t sent_before = out.replica.sends.size();
  replica_.OnTimer(now, rh, out.replica);
  NotePromises(now, sent_before, out);
  Expire(now);
  scores_.Review(now, out.verdicts);
  reviewed_at_ = now;
}

void NodeCore::NotePromises(TimeMs now, size_t from_send, const NodeOutbox& out) {
  if (!limits_.scores.enabled) return;
  for (size_t i = from_send; i < out.replica.sends.size(); ++i) {
    const auto& [to, m] = out.replica.sends[i];
    if (const auto* graft = std::get_if<Graft>(&m.body); graft != nullptr && !graft->link_only) {
      scores_.Promised(to, graft->id, now);
    } else if (const auto* want = std::get_if<Want>(&m.body);
               want != nullptr && !want->ids.empty()) {
      // An empty WANT only ends a reconciliation session: nothing is owed.
      scores_.Asked(to, now, want->ids.size());
    }
  }
}

TimeMs NodeCore::NextTimerAt() const {
  const TimeMs replica = replica_.NextTimerAt();
  if (!limits_.scores.enabled || scores_.size() == 0) return replica;
  return std::min(replica, reviewed_at_ + limits_.scores.review_ms);
}

void NodeCore::OnPeerDown(TimeMs now, NodeId peer, NodeCoreHost& host, NodeOutbox& out) {
  proof_peers_.erase(peer);
  if (!started_) return;
  ReplicaHostImpl rh(this, now, &host, &out);
  replica_.OnPeerDown(now, peer, rh, out.replica);
}

bool NodeCore::AddLocal(TimeMs now, const Entry& e, NodeCoreHost& host, NodeOutbox& out) {
  auto g = GroupOf(e.group());
  if (!g || groups_[*g].sizes.contains(e.id()) || IsForked(e.author())) return false;
  Hold(*g, e, out);
  heads_[FeedKey{e.author(), *g}] = FeedHead{e.seq(), e.id(), e.timestamp_ms()};
  ++counters_.entries_posted;
  DropWaiting(e.id());
  Release(e.id(), host, out);
  if (started_) {
    ReplicaHostImpl rh(this, now, &host, &out);
    replica_.Post(now, *g, e.id(), static_cast<uint32_t>(e.bytes().size()), rh, out.replica);
  }
  RelayReleased(now, kNoNode, host, out);
  return true;
}

void NodeCore::LoadForked(std::span<const PublicKey> authors) {
  for (const PublicKey& a : authors) {
    if (forked_.size() >= limits_.forked_authors_max) break;
    forked_.insert(a);
  }
}

NodeCore::ProofPeer& NodeCore::ProofPeerOf(NodeId peer, TimeMs now) {
  auto it = proof_peers_.find(peer);
  if (it == proof_peers_.end()) {
    it = proof_peers_
             .emplace(
                 peer,
                 ProofPeer{TokenBucket(limits_.proofs_per_s_max, limits_.proofs_burst, now), {}})
             .first;
  }
  return it->second;
}

uint8_t NodeCore::PeerKnows(TimeMs now, NodeId peer, const PublicKey& author, uint8_t how) {
  ProofPeer& p = ProofPeerOf(peer, now);
  // Bounded: forgetting only means a proof may go to the peer once more, or a repeat from it
  // goes unnoticed.
  if (p.knows.size() >= limits_.peer_known_proofs_max) p.knows.clear();
  uint8_t& known = p.knows[author];
  const uint8_t before = known;
  known |= how;
  return before;
}

void NodeCore::SendProof(TimeMs now, NodeId peer, const PublicKey& author, NodeOutbox& out) {
  if (peer == kNoNode || PeerKnows(now, peer, author, kProofToPeer) != 0) return;
  out.proof_sends.emplace_back(peer, author);
  ++counters_.proofs_sent;
}

bool NodeCore::CutOff(const PublicKey& author, NodeOutbox& out) {
  if (forked_.size() >= limits_.forked_authors_max || !forked_.insert(author).second) return false;
  out.now_forked.push_back(author);
  // Its entries waiting for a predecessor will never be admitted now.
  std::vector<Hash32> drop;
  for (const auto& [id, w] : waiting_) {
    if (w.entry.author() == author) drop.push_back(id);
  }
  for (const Hash32& id : drop) DropWaiting(id);
  return true;
}

void NodeCore::OnForkProof(TimeMs now, NodeId from, const ForkProof& proof, NodeCoreHost& host,
                           NodeOutbox& out) {
  const PublicKey author = proof.author();
  if (from != kNoNode) {
    ProofPeer& p = ProofPeerOf(from, now);
    if (!p.bucket.Take(1, now)) {
      out.violation =
          Error{codes::kFlood, "The peer sent more than " +
                                   std::to_string(static_cast<uint64_t>(limits_.proofs_per_s_max)) +
                                   " fork proofs per second."};
      return;
    }
    if (PeerKnows(now, from, author, kProofFromPeer) & kProofFromPeer) {
      out.violation = Error{codes::kProtocol, "The peer sent the fork proof of author " +
                                                  AuthorId(author) + " twice."};
      return;
    }
    if (IsForked(author)) {
      ++counters_.proofs_duplicate;
      return;
    }
    if (Status s = host.VerifyProof(proof); !s.ok()) {
      out.violation = s.error();
      return;
    }
    ++counters_.proofs_received;
  }
  if (!CutOff(author, out)) return;
  for (NodeId peer : replica_.Connections()) {
    if (peer != from) SendProof(now, peer, author, out);
  }
}

void NodeCore::Forget(std::span<const std::pair<Hash32, uint32_t>> ids,
                      std::span<const std::pair<PublicKey, uint32_t>> feeds) {
  std::unordered_set<Hash32, HashOf32> gone;
  for (const auto& [id, g] : ids) {
    if (groups_[g].sizes.erase(id) > 0) gone.insert(id);
  }
  // The store knows these feeds better than the core's guess.
  for (const auto& [author, g] : feeds) heads_.erase(FeedKey{author, g});
  if (gone.empty()) return;
  for (Group& g : groups_) {
    std::erase_if(g.items, [&](const ReconItem& item) { return gone.contains(item.id); });
  }
}

std::optional<uint32_t> NodeCore::GroupOf(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

Status NodeCore::ChargeQuota(TimeMs now, const Entry& e) {
  const std::optional<uint32_t> g = GroupOf(e.group());
  if (!g) {
    return Error{codes::kInvalidGroup,
                 "This node does not carry group '" + std::string(e.group()) + "'."};
  }
  Status s = quotas_.Charge(now, e, *g);
  if (!s.ok()) ++counters_.quota_dropped;
  return s;
}

bool NodeCore::HasEntry(const Hash32& id) const {
  for (const Group& g : groups_) {
    if (g.sizes.contains(id)) return true;
  }
  return false;
}

std::optional<uint32_t> NodeCore::SizeOf(uint32_t g, const Hash32& id) const {
  const Group& group = groups_[g];
  auto it = group.sizes.find(id);
  if (it == group.sizes.end()) return std::nullopt;
  return it->second;
}

FeedHead* NodeCore::HeadOf(const FeedKey& feed, NodeCoreHost& host) {
  auto it = heads_.find(feed);
  if (it != heads_.end()) return &it->second;
  auto head = host.StoredHead(feed.author, feed.group);
  if (!head.ok()) return nullptr;
  return &heads_.emplace(feed, head->value_or(FeedHead{})).first->second;
}

void NodeCore::Hold(uint32_t g, const Entry& e, NodeOutbox& out) {
  Group& group = groups_[g];
  group.items.push_back(ReconItem{static_cast<uint64_t>(e.timestamp_ms()), e.id()});
  group.sizes.emplace(e.id(), static_cast<uint32_t>(e.bytes().size()));
  out.now_held.push_back(e.id());
}

Result<std::optional<uint32_t>> NodeCore::Admit(TimeMs now, uint32_t g, const ArrivingEntry& a,
                                                NodeId from, NodeCoreHost& host, NodeOutbox& out) {
  const Entry& e = *a.entry;
  Group& group = groups_[g];
  if (e.group() != group.name) {
    return Error{codes::kProtocol, "An entry of group '" + std::string(e.group()) +
                                       "' came in a message of group '" + group.name + "'."};
  }
  if (IsForked(e.author())) {
    ++counters_.forked_refused;
    SendProof(now, from, e.author(), out);  // The sender may not know yet.
    return std::optional<uint32_t>();
  }
  if (group.sizes.contains(e.id()) || waiting_.contains(e.id())) {
    ++counters_.duplicates;
    return std::optional<uint32_t>();
  }
  if (Status s =
          CheckArrival(e, now, a.authenticated, [&host](const Entry& x) { return host.Verify(x); });
      !s.ok()) {
    if (s.error().code != codes::kFutureTimestamp) return s.error();
    ++counters_.future_dropped;  // Reconciliation offers it again later.
    return std::optional<uint32_t>();
  }
  const FeedKey feed{e.author(), g};
  FeedHead* head = HeadOf(feed, host);
  if (head == nullptr) return std::optional<uint32_t>();
  if (e.seq() <= head->seq) {
    // Another entry holds this position: the store keeps the fork proof.
    out.to_store.emplace_back(e, g);
    return std::optional<uint32_t>();
  }
  if (!quotas_.Charge(now, e, g).ok()) {
    ++counters_.quota_dropped;  // Reconciliation offers it again later.
    // Pushed to this node unasked, it counts against the peer; entries the node asked for
    // (reconciliation, WANT) do not.
    // A GOSSIP this node asked for (GRAFT) was no push: the entry was announced, and this
    // node, not knowing it would be over quota, asked. Nor is an entry older than
    // fresh_push_ms: a relay that fills a gap pushes a feed's backlog at once, which a node
    // behind on that feed refuses; a flood is pushed as it is written.
    if (from_broadcast_ && !scores_.Answered(from, e.id()) &&
        now - e.timestamp_ms() <= limits_.scores.fresh_push_ms) {
      const bool young = e.seq() <= limits_.quota.young_seq_max;
      scores_.RelayedOverQuota(
          from, FeedKeyHash{}(feed),
          young ? limits_.quota.young_entries_per_s : limits_.quota.entries_per_s,
          young ? limits_.quota.young_entries_burst : limits_.quota.entries_burst, now);
    }
    return std::optional<uint32_t>();
  }
  if (e.seq() > head->seq + 1) {
    Wait(now, g, e);
    if (from_broadcast_ && !group.sizes.contains(e.prev()) && !waiting_.contains(e.prev()) &&
        asked_.insert(e.prev()).second) {
      if (asked_.size() > limits_.asked_max) asked_.clear();
      out.replica.sends.emplace_back(from, GroupMessage{g, Want{{e.prev()}}});
      ++counters_.gap_wants;
    }
    // Not held yet: nothing to relay or offer until the gap fills.
    return std::optional<uint32_t>();
  }
  if (!CheckSuccessor(*head, e).ok()) {
    out.to_store.emplace_back(e, g);  // The store decides: a fork proof, or a refusal.
    return std::optional<uint32_t>();
  }
  Hold(g, e, out);
  out.to_store.emplace_back(e, g);
  *head = FeedHead{e.seq(), e.id(), e.timestamp_ms()};
  ++counters_.entries_received;
  scores_.FirstDelivery(from);
  Release(e.id(), host, out);
  return std::optional<uint32_t>(static_cast<uint32_t>(e.bytes().size()));
}

void NodeCore::Wait(TimeMs now, uint32_t g, const Entry& e) {
  const uint64_t size = e.bytes().size();
  const FeedKey feed{e.author(), g};
  uint64_t& feed_bytes = waiting_feed_bytes_[feed];
  if (feed_bytes + size > limits_.held_feed_bytes_max) {
    // Over its feed's share: one author cannot fill the waiting room.
    ++counters_.held_dropped;
    if (feed_bytes == 0) waiting_feed_bytes_.erase(feed);
    return;
  }
  feed_bytes += size;
  waiting_bytes_ += size;
  waiting_by_prev_.emplace(e.prev(), e.id());
  waiting_order_.emplace_back(now, e.id());
  waiting_.emplace(e.id(), Waiting{e, g, now});
  Expire(now);
}

void NodeCore::DropWaiting(const Hash32& id) {
  auto it = waiting_.find(id);
  if (it == waiting_.end()) return;
  const Waiting& w = it->second;
  const uint64_t size = w.entry.bytes().size();
  waiting_bytes_ -= size;
  const FeedKey feed{w.entry.author(), w.group};
  auto fb = waiting_feed_bytes_.find(feed);
  if (fb != waiting_feed_bytes_.end() && (fb->second -= size) == 0) waiting_feed_bytes_.erase(fb);
  auto [begin, end] = waiting_by_prev_.equal_range(w.entry.prev());
  for (auto p = begin; p != end; ++p) {
    if (p->second == id) {
      waiting_by_prev_.erase(p);
      break;
    }
  }
  waiting_.erase(it);
}

void NodeCore::Expire(TimeMs now) {
  while (!waiting_order_.empty()) {
    const auto& [since, id] = waiting_order_.front();
    if (!waiting_.contains(id)) {
      waiting_order_.pop_front();  // Released or dropped already.
      continue;
    }
    const bool over = waiting_.size() > limits_.held_entries_max ||
                      waiting_bytes_ > limits_.held_bytes_max || now - since > limits_.held_ms_max;
    if (!over) break;
    DropWaiting(id);
    ++counters_.held_dropped;
    waiting_order_.pop_front();
  }
}

void NodeCore::Release(const Hash32& first, NodeCoreHost& host, NodeOutbox& out) {
  if (waiting_.empty()) return;
  std::vector<Hash32> stack = {first};
  while (!stack.empty()) {
    const Hash32 id = stack.back();
    stack.pop_back();
    auto [begin, end] = waiting_by_prev_.equal_range(id);
    std::vector<Hash32> ready;
    for (auto it = begin; it != end; ++it) ready.push_back(it->second);
    for (const Hash32& r : ready) {
      auto w = waiting_.find(r);
      if (w == waiting_.end()) continue;
      const Entry entry = w->second.entry;
      const uint32_t g = w->second.group;
      DropWaiting(r);
      FeedHead* head = HeadOf(FeedKey{entry.author(), g}, host);
      out.to_store.emplace_back(entry, g);
      if (head != nullptr && entry.seq() > head->seq && CheckSuccessor(*head, entry).ok()) {
        *head = FeedHead{entry.seq(), entry.id(), entry.timestamp_ms()};
        if (!groups_[g].sizes.contains(entry.id())) {
          Hold(g, entry, out);
          ++counters_.entries_received;
          released_.push_back(Released{g, entry.id(), static_cast<uint32_t>(entry.bytes().size())});
        }
        stack.push_back(entry.id());
      }
    }
  }
}

}  // namespace pando::proto
