#include "http/routes.h"

#include "core/error_codes.h"
#include "http/backend.h"
#include "http/handlers.h"

namespace pando::http {
namespace {

using bhttp::verb;

// The FORBIDDEN sentences of the two kinds of operator route.
constexpr Caller kOperatorSigns{
    true,
    "Writes through this route are signed by the node's own key, so they are for its "
    "operator, on its machine; others post entries they signed to /api/v1/entries."};
constexpr Caller kOperatorSteers{true, "Peer blocks are for the node's operator, on its machine."};

// Every route. The pages come first: the front page and permalinks are the hottest reads.
// The /api/ and /metrics rows are what docs/openapi.yaml describes (tests/http/openapi_test.cc).
const Route kRoutes[] = {
    // The web UI (docs/web.md).
    {verb::get, "/", kAnyone, FrontPage},
    {verb::get, "/p/{id}", kAnyone, PostPage},
    {verb::get, "/static/{file}", kAnyone, StaticGet},
    {verb::get, "/search", kAnyone, SearchPage},
    {verb::get, "/write", kAnyone, WritePage},
    {verb::get, "/a/{author}", kAnyone, AuthorPage},
    {verb::get, "/a/{author}/{slug}", kAnyone, SlugPage},
    {verb::get, "/@{name}", kAnyone, UsernamePage},
    {verb::get, "/@{name}/{slug}", kAnyone, UsernameSlugPage},
    {verb::get, "/g/{group}", kAnyone, GroupPage},
    {verb::get, "/metrics", kAnyone, MetricsGet},
    // Entries, the log and posts (docs/api.md, "Routes").
    {verb::get, "/api/v1/entries/{id}", kAnyone, EntryGet},
    {verb::post, "/api/v1/entries", kAnyone, EntriesPost},
    {verb::get, "/api/v1/status", kAnyone, StatusGet},
    {verb::get, "/api/v1/head", kAnyone, HeadGet},
    {verb::get, "/api/v1/log", kAnyone, LogGet},
    {verb::get, "/api/v1/latest", kAnyone, LatestGet},
    {verb::get, "/api/v1/search", kAnyone, SearchGet},
    {verb::get, "/api/v1/groups", kAnyone, GroupsGet},
    {verb::get, "/api/v1/groups/{group}/entries", kAnyone, GroupEntriesGet},
    {verb::get, "/api/v1/authors/{author}/posts", kAnyone, AuthorPostsGet},
    {verb::get, "/api/v1/author-id", kAnyone, AuthorIdGet},
    {verb::get, "/api/v1/wait", kAnyone, WaitGet},
    {verb::post, "/api/v1/peers/block", kOperatorSteers, PeersBlockPost},
    {verb::post, "/api/v1/peers/unblock", kOperatorSteers, PeersUnblockPost},
    {verb::get, "/api/v1/stream", kAnyone, StreamWithoutUpgrade, Stream::kEntries},
    // Data (docs/api.md, "Data").
    {verb::get, "/api/v1/kv/stream", kAnyone, StreamWithoutUpgrade, Stream::kChanges},
    {verb::get, "/api/v1/kv/{group}/{map}", kAnyone, KvList},
    {verb::get, "/api/v1/kv/{group}/{map}/{key}", kAnyone, KvGet},
    {verb::put, "/api/v1/kv/{group}/{map}/{key}", kOperatorSigns, KvPut},
    {verb::delete_, "/api/v1/kv/{group}/{map}/{key}", kOperatorSigns, KvDelete},
    {verb::get, "/api/v1/objects", kAnyone, ObjectsGet},
    {verb::get, "/api/v1/objects/{group}/{type}/{name}", kAnyone, ObjectGet},
    {verb::get, "/api/v1/authors/{author}/profile", kAnyone, ProfileGet},
    {verb::put, "/api/v1/profile", kOperatorSigns, ProfilePut},
    {verb::get, "/api/v1/authors/{author}/follows", kAnyone, FollowsGet},
    {verb::post, "/api/v1/follows", kOperatorSigns, FollowAdd},
    {verb::delete_, "/api/v1/follows/{author}", kOperatorSigns, FollowRemove},
    {verb::get, "/api/v1/authors/{author}/posts/{slug}", kAnyone, PostBySlugGet},
    {verb::get, "/api/v1/timeline", kAnyone, TimelineGet},
    {verb::get, "/api/v1/clock", kAnyone, ClockGet},
    // Names (docs/api.md, "Names"): the claims are signed by their owners, so anyone may.
    {verb::post, "/api/v1/names", kAnyone, NameRegister},
    {verb::get, "/api/v1/names", kAnyone, NamesList},
    {verb::get, "/api/v1/names/{name}", kAnyone, NameGet},
    {verb::post, "/api/v1/names/{name}/transfer", kAnyone, NameTransfer},
    // Discovery (docs/api.md, "Discovery").
    {verb::get, "/api/v1/find/group/{group}", kAnyone, FindGroupGet},
    {verb::get, "/api/v1/find/feed/{author}", kAnyone, FindFeedGet},
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether a path segment can be a parameter: not empty, and every '%' starts an escape.
bool ValidParameter(std::string_view seg) {
  if (seg.empty()) return false;
  for (size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] != '%') continue;
    if (i + 2 >= seg.size()) return false;
    if (HexDigit(seg[i + 1]) < 0 || HexDigit(seg[i + 2]) < 0) return false;
    i += 2;
  }
  return true;
}

std::string Decode(std::string_view seg) {
  std::string out;
  out.reserve(seg.size());
  for (size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] == '%') {
      out += static_cast<char>(HexDigit(seg[i + 1]) * 16 + HexDigit(seg[i + 2]));
      i += 2;
    } else {
      out += seg[i];
    }
  }
  return out;
}

// Walks `pattern` and `path` segment by segment; calls param(segment) with the raw text of
// each parameter. Whether they match.
template <typename OnParam>
bool Walk(std::string_view pattern, std::string_view path, OnParam param) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const std::string_view pseg = pattern.substr(0, pattern.find('/'));
    const std::string_view seg = path.substr(0, path.find('/'));
    pattern.remove_prefix(pseg.size());
    path.remove_prefix(seg.size());
    const size_t brace = pseg.find('{');
    if (brace == std::string_view::npos) {
      if (pseg != seg) return false;
      continue;
    }
    // A literal prefix, then the parameter.
    if (!seg.starts_with(pseg.substr(0, brace))) return false;
    const std::string_view value = seg.substr(brace);
    if (!ValidParameter(value)) return false;
    param(value);
  }
  return true;
}

// Whether the path is the web UI's, whose errors are HTML pages rather than JSON.
bool IsPage(std::string_view path) {
  return !path.starts_with("/api/") && !path.starts_with("/static/") && path != "/metrics";
}

Response RefusalOf(const Call& call, const Error& e, std::string_view allow = {}) {
  Response r = IsPage(call.path) ? ErrorPage(call, e) : ErrorResponse(e, call.req);
  if (!allow.empty()) {
    r.set(bhttp::field::allow, boost::beast::string_view(allow.data(), allow.size()));
  }
  return r;
}

}  // namespace

std::span<const Route> Routes() { return kRoutes; }

bool Matches(std::string_view pattern, std::string_view path) {
  return Walk(pattern, path, [](std::string_view) {});
}

Params ParamsOf(std::string_view pattern, std::string_view path) {
  Params params;
  Walk(pattern, path, [&](std::string_view raw) { params.push_back(Decode(raw)); });
  return params;
}

const Route* FindRoute(verb method, std::string_view path) {
  if (method == verb::head) method = verb::get;
  for (const Route& r : kRoutes) {
    if (r.method == method && Matches(r.pattern, path)) return &r;
  }
  return nullptr;
}

std::string AllowedMethods(std::string_view path) {
  std::string allow;
  for (verb m : {verb::get, verb::head, verb::post, verb::put, verb::patch, verb::delete_}) {
    const verb row_method = m == verb::head ? verb::get : m;
    for (const Route& r : kRoutes) {
      if (r.method != row_method || !Matches(r.pattern, path)) continue;
      if (!allow.empty()) allow += ", ";
      const auto name = bhttp::to_string(m);
      allow.append(name.data(), name.size());
      break;
    }
  }
  return allow;
}

void Answer(Respond& respond, const Call& call, const Result<nlohmann::json>& r, unsigned status) {
  if (!r.ok()) return respond(ErrorResponse(r.error(), call.req));
  respond(JsonResponse(status, r.value(), call.req));
}

Stream Dispatch(Context& ctx, const Call& call, Respond respond) {
  // Before anything else, as docs/openapi.yaml says: a stopping node takes nothing new.
  if (call.path.starts_with("/api/") && ctx.backend->stopping()) {
    respond(ErrorResponse(Error{codes::kShuttingDown, "The node is stopping."}, call.req));
    return Stream::kNone;
  }
  const Route* route = FindRoute(call.req.method(), call.path);
  if (route == nullptr) {
    const std::string allow = AllowedMethods(call.path);
    const std::string method(call.req.method_string());
    if (allow.empty()) {
      const std::string sentence =
          IsPage(call.path)
              ? "No page at " + std::string(call.path) + "."
              : "No route " + method + " " + std::string(call.path) + " (docs/api.md lists them).";
      respond(RefusalOf(call, Error{codes::kNotFound, sentence}));
      return Stream::kNone;
    }
    respond(RefusalOf(
        call,
        Error{codes::kMethodNotAllowed, "Route " + std::string(call.path) + " does not take " +
                                            method + "; it takes " + allow + "."},
        allow));
    return Stream::kNone;
  }
  if (route->stream != Stream::kNone && call.upgrade) return route->stream;
  if (route->caller.operator_only) {
    const Status allowed = OperatorCall(ctx, call, route->caller.forbidden);
    if (!allowed.ok()) {
      respond(ErrorResponse(allowed.error(), call.req));
      return Stream::kNone;
    }
  }
  // Patterns without parameters (most of them) decode nothing.
  const Params params = route->pattern.find('{') == std::string_view::npos
                            ? Params()
                            : ParamsOf(route->pattern, call.path);
  route->handler(ctx, call, params, respond);
  return Stream::kNone;
}

}  // namespace pando::http
