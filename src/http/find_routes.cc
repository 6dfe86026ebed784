// The discovery routes (docs/api.md, "Discovery"), rows of the route table (routes.cc): who
// carries a group, who holds an author's feed, as the DHT answers (docs/dht-format.md). Open to
// any client, like `pando find`; each is one lookup, and the node refuses more lookups in flight
// than its DHT allows (BUSY).
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "core/entry.h"
#include "core/error_codes.h"
#include "http/backend.h"
#include "http/handlers.h"
#include "http/http.h"
#include "proto/frame.h"

namespace pando::http {
namespace {

using nlohmann::json;

// Answers a lookup's records, or NOT_FOUND when it found none. `what` names the question in
// the error ("carries group news").
void FindAnswer(Context& ctx, const Call& call, proto::DhtKind kind, const Hash32& key,
                json question, std::string what, Respond& respond) {
  ctx.backend->Find(
      kind, key,
      [respond = std::move(respond), shape = AnswerShape(call.req), question = std::move(question),
       what = std::move(what), self = ctx.backend->key(), key](Result<proto::DhtLookupResult> r) {
        if (!r.ok()) return respond(ErrorResponse(r.error(), shape));
        const proto::TimeMs ms = r->finished_ms - r->started_ms;
        const char* how = r->source == proto::DhtLookupResult::Source::kFlood  ? "flood"
                          : r->source == proto::DhtLookupResult::Source::kHint ? "hint"
                                                                               : "dht";
        if (r->records.empty()) {
          const bool flooded = r->source == proto::DhtLookupResult::Source::kFlood;
          return respond(ErrorResponse(
              Error{codes::kNotFound,
                    "No node " + what + ", as far as the DHT knows (" +
                        std::to_string(r->requests) + " nodes asked" +
                        (flooded ? ", then a query flooded over this node's neighbours" : "") +
                        "; " + std::to_string(ms) + " ms)."},
              shape));
        }
        json j = question;
        j["key"] = ToHex(key);
        json nodes = json::array();
        for (const proto::DhtRecordRef& rec : r->records) {
          nodes.push_back({{"author", AuthorId(rec->publisher)},
                           {"node_id", proto::NodeHex(proto::NodeIdOfKey(rec->publisher))},
                           {"address", rec->address},
                           {"issued_ms", rec->issued_ms},
                           {"expires_ms", rec->expires_ms()},
                           {"this_node", rec->publisher == self},
                           {"how", how}});
        }
        j["nodes"] = std::move(nodes);
        j["lookup"] = {{"how", how},
                       {"requests", r->requests},
                       {"failures", r->failures},
                       {"flood_messages", r->flood_messages},
                       {"ms", ms}};
        respond(JsonResponse(200, j, shape));
      });
}

}  // namespace

void FindGroupGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  const std::string& group = p[0];
  if (!IsValidGroupName(group)) {
    return Answer(respond, call,
                  Error{codes::kInvalidGroup, "'" + group + "' is not a valid group name."});
  }
  FindAnswer(ctx, call, proto::DhtKind::kCarriesGroup, proto::DhtGroupKey(group),
             {{"group", group}}, "carries group " + group, respond);
}

void FindFeedGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto author = ParseAuthorId(p[0]);
  if (!author.ok()) return Answer(respond, call, author.error());
  FindAnswer(ctx, call, proto::DhtKind::kHoldsFeed, proto::DhtFeedKey(*author), {{"author", p[0]}},
             "holds the feed of " + p[0], respond);
}

}  // namespace pando::http
