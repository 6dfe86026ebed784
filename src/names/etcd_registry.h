// names::EtcdRegistry: the registry on an etcd v3 cluster, for operators who outgrow one
// machine (docs/names.md, "etcd backend"). It speaks etcd's v3 JSON gateway over HTTP
// (POST /v3/kv/range, /v3/kv/txn), so it needs no gRPC stack: a registration is one etcd
// transaction that writes the name's record only if no record with its skeleton exists.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "names/registry.h"

namespace pando::names {

struct EtcdOptions {
  // Client URLs of the cluster's members, "http://127.0.0.1:2379"; at least one.
  std::vector<std::string> endpoints;
  // Every key the registry writes starts with this.
  std::string prefix = "pando/names/";
  // One HTTP exchange with one member.
  std::chrono::milliseconds request_timeout{2000};
  // One Registry call, over every retry on every member; past it the call fails with
  // REGISTRY_UNAVAILABLE.
  std::chrono::milliseconds call_timeout{15000};
};

// Safe to use from several threads; calls do not share a connection.
class EtcdRegistry : public Registry {
 public:
  // Checks the options (BAD_CONFIG); does not contact the cluster.
  static Result<std::unique_ptr<EtcdRegistry>> Open(EtcdOptions options);
  ~EtcdRegistry() override;
  Result<RegisterResult> Register(const Claim& claim) override;
  Result<RegisterResult> Transfer(const Claim& claim) override;
  Result<std::optional<Record>> Lookup(std::string_view typed) override;
  Result<std::vector<Record>> NamesOf(const PublicKey& owner) override;

 private:
  struct Impl;
  explicit EtcdRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pando::names
