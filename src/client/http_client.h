// HttpClient: one blocking HTTP/1.1 exchange over plain TCP (Boost.Beast), the one client
// every part of Pando that speaks HTTP to a server uses: the API client of a running node
// (client/api_client.h), the registry of another node (node/names.h, RemoteRegistry), the
// etcd gateway (names/etcd_http.h) and the tests.
//
// Each call resolves the host, opens its own connection in its own I/O context, sends one
// request, reads one answer and closes: nothing is shared between calls, so one HttpClient
// may be used from several threads at once. A call never waits longer than its deadline
// (HttpOptions::timeout) for the connection, the request and the answer together, and never
// buffers more than the limits below; it does not follow redirects, keep connections alive
// or speak TLS.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/endpoint.h"
#include "core/error.h"

namespace pando::client {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method = "GET";  // Any token: GET, POST, PUT, DELETE, HEAD, ...
  std::string target = "/";    // Path and query, e.g. "/api/v1/status".
  // Sent as given, after Host (set from the endpoint unless given here).
  std::vector<HttpHeader> headers;
  // Sent with its Content-Length; POST and PUT always carry one (0 when empty).
  std::string body;
};

struct HttpResponse {
  unsigned status = 0;
  std::vector<HttpHeader> headers;  // In the order received.
  std::string body;                 // Decoded when it came chunked.
  // The value of the first header called `name` (in any case), or "" if there is none.
  std::string_view Header(std::string_view name) const;
};

struct HttpOptions {
  // The deadline of one call: resolving, connecting, sending and reading the whole answer.
  // Resolving a name (not an IP literal) blocks in the system resolver, whose own timeouts
  // bound it; the time it takes counts against this one.
  std::chrono::milliseconds timeout{30'000};
  // The largest answer body read; a bigger one is refused as its header says so, or as it
  // passes the limit, and never buffered whole.
  uint64_t body_bytes_max = uint64_t{16} << 20;
  // The largest status line and headers read.
  uint32_t header_bytes_max = 16 * 1024;
};

class HttpClient {
 public:
  explicit HttpClient(Endpoint server, HttpOptions options = {})
      : server_(std::move(server)), options_(options) {}

  // One exchange. An answer of any status is a success; what it means is the caller's.
  // Errors, each naming the server and the step that failed:
  //   UNREACHABLE        the host does not resolve, or no connection could be made;
  //   TIMEOUT            the deadline passed before the whole answer came;
  //   CONNECTION_CLOSED  the connection broke, or the server closed it without an answer or
  //                      with a malformed or cut-off one;
  //   OVERSIZE           the headers or the body pass their limit.
  Result<HttpResponse> Send(const HttpRequest& request) const;

  const Endpoint& server() const { return server_; }
  const HttpOptions& options() const { return options_; }

 private:
  Endpoint server_;
  HttpOptions options_;
};

}  // namespace pando::client
