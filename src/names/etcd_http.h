// One HTTP/1.1 exchange with one etcd member, over client::HttpClient: what EtcdRegistry
// builds its failover on, and what the tests' etcd cluster uses to ask members how they are.
// Each call opens its own connection and I/O context, so calls from several threads share
// nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace pando::names::etcd {

// A member's client URL, "http://HOST:PORT" (an IPv6 host in brackets).
struct Endpoint {
  std::string url;   // As given, for messages.
  std::string host;  // Without brackets.
  uint16_t port = 0;
};

// Error: BAD_CONFIG, saying what is wrong (Pando speaks plain HTTP to etcd).
Result<Endpoint> ParseEndpoint(std::string_view url);

struct HttpReply {
  int status = 0;
  std::string body;
};

// POSTs body (JSON) to target, and reads the whole answer, all within timeout (resolving a
// host that is not an IP address included). Errors: UNREACHABLE (no connection), TIMEOUT,
// CONNECTION_CLOSED (the answer was cut off or malformed), OVERSIZE (an answer larger than
// kResponseBytesMax in etcd_codec.h, refused as its header says so or as it passes the limit).
Result<HttpReply> Post(const Endpoint& endpoint, std::string_view target, std::string_view body,
                       std::chrono::milliseconds timeout);

}  // namespace pando::names::etcd
