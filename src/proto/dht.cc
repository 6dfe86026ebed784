#include "proto/dht.h"

#include <algorithm>
#include <bit>

#include "core/check.h"

namespace pando::proto {

bool DhtAccepted(const DhtRecord& record, TimeMs now, DhtHost& host) {
  return DhtRecordFresh(record, host.UnixMs(now)).ok() && host.VerifyRecord(record).ok();
}

Dht::Dht(NodeId self, const DhtConfig& config) : self_(self), config_(config) {
  CHECK(config_.k >= 1 && config_.alpha >= 1 && config_.paths >= 1 && config_.paths <= 255);
}

void Dht::Start(TimeMs now, std::span<const NodeId> contacts, DhtHost& host, DhtOutbox& out) {
  point_ = host.PointOf(self_);
  for (NodeId c : contacts) Observe(now, c, host);
  join_lookup_ = Lookup(now, DhtKeyAt(point_), 0, host, out);
  SetTimer(out);
}

void Dht::AddContact(TimeMs now, NodeId contact, DhtHost& host, DhtOutbox& out) {
  Observe(now, contact, host);
  join_lookup_ = Lookup(now, DhtKeyAt(point_), 0, host, out);
  SetTimer(out);
}

int Dht::BucketOf(uint64_t point) const {
  const uint64_t d = point ^ point_;
  return d == 0 ? -1 : std::countl_zero(d);
}

void Dht::Observe(TimeMs now, NodeId node, const DhtHost& host) {
  if (node == self_ || node == kNoNode) return;
  const int b = BucketOf(host.PointOf(node));
  if (b < 0) return;
  if (buckets_.size() <= static_cast<size_t>(b)) buckets_.resize(static_cast<size_t>(b) + 1);
  std::vector<Contact>& bucket = buckets_[static_cast<size_t>(b)];
  const auto seen = static_cast<uint32_t>(std::max<TimeMs>(0, now / 1000));
  auto it =
      std::find_if(bucket.begin(), bucket.end(), [node](const Contact& c) { return c.id == node; });
  if (it != bucket.end()) {
    it->seen_s = seen;
    it->fails = 0;
    std::rotate(it, it + 1, bucket.end());  // Most recently seen last.
    return;
  }
  auto stale = [this](const Contact& c) { return c.fails >= config_.fails_to_drop; };
  const uint64_t range = config_.range_bucket_max > 0 ? host.RangeOf(node) : 0;
  if (range != 0) {
    size_t same = 0;
    auto stale_same = bucket.end();
    for (auto c = bucket.begin(); c != bucket.end(); ++c) {
      if (host.RangeOf(c->id) != range) continue;
      ++same;
      if (stale(*c)) stale_same = c;
    }
    if (same >= config_.range_bucket_max) {
      if (stale_same == bucket.end()) return;  // Its range holds its share already.
      bucket.erase(stale_same);
      bucket.push_back(Contact{node, seen, 0});
      return;
    }
  }
  if (bucket.size() < config_.k) {
    bucket.push_back(Contact{node, seen, 0});
    return;
  }
  auto s = std::find_if(bucket.begin(), bucket.end(), stale);
  if (s == bucket.end()) return;  // Live contacts keep their slots.
  bucket.erase(s);
  bucket.push_back(Contact{node, seen, 0});
}

void Dht::Failed(NodeId node) {
  for (std::vector<Contact>& bucket : buckets_) {
    for (Contact& c : bucket) {
      if (c.id == node) {
        c.fails = static_cast<uint8_t>(std::min<int>(c.fails + 1, 255));
        return;
      }
    }
  }
}

size_t Dht::contacts() const {
  size_t n = 0;
  for (const auto& b : buckets_) n += b.size();
  return n;
}

std::vector<NodeId> Dht::Closest(uint64_t point, size_t n, NodeId except,
                                 const DhtHost& host) const {
  // Buckets in order of distance to `point`, which shares p leading bits with this node:
  // bucket p (its contacts share bit p with the point too), then buckets deeper than p
  // together, then p - 1, p - 2, ..., 0. Every distance in one group is below every
  // distance in the next, so only the groups needed are sorted.
  const uint64_t d = point ^ point_;
  const size_t p = d == 0 ? 64 : static_cast<size_t>(std::countl_zero(d));
  std::vector<NodeId> ids;
  std::vector<std::pair<uint64_t, NodeId>> group;
  auto add_bucket = [&](size_t b) {
    for (const Contact& c : buckets_[b]) {
      if (c.id != except && c.fails < config_.fails_to_drop) {
        group.emplace_back(host.PointOf(c.id) ^ point, c.id);
      }
    }
  };
  auto flush = [&] {
    std::sort(group.begin(), group.end());
    for (const auto& [dist, id] : group) {
      if (ids.size() == n) break;
      ids.push_back(id);
    }
    group.clear();
  };
  if (p < buckets_.size()) {
    add_bucket(p);
    flush();
  }
  for (size_t b = p + 1; b < buckets_.size() && ids.size() < n; ++b) add_bucket(b);
  flush();
  for (size_t b = std::min(p, buckets_.size()); b-- > 0 && ids.size() < n;) {
    add_bucket(b);
    flush();
  }
  return ids;
}

std::vector<DhtRecordRef> Dht::RecordsOf(uint8_t kind, const Hash32& key) const {
  auto it = records_.find(KindKey{kind, key});
  return it == records_.end() ? std::vector<DhtRecordRef>{} : it->second;
}

void Dht::OnMessage(TimeMs now, NodeId from, const DhtMessage& m, DhtHost& host, DhtOutbox& out) {
  if (from == self_ || from == kNoNode) return;
  const bool request = std::holds_alternative<DhtFind>(m) || std::holds_alternative<DhtStore>(m);
  if (request && !AllowRequest(now, from)) {
    if (const auto* store = std::get_if<DhtStore>(&m)) {
      out.sends.emplace_back(from, DhtStored{store->rpc, DhtStoreCode::kRate});
    }
    return;
  }
  Observe(now, from, host);  // The transport proved who sent it.
  if (const auto* find = std::get_if<DhtFind>(&m)) {
    Answer(now, from, *find, host, out);
  } else if (const auto* found = std::get_if<DhtFound>(&m)) {
    Take(now, from, *found, host, out);
  } else if (const auto* store = std::get_if<DhtStore>(&m)) {
    TakeStore(now, from, *store, host, out);
  } else if (const auto* stored = std::get_if<DhtStored>(&m)) {
    auto it = requests_.find(stored->rpc);
    if (it == requests_.end() || it->second.peer != from || it->second.lookup != 0) {
      ++counters_.answers_unsolicited;
    } else {
      requests_.erase(it);
      if (stored->code == DhtStoreCode::kStored) ++out.stored_acks;
    }
  }
  SetTimer(out);
}

bool Dht::AllowRequest(TimeMs now, NodeId peer) {
  if (Allow(now, peer)) return true;
  ++counters_.requests_over_rate;
  return false;
}

bool Dht::Allow(TimeMs now, NodeId peer) {
  if (rates_.size() >= config_.rate_peers_soft_max && !rates_.contains(peer)) {
    std::erase_if(rates_, [now](const auto& r) { return r.second.Full(now); });
  }
  auto it = rates_.find(peer);
  if (it == rates_.end()) {
    it = rates_
             .emplace(peer,
                      TokenBucket(config_.peer_requests_per_s, config_.peer_requests_burst, now))
             .first;
  }
  return it->second.Take(1, now);
}

void Dht::Answer(TimeMs now, NodeId from, const DhtFind& m, DhtHost& host, DhtOutbox& out) {
  ++counters_.finds_answered;
  DhtFound f;
  f.rpc = m.rpc;
  f.nodes = Closest(DhtPoint(m.target), std::min(config_.k, kDhtNodesMax), from, host);
  if (m.kind != 0) {
    const int64_t unix_ms = host.UnixMs(now);
    for (const DhtRecordRef& r : RecordsOf(m.kind, m.target)) {
      if (f.records.size() >= std::min(config_.records_per_answer, kDhtRecordsMax)) break;
      if (r->expires_ms() > unix_ms) f.records.push_back(r);
    }
  }
  out.sends.emplace_back(from, std::move(f));
}

uint64_t Dht::Lookup(TimeMs now, const Hash32& target, uint8_t kind, DhtHost& host,
                     DhtOutbox& out) {
  return StartLookup(now, target, kind, nullptr, host, out);
}

uint64_t Dht::Publish(TimeMs now, DhtRecordRef record, DhtHost& host, DhtOutbox& out) {
  CHECK(record != nullptr);
  const Hash32 key = record->key;
  return StartLookup(now, key, 0, std::move(record), host, out);
}

uint64_t Dht::StartLookup(TimeMs now, const Hash32& target, uint8_t kind, DhtRecordRef publishing,
                          DhtHost& host, DhtOutbox& out, size_t paths) {
  if (lookups_.size() >= config_.lookups_max) return 0;
  const uint64_t handle = next_handle_++;
  LookupState& l = lookups_[handle];
  l.paths = paths == 0 ? config_.paths : paths;
  l.handle = handle;
  l.target = target;
  l.point = DhtPoint(target);
  l.kind = kind;
  l.started_ms = now;
  l.publishing = std::move(publishing);
  if (const int b = BucketOf(l.point); b >= 0) {
    if (bucket_looked_at_.size() <= static_cast<size_t>(b)) {
      bucket_looked_at_.resize(static_cast<size_t>(b) + 1, kNever);
    }
    bucket_looked_at_[static_cast<size_t>(b)] = now;
  }
  const std::vector<NodeId> seeds = Closest(l.point, config_.k * l.paths, kNoNode, host);
  for (size_t i = 0; i < seeds.size(); ++i) {
    AddCandidate(l, seeds[i], static_cast<uint8_t>(i % l.paths), host);
  }
  // Records this node holds of the key count in the result, but the lookup still asks
  // the network: a node holds its own records too, and the asker wants others'.
  if (kind != 0) l.records = RecordsOf(kind, target);
  l.local_records = l.records.size();
  Step(now, l, host, out);
  SetTimer(out);
  return handle;
}

void Dht::AddCandidate(LookupState& l, NodeId id, uint8_t path, const DhtHost& host) {
  if (id == self_ || id == kNoNode) return;
  for (const Candidate& c : l.candidates) {
    if (c.id == id) return;  // It stays with the path that heard of it first.
  }
  const Candidate c{id, host.PointOf(id) ^ l.point, path, kNew};
  auto pos = std::lower_bound(
      l.candidates.begin(), l.candidates.end(), c, [](const Candidate& a, const Candidate& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
      });
  l.candidates.insert(pos, c);
  // Beyond a few k per path, the farthest never matter.
  const size_t cap = 4 * config_.k * l.paths;
  if (l.candidates.size() > cap) {
    auto drop = std::find_if(l.candidates.rbegin(), l.candidates.rend(),
                             [](const Candidate& x) { return x.state == kNew; });
    if (drop != l.candidates.rend()) l.candidates.erase(std::next(drop).base());
  }
}

bool Dht::PathDone(const LookupState& l, uint8_t path) const {
  size_t seen = 0;
  for (const Candidate& c : l.candidates) {
    if (c.path != path || c.state == kFailed) continue;
    if (c.state != kAnswered) return false;
    if (++seen == config_.k) break;
  }
  return true;
}

void Dht::Step(TimeMs now, LookupState& l, DhtHost& host, DhtOutbox& out) {
  if (l.kind != 0 && l.records.size() > l.local_records) return Finish(now, l, host, out);
  bool all_done = true;
  for (size_t path = 0; path < l.paths; ++path) {
    const auto p = static_cast<uint8_t>(path);
    size_t in_flight = 0, seen = 0;
    const Candidate* nearest = nullptr;
    for (const Candidate& c : l.candidates) {
      if (c.path != p) continue;
      if (c.state == kAsked) ++in_flight;
      if (nearest == nullptr && c.state != kFailed) nearest = &c;
    }
    // Kademlia's last round: once the nearest candidate has answered, nothing closer is
    // likely to turn up, and the rest of the k nearest are asked all at once.
    const size_t limit =
        nearest != nullptr && nearest->state == kAnswered ? config_.k : config_.alpha;
    for (Candidate& c : l.candidates) {
      if (c.path != p || c.state == kFailed) continue;
      if (++seen > config_.k) break;
      if (c.state != kNew || in_flight >= limit) continue;
      c.state = kAsked;
      ++in_flight;
      ++l.requests;
      const uint32_t rpc = next_rpc_++;
      requests_[rpc] = Request{l.handle, c.id, now + config_.request_timeout_ms};
      out.sends.emplace_back(c.id, DhtFind{rpc, l.target, l.kind});
    }
    if (!PathDone(l, p)) all_done = false;
  }
  if (all_done) Finish(now, l, host, out);
}

void Dht::Finish(TimeMs now, LookupState& l, DhtHost& host, DhtOutbox& out) {
  DhtLookupResult r;
  r.handle = l.handle;
  r.target = l.target;
  r.kind = l.kind;
  r.records = std::move(l.records);
  r.started_ms = l.started_ms;
  r.finished_ms = now;
  r.requests = l.requests;
  r.failures = l.failures;
  for (const Candidate& c : l.candidates) {
    if (c.state == kAnswered && r.closest.size() < config_.k) r.closest.push_back(c.id);
  }
  if (l.publishing != nullptr) {
    r.publish = true;
    // When this node is itself among the k nearest, it keeps the record and the farthest
    // of the others is not one of the k (it would refuse: STORED(far)).
    const uint64_t mine = point_ ^ l.point;
    const bool near =
        r.closest.size() < config_.k || (host.PointOf(r.closest.back()) ^ l.point) > mine;
    if (near) {
      r.kept_here = true;
      if (r.closest.size() == config_.k) r.closest.pop_back();
      Keep(now, l.publishing, host);
    }
    for (NodeId to : r.closest) {
      const uint32_t rpc = next_rpc_++;
      requests_[rpc] = Request{0, to, now + config_.request_timeout_ms};
      out.sends.emplace_back(to, DhtStore{rpc, l.publishing});
    }
  }
  const uint64_t handle = l.handle;
  std::erase_if(requests_, [handle](const auto& q) { return q.second.lookup == handle; });
  lookups_.erase(handle);  // `l` is gone from here on.
  out.done.push_back(std::move(r));
  if (handle == join_lookup_) {
    join_lookup_ = 0;
    if (config_.refresh_at_join) Refresh(now, true, host, out);
    if (config_.refresh_ms > 0 && refresh_at_ == kNever) refresh_at_ = now + config_.refresh_ms;
  }
}

void Dht::Take(TimeMs now, NodeId from, const DhtFound& m, DhtHost& host, DhtOutbox& out) {
  auto it = requests_.find(m.rpc);
  if (it == requests_.end() || it->second.peer != from || it->second.lookup == 0) {
    ++counters_.answers_unsolicited;
    return;
  }
  const uint64_t handle = it->second.lookup;
  requests_.erase(it);
  auto li = lookups_.find(handle);
  if (li == lookups_.end()) return;
  LookupState& l = li->second;
  uint8_t path = 0;
  for (Candidate& c : l.candidates) {
    if (c.id == from) {
      c.state = kAnswered;
      path = c.path;
      break;
    }
  }
  if (l.kind != 0) {
    for (const DhtRecordRef& r : m.records) {
      if (static_cast<uint8_t>(r->kind) != l.kind || r->key != l.target) continue;
      if (!DhtAccepted(*r, now, host)) continue;
      const bool dup = std::any_of(l.records.begin(), l.records.end(),
                                   [&r](const DhtRecordRef& x) { return x->bytes == r->bytes; });
      if (!dup) l.records.push_back(r);
    }
  }
  for (NodeId id : m.nodes) AddCandidate(l, id, path, host);
  Step(now, l, host, out);
}

void Dht::TakeStore(TimeMs now, NodeId from, const DhtStore& m, DhtHost& host, DhtOutbox& out) {
  DhtStoreCode code = DhtStoreCode::kInvalid;
  if (m.record == nullptr || !host.MayStore(from, *m.record)) {
    ++counters_.records_refused;
  } else {
    code = Near(m.record->key, host) ? Keep(now, m.record, host) : DhtStoreCode::kFar;
  }
  out.sends.emplace_back(from, DhtStored{m.rpc, code});
}

// Whether this node may be among the k nearest to the key: it knows fewer than k live
// contacts nearer. A node among the true k nearest knows at most k - 1 such, so it never
// refuses a record it should hold; a node far from the key is not filled with records of
// keys that are not its to keep.
bool Dht::Near(const Hash32& key, const DhtHost& host) const {
  const uint64_t point = DhtPoint(key);
  const uint64_t mine = point_ ^ point;
  size_t nearer = 0;
  for (const auto& b : buckets_) {
    for (const Contact& c : b) {
      if (c.fails < config_.fails_to_drop && (host.PointOf(c.id) ^ point) < mine &&
          ++nearer >= config_.k) {
        return false;
      }
    }
  }
  return true;
}

DhtStoreCode Dht::Keep(TimeMs now, const DhtRecordRef& r, DhtHost& host) {
  if (!DhtAccepted(*r, now, host)) {
    ++counters_.records_refused;
    return DhtStoreCode::kInvalid;
  }
  std::vector<DhtRecordRef>& held = records_[KindKey{static_cast<uint8_t>(r->kind), r->key}];
  auto same = std::find_if(held.begin(), held.end(),
                           [&r](const DhtRecordRef& x) { return x->publisher == r->publisher; });
  if (same != held.end()) {
    if (!DhtRecordNewer(*r, **same)) return DhtStoreCode::kStored;  // Has it, or newer.
    *same = r;
  } else {
    if (held.size() >= config_.records_per_key_max || record_count_ >= config_.records_max) {
      if (held.empty()) records_.erase(KindKey{static_cast<uint8_t>(r->kind), r->key});
      ++counters_.records_refused;
      return DhtStoreCode::kFull;
    }
    held.push_back(r);
    ++record_count_;
  }
  std::sort(held.begin(), held.end(),
            [](const DhtRecordRef& a, const DhtRecordRef& b) { return DhtRecordNewer(*a, *b); });
  ++counters_.records_stored;
  if (expire_at_ == kNever) expire_at_ = now + config_.expire_every_ms;
  return DhtStoreCode::kStored;
}

void Dht::Expire(TimeMs now, DhtHost& host) {
  const int64_t unix_ms = host.UnixMs(now);
  for (auto it = records_.begin(); it != records_.end();) {
    const size_t before = it->second.size();
    std::erase_if(it->second,
                  [unix_ms](const DhtRecordRef& r) { return r->expires_ms() <= unix_ms; });
    counters_.records_expired += before - it->second.size();
    record_count_ -= before - it->second.size();
    it = it->second.empty() ? records_.erase(it) : std::next(it);
  }
  expire_at_ = record_count_ == 0 ? kNever : now + config_.expire_every_ms;
}

void Dht::FailRequest(TimeMs now, uint32_t rpc, DhtHost& host, DhtOutbox& out) {
  auto it = requests_.find(rpc);
  if (it == requests_.end()) return;
  const Request q = it->second;
  requests_.erase(it);
  Failed(q.peer);
  if (q.lookup == 0) return;
  auto li = lookups_.find(q.lookup);
  if (li == lookups_.end()) return;
  LookupState& l = li->second;
  ++l.failures;
  for (Candidate& c : l.candidates) {
    if (c.id == q.peer) c.state = kFailed;
  }
  Step(now, l, host, out);
}

void Dht::OnTimer(TimeMs now, DhtHost& host, DhtOutbox& out) {
  std::vector<uint32_t> due;
  for (const auto& [rpc, q] : requests_) {
    if (q.deadline <= now) due.push_back(rpc);
  }
  std::sort(due.begin(), due.end());  // A replayable order.
  for (uint32_t rpc : due) FailRequest(now, rpc, host, out);
  if (expire_at_ != kNever && now >= expire_at_) Expire(now, host);
  if (refresh_at_ != kNever && now >= refresh_at_) {
    refresh_at_ = now + config_.refresh_ms;
    Refresh(now, false, host, out);
  }
  SetTimer(out);
}

void Dht::OnPeerDown(TimeMs now, NodeId peer, DhtHost& host, DhtOutbox& out) {
  std::vector<uint32_t> failed;
  for (const auto& [rpc, q] : requests_) {
    if (q.peer == peer) failed.push_back(rpc);
  }
  std::sort(failed.begin(), failed.end());
  for (uint32_t rpc : failed) FailRequest(now, rpc, host, out);
  SetTimer(out);
}

void Dht::Refresh(TimeMs now, bool all, DhtHost& host, DhtOutbox& out) {
  for (size_t b = 0; b < buckets_.size() && b < 63; ++b) {
    const TimeMs looked = b < bucket_looked_at_.size() ? bucket_looked_at_[b] : kNever;
    if (!all && looked != kNever && looked + config_.refresh_ms > now) continue;
    if (buckets_[b].size() >= config_.k) continue;  // Full: nothing to learn.
    // A point sharing exactly b leading bits with this node's: bit 63 - b flipped, the bits
    // below it drawn from the node's id, the bucket and the time (replayable, no Rng).
    const uint64_t x = Mix64(self_ ^ (b * 0x9e3779b97f4a7c15ULL) ^ static_cast<uint64_t>(now));
    const uint64_t flip = uint64_t{1} << (63 - b);
    const uint64_t low = flip - 1;
    const uint64_t point = ((point_ ^ flip) & ~low) | (x & low);
    // One path: a refresh only wants to meet the nodes there.
    if (StartLookup(now, DhtKeyAt(point), 0, nullptr, host, out, 1) != 0) ++refresh_lookups_;
  }
}

TimeMs Dht::NextTimerAt() const {
  TimeMs at = std::min(expire_at_, refresh_at_);
  for (const auto& [rpc, q] : requests_) at = std::min(at, q.deadline);
  return at;
}

void Dht::SetTimer(DhtOutbox& out) { out.next_timer_at = NextTimerAt(); }

}  // namespace pando::proto
