// Name attestations (docs/store.md, "Name attestations"): the writer's side (IndexName) and
// the reader's queries. The store keeps only which attestation entries hold a verified claim
// for which skeleton and owner; deciding which attestation counts is the node's
// (node/names.h), since it depends on whom the node trusts.
#include "core/name_claim.h"
#include "store/read.h"
#include "store/store.h"
#include "store/writer.h"

namespace pando::store {

Status Store::Writer::IndexName(int64_t ref, const Entry& e, int64_t group_ref) {
  auto claim = names::DecodeClaim(e.payload());
  // A claim that does not decode or verify changes nothing: like a CRDT operation that does
  // not decode, the entry stays a valid entry of its feed.
  if (!claim.ok() || !names::VerifyClaim(*claim).ok()) return Status::Ok();
  const std::string skeleton = names::Skeleton(claim->name);
  ins_name_->Bind(1, ref)
      .Bind(2, group_ref)
      .Bind(3, std::string_view(skeleton))
      .Bind(4, ByteSpan(claim->owner));
  return ins_name_->Run();
}

namespace {

constexpr std::string_view kAttestations =
    "SELECT e.raw FROM name_claims n JOIN entries e USING (entry_ref) "
    "WHERE n.group_ref=(SELECT group_ref FROM groups WHERE name=?) AND ";

}  // namespace

Result<std::vector<Entry>> Store::NameAttestations(std::string_view group,
                                                   std::string_view skeleton) {
  MutexLock lock(&read_mu_);
  auto s =
      Prepared(names_by_skeleton_, std::string(kAttestations) + "n.skeleton=? ORDER BY e.ts, e.id");
  if (!s.ok()) return s.error();
  (*s)->Bind(1, group).Bind(2, skeleton);
  auto out = CollectEntries(**s);
  (*s)->Reset();  // A cached statement.
  return out;
}

Result<std::vector<Entry>> Store::NameAttestationsOf(std::string_view group,
                                                     const PublicKey& owner) {
  MutexLock lock(&read_mu_);
  auto s = Prepared(names_by_owner_, std::string(kAttestations) + "n.owner=? ORDER BY e.ts, e.id");
  if (!s.ok()) return s.error();
  (*s)->Bind(1, group).Bind(2, ByteSpan(owner));
  auto out = CollectEntries(**s);
  (*s)->Reset();  // A cached statement.
  return out;
}

}  // namespace pando::store
