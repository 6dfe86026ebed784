#include "core/endpoint.h"

#include <charconv>

#include "core/error_codes.h"

namespace pando {

std::string Endpoint::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<Endpoint> ParseEndpoint(std::string_view text) {
  const std::string shown(text);
  auto bad = [&] {
    return Error{codes::kBadArgument,
                 "'" + shown + "' is not an address: give host:port, e.g. 127.0.0.1:7420."};
  };
  Endpoint out;
  std::string_view port_text;
  if (text.starts_with("[")) {
    const size_t close = text.find("]:");
    if (close == std::string_view::npos) return bad();
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return bad();
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (out.host.empty() || port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port > 65535) {
    return bad();
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

}  // namespace pando
