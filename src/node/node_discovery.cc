// Node: discovery. The shell of proto::Discovery (the DHT and what the node does with it):
// DHT frames in and out, the records it signs, joining groups through the carriers it finds,
// NOT_CARRIED answers, and clients' finds (GET /api/v1/find/...).
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>

#include "core/error_codes.h"
#include "core/identity.h"
#include "node/node.h"
#include "node/node_internal.h"
#include "proto/peer_score.h"

namespace pando::node {
namespace asio = boost::asio;
using proto::NodeId;

// Node::DiscoveryHost is in node_internal.h (the node's destructor needs it whole).

void Node::StartDiscovery() {
  discovery_host_ = std::make_unique<DiscoveryHost>(this);
  discovery_ = std::make_unique<proto::Discovery>(identity_->id(), identity_->key(),
                                                  config_.AllGroups(), proto::DiscoveryConfig{});
  lonely_logged_.assign(core_->group_count(), false);
  // The feeds held already (the first feeds_max authors, in key order).
  if (auto authors = store_->Authors(); authors.ok()) {
    for (const store::AuthorInfo& a : *authors) discovery_->HoldsFeed(NowMs(), a.key);
  }
  // A node publishes only an address peers can dial it at.
  const bool publish = ParseEndpoint(advertise_).ok();
  dout_.Clear();
  discovery_->Start(NowMs(), {}, publish, *discovery_host_, dout_);
  FlushDiscovery();
}

void Node::OnDhtFrame(NodeId from, proto::DhtFrame& f) {
  // Second hand: never replaces an address learned from the peer itself.
  for (const proto::PeerRecord& r : f.peers) LearnPeer(r.key, r.address, false);
  dout_.Clear();
  discovery_->OnMessage(NowMs(), from, f.message, *discovery_host_, dout_);
  FlushDiscovery();
}

void Node::FlushDiscovery() {
  std::vector<std::pair<NodeId, proto::DhtMessage>> sends = std::move(dout_.dht.sends);
  dout_.dht.sends.clear();
  for (auto& send : sends) {
    const NodeId to = send.first;
    proto::DhtMessage& m = send.second;
    if (to == identity_->id()) continue;
    proto::DhtFrame frame{std::move(m), {}};
    if (auto* found = std::get_if<proto::DhtFound>(&frame.message)) {
      // Only nodes the receiver can dial: those with an address here.
      std::erase_if(found->nodes, [&](NodeId n) {
        return n != to && n != identity_->id() && book_.Find(n) == nullptr;
      });
    }
    for (NodeId n : proto::DhtNamedIds(frame.message)) {
      if (n == to || n == identity_->id()) continue;
      frame.peers.push_back(*book_.Find(n));
    }
    std::vector<proto::Frame> frames;
    frames.push_back(std::move(frame));
    SendTo(to, std::move(frames));
  }
  const proto::TimeMs now = NowMs();
  std::vector<std::pair<uint32_t, proto::DhtRecordRef>> joins = std::move(dout_.joins);
  dout_.joins.clear();
  for (const auto& [g, record] : joins) {
    LearnPeer(record->publisher, record->address, true);
    const NodeId carrier = proto::NodeIdOfKey(record->publisher);
    if (book_.Find(carrier) == nullptr) continue;  // An address this node cannot dial.
    lonely_logged_[g] = false;
    spdlog::info("group {}: joining through {} ({}), found in the DHT", core_->group_name(g),
                 NodeHex(carrier), record->address);
    out_.Clear();
    core_->JoinThrough(now, g, carrier, *core_host_, out_);
    Flush();
  }
  for (uint32_t g : dout_.no_carrier) {
    if (lonely_logged_[g]) continue;
    lonely_logged_[g] = true;
    spdlog::warn(
        "group {}: no other node carries it, as far as the DHT knows ({} nodes known); "
        "this node keeps it alone and looks again every few seconds",
        core_->group_name(g), discovery_->dht().contacts());
  }
  dout_.no_carrier.clear();
  std::vector<proto::DhtLookupResult> finds = std::move(dout_.finds);
  dout_.finds.clear();
  for (proto::DhtLookupResult& r : finds) {
    auto it = finds_.find(r.handle);
    if (it == finds_.end()) continue;
    auto done = std::move(it->second);
    finds_.erase(it);
    done(std::move(r));
  }
  ArmDiscoveryTimer();
}

void Node::ArmDiscoveryTimer() {
  ArmAt(discovery_timer_, discovery_->NextTimerAt(), [this] {
    dout_.Clear();
    discovery_->OnTimer(NowMs(), *discovery_host_, dout_);
    FlushDiscovery();
  });
}

void Node::SeekCarriers() {
  if (!core_->started() || discovery_ == nullptr) return;
  dout_.Clear();
  for (uint32_t g = 0; g < core_->group_count(); ++g) {
    if (core_->replica().membership(g).active().empty()) {
      discovery_->NeedCarriers(NowMs(), g, *discovery_host_, dout_);
    } else if (lonely_logged_[g]) {
      lonely_logged_[g] = false;
      spdlog::info("group {}: another carrier joined", core_->group_name(g));
    }
  }
  FlushDiscovery();
}

void Node::AnswerNotCarried(Peer& p, uint32_t handle) {
  auto name = p.names.find(handle);
  if (!p.conn || name == p.names.end()) return;  // Answered already for this binding.
  SendFrame(p, proto::NotCarriedFrame{std::move(name->second)});
  p.names.erase(name);
}

void Node::Find(proto::DhtKind kind, const Hash32& key,
                std::function<void(Result<proto::DhtLookupResult>)> done) {
  dout_.Clear();
  const uint64_t handle = discovery_->Find(NowMs(), kind, key, *discovery_host_, dout_);
  if (handle == 0) {
    done(Error{codes::kBusy, "Too many DHT lookups are in flight on this node; try again."});
    return;
  }
  finds_.emplace(handle, std::move(done));
  FlushDiscovery();
}

}  // namespace pando::node
