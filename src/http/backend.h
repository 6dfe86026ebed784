// Backend: what the HTTP port's handlers may ask of the node behind it, and nothing more.
// Handlers read the store directly (its reader connection) and reach everything else through
// these calls: posting an entry its author signed, signing a CRDT operation with the node's
// key, blocking peers, waiting for an entry, the node's status and the name registry.
//
// node_backend.h adapts node::Node to it for the server; tests/http/routes_test.cc puts a
// fake in its place, so every route runs in-process without a node, sockets or threads.
//
// Threads: every call is made on the node's event loop, and every `done` callback runs there
// too, exactly once (perhaps before the call returns).
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/error.h"
#include "core/name_claim.h"
#include "crdt/op.h"
#include "names/registry.h"
#include "proto/dht.h"
#include "store/store.h"

namespace pando::http {

class Backend {
 public:
  virtual ~Backend() = default;

  // --- Reads -----------------------------------------------------------------------------
  // The store, for reading: handlers never write to it themselves (every write is an entry
  // that goes through PostLocal or PostOp, which check it and broadcast it). Lives as long
  // as the backend.
  virtual store::Store& store() = 0;
  // The node's own key: the author of what PostOp signs, "me" of the home timeline.
  virtual const PublicKey& key() const = 0;
  // GET /api/v1/status (docs/api.md); also what /metrics reports.
  virtual nlohmann::json StatusJson() const = 0;
  // The node is shutting down: the API answers SHUTTING_DOWN.
  virtual bool stopping() const = 0;

  // --- Writes ----------------------------------------------------------------------------
  // Stores an entry its author signed, then broadcasts it; done(OK) after the commit, or
  // the refusal (Node::PostLocal).
  virtual void PostLocal(Entry entry, std::function<void(Status)> done) = 0;
  // Signs `op` with the node's key as the next entry of its feed in `group`, then stores and
  // broadcasts it; done gets the signed entry or the refusal (Node::PostOp).
  virtual void PostOp(std::string group, crdt::Op op, std::function<void(Result<Entry>)> done) = 0;

  // --- Peers and replication -------------------------------------------------------------
  virtual void Block(const std::vector<PublicKey>& peers, std::chrono::seconds duration) = 0;
  virtual void Unblock(const std::vector<PublicKey>& peers) = 0;
  // done(true) once the node holds entry `id` (at once if it does), done(false) after
  // `timeout`.
  virtual void WaitForEntry(const Hash32& id, std::chrono::milliseconds timeout,
                            std::function<void(bool)> done) = 0;
  // Looks records of (kind, key) up in the DHT (docs/dht-format.md). Error: BUSY.
  virtual void Find(proto::DhtKind kind, const Hash32& key,
                    std::function<void(Result<proto::DhtLookupResult>)> done) = 0;

  // --- Names (docs/names.md) -------------------------------------------------------------
  // What a registration or transfer came to, and the attestation that publishes it.
  struct NameAnswer {
    names::RegisterResult result;
    std::optional<Hash32> attestation;
  };
  // Whether the node has a registry (names_backend is not "none").
  virtual bool has_registry() const = 0;
  // Whether the node believes name attestations signed by `key`.
  virtual bool TrustsAttester(const PublicKey& key) const = 0;
  // The registry's calls (Node::RegisterName and the others). Errors: NO_REGISTRY,
  // REGISTRY_UNAVAILABLE, the registry backend's.
  virtual void RegisterName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) = 0;
  virtual void TransferName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) = 0;
  virtual void LookupName(std::string typed,
                          std::function<void(Result<std::optional<names::Record>>)> done) = 0;
  virtual void NamesOf(PublicKey owner,
                       std::function<void(Result<std::vector<names::Record>>)> done) = 0;
};

}  // namespace pando::http
