#include "names/etcd_http.h"

#include <charconv>

#include "client/http_client.h"
#include "core/error_codes.h"
#include "names/etcd_codec.h"

namespace pando::names::etcd {
namespace {

constexpr uint32_t kHeaderBytesMax = 16 * 1024;

Error BadEndpoint(std::string_view url, std::string_view why) {
  return Error{codes::kBadConfig,
               "The etcd endpoint '" + std::string(url) + "' " + std::string(why) + "."};
}

}  // namespace

Result<Endpoint> ParseEndpoint(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return BadEndpoint(url,
                       "is not of the form http://HOST:PORT (Pando speaks plain HTTP to etcd)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  Endpoint e;
  e.url = std::string(url);
  size_t colon;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return BadEndpoint(url, "has an unclosed '['");
    e.host = std::string(rest.substr(1, close - 1));
    colon = close + 1;
    if (colon >= rest.size() || rest[colon] != ':') return BadEndpoint(url, "has no port");
  } else {
    colon = rest.rfind(':');
    if (colon == std::string_view::npos) return BadEndpoint(url, "has no port");
    e.host = std::string(rest.substr(0, colon));
  }
  const std::string_view port = rest.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return BadEndpoint(url, "has no port from 1 to 65535 (or a path, which it may not have)");
  }
  if (e.host.empty() || e.host.find_first_of("/?#@ ") != std::string::npos) {
    return BadEndpoint(url, "has no host name or address");
  }
  e.port = static_cast<uint16_t>(value);
  return e;
}

Result<HttpReply> Post(const Endpoint& endpoint, std::string_view target, std::string_view body,
                       std::chrono::milliseconds timeout) {
  client::HttpOptions options;
  options.timeout = timeout;
  options.body_bytes_max = kResponseBytesMax;
  options.header_bytes_max = kHeaderBytesMax;
  client::HttpRequest req;
  req.method = "POST";
  req.target = std::string(target);
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = std::string(body);
  auto res = client::HttpClient(pando::Endpoint{endpoint.host, endpoint.port}, options).Send(req);
  if (!res.ok()) return res.error();
  HttpReply reply;
  reply.status = static_cast<int>(res->status);
  reply.body = std::move(res->body);
  return reply;
}

}  // namespace pando::names::etcd
