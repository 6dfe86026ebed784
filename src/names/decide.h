// The decisions every Registry backend makes the same way, whatever it stores records in
// (docs/names.md, "The registry"): which claims it refuses before it looks, and what it answers
// once it has read the record a claim would replace. Internal to src/names/.
#pragma once

#include <optional>

#include "core/error_codes.h"
#include "names/registry.h"

namespace pando::names {

inline RegisterResult Answer(Outcome outcome, std::optional<Record> holder = std::nullopt) {
  RegisterResult r;
  r.outcome = outcome;
  r.holder = std::move(holder);
  return r;
}

inline RegisterResult Invalid(Error why) {
  RegisterResult r;
  r.outcome = Outcome::kInvalid;
  r.why = std::move(why);
  return r;
}

// The answer to a registration that cannot be one, or nullopt if the backend should try it.
inline std::optional<RegisterResult> RefuseRegistration(const Claim& claim) {
  if (auto s = VerifyClaim(claim); !s.ok()) return Invalid(s.error());
  if (!claim.is_registration()) {
    return Invalid(Error{codes::kBadClaim, "A registration is signed by its owner, prev zero."});
  }
  return std::nullopt;
}

// The same for a transfer.
inline std::optional<RegisterResult> RefuseTransfer(const Claim& claim) {
  if (auto s = VerifyClaim(claim); !s.ok()) return Invalid(s.error());
  if (claim.is_registration()) {
    return Invalid(Error{codes::kBadClaim, "A transfer names the record it replaces (prev)."});
  }
  return std::nullopt;
}

// A registration found `holder` under its skeleton. If the holder's claim is this very claim,
// an earlier call (whose answer was lost) registered it, and the answer is the same again.
inline RegisterResult AnswerTaken(const Claim& claim, Record holder) {
  if (EncodeClaim(holder.claim) == EncodeClaim(claim)) return Answer(Outcome::kRegistered);
  return Answer(Outcome::kTaken, std::move(holder));
}

// What a transfer answers, given the name's current record (nullopt: nobody holds the name),
// or nullopt if it may replace that record. A transfer whose claim already is the current
// record was applied by an earlier call, and answers so again.
inline std::optional<RegisterResult> DecideTransfer(const Claim& claim,
                                                    std::optional<Record> current) {
  if (current && EncodeClaim(current->claim) == EncodeClaim(claim)) {
    return Answer(Outcome::kTransferred);
  }
  if (!current || ClaimId(current->claim) != claim.prev) {
    return Answer(Outcome::kStale, std::move(current));
  }
  if (current->owner != claim.signer) {
    return Invalid(Error{codes::kBadSignature, "A transfer is signed by the current owner."});
  }
  return std::nullopt;
}

}  // namespace pando::names
