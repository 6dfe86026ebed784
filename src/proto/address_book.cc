#include "proto/address_book.h"

#include <algorithm>

namespace pando::proto {

void AddressBook::Learn(TimeMs now, NodeId id, const PeerRecord& record, bool first_hand) {
  auto it = records_.find(id);
  if (it != records_.end()) {
    Record& r = it->second;
    if (!first_hand && r.first_hand) {
      if (r.peer.address == record.address) r.refreshed_ms = now;
      return;
    }
    if (r.peer.address != record.address) {
      r.failures = 0;
      r.retry_at_ms = 0;
    }
    r.peer = record;
    r.first_hand = r.first_hand || first_hand;
    r.refreshed_ms = now;
    return;
  }
  if (!first_hand) {
    auto d = dropped_.find(id);
    if (d != dropped_.end()) {
      if (now < d->second) return;
      dropped_.erase(d);
    }
  }
  if (records_.size() >= limits_.records_max) MakeRoom();
  if (records_.size() >= limits_.records_max) return;
  records_.emplace(id, Record{record, first_hand, now, 0, 0});
}

const PeerRecord* AddressBook::Find(NodeId id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second.peer;
}

bool AddressBook::MayDial(TimeMs now, NodeId id) const {
  auto it = records_.find(id);
  return it != records_.end() && now >= it->second.retry_at_ms;
}

void AddressBook::OnDialFailed(TimeMs now, NodeId id) {
  auto it = records_.find(id);
  if (it == records_.end()) return;
  Record& r = it->second;
  if (++r.failures >= limits_.failures_max) {
    dropped_[id] = now + limits_.retry_max_ms;
    records_.erase(it);
    if (dropped_.size() > limits_.records_max) {
      std::erase_if(dropped_, [now](const auto& kv) { return kv.second <= now; });
    }
    return;
  }
  const TimeMs backoff =
      std::min(limits_.retry_max_ms, limits_.retry_min_ms << std::min<uint32_t>(r.failures, 20));
  r.retry_at_ms = now + backoff;
}

void AddressBook::OnConnected(TimeMs now, NodeId id) {
  auto it = records_.find(id);
  if (it == records_.end()) return;
  it->second.failures = 0;
  it->second.retry_at_ms = 0;
  it->second.refreshed_ms = now;
}

void AddressBook::Expire(TimeMs now) {
  std::erase_if(records_,
                [&](const auto& kv) { return now - kv.second.refreshed_ms > limits_.ttl_ms; });
  std::erase_if(dropped_, [now](const auto& kv) { return kv.second <= now; });
}

void AddressBook::MakeRoom() {
  // The oldest second-hand record goes; first-hand ones only if there is no other.
  auto victim = records_.end();
  for (auto it = records_.begin(); it != records_.end(); ++it) {
    if (victim == records_.end() || (!it->second.first_hand && victim->second.first_hand) ||
        (it->second.first_hand == victim->second.first_hand &&
         it->second.refreshed_ms < victim->second.refreshed_ms)) {
      victim = it;
    }
  }
  if (victim != records_.end()) records_.erase(victim);
}

}  // namespace pando::proto
