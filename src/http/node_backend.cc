#include "http/node_backend.h"

namespace pando::http {
namespace {

// The node's answer as the backend's (the same fields).
std::function<void(Result<node::Node::NameAnswer>)> Convert(
    std::function<void(Result<Backend::NameAnswer>)> done) {
  return [done = std::move(done)](Result<node::Node::NameAnswer> a) {
    if (!a.ok()) return done(a.error());
    done(Backend::NameAnswer{std::move(a->result), a->attestation});
  };
}

}  // namespace

void NodeBackend::RegisterName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) {
  node_.RegisterName(std::move(claim), Convert(std::move(done)));
}

void NodeBackend::TransferName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) {
  node_.TransferName(std::move(claim), Convert(std::move(done)));
}

}  // namespace pando::http
