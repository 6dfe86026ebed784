// The node's side of unique names (docs/names.md): which registry backend it uses, the
// registry of another node reached over its HTTP API, names and records as JSON, and the
// resolution of a name from the attestations in the log.
//
// A registration is decided by the registry (one atomic step); it is then published to the
// catalog group as an attestation, an entry of kind 4 whose payload is the owner-signed
// claim. Every node verifies the claim's signature when it indexes the entry, so no registry
// or relaying node can make a name point at a key that did not sign for it. Which
// attestations a node believes (the site's registry speaks for the site) is its own setting:
// it trusts itself, the node that hosts its registry, and the keys in names_attesters.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/entry.h"
#include "core/name_claim.h"
#include "names/registry.h"
#include "node/config.h"

namespace pando::store {
class Store;
}

namespace pando::node {

// A record as the API shows it: {"name", "owner" (pd...), "owner_key" (hex), "claim" (hex),
// "claim_id" (hex), "timestamp_ms"}.
nlohmann::json RecordJson(const names::Record& r);
// The reverse, for records that another node sent: the claim must decode and verify, and the
// name and owner must be the claim's. Errors: BAD_CLAIM, BAD_SIGNATURE, INVALID_NAME.
Result<names::Record> RecordFromJson(const nlohmann::json& j);
// A registry's answer as JSON: {"outcome": "registered"|..., "record"|"holder": record}.
nlohmann::json AnswerJson(const names::RegisterResult& r, const names::Claim& claim);
// The reverse (what RemoteRegistry reads). Errors: PROTOCOL_ERROR and those of RecordFromJson.
Result<names::RegisterResult> AnswerFromJson(const nlohmann::json& j);

// The registry of the node at `endpoint` (its HTTP port), through /api/v1/names: what the
// other nodes of a site use so that they all see one registry. Every record it returns is
// checked (RecordFromJson), so that node can refuse or forget names but not forge them.
// Safe to use from several threads.
class RemoteRegistry : public names::Registry {
 public:
  RemoteRegistry(Endpoint endpoint, std::chrono::milliseconds timeout)
      : endpoint_(std::move(endpoint)), timeout_(timeout) {}
  Result<names::RegisterResult> Register(const names::Claim& claim) override;
  Result<names::RegisterResult> Transfer(const names::Claim& claim) override;
  Result<std::optional<names::Record>> Lookup(std::string_view typed) override;
  Result<std::vector<names::Record>> NamesOf(const PublicKey& owner) override;

 private:
  Result<names::RegisterResult> Send(const std::string& target, const names::Claim& claim);
  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
};

// The backend config.names_backend names, or nullptr for "none". Errors: BAD_CONFIG, and
// those of opening the backend.
Result<std::unique_ptr<names::Registry>> OpenRegistry(const NodeConfig& config);

// A name as the log says it: the attestation that made the current record, which a trusted
// attester signed.
struct Resolved {
  names::Record record;
  PublicKey attester{};
  Hash32 attestation{};
};

// Resolves normal form `normal` from the attestations of its skeleton, in log order
// (Store::NameAttestations): the first registration by a trusted attester holds the
// skeleton, and each transfer that names the current record (prev), is signed by its owner
// and is attested by a trusted attester moves it on. nullopt when nobody holds `normal`
// (or a confusable name holds its skeleton).
std::optional<Resolved> ResolveName(std::span<const Entry> attestations, std::string_view normal,
                                    const std::function<bool(const PublicKey&)>& trusted);

// The same, read from the store's catalog group. `typed` in any case.
Result<std::optional<Resolved>> ResolveFromLog(
    store::Store& store, std::string_view typed,
    const std::function<bool(const PublicKey&)>& trusted);
// The names the log says `owner` holds now, in name order.
Result<std::vector<Resolved>> NamesFromLog(store::Store& store, const PublicKey& owner,
                                           const std::function<bool(const PublicKey&)>& trusted);

}  // namespace pando::node
