// Names as JSON (node/names.h): records and registry answers as the API writes them, and the
// checks applied to those another node sent. Kept apart from the rest of node/names.cc so that
// fuzz/name_answer_fuzz.cc can build it with the instrumented core alone.
#include "core/crypto.h"
#include "core/error_codes.h"
#include "node/names.h"

namespace pando::node {
namespace {

using nlohmann::json;

Error Protocol(const std::string& what) {
  return Error{codes::kProtocol, "The registry node answered without " + what + "."};
}

std::string HexString(const json& j, std::string_view key) {
  if (!j.is_object() || !j.contains(key) || !j[std::string(key)].is_string()) return "";
  return j[std::string(key)].get<std::string>();
}

}  // namespace

json RecordJson(const names::Record& r) {
  return json{{"name", r.name},
              {"owner", AuthorId(r.owner)},
              {"owner_key", ToHex(r.owner)},
              {"claim", ToHex(names::EncodeClaim(r.claim))},
              {"claim_id", ToHex(names::ClaimId(r.claim))},
              {"timestamp_ms", r.claim.timestamp_ms}};
}

Result<names::Record> RecordFromJson(const json& j) {
  auto bytes = FromHex(HexString(j, "claim"));
  if (!bytes) return Error{codes::kBadClaim, "A name record carries its claim in hex."};
  auto claim = names::DecodeClaim(*bytes);
  if (!claim.ok()) return claim.error();
  PANDO_RETURN_IF_ERROR(names::VerifyClaim(*claim));
  // The record's other fields are derived from the claim; a record that says otherwise lies.
  if (j.contains("name") &&
      (!j["name"].is_string() || j["name"].get<std::string>() != claim->name)) {
    return Error{codes::kBadClaim, "A name record names another name than its claim."};
  }
  if (j.contains("owner") &&
      (!j["owner"].is_string() || j["owner"].get<std::string>() != AuthorId(claim->owner))) {
    return Error{codes::kBadClaim, "A name record names another owner than its claim."};
  }
  names::Record r;
  r.name = claim->name;
  r.owner = claim->owner;
  r.claim = std::move(claim).value();
  return r;
}

json AnswerJson(const names::RegisterResult& r, const names::Claim& claim) {
  json j{{"outcome", names::OutcomeName(r.outcome)}};
  if (r.outcome == names::Outcome::kRegistered || r.outcome == names::Outcome::kTransferred) {
    j["record"] = RecordJson(names::Record{claim.name, claim.owner, claim});
  }
  if (r.holder) j["holder"] = RecordJson(*r.holder);
  if (r.why) j["why"] = {{"code", r.why->code}, {"message", r.why->message}};
  if (r.attestation) j["attestation"] = ToHex(*r.attestation);
  return j;
}

Result<names::RegisterResult> AnswerFromJson(const json& j) {
  if (!j.is_object() || !j.contains("outcome") || !j["outcome"].is_string()) {
    return Protocol("an outcome");
  }
  const std::string o = j["outcome"].get<std::string>();
  names::RegisterResult r;
  static const names::Outcome kAll[] = {names::Outcome::kRegistered, names::Outcome::kTransferred,
                                        names::Outcome::kTaken, names::Outcome::kStale,
                                        names::Outcome::kInvalid};
  bool known = false;
  for (names::Outcome c : kAll) {
    if (names::OutcomeName(c) == o) {
      r.outcome = c;
      known = true;
    }
  }
  if (!known) return Protocol("a known outcome");
  if (j.contains("holder") && !j["holder"].is_null()) {
    auto h = RecordFromJson(j["holder"]);
    if (!h.ok()) return h.error();
    r.holder = std::move(h).value();
  }
  if (auto a = FromHex(HexString(j, "attestation")); a && a->size() == 32) {
    Hash32 id;
    std::copy(a->begin(), a->end(), id.begin());
    r.attestation = id;
  }
  if (r.outcome == names::Outcome::kInvalid) {
    const json why = j.value("why", json::object());
    const std::string code = why.is_object() ? why.value("code", "") : "";
    const std::string message = why.is_object() ? why.value("message", "") : "";
    r.why =
        Error{codes::Intern(code), message.empty() ? "The registry refused the claim." : message};
  }
  return r;
}

}  // namespace pando::node
