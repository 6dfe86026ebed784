// Names: normalisation, skeletons and signed claims (docs/names.md). Pure code, in core so
// that the store can index the claims that attestations in the log carry.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/error.h"

namespace pando::names {

inline constexpr size_t kNameMin = 3;
inline constexpr size_t kNameMax = 32;
inline constexpr uint8_t kClaimVersion = 1;
inline constexpr std::string_view kClaimDomain{"pando.name.v1\0", 14};
// Words a site uses for itself or that would mislead readers; a name whose skeleton is one
// of theirs is invalid. docs/names.md lists the same words ("Reserved names"), and
// tests/names/names_test.cc checks that the two lists agree.
inline constexpr std::array<std::string_view, 30> kReservedNames = {
    "about",     "abuse",  "admin",    "administrator", "api",       "catalog",
    "contact",   "help",   "info",     "login",         "logout",    "mod",
    "moderator", "news",   "official", "owner",         "pando",     "postmaster",
    "register",  "root",   "search",   "security",      "settings",  "signup",
    "staff",     "static", "support",  "system",        "webmaster", "www"};

// The normal form of a typed name. Error: INVALID_NAME, saying which rule it breaks.
Result<std::string> Normalize(std::string_view typed);
// The skeleton of a normal form: names with equal skeletons are confusable.
std::string Skeleton(std::string_view normal);
// Whether a normal form's skeleton is that of a reserved name.
bool IsReserved(std::string_view normal);

// A signed claim: a registration (signer == owner, prev zero) or a transfer.
struct Claim {
  std::string name;  // The normal form.
  PublicKey signer{};
  PublicKey owner{};
  Hash32 prev{};
  int64_t timestamp_ms = 0;
  Signature signature{};

  bool is_registration() const { return signer == owner && prev == Hash32{}; }
};

// The claim's canonical bytes.
Bytes EncodeClaim(const Claim& c);
// Parses claim bytes. Error: BAD_CLAIM.
Result<Claim> DecodeClaim(ByteSpan bytes);
// Checks the name is a normal, unreserved form and the signature is the signer's.
// Errors: INVALID_NAME, BAD_SIGNATURE.
Status VerifyClaim(const Claim& c);
// Signs: fills signer from key and the signature.
Claim SignRegistration(std::string normal, const KeyPair& key, int64_t timestamp_ms);
Claim SignTransfer(std::string normal, const KeyPair& current_owner, const PublicKey& new_owner,
                   const Hash32& prev, int64_t timestamp_ms);
// BLAKE2b-256 of the claim's bytes: what a transfer's prev names.
Hash32 ClaimId(const Claim& c);

}  // namespace pando::names
