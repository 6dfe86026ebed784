#include "names/etcd_http.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "core/error_codes.h"
#include "names/etcd_codec.h"

namespace pando::names::etcd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kHeaderBytesMax = 16 * 1024;

Error BadEndpoint(std::string_view url, std::string_view why) {
  return Error{codes::kBadConfig,
               "The etcd endpoint '" + std::string(url) + "' " + std::string(why) + "."};
}

// The addresses to connect to: the host itself if it is an IP address, else what it resolves
// to (a blocking lookup: the system resolver's own timeouts bound it).
Result<tcp::resolver::results_type> Addresses(asio::io_context& io, const Endpoint& e) {
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
  if (ec) {
    return Error{codes::kUnreachable, "Cannot resolve " + e.host + ": " + ec.message() + "."};
  }
  return results;
}

Error Failed(const Endpoint& e, std::string_view step, const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return Error{codes::kTimeout, e.url + " did not answer in time (" + std::string(step) + ")."};
  }
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return Error{codes::kOversize, e.url + " answered with more than " +
                                       std::to_string(kResponseBytesMax) + " bytes."};
  }
  const std::string_view code = step == "connect" ? codes::kUnreachable : codes::kClosed;
  return Error{code, std::string(step) + " to " + e.url + " failed: " + ec.message() + "."};
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
  asio::io_context io;
  auto addresses = Addresses(io, endpoint);
  if (!addresses.ok()) return addresses.error();
  beast::tcp_stream stream(io);
  http::request<http::string_body> req{http::verb::post, std::string(target), 11};
  req.set(http::field::host, endpoint.host + ":" + std::to_string(endpoint.port));
  req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.header_limit(kHeaderBytesMax);
  parser.body_limit(kResponseBytesMax);
  beast::flat_buffer buffer;

  // Connect, write, read: each step's handler starts the next, and the stream's one deadline
  // bounds them together (Beast's timeouts apply to asynchronous operations only, so the
  // exchange is asynchronous and io.run() waits for it).
  std::optional<Error> failure;
  bool done = false;
  stream.expires_after(timeout);
  stream.async_connect(*addresses, [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec) {
      failure = Failed(endpoint, "connect", ec);
      return;
    }
    http::async_write(stream, req, [&](beast::error_code ec, size_t) {
      if (ec) {
        failure = Failed(endpoint, "write", ec);
        return;
      }
      http::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) {
        if (ec) {
          failure = Failed(endpoint, "read", ec);
          return;
        }
        done = true;
      });
    });
  });
  io.run();
  if (failure) return *failure;
  CHECK(done);
  HttpReply reply;
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = std::move(parser.get().body());
  return reply;
}

}  // namespace pando::names::etcd
