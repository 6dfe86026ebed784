#include "core/name_claim.h"

#include "core/byte_reader.h"
#include "core/error_codes.h"

namespace pando::names {
namespace {

Error Invalid(const std::string& why) {
  return Error{codes::kInvalidName, "The name " + why + "."};
}

bool Letter(char c) { return c >= 'a' && c <= 'z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }
bool Joiner(char c) { return c == '-' || c == '_'; }

Bytes Body(const Claim& c) {
  Bytes out;
  out.push_back(kClaimVersion);
  out.push_back(static_cast<uint8_t>(c.name.size()));
  Append(out, AsBytes(c.name));
  Append(out, c.signer);
  Append(out, c.owner);
  Append(out, c.prev);
  PutU64(out, static_cast<uint64_t>(c.timestamp_ms));
  return out;
}

Bytes SigningMessage(const Claim& c) {
  Bytes m(kClaimDomain.begin(), kClaimDomain.end());
  Append(m, Body(c));
  return m;
}

}  // namespace

Result<std::string> Normalize(std::string_view typed) {
  std::string n;
  for (char c : typed) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return Invalid("holds a character outside ASCII (names are a-z, 0-9, - and _)");
    }
    n += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (n.size() < kNameMin || n.size() > kNameMax) {
    return Invalid("is not " + std::to_string(kNameMin) + " to " + std::to_string(kNameMax) +
                   " characters long");
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    if (!Letter(c) && !Digit(c) && !Joiner(c)) {
      return Invalid("holds '" + std::string(1, c) + "' (names are a-z, 0-9, - and _)");
    }
    if (Joiner(c) && i > 0 && Joiner(n[i - 1])) return Invalid("has two of - and _ in a row");
  }
  if (!Letter(n.front())) return Invalid("does not start with a letter");
  if (Joiner(n.back())) return Invalid("ends with - or _");
  if (IsReserved(n)) return Invalid("'" + n + "' is reserved");
  return n;
}

std::string Skeleton(std::string_view normal) {
  std::string s;
  for (size_t i = 0; i < normal.size(); ++i) {
    const char c = normal[i];
    if (c == 'r' && i + 1 < normal.size() && normal[i + 1] == 'n') {
      s += 'm';
      ++i;
      continue;
    }
    switch (c) {
      case '0':
        s += 'o';
        break;
      case '1':
      case 'i':
        s += 'l';
        break;
      case '5':
        s += 's';
        break;
      case '_':
        s += '-';
        break;
      default:
        s += c;
    }
  }
  return s;
}

bool IsReserved(std::string_view normal) {
  const std::string s = Skeleton(normal);
  for (std::string_view r : kReservedNames) {
    if (Skeleton(r) == s) return true;
  }
  return false;
}

Bytes EncodeClaim(const Claim& c) {
  Bytes out = Body(c);
  Append(out, c.signature);
  return out;
}

Result<Claim> DecodeClaim(ByteSpan b) {
  auto bad = [](const std::string& why) {
    return Error{codes::kBadClaim, "The name claim is malformed: " + why + "."};
  };
  ByteReader r(b);
  const uint8_t version = r.U8();
  const size_t n = r.U8();
  if (!r.ok()) return bad("it is cut short");
  if (version != kClaimVersion) return bad("version " + std::to_string(version) + " is not 1");
  if (n < kNameMin || n > kNameMax) return bad("the name length is not 3 to 32");
  Claim c;
  c.name.assign(AsString(r.Take(n)));
  r.Read(c.signer);
  r.Read(c.owner);
  r.Read(c.prev);
  c.timestamp_ms = static_cast<int64_t>(r.U64());
  r.Read(c.signature);
  if (!r.AtEnd()) return bad("its length does not fit its name");
  return c;
}

Status VerifyClaim(const Claim& c) {
  auto normal = Normalize(c.name);
  if (!normal.ok()) return normal.error();
  if (*normal != c.name) return Error{codes::kInvalidName, "The name is not in its normal form."};
  if (!VerifySignature(c.signer, SigningMessage(c), c.signature)) {
    return Error{codes::kBadSignature, "The name claim's signature does not verify."};
  }
  return Status::Ok();
}

Claim SignRegistration(std::string normal, const KeyPair& key, int64_t timestamp_ms) {
  Claim c;
  c.name = std::move(normal);
  c.signer = c.owner = key.public_key();
  c.timestamp_ms = timestamp_ms;
  c.signature = key.Sign(SigningMessage(c));
  return c;
}

Claim SignTransfer(std::string normal, const KeyPair& current_owner, const PublicKey& new_owner,
                   const Hash32& prev, int64_t timestamp_ms) {
  Claim c;
  c.name = std::move(normal);
  c.signer = current_owner.public_key();
  c.owner = new_owner;
  c.prev = prev;
  c.timestamp_ms = timestamp_ms;
  c.signature = current_owner.Sign(SigningMessage(c));
  return c;
}

Hash32 ClaimId(const Claim& c) { return Blake2b256(EncodeClaim(c)); }

}  // namespace pando::names
