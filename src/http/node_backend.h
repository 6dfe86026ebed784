// NodeBackend: the HTTP port's Backend (backend.h) over a running node::Node. A thin adapter:
// each call forwards to the Node method of the same name. Used on the node's event loop only;
// the node must outlive it (the Server that owns it is the node's HttpService).
#pragma once

#include "http/backend.h"
#include "node/node.h"

namespace pando::http {

class NodeBackend final : public Backend {
 public:
  explicit NodeBackend(node::Node& node) : node_(node) {}

  store::Store& store() override { return node_.store(); }
  const PublicKey& key() const override { return node_.key(); }
  nlohmann::json StatusJson() const override { return node_.StatusJson(); }
  bool stopping() const override { return node_.stopping(); }

  void PostLocal(Entry entry, std::function<void(Status)> done) override {
    node_.PostLocal(std::move(entry), std::move(done));
  }
  void PostOp(std::string group, crdt::Op op, std::function<void(Result<Entry>)> done) override {
    node_.PostOp(std::move(group), std::move(op), std::move(done));
  }

  void Block(const std::vector<PublicKey>& peers, std::chrono::seconds duration) override {
    node_.Block(peers, duration);
  }
  void Unblock(const std::vector<PublicKey>& peers) override { node_.Unblock(peers); }
  void WaitForEntry(const Hash32& id, std::chrono::milliseconds timeout,
                    std::function<void(bool)> done) override {
    node_.WaitForEntry(id, timeout, std::move(done));
  }
  void Find(proto::DhtKind kind, const Hash32& key,
            std::function<void(Result<proto::DhtLookupResult>)> done) override {
    node_.Find(kind, key, std::move(done));
  }

  bool has_registry() const override { return node_.has_registry(); }
  bool TrustsAttester(const PublicKey& key) const override { return node_.TrustsAttester(key); }
  void RegisterName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) override;
  void TransferName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) override;
  void LookupName(std::string typed,
                  std::function<void(Result<std::optional<names::Record>>)> done) override {
    node_.LookupName(std::move(typed), std::move(done));
  }
  void NamesOf(PublicKey owner,
               std::function<void(Result<std::vector<names::Record>>)> done) override {
    node_.NamesOf(owner, std::move(done));
  }

 private:
  node::Node& node_;
};

}  // namespace pando::http
