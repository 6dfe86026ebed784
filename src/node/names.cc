#include "node/names.h"

#include <map>

#include "client/api_client.h"
#include "core/crypto.h"
#include "core/error_codes.h"
#include "names/etcd_registry.h"
#include "store/store.h"

namespace pando::node {
namespace {

using nlohmann::json;

Error Unavailable(const Endpoint& endpoint, const Error& why) {
  return Error{codes::kRegistryUnavailable,
               "The registry node at " + endpoint.ToString() + " did not answer: " + why.message};
}

Error Protocol(const std::string& what) {
  return Error{codes::kProtocol, "The registry node answered without " + what + "."};
}

}  // namespace

Result<names::RegisterResult> RemoteRegistry::Send(const std::string& target,
                                                   const names::Claim& claim) {
  client::ApiClient client(endpoint_, timeout_);
  auto answer =
      client.Exchange("POST", target, json{{"claim", ToHex(names::EncodeClaim(claim))}}.dump());
  if (!answer.ok()) {
    return Unavailable(endpoint_, answer.error());
  }
  auto r = AnswerFromJson(answer->body);
  if (!r.ok()) return r.error();
  // A registry that says registered must have registered this very claim.
  if (r->outcome == names::Outcome::kRegistered || r->outcome == names::Outcome::kTransferred) {
    auto record = RecordFromJson(answer->body.value("record", json::object()));
    if (!record.ok() || names::EncodeClaim(record->claim) != names::EncodeClaim(claim)) {
      return Protocol("the record of the claim it accepted");
    }
  }
  return r;
}

Result<names::RegisterResult> RemoteRegistry::Register(const names::Claim& claim) {
  return Send("/api/v1/names", claim);
}

Result<names::RegisterResult> RemoteRegistry::Transfer(const names::Claim& claim) {
  return Send("/api/v1/names/" + claim.name + "/transfer", claim);
}

Result<std::optional<names::Record>> RemoteRegistry::Lookup(std::string_view typed) {
  auto normal = names::Normalize(typed);
  if (!normal.ok()) return std::optional<names::Record>();
  client::ApiClient client(endpoint_, timeout_);
  auto answer = client.Exchange("GET", "/api/v1/names/" + *normal);
  if (!answer.ok()) {
    return Unavailable(endpoint_, answer.error());
  }
  if (answer->status == 404) return std::optional<names::Record>();
  if (answer->status != 200)
    return Protocol("a record (status " + std::to_string(answer->status) + ")");
  auto r = RecordFromJson(answer->body);
  if (!r.ok()) return r.error();
  if (r->name != *normal) return Protocol("the record of the name asked for");
  return std::optional<names::Record>(std::move(r).value());
}

Result<std::vector<names::Record>> RemoteRegistry::NamesOf(const PublicKey& owner) {
  client::ApiClient client(endpoint_, timeout_);
  auto answer = client.Exchange("GET", "/api/v1/names?owner=" + AuthorId(owner));
  if (!answer.ok()) {
    return Unavailable(endpoint_, answer.error());
  }
  const json& list = answer->body.value("names", json());
  if (answer->status != 200 || !list.is_array()) return Protocol("a list of names");
  std::vector<names::Record> out;
  for (const json& j : list) {
    auto r = RecordFromJson(j);
    if (!r.ok()) return r.error();
    if (r->owner != owner) return Protocol("only names of the owner asked for");
    out.push_back(std::move(r).value());
  }
  return out;
}

Result<std::unique_ptr<names::Registry>> OpenRegistry(const NodeConfig& config) {
  const std::string& b = config.names_backend;
  if (b == "none") return std::unique_ptr<names::Registry>();
  if (b == "embedded") {
    auto r = names::SqliteRegistry::Open(config.data_dir + "/names.db");
    if (!r.ok()) return r.error();
    return std::unique_ptr<names::Registry>(std::move(r).value());
  }
  if (b == "etcd") {
    names::EtcdOptions options;
    options.endpoints = config.names_etcd;
    auto r = names::EtcdRegistry::Open(std::move(options));
    if (!r.ok()) return r.error();
    return std::unique_ptr<names::Registry>(std::move(r).value());
  }
  if (b == "remote" && config.names_remote) {
    return std::unique_ptr<names::Registry>(
        new RemoteRegistry(config.names_remote->address, std::chrono::seconds(15)));
  }
  return Error{codes::kBadConfig, "names backend '" + b + "' is not usable as configured."};
}

std::optional<Resolved> ResolveName(std::span<const Entry> attestations, std::string_view normal,
                                    const std::function<bool(const PublicKey&)>& trusted) {
  std::optional<Resolved> current;
  for (const Entry& e : attestations) {
    if (!trusted(e.author())) continue;
    auto claim = names::DecodeClaim(e.payload());
    if (!claim.ok() || !names::VerifyClaim(*claim).ok()) continue;
    if (!current) {
      if (!claim->is_registration()) continue;
    } else if (claim->is_registration() || claim->name != current->record.name ||
               claim->signer != current->record.owner ||
               claim->prev != names::ClaimId(current->record.claim)) {
      continue;  // Taken already, or a transfer of another record.
    }
    current = Resolved{names::Record{claim->name, claim->owner, *claim}, e.author(), e.id()};
  }
  if (current && current->record.name != normal) return std::nullopt;
  return current;
}

Result<std::optional<Resolved>> ResolveFromLog(
    store::Store& store, std::string_view typed,
    const std::function<bool(const PublicKey&)>& trusted) {
  auto normal = names::Normalize(typed);
  if (!normal.ok()) return std::optional<Resolved>();
  auto list = store.NameAttestations(kCatalogGroup, names::Skeleton(*normal));
  if (!list.ok()) return list.error();
  return ResolveName(*list, *normal, trusted);
}

Result<std::vector<Resolved>> NamesFromLog(store::Store& store, const PublicKey& owner,
                                           const std::function<bool(const PublicKey&)>& trusted) {
  auto mine = store.NameAttestationsOf(kCatalogGroup, owner);
  if (!mine.ok()) return mine.error();
  std::map<std::string, bool> normals;  // Every name the owner was ever attested for.
  for (const Entry& e : *mine) {
    if (auto c = names::DecodeClaim(e.payload()); c.ok()) normals[c->name] = true;
  }
  std::vector<Resolved> out;
  for (const auto& [normal, unused] : normals) {
    auto r = ResolveFromLog(store, normal, trusted);
    if (!r.ok()) return r.error();
    if (*r && (*r)->record.owner == owner) out.push_back(std::move(**r));
  }
  return out;
}

}  // namespace pando::node
