#include "proto/discovery.h"

#include <algorithm>

#include "core/check.h"

namespace pando::proto {

Discovery::Discovery(NodeId self, const PublicKey& self_key, std::vector<std::string> groups,
                     const DiscoveryConfig& config)
    : self_(self), self_key_(self_key), config_(config), dht_(self, config.dht) {
  CHECK(config_.publications_per_s > 0 && config_.record_ttl_s >= kDhtTtlMinS &&
        config_.record_ttl_s <= kDhtTtlMaxS);
  for (std::string& name : groups) {
    GroupState g;
    g.key = DhtGroupKey(name);
    g.name = std::move(name);
    groups_.push_back(std::move(g));
  }
}

void Discovery::Start(TimeMs now, std::span<const NodeId> contacts, bool publish,
                      DiscoveryHost& host, DiscoveryOutbox& out) {
  started_ = true;
  publish_ = publish;
  dht_.Start(now, contacts, host, out.dht);
  contacts_at_round_ = std::max<size_t>(1, dht_.contacts());
  if (publish_) {
    for (const GroupState& g : groups_) {
      Schedule(static_cast<uint8_t>(DhtKind::kCarriesGroup), g.key, now);
    }
    for (const PublicKey& author : feeds_) {
      Schedule(static_cast<uint8_t>(DhtKind::kHoldsFeed), DhtFeedKey(author), now);
    }
  }
  PublishDue(now, host, out);
  Collect(now, host, out);
}

void Discovery::AddContact(TimeMs now, NodeId contact, DiscoveryHost& host, DiscoveryOutbox& out) {
  if (!started_) return;
  dht_.AddContact(now, contact, host, out.dht);
  RepublishIfGrown(now);
  PublishDue(now, host, out);
  Collect(now, host, out);
}

void Discovery::OnMessage(TimeMs now, NodeId from, const DhtMessage& m, DiscoveryHost& host,
                          DiscoveryOutbox& out) {
  if (!started_ || from == self_ || from == kNoNode) return;
  if (const auto* f = std::get_if<DhtFlood>(&m)) return OnFlood(now, from, *f, host, out);
  if (const auto* h = std::get_if<DhtFloodHit>(&m)) return OnFloodHit(now, from, *h, host, out);
  dht_.OnMessage(now, from, m, host, out.dht);
  RepublishIfGrown(now);
  PublishDue(now, host, out);
  Collect(now, host, out);
}

void Discovery::OnTimer(TimeMs now, DiscoveryHost& host, DiscoveryOutbox& out) {
  if (!started_) return;
  dht_.OnTimer(now, host, out.dht);
  EndFloods(now, out);
  PublishDue(now, host, out);
  Collect(now, host, out);
}

void Discovery::OnPeerDown(TimeMs now, NodeId peer, DiscoveryHost& host, DiscoveryOutbox& out) {
  if (!started_) return;
  dht_.OnPeerDown(now, peer, host, out.dht);
  Collect(now, host, out);
}

TimeMs Discovery::NextTimerAt() const {
  TimeMs at = dht_.NextTimerAt();
  for (const auto& [q, f] : floods_) at = std::min(at, f.deadline);
  if (first_due_ != kNever) at = std::min(at, std::max(first_due_, next_publication_at_));
  return at;
}

void Discovery::HoldsFeed(TimeMs now, const PublicKey& author) {
  if (feeds_.size() >= config_.feeds_max || feeds_.contains(author)) return;
  feeds_.insert(author);
  if (started_ && publish_) {
    Schedule(static_cast<uint8_t>(DhtKind::kHoldsFeed), DhtFeedKey(author), now);
  }
}

void Discovery::NeedCarriers(TimeMs now, uint32_t g, DiscoveryHost& host, DiscoveryOutbox& out) {
  if (!started_ || g >= groups_.size()) return;
  GroupState& group = groups_[g];
  if (group.lookup != 0) return;
  if (group.looked_at != kNever && now < group.looked_at + config_.carrier_retry_ms) return;
  const uint64_t handle =
      dht_.Lookup(now, group.key, static_cast<uint8_t>(DhtKind::kCarriesGroup), host, out.dht);
  if (handle == 0) return;  // Busy: the runtime asks again.
  ++counters_.carrier_lookups;
  group.lookup = handle;
  group.looked_at = now;
  carrier_lookups_[handle] = g;
  Collect(now, host, out);
}

uint64_t Discovery::Find(TimeMs now, DhtKind kind, const Hash32& key, DiscoveryHost& host,
                         DiscoveryOutbox& out) {
  if (!started_) return 0;
  const uint64_t handle = dht_.Lookup(now, key, static_cast<uint8_t>(kind), host, out.dht);
  if (handle == 0) {
    ++counters_.finds_refused;
    return 0;
  }
  ++counters_.finds;
  finds_.insert(handle);
  Collect(now, host, out);
  return handle;
}

void Discovery::Collect(TimeMs now, DiscoveryHost& host, DiscoveryOutbox& out) {
  // Fallback may start lookups of its own: take the finished ones first.
  std::vector<DhtLookupResult> done = std::move(out.dht.done);
  out.dht.done.clear();
  for (DhtLookupResult& r : done) {
    uint32_t group = UINT32_MAX;
    if (auto c = carrier_lookups_.find(r.handle); c != carrier_lookups_.end()) {
      group = c->second;
      carrier_lookups_.erase(c);
    } else if (!finds_.contains(r.handle)) {
      out.lookups.push_back(std::move(r));  // A publication, or a lookup of a point.
      continue;
    }
    // Records from others, for a carrier lookup; any, for a find.
    const bool found = std::any_of(r.records.begin(), r.records.end(), [&](const DhtRecordRef& x) {
      return group == UINT32_MAX || Joinable(*x);
    });
    if (!found && Fallback(now, r, group, host, out)) continue;
    Deliver(std::move(r), group, out);
  }
}

void Discovery::Deliver(DhtLookupResult r, uint32_t group, DiscoveryOutbox& out) {
  if (group == UINT32_MAX) {
    finds_.erase(r.handle);
    out.finds.push_back(std::move(r));
    return;
  }
  GroupState& g = groups_[group];
  g.lookup = 0;
  size_t joins = 0;
  for (const DhtRecordRef& rec : r.records) {  // Newest first.
    if (!Joinable(*rec)) continue;
    out.joins.emplace_back(group, rec);
    if (++joins == config_.joins_per_lookup) break;
  }
  g.lonely = joins == 0;
  if (joins == 0) {
    out.no_carrier.push_back(group);
  } else {
    ++counters_.carriers_found;
  }
}

uint64_t Discovery::FloodOnly(TimeMs now, DhtKind kind, const Hash32& key, DiscoveryHost& host,
                              DiscoveryOutbox& out) {
  if (!started_ || host.Neighbours().empty()) return 0;
  DhtLookupResult r;
  r.handle = (uint64_t{1} << 63) | next_flood_handle_++;
  r.target = key;
  r.kind = static_cast<uint8_t>(kind);
  r.started_ms = now;
  const uint64_t handle = r.handle;
  finds_.insert(handle);
  StartFlood(now, std::move(r), UINT32_MAX, host, out);
  return handle;
}

uint64_t Discovery::PublishRecord(TimeMs now, DhtRecordRef record, DiscoveryHost& host,
                                  DiscoveryOutbox& out) {
  own_[Due{static_cast<uint8_t>(record->kind), record->key}] = record;
  const uint64_t handle = dht_.Publish(now, std::move(record), host, out.dht);
  Collect(now, host, out);
  return handle;
}

bool Discovery::Fallback(TimeMs now, DhtLookupResult& r, uint32_t group, DiscoveryHost& host,
                         DiscoveryOutbox& out) {
  if (!config_.flood || r.kind == 0) return false;
  // Hints from earlier floods answer at once while they are fresh.
  std::vector<DhtRecordRef> hints = Known(r.kind, r.target, true, host, now);
  std::erase_if(hints, [&](const DhtRecordRef& x) {
    return std::any_of(r.records.begin(), r.records.end(),
                       [&](const DhtRecordRef& y) { return y->bytes == x->bytes; });
  });
  if (!hints.empty()) {
    ++counters_.hint_answers;
    r.records.insert(r.records.end(), hints.begin(), hints.end());
    r.source = DhtLookupResult::Source::kHint;
    return false;
  }
  if (host.Neighbours().empty()) return false;
  StartFlood(now, std::move(r), group, host, out);
  return true;
}

void Discovery::StartFlood(TimeMs now, DhtLookupResult r, uint32_t group, DiscoveryHost& host,
                           DiscoveryOutbox& out) {
  // A query id no other node is likely to pick: this node's id and a counter, mixed.
  const uint64_t q = Mix64(self_ ^ (next_query_++ * 0x9e3779b97f4a7c15ULL));
  Flood& f = floods_[q];
  f.result = std::move(r);
  f.result.source = DhtLookupResult::Source::kFlood;
  f.deadline = now + config_.flood_wait_ms;
  f.group = group;
  ++counters_.floods;
  const uint64_t before = counters_.flood_sent;
  SendFlood(DhtFlood{q, f.result.target, f.result.kind, config_.flood_hops}, kNoNode, host, out);
  f.result.flood_messages = static_cast<uint32_t>(counters_.flood_sent - before);
}

void Discovery::SendFlood(const DhtFlood& f, NodeId except, DiscoveryHost& host,
                          DiscoveryOutbox& out) {
  std::vector<std::pair<uint64_t, NodeId>> order;
  for (NodeId n : host.Neighbours()) {
    if (n == except || n == self_ || n == kNoNode) continue;
    uint64_t x = (n ^ f.query) * 0x9e3779b97f4a7c15ULL;  // A shuffle only the query decides.
    x ^= x >> 29;
    order.emplace_back(x, n);
  }
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  for (size_t i = 0; i < order.size() && i < config_.flood_fanout; ++i) {
    out.dht.sends.emplace_back(order[i].second, f);
    ++counters_.flood_sent;
  }
}

std::vector<DhtRecordRef> Discovery::Known(uint8_t kind, const Hash32& key, bool with_hints,
                                           const DiscoveryHost& host, TimeMs now) const {
  const int64_t unix_ms = host.UnixMs(now);
  std::vector<DhtRecordRef> out;
  auto add = [&](const DhtRecordRef& r) {
    if (out.size() >= kDhtRecordsMax || r->expires_ms() <= unix_ms) return;
    for (const DhtRecordRef& x : out) {
      if (x->publisher == r->publisher) return;  // One per publisher (the newest comes first).
    }
    out.push_back(r);
  };
  if (auto it = own_.find(Due{kind, key}); it != own_.end()) add(it->second);
  for (const DhtRecordRef& r : dht_.RecordsOf(kind, key)) add(r);
  if (with_hints) {
    if (auto it = hints_.find(Due{kind, key}); it != hints_.end()) {
      for (const DhtRecordRef& r : it->second) add(r);
    }
  }
  return out;
}

void Discovery::AddHint(const DhtRecordRef& r) {
  if (config_.hints_max == 0) return;
  const Due d{static_cast<uint8_t>(r->kind), r->key};
  std::vector<DhtRecordRef>& held = hints_[d];
  auto same = std::find_if(held.begin(), held.end(),
                           [&](const DhtRecordRef& x) { return x->publisher == r->publisher; });
  if (same != held.end()) {
    if (DhtRecordNewer(*r, **same)) *same = r;
  } else {
    held.insert(held.begin(), r);
    hints_order_.push_back(d);
    ++hint_count_;
  }
  // Over the limit, the oldest key's hints go.
  while (hint_count_ > config_.hints_max && !hints_order_.empty()) {
    const Due old = hints_order_.front();
    hints_order_.pop_front();
    auto it = hints_.find(old);
    if (it == hints_.end() || it->second.empty()) continue;
    it->second.pop_back();
    --hint_count_;
    if (it->second.empty()) hints_.erase(it);
  }
}

void Discovery::OnFlood(TimeMs now, NodeId from, const DhtFlood& f, DiscoveryHost& host,
                        DiscoveryOutbox& out) {
  if (!dht_.AllowRequest(now, from) || seen_.contains(f.query) || floods_.contains(f.query)) {
    ++counters_.flood_dropped;
    return;
  }
  // Forget what is old, and the oldest beyond the limit.
  while (!seen_order_.empty() &&
         (seen_order_.front().first <= now || seen_.size() >= config_.flood_remembered_max)) {
    seen_.erase(seen_order_.front().second);
    seen_order_.pop_front();
  }
  seen_[f.query] = Seen{from, now + config_.flood_memory_ms, 0};
  seen_order_.emplace_back(now + config_.flood_memory_ms, f.query);
  std::vector<DhtRecordRef> records = Known(f.kind, f.target, false, host, now);
  if (!records.empty()) {
    seen_[f.query].records_back = static_cast<uint32_t>(records.size());
    out.dht.sends.emplace_back(from, DhtFloodHit{f.query, std::move(records)});
    ++counters_.flood_hits_sent;
    return;  // Answered: the asker needs no more from this side.
  }
  if (f.hops > 1) {
    DhtFlood next = f;
    next.hops = static_cast<uint8_t>(f.hops - 1);
    SendFlood(next, from, host, out);
  }
}

void Discovery::OnFloodHit(TimeMs now, NodeId /*from*/, const DhtFloodHit& h, DiscoveryHost& host,
                           DiscoveryOutbox& out) {
  auto mine = floods_.find(h.query);
  auto seen = seen_.find(h.query);
  if (mine == floods_.end() && seen == seen_.end()) return;  // Nobody asked.
  const uint8_t kind = mine != floods_.end() ? mine->second.result.kind : 0;
  std::vector<DhtRecordRef> good;
  for (const DhtRecordRef& r : h.records) {
    if (kind != 0 &&
        (static_cast<uint8_t>(r->kind) != kind || r->key != mine->second.result.target)) {
      continue;
    }
    if (!DhtAccepted(*r, now, host)) continue;
    good.push_back(r);
  }
  if (good.empty()) return;
  if (mine != floods_.end()) {
    Flood& f = mine->second;
    for (const DhtRecordRef& r : good) {
      AddHint(r);
      const bool dup = std::any_of(f.result.records.begin(), f.result.records.end(),
                                   [&](const DhtRecordRef& x) { return x->bytes == r->bytes; });
      if (!dup && f.result.records.size() < kDhtRecordsMax) f.result.records.push_back(r);
    }
    f.deadline = now;  // The first hit ends it.
    EndFloods(now, out);
    return;
  }
  // Passed back along the path, at most kDhtRecordsMax records per query.
  Seen& s = seen->second;
  if (s.records_back >= kDhtRecordsMax) return;
  const size_t room = kDhtRecordsMax - s.records_back;
  if (good.size() > room) good.resize(room);
  s.records_back += static_cast<uint32_t>(good.size());
  out.dht.sends.emplace_back(s.from, DhtFloodHit{h.query, std::move(good)});
  ++counters_.flood_hits_sent;
}

void Discovery::EndFloods(TimeMs now, DiscoveryOutbox& out) {
  for (auto it = floods_.begin(); it != floods_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    Flood f = std::move(it->second);
    it = floods_.erase(it);
    f.result.finished_ms = now;
    if (!f.result.records.empty()) ++counters_.floods_found;
    Deliver(std::move(f.result), f.group, out);
  }
}

void Discovery::Schedule(uint8_t kind, const Hash32& key, TimeMs at) {
  due_[Due{kind, key}] = at;  // Only new records, or earlier times: the minimum follows.
  first_due_ = std::min(first_due_, at);
}

void Discovery::FindFirstDue() {
  first_due_ = kNever;
  for (const auto& [d, when] : due_) first_due_ = std::min(first_due_, when);
}

void Discovery::RepublishIfGrown(TimeMs now) {
  const size_t contacts = dht_.contacts();
  if (!publish_ || contacts < 2 * contacts_at_round_ ||
      contacts_at_round_ >= config_.republish_contacts_max) {
    return;
  }
  contacts_at_round_ = contacts;
  for (auto& [d, when] : due_) when = std::min(when, now);
  if (!due_.empty()) first_due_ = std::min(first_due_, now);
}

void Discovery::PublishDue(TimeMs now, DiscoveryHost& host, DiscoveryOutbox& out) {
  if (!publish_ || now < next_publication_at_ || now < first_due_) return;
  // The record due first (the smallest key among equals: a replayable order).
  auto next = due_.end();
  for (auto it = due_.begin(); it != due_.end(); ++it) {
    if (it->second <= now && (next == due_.end() || it->second < next->second)) next = it;
  }
  if (next == due_.end()) return;
  const int64_t issued_ms = host.UnixMs(now);
  DhtRecordRef record = host.SignRecord(static_cast<DhtKind>(next->first.kind), next->first.key,
                                        issued_ms, config_.record_ttl_s);
  if (record != nullptr) own_[next->first] = record;
  if (record == nullptr || dht_.Publish(now, std::move(record), host, out.dht) == 0) {
    next_publication_at_ = now + 1'000;  // Busy: try again in a second.
    return;
  }
  ++counters_.publications;
  next->second = now + TimeMs{500} * config_.record_ttl_s;  // Every half ttl.
  FindFirstDue();
  next_publication_at_ = now + static_cast<TimeMs>(1000.0 / config_.publications_per_s);
}

}  // namespace pando::proto
