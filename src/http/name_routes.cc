// The name routes (docs/api.md, "Names"), rows of the route table (routes.cc): register a
// name with a claim its owner signed, transfer it, look names up. The claim is signed by the
// owner (in the browser, or by `pando name`), so these routes are open to any client: the
// node only passes the claim to its registry and attests what the registry decided.
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "core/error_codes.h"
#include "http/backend.h"
#include "http/handlers.h"
#include "http/http.h"
#include "node/names.h"

namespace pando::http {
namespace {

using nlohmann::json;

// The claim of a body {"claim": "<hex>"}. Errors: BAD_JSON, BAD_CLAIM.
Result<names::Claim> ClaimOf(const Call& call) {
  auto j = BoundedJson(call.req.body(), "{\"claim\": \"<hex>\"}");
  if (!j.ok()) return j.error();
  if (!j->is_object()) return Error{codes::kBadJson, "The body must be {\"claim\": \"<hex>\"}."};
  auto bytes = j->contains("claim") && (*j)["claim"].is_string()
                   ? FromHex((*j)["claim"].get<std::string>())
                   : std::nullopt;
  if (!bytes) return Error{codes::kBadClaim, "The body's claim must be the claim's bytes in hex."};
  return names::DecodeClaim(*bytes);
}

// A registration's or transfer's answer: 201/200 with the record and its attestation, or the
// error of the outcome with the answer's fields beside it (what RemoteRegistry reads).
Response NameAnswerResponse(const Result<Backend::NameAnswer>& a, const names::Claim& claim,
                            const Request& shape) {
  if (!a.ok()) return ErrorResponse(a.error(), shape);
  const names::RegisterResult& r = a->result;
  json body = node::AnswerJson(r, claim);
  std::optional<Error> e;
  switch (r.outcome) {
    case names::Outcome::kRegistered:
      return JsonResponse(201, body, shape);
    case names::Outcome::kTransferred:
      return JsonResponse(200, body, shape);
    case names::Outcome::kTaken:
      e = Error{codes::kNameTaken,
                "The name " + claim.name + " is taken" +
                    (r.holder ? (r.holder->name == claim.name
                                     ? ": it points at " + AuthorId(r.holder->owner)
                                     : " by the confusable name " + r.holder->name)
                              : "") +
                    ". Choose another name."};
      break;
    case names::Outcome::kStale:
      e = Error{codes::kStaleClaim, "The transfer names a record of " + claim.name +
                                        " that is not its current one; look it up again."};
      break;
    case names::Outcome::kInvalid:
      e = r.why.value_or(Error{codes::kBadClaim, "The registry refused the claim."});
      break;
  }
  body["error"] = {{"code", e->code}, {"message", e->message}};
  return JsonResponse(HttpStatusOf(e->code), body, shape);
}

std::function<bool(const PublicKey&)> Trust(Context& ctx) {
  return [backend = ctx.backend](const PublicKey& k) { return backend->TrustsAttester(k); };
}

// A record from the log, as the API shows it.
json ResolvedJson(const node::Resolved& r) {
  json j = node::RecordJson(r.record);
  j["attestation"] = ToHex(r.attestation);
  j["attester"] = AuthorId(r.attester);
  return j;
}

}  // namespace

void NameRegister(Context& ctx, const Call& call, const Params&, Respond& respond) {
  auto claim = ClaimOf(call);
  if (!claim.ok()) return respond(ErrorResponse(claim.error(), call.req));
  ctx.backend->RegisterName(
      *claim, [respond = std::move(respond), c = *claim, shape = AnswerShape(call.req)](auto a) {
        respond(NameAnswerResponse(a, c, shape));
      });
}

void NameTransfer(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto claim = ClaimOf(call);
  if (!claim.ok()) return respond(ErrorResponse(claim.error(), call.req));
  if (claim->name != p[0]) {
    return respond(ErrorResponse(
        Error{codes::kBadArgument, "The claim transfers " + claim->name + ", not " + p[0] + "."},
        call.req));
  }
  ctx.backend->TransferName(
      *claim, [respond = std::move(respond), c = *claim, shape = AnswerShape(call.req)](auto a) {
        respond(NameAnswerResponse(a, c, shape));
      });
}

void NameGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto normal = names::Normalize(p[0]);
  if (!normal.ok()) return respond(ErrorResponse(normal.error(), call.req));
  auto attested = node::ResolveFromLog(ctx.backend->store(), *normal, Trust(ctx));
  if (!attested.ok()) return respond(ErrorResponse(attested.error(), call.req));
  if (!ctx.backend->has_registry()) {
    // Without a registry the log's attestations are all this node knows.
    if (!*attested) {
      return respond(ErrorResponse(
          Error{codes::kNotFound,
                "No attestation this node trusts gives the name " + *normal + " to anyone."},
          call.req));
    }
    json j = ResolvedJson(**attested);
    j["source"] = "log";
    return respond(JsonResponse(200, j, call.req));
  }
  ctx.backend->LookupName(
      *normal, [respond = std::move(respond), n = *normal, shape = AnswerShape(call.req),
                log = std::move(attested).value()](Result<std::optional<names::Record>> r) {
        if (!r.ok()) return respond(ErrorResponse(r.error(), shape));
        if (!*r) {
          return respond(ErrorResponse(
              Error{codes::kNotFound, "Nobody holds the name " + n + "; it is free."}, shape));
        }
        json j = node::RecordJson(**r);
        j["source"] = "registry";
        // The attestation in the log, when it has reached this node and agrees.
        if (log && names::ClaimId(log->record.claim) == names::ClaimId((*r)->claim)) {
          j["attestation"] = ToHex(log->attestation);
          j["attester"] = AuthorId(log->attester);
        }
        respond(JsonResponse(200, j, shape));
      });
}

void NamesList(Context& ctx, const Call& call, const Params&, Respond& respond) {
  auto o = QueryValue(call.query, "owner");
  if (!o || o->empty()) {
    return respond(ErrorResponse(
        Error{codes::kBadArgument, "Ask for the names of an owner: ?owner=pd..."}, call.req));
  }
  auto owner = ParseAuthorId(*o);
  if (!owner.ok()) return respond(ErrorResponse(owner.error(), call.req));
  if (!ctx.backend->has_registry()) {
    auto list = node::NamesFromLog(ctx.backend->store(), *owner, Trust(ctx));
    if (!list.ok()) return respond(ErrorResponse(list.error(), call.req));
    json names = json::array();
    for (const node::Resolved& r : *list) names.push_back(ResolvedJson(r));
    return respond(JsonResponse(200, json{{"names", names}, {"source", "log"}}, call.req));
  }
  ctx.backend->NamesOf(*owner, [respond = std::move(respond), shape = AnswerShape(call.req)](
                                   Result<std::vector<names::Record>> r) {
    if (!r.ok()) return respond(ErrorResponse(r.error(), shape));
    json names = json::array();
    for (const names::Record& rec : *r) names.push_back(node::RecordJson(rec));
    respond(JsonResponse(200, json{{"names", names}, {"source", "registry"}}, shape));
  });
}

}  // namespace pando::http
