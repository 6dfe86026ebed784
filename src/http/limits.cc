#include "http/limits.h"

#include <algorithm>
#include <cmath>

namespace pando::http {

using boost::asio::ip::address;

namespace {
// The buckets count in milliseconds of the steady clock.
int64_t Ms(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
}  // namespace

address Gate::KeyOf(const address& a) {
  if (a.is_v4()) return a;
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6);
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes);
}

bool Gate::OpenConnection(const address& key) {
  if (connections_ >= limits_.connections_max) return false;
  Held& h = held_[key];
  if (h.connections >= limits_.connections_per_address_max) {
    Forget(held_.find(key));
    return false;
  }
  ++h.connections;
  ++connections_;
  return true;
}

void Gate::CloseConnection(const address& key) {
  auto it = held_.find(key);
  if (it == held_.end() || it->second.connections == 0) return;
  --it->second.connections;
  --connections_;
  Forget(it);
}

bool Gate::BeginRefusal() {
  if (refusals_ >= limits_.refusals_max) return false;
  ++refusals_;
  return true;
}

void Gate::EndRefusal() {
  if (refusals_ > 0) --refusals_;
}

bool Gate::ReserveBody(const address& key, size_t bytes) {
  if (bytes == 0) return true;
  if (body_bytes_ + bytes > limits_.body_in_flight_bytes_max) return false;
  Held& h = held_[key];
  if (h.body_bytes + bytes > limits_.body_in_flight_per_address_bytes_max) {
    Forget(held_.find(key));
    return false;
  }
  h.body_bytes += bytes;
  body_bytes_ += bytes;
  return true;
}

void Gate::ReleaseBody(const address& key, size_t bytes) {
  auto it = held_.find(key);
  if (it == held_.end() || bytes == 0) return;
  const size_t n = std::min(bytes, it->second.body_bytes);
  it->second.body_bytes -= n;
  body_bytes_ -= n;
  Forget(it);
}

void Gate::Forget(std::map<address, Held>::iterator it) {
  if (it != held_.end() && it->second.connections == 0 && it->second.body_bytes == 0) {
    held_.erase(it);
  }
}

Gate::Rate* Gate::RateOf(const address& key, SteadyTime now) {
  auto it = rates_.find(key);
  if (it != rates_.end()) return &it->second;
  if (rates_.size() >= limits_.rate_addresses_max) {
    // A full bucket is one the address has not drawn on lately: forgetting it changes
    // nothing. O(addresses), but only when the table is full.
    std::erase_if(rates_, [now](const auto& kv) {
      return kv.second.bytes.Full(Ms(now)) && kv.second.requests.Full(Ms(now));
    });
    if (rates_.size() >= limits_.rate_addresses_max) return nullptr;
  }
  Rate r{TokenBucket(limits_.write_bytes_per_second, limits_.write_burst_bytes, Ms(now)),
         TokenBucket(limits_.write_requests_per_second, limits_.write_burst_requests, Ms(now))};
  return &rates_.emplace(key, r).first->second;
}

std::optional<std::chrono::milliseconds> Gate::ChargeWrite(const address& key, size_t bytes,
                                                           SteadyTime now) {
  Rate* r = RateOf(key, now);
  if (r == nullptr) return std::chrono::milliseconds(1000);
  const double n = static_cast<double>(bytes);
  const int64_t wait_ms = std::max(r->bytes.WaitMs(n, Ms(now)), r->requests.WaitMs(1, Ms(now)));
  if (wait_ms > 0) return std::chrono::milliseconds(wait_ms);
  r->bytes.Take(n, Ms(now));
  r->requests.Take(1, Ms(now));
  return std::nullopt;
}

}  // namespace pando::http
