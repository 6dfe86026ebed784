// The limits of the node's HTTP port (docs/node.md, "HTTP limits"), in one struct, and the
// small class that keeps them, Gate (connections, request
// bodies in flight and write rates per client address). None reads a clock: the server
// passes `now`, so tests drive them with any time they like. Not thread-safe: the server
// uses them on the node's event loop only.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

#include "core/token_bucket.h"

namespace pando::http {

using SteadyTime = std::chrono::steady_clock::time_point;

// Every limit of the HTTP port. The defaults let the project's own tests, `pando devnet`
// and the web UI (all on 127.0.0.1, which is an address like any other) run untouched.
struct Limits {
  // Open connections from one client address (an IPv6 client's /64), and from all.
  size_t connections_per_address_max = 64;
  size_t connections_max = 1024;
  // Refused connections still being answered 503 BUSY; beyond this they are closed unanswered.
  size_t refusals_max = 64;
  // One request: its body, its target (path and query) and its header block.
  size_t body_bytes_max = 1 << 20;
  size_t target_bytes_max = 8 << 10;
  size_t header_bytes_max = 16 << 10;
  // Request bodies announced (Content-Length, or body_bytes_max when chunked) and not yet
  // answered, per client address and in all: what the node may hold in memory for them.
  size_t body_in_flight_per_address_bytes_max = 8 << 20;
  size_t body_in_flight_bytes_max = 64 << 20;
  // The header must arrive within header_timeout_ms of the connection (or of the previous
  // answer), the whole request within request_timeout_ms; an answer must leave within
  // request_timeout_ms.
  int64_t header_timeout_ms = 5'000;
  int64_t request_timeout_ms = 30'000;
  // Write routes (every method but GET and HEAD under /api/): bytes and requests per second
  // per client address, with the burst each bucket holds.
  double write_bytes_per_second = 1 << 20;
  double write_burst_bytes = 4 << 20;
  double write_requests_per_second = 100;
  double write_burst_requests = 1000;
  // Client addresses whose write buckets are remembered; a new address beyond it is refused
  // 429 RATE_LIMITED until some bucket has refilled.
  size_t rate_addresses_max = 4096;
  // After accept() fails (descriptors exhausted, say), the wait before accepting again.
  int64_t accept_retry_ms = 100;
};

// Who holds what of the port's limits, by client address. A connection is counted from
// OpenConnection until CloseConnection; a body reservation from ReserveBody until
// ReleaseBody with the same size.
class Gate {
 public:
  explicit Gate(const Limits& limits) : limits_(limits) {}
  const Limits& limits() const { return limits_; }

  // The key a client's limits are kept under: the address itself, or an IPv6 client's /64
  // (one host commonly holds a whole /64); an IPv4-mapped address as IPv4.
  static boost::asio::ip::address KeyOf(const boost::asio::ip::address& a);

  // Counts a new connection from `key`; false (counting nothing) when that address or the
  // port is at its limit.
  bool OpenConnection(const boost::asio::ip::address& key);
  void CloseConnection(const boost::asio::ip::address& key);
  size_t connections() const { return connections_; }

  // Counts a refused connection being answered; false when refusals_max are, and this
  // one should be closed unanswered. EndRefusal when it is gone.
  bool BeginRefusal();
  void EndRefusal();

  // Reserves `bytes` of body in flight for `key`; false (reserving nothing) when that
  // would pass the address's or the port's limit.
  bool ReserveBody(const boost::asio::ip::address& key, size_t bytes);
  void ReleaseBody(const boost::asio::ip::address& key, size_t bytes);

  // Charges one write request of `bytes` to `key`'s buckets at `now`: nullopt when both
  // hold enough (and are charged), else how long to wait before trying again (nothing is
  // charged).
  std::optional<std::chrono::milliseconds> ChargeWrite(const boost::asio::ip::address& key,
                                                       size_t bytes, SteadyTime now);

 private:
  struct Held {
    size_t connections = 0;
    size_t body_bytes = 0;
  };
  struct Rate {
    TokenBucket bytes;
    TokenBucket requests;
  };
  void Forget(std::map<boost::asio::ip::address, Held>::iterator it);
  Rate* RateOf(const boost::asio::ip::address& key, SteadyTime now);

  Limits limits_;
  std::map<boost::asio::ip::address, Held> held_;
  std::map<boost::asio::ip::address, Rate> rates_;
  size_t connections_ = 0;
  size_t refusals_ = 0;
  size_t body_bytes_ = 0;
};

}  // namespace pando::http
