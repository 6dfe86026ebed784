#include "proto/peer_score.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

namespace pando::proto {
namespace {

// This machine's own nodes (a devnet): no crowd to discount, no range to limit.
bool Loopback(std::string_view address) { return address.starts_with("127.") || address == "::1"; }

// A range (AddressRange) as a number: never 0.
uint64_t KeyOfRange(const std::string& range) { return std::hash<std::string>{}(range) | 1; }

}  // namespace

std::string AddressRange(std::string_view address) {
  // IPv4: up to the third dot. IPv6: up to the third colon (the first 48 bits, when the
  // address is written without "::" in them, which is how Asio writes global addresses).
  const bool v6 = address.find(':') != std::string_view::npos;
  const char sep = v6 ? ':' : '.';
  size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    at = address.find(sep, at);
    if (at == std::string_view::npos) return std::string(address);
    if (i < 2) ++at;
  }
  return std::string(address.substr(0, at));
}

uint64_t RangeKey(std::string_view address) {
  return Loopback(address) ? 0 : KeyOfRange(AddressRange(address));
}

uint64_t PeerScores::RangeOf(NodeId peer) const {
  if (range_of_) return range_of_(peer);
  auto it = peers_.find(peer);
  return it == peers_.end() || it->second.range.empty() ? 0 : KeyOfRange(it->second.range);
}

void PeerScores::OnConnected(NodeId peer, std::string_view address) {
  auto [it, added] = peers_.try_emplace(peer);
  if (!added) return;
  if (Loopback(address)) return;
  it->second.range = AddressRange(address);
  ++ranges_[it->second.range];
}

void PeerScores::OnGone(NodeId peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  if (!it->second.range.empty()) {
    auto r = ranges_.find(it->second.range);
    if (r != ranges_.end() && --r->second == 0) ranges_.erase(r);
  }
  peers_.erase(it);
  // A peer that left cannot keep its promises; that is not a broken one.
  std::erase_if(promises_, [peer](const auto& p) { return p.first.peer == peer; });
  std::erase_if(relayed_, [peer](const auto& p) { return p.first.peer == peer; });
}

void PeerScores::FirstDelivery(NodeId peer) {
  if (auto it = peers_.find(peer); it != peers_.end()) {
    it->second.first_deliveries =
        std::min(config_.first_delivery_cap, it->second.first_deliveries + 1);
  }
}

void PeerScores::OverQuota(NodeId peer) {
  if (auto it = peers_.find(peer); it != peers_.end()) it->second.over_quota += 1;
}

void PeerScores::RelayedOverQuota(NodeId peer, uint64_t feed, double rate, double burst,
                                  TimeMs now) {
  if (!peers_.contains(peer)) return;
  if (relayed_.size() >= config_.relayed_max) relayed_.clear();
  auto it = relayed_
                .try_emplace(RelayKey{peer, feed}, rate * config_.relay_allowance,
                             burst * config_.relay_allowance, now)
                .first;
  if (!it->second.Take(1, now)) OverQuota(peer);
}

void PeerScores::BrokenPromise(NodeId peer, uint32_t count) {
  if (auto it = peers_.find(peer); it != peers_.end()) it->second.broken_promises += count;
}

void PeerScores::Promised(NodeId peer, const Hash32& id, TimeMs now) {
  if (!config_.enabled || !peers_.contains(peer) || promises_.size() >= config_.promises_max) {
    return;
  }
  promises_.try_emplace(PromiseKey{peer, id}, Promise{now + config_.promise_ms, 1});
}

// A WANT's promise is keyed by the all-zero id, which no entry has.
void PeerScores::Asked(NodeId peer, TimeMs now, size_t ids) {
  if (!config_.enabled || !peers_.contains(peer) || promises_.size() >= config_.promises_max) {
    return;
  }
  const auto count = static_cast<uint32_t>(std::clamp<size_t>(ids, 1, config_.want_counts_max));
  promises_.try_emplace(PromiseKey{peer, Hash32{}}, Promise{now + config_.answer_ms, count});
}

void PeerScores::Arrived(NodeId peer, std::span<const Hash32> ids, bool answer) {
  if (promises_.empty()) return;
  if (answer) promises_.erase(PromiseKey{peer, Hash32{}});
  for (const Hash32& id : ids) {
    if (promises_.erase(PromiseKey{peer, id}) == 0) continue;
    kept_[kept_next_] = PromiseKey{peer, id};
    kept_next_ = (kept_next_ + 1) % kept_.size();
  }
}

bool PeerScores::Answered(NodeId peer, const Hash32& id) const {
  return std::find(kept_.begin(), kept_.end(), PromiseKey{peer, id}) != kept_.end();
}

double PeerScores::Score(NodeId peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return 0;
  const Record& r = it->second;
  double score = config_.first_delivery_weight * r.first_deliveries -
                 config_.over_quota_weight * r.over_quota -
                 config_.broken_promise_weight * r.broken_promises;
  if (r.since >= 0) {
    score += config_.tenure_weight *
             static_cast<double>(std::min(reviewed_at_ - r.since, config_.tenure_cap_ms)) / 1000.0;
  }
  auto range = r.range.empty() ? ranges_.end() : ranges_.find(r.range);
  const uint32_t n = range == ranges_.end() ? 0 : range->second;
  if (n > config_.colocation_threshold) {
    const double excess = n - config_.colocation_threshold;
    score -= config_.colocation_weight * excess * excess;
  }
  return score;
}

void PeerScores::Review(TimeMs now, std::vector<PeerVerdict>& out) {
  if (!config_.enabled) return;
  if (decayed_at_ == 0) decayed_at_ = now;
  reviewed_at_ = now;
  for (auto& [id, r] : peers_) {
    if (r.since < 0) r.since = now;
  }
  if (now - decayed_at_ >= config_.decay_ms) {
    const int64_t steps = (now - decayed_at_) / config_.decay_ms;
    decayed_at_ += steps * config_.decay_ms;
    const double keep =
        std::pow(config_.decay, static_cast<double>(std::min<int64_t>(steps, 1000)));
    for (auto& [id, r] : peers_) {
      r.first_deliveries *= keep;
      r.over_quota *= keep;
      r.broken_promises *= keep;
    }
  }
  // After the decay: a promise broken now counts in full.
  for (auto it = promises_.begin(); it != promises_.end();) {
    if (it->second.due > now) {
      ++it;
      continue;
    }
    BrokenPromise(it->first.peer, it->second.count);
    it = promises_.erase(it);
  }
  for (const auto& [id, r] : peers_) {
    const double s = Score(id);
    if (s >= config_.prune_threshold) continue;
    const bool gray = s < config_.graylist_threshold;
    out.push_back({id, s, gray ? config_.graylist_ms : config_.prune_ms, gray});
  }
  // Worst first, so a runtime that acts on a few at a time acts on these.
  std::sort(out.begin(), out.end(), [](const PeerVerdict& a, const PeerVerdict& b) {
    return a.score != b.score ? a.score < b.score : a.peer < b.peer;
  });
}

}  // namespace pando::proto
