#include "core/fork_proof.h"

#include "core/byte_reader.h"
#include "core/chain.h"
#include "core/error_codes.h"

namespace pando {
namespace {

Error BadProof(const std::string& why) {
  return Error{codes::kMalformed, "The fork proof is malformed: " + why + "."};
}

Status CheckSide(const std::vector<Entry>& side) {
  if (side.empty() || side.size() > kForkProofRunEntriesMax) {
    return BadProof("each side must hold 1 to 64 entries");
  }
  RunVerdict v = AuthenticateRun(side);
  if (v.linked != side.size()) return BadProof("a side's entries do not link");
  if (v.authenticated == 0) {
    return Error{codes::kBadSignature, "A side of the fork proof is not signed by the author."};
  }
  return Status::Ok();
}

Result<std::vector<Entry>> DecodeSide(ByteReader& r) {
  const uint32_t count = r.U32();
  if (!r.ok()) return BadProof("it is truncated");
  if (count == 0 || count > kForkProofRunEntriesMax) return BadProof("a side count is invalid");
  std::vector<Entry> side;
  for (uint32_t i = 0; i < count; ++i) {
    // The entry decoder judges an entry's size (OVERSIZE), so a length is bounded here only
    // by the bytes that remain.
    const ByteSpan bytes = r.Prefixed32(UINT32_MAX);
    if (!r.ok()) return BadProof("it is truncated");
    auto e = Entry::Decode(bytes);
    if (!e.ok()) return e.error();
    side.push_back(std::move(e).value());
  }
  return side;
}

}  // namespace

Status VerifyForkProof(const ForkProof& proof) {
  PANDO_RETURN_IF_ERROR(CheckSide(proof.a));
  PANDO_RETURN_IF_ERROR(CheckSide(proof.b));
  const Entry& x = proof.a.front();
  const Entry& y = proof.b.front();
  if (x.author() != y.author() || x.group() != y.group() || x.seq() != y.seq()) {
    return BadProof("the two entries must share author, group and seq");
  }
  if (x.id() == y.id()) return BadProof("the two entries are the same entry");
  return Status::Ok();
}

Error AuthorForkedError(const PublicKey& author) {
  return Error{codes::kAuthorForked,
               "Author " + AuthorId(author) + " signed a fork and is refused by this node."};
}

void EncodeRun(Bytes& out, std::span<const Entry> run) {
  PutU32(out, static_cast<uint32_t>(run.size()));
  for (const Entry& e : run) {
    PutU32(out, static_cast<uint32_t>(e.bytes().size()));
    Append(out, e.bytes());
  }
}

Bytes EncodeForkProof(const ForkProof& proof) {
  Bytes out;
  EncodeRun(out, proof.a);
  EncodeRun(out, proof.b);
  return out;
}

Result<ForkProof> DecodeForkProof(ByteSpan bytes) {
  ByteReader r(bytes);
  auto a = DecodeSide(r);
  if (!a.ok()) return a.error();
  auto b = DecodeSide(r);
  if (!b.ok()) return b.error();
  if (!r.AtEnd()) return BadProof("it has trailing bytes");
  return ForkProof{std::move(a).value(), std::move(b).value()};
}

}  // namespace pando
