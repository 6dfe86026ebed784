// Types and helpers shared by the HTTP server's parts (src/http): requests, responses, the
// context every handler gets, and how errors become responses.
#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/entry.h"
#include "core/error.h"
#include "http/cache.h"

namespace pando::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
// Handlers answer through this, at once or later (after a commit, say), exactly once.
using Respond = std::function<void(Response)>;

class Backend;
class Metrics;

// What a handler may use. Lives as long as the server; used on the event loop only.
struct Context {
  Backend* backend = nullptr;  // The node behind the port (backend.h); not owned.
  Metrics* metrics = nullptr;
  // The server's own address as bound ("127.0.0.1:8080", "[::]:8080") and its port: what
  // the Host header of an operator's request may name (OperatorCall).
  std::string host;
  uint16_t port = 0;
  // How many WebSocket streams are open, for /metrics; none are when it is empty.
  std::function<size_t()> streams_open;
  ReadCaches caches{};  // Owned; see cache.h.
};

// Per request: the request and where it came from.
struct Call {
  const Request& req;
  std::string_view path;   // Target without the query.
  std::string_view query;  // After '?', undecoded.
  bool loopback = false;   // The client is on this machine.
  bool upgrade = false;    // The request asks for a WebSocket upgrade.
};

// The HTTP status for an error code (docs/api.md lists them).
unsigned HttpStatusOf(std::string_view code);

Response MakeResponse(unsigned status, std::string body, std::string_view content_type,
                      const Request& req);
Response JsonResponse(unsigned status, const nlohmann::json& body, const Request& req);
// A request holding only req's version and keep-alive, which are all that shape an answer:
// what a handler that answers later (after a commit, say) keeps instead of req.
Request AnswerShape(const Request& req);
// {"error": {"code": CODE, "message": sentence}} with the code's status.
Response ErrorResponse(const Error& e, const Request& req);

// The most bytes, and the deepest nesting of arrays and objects, of JSON the server parses:
// deeper input would exhaust the stack of the recursive code that walks a value (dump,
// comparison), as 200,000 nested arrays once did.
inline constexpr size_t kJsonBytesMax = 1 << 20;
inline constexpr int kJsonDepthMax = 64;

// `text` (a request body, or a JSON value a peer signed) parsed once within those bounds,
// the byte limit checked first. BAD_JSON otherwise, with a sentence ending "send `shape`."
Result<nlohmann::json> BoundedJson(std::string_view text, std::string_view shape);

// Whether `call` may use an operator route: one that writes with the node's own key (kv,
// profile, follows) or steers the node (peer blocks). The dispatcher (routes.h) asks it for
// every operator row of the route table before the handler runs. The client must be on this machine
// (else FORBIDDEN with the sentence `forbidden`) and not a web page of another site nor a
// request through a foreign host name (CSRF, DNS rebinding; else CROSS_SITE): the Host
// header names the node (OwnHost), any Origin is http://<that Host>, any Sec-Fetch-Site is
// same-origin or none, and a body comes as application/json. docs/api.md, "Operator routes".
Status OperatorCall(const Context& ctx, const Call& call, std::string_view forbidden);

// The value of `key` in a query string, percent-decoded ('+' is a space); nullopt if absent.
std::optional<std::string> QueryValue(std::string_view query, std::string_view key);

// ?limit=N in [1, max], else `fallback` when absent or empty; BAD_ARGUMENT for anything else.
Result<size_t> LimitOf(const Call& call, size_t fallback, size_t max);

// An entry as the API shows it (docs/api.md, GET /api/v1/entries/ID): its fields, its bytes,
// and for posts and catalog records their title, text or target.
nlohmann::json EntryJson(const Entry& e);

// The decoded {parameters} of a route's path, in order (routes.h).
using Params = std::vector<std::string>;

}  // namespace pando::http
