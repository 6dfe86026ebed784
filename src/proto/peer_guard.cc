#include "proto/peer_guard.h"

#include <algorithm>
#include <vector>

#include "core/error_codes.h"

namespace pando::proto {

PeerGuard::Address& PeerGuard::AddressOf(TimeMs now, std::string_view address) {
  auto it = addresses_.find(std::string(address));
  if (it == addresses_.end()) {
    if (addresses_.size() >= limits_.addresses_max) Trim(now);
    it = addresses_
             .emplace(std::string(address),
                      Address{0,
                              TokenBucket(limits_.handshakes_per_address_per_s,
                                          limits_.handshakes_per_address_burst, now),
                              {},
                              now})
             .first;
  }
  it->second.last_ms = now;
  return it->second;
}

uint32_t PeerGuard::Strikes(TimeMs now, Address& a) {
  while (!a.strikes.empty() && a.strikes.front() <= now) a.strikes.pop_front();
  return static_cast<uint32_t>(a.strikes.size());
}

void PeerGuard::Trim(TimeMs now) {
  // Forget the records that hold nothing: no connection, no strike, a full bucket. If every
  // record holds something, the table is full of live attackers' addresses: forget the
  // idlest half rather than grow.
  for (auto it = addresses_.begin(); it != addresses_.end();) {
    Address& a = it->second;
    if (a.connections == 0 && Strikes(now, a) == 0 && a.handshakes.Full(now)) {
      it = addresses_.erase(it);
    } else {
      ++it;
    }
  }
  if (addresses_.size() < limits_.addresses_max) return;
  std::vector<TimeMs> last;
  for (const auto& [k, a] : addresses_) last.push_back(a.last_ms);
  std::nth_element(last.begin(), last.begin() + last.size() / 2, last.end());
  const TimeMs cut = last[last.size() / 2];
  std::erase_if(addresses_, [&](const auto& kv) {
    return kv.second.connections == 0 && kv.second.last_ms <= cut;
  });
}

Status PeerGuard::OnAccept(TimeMs now, std::string_view address) {
  Address& a = AddressOf(now, address);
  if (connections_ >= limits_.connections_max) {
    return Error{codes::kBusy, "The node has its maximum of " +
                                   std::to_string(limits_.connections_max) + " connections."};
  }
  if (a.connections >= limits_.connections_per_address_max) {
    return Error{codes::kBusy, "The node has its maximum of " +
                                   std::to_string(limits_.connections_per_address_max) +
                                   " connections from one address."};
  }
  if (!a.handshakes.Take(1, now)) {
    return Error{codes::kRateLimited, "Too many handshakes from this address; wait " +
                                          std::to_string(a.handshakes.WaitMs(1, now)) + " ms."};
  }
  ++a.connections;
  ++connections_;
  return {};
}

void PeerGuard::OnClose(std::string_view address) {
  auto it = addresses_.find(std::string(address));
  if (it != addresses_.end() && it->second.connections > 0) --it->second.connections;
  if (connections_ > 0) --connections_;
}

Status PeerGuard::OnPeer(TimeMs now, NodeId id, std::string_view address) {
  if (Banned(now, id)) return Error{codes::kBanned, "This node banned you for misbehaviour; wait."};
  Address& a = AddressOf(now, address);
  if (!known_.contains(id) && Strikes(now, a) >= limits_.address_strikes_max) {
    return Error{codes::kBanned,
                 "This node banned a peer from your address; it takes no new keys from it "
                 "for a while."};
  }
  if (known_.emplace(id, known_next_).second) {
    known_order_.emplace_back(id, known_next_++);
    // The oldest known key goes beyond the cap; stale slots (banned keys) are dropped on the
    // way, and whenever they are half of the queue, so it stays within twice the cap.
    auto live = [this](const std::pair<NodeId, uint64_t>& slot) {
      auto k = known_.find(slot.first);
      return k != known_.end() && k->second == slot.second;
    };
    while (!known_order_.empty() &&
           (known_.size() > limits_.known_keys_max || !live(known_order_.front()))) {
      if (live(known_order_.front())) known_.erase(known_order_.front().first);
      known_order_.pop_front();
    }
    if (known_order_.size() > 2 * known_.size() + 64) {
      std::erase_if(known_order_, [&](const auto& slot) { return !live(slot); });
    }
  }
  return {};
}

Status PeerGuard::OnFrame(TimeMs now, NodeId id) {
  Window& w = windows_[id];
  if (now - w.start > 10'000) {
    w.start = now;
    w.frames = 0;
  }
  if (++w.frames > uint64_t{limits_.frames_per_s_max} * 10) {
    return Error{codes::kFlood,
                 "More than " + std::to_string(limits_.frames_per_s_max) + " frames per second."};
  }
  return {};
}

void PeerGuard::Ban(TimeMs now, NodeId id, std::string_view address) {
  if (limits_.ban_ms <= 0) return;
  bans_[id] = now + limits_.ban_ms;
  known_.erase(id);  // Its known_order_ slot is stale now (see peer_guard.h).
  if (!address.empty()) AddressOf(now, address).strikes.push_back(now + limits_.ban_ms);
  if (bans_.size() > limits_.known_keys_max) {
    std::erase_if(bans_, [now](const auto& kv) { return kv.second <= now; });
  }
}

bool PeerGuard::Banned(TimeMs now, NodeId id) {
  auto it = bans_.find(id);
  if (it == bans_.end()) return false;
  if (now < it->second) return true;
  bans_.erase(it);
  return false;
}

}  // namespace pando::proto
