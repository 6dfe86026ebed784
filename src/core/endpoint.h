// Endpoint: a host and a port, the address of a listening socket or of a server to reach.
// Parsing only: core does no networking, so a host name here is not resolved.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace pando {

// host:port. Host is an IPv4 or IPv6 literal or a name; port 0 asks for any free port.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  // "host:port", or "[v6]:port" for a host with a colon.
  std::string ToString() const;
  bool operator==(const Endpoint&) const = default;
};

// Errors: BAD_ARGUMENT. Accepts "host:port" and "[v6]:port".
Result<Endpoint> ParseEndpoint(std::string_view text);

}  // namespace pando
