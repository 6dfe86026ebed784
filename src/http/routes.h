// The HTTP port's one route table (docs/api.md, "Routing"). Every route the port answers is a
// row: the method, the path pattern, who may call it (anyone, or the node's operator on its
// machine) and the handler. That is the JSON API under /api/v1 with its two WebSocket
// streams, /metrics, the web UI's pages and its static files. Dispatch looks a request up in
// the table, so 404 versus 405, HEAD, the operator check and the OpenAPI check
// (tests/http/openapi_test.cc) all follow from the rows.
//
// A pattern is a path whose segments are literal ("api") or name one parameter ("{group}"),
// perhaps after a literal prefix ("@{name}"). A parameter matches one non-empty segment with
// valid percent escapes, and the handler gets it decoded ("a%2Fb" is "a/b"). Matching a row
// reads the pattern and the path in place and allocates nothing; only the parameters of the
// row that takes the request are decoded.
//
// Thread safety: the table is constant; Dispatch runs on the node's event loop, like every
// handler.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "http/http.h"

namespace pando::http {

// Who may call a route. An operator route answers only a call that OperatorCall (http.h)
// accepts: on this machine (else FORBIDDEN with the sentence `forbidden`) and from no other
// site's page (else CROSS_SITE).
struct Caller {
  bool operator_only = false;
  std::string_view forbidden;  // The FORBIDDEN sentence of an operator route.
};
inline constexpr Caller kAnyone{};

// The WebSocket stream a route upgrades to, if it is one.
enum class Stream { kNone, kEntries, kChanges };

// A handler answers through `respond` exactly once, at once or later (it may move it away).
using Handler = void (*)(Context& ctx, const Call& call, const Params& params, Respond& respond);

struct Route {
  bhttp::verb method;  // GET rows answer HEAD too.
  std::string_view pattern;
  Caller caller;
  Handler handler;
  // For the two stream routes: a GET asking for the upgrade goes to this stream (the server
  // takes the socket); the handler answers any other GET.
  Stream stream = Stream::kNone;
};

// Every row, in the order Dispatch tries them.
std::span<const Route> Routes();

// Whether `path` fits `pattern`. Allocates nothing.
bool Matches(std::string_view pattern, std::string_view path);
// The decoded parameters of `path`, which Matches `pattern`, in order.
Params ParamsOf(std::string_view pattern, std::string_view path);

// The row that takes `method` on `path` (HEAD as GET), or nullptr.
const Route* FindRoute(bhttp::verb method, std::string_view path);
// The methods the rows matching `path` take, for an Allow header ("GET, HEAD, PUT"); empty
// when no row matches it.
std::string AllowedMethods(std::string_view path);

// Answers `call` by the table: a path under /api/ while the node stops, SHUTTING_DOWN; no
// row matches its path, 404 NOT_FOUND; rows do but none takes its method, 405
// METHOD_NOT_ALLOWED with an Allow header (both in JSON for /api/, /static/ and /metrics, as
// the HTML error page for pages); an operator route that OperatorCall refuses, its refusal;
// else the row's handler answers. Returns the stream to upgrade to, having answered nothing, when
// the call is a WebSocket upgrade to a stream route; Stream::kNone otherwise.
Stream Dispatch(Context& ctx, const Call& call, Respond respond);

}  // namespace pando::http
