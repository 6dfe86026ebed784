// Node: peers and frames: accepting and dialling connections (asking PeerGuard first),
// HELLO and group handles, frames into the core and the core's messages into frames, and the
// pacing of owed entries as each peer's send queue drains.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error_codes.h"
#include "core/identity.h"
#include "node/node.h"
#include "node/node_internal.h"

namespace pando::node {
namespace asio = boost::asio;
using proto::NodeId;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kSweepInterval = std::chrono::seconds(1);
// After accept() fails (descriptors exhausted, say), accepting resumes after this pause.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
// A connection to a peer that is no longer a neighbour in any group is closed after this
// much silence (replies to short exchanges, such as a shuffle, come well within it).
constexpr auto kSpareLinger = std::chrono::seconds(10);
constexpr auto kBootstrapRetry = std::chrono::seconds(3);
// Above this much queued for a peer, an eager push (GOSSIP) becomes a lazy one (IHAVE): the
// peer asks for the entry (GRAFT) if it lacks it. Bursts, such as relaying what
// reconciliation brought after a partition, then cost 36 bytes per entry per link.
constexpr size_t kGossipQueueBytes = 2 << 20;

std::optional<uint32_t> HandleOf(const proto::Frame& f) {
  return std::visit(
      [](const auto& x) -> std::optional<uint32_t> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (requires { x.handle; }) {
          if constexpr (!std::is_same_v<T, proto::GroupFrame>) return x.handle;
        }
        return std::nullopt;
      },
      f);
}

}  // namespace

// --- Peers -----------------------------------------------------------------------------

void Node::StartAccept() {
  acceptor_->async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    if (stopping_) return;
    if (ec) {
      // Never stop accepting for good: a full descriptor table empties again. Pause so a
      // persistent error does not spin the loop.
      if (counters_.accept_errors++ % 100 == 0) {
        spdlog::warn("accepting a peer connection failed: {}; retrying", ec.message());
      }
      accept_timer_.expires_after(kAcceptRetry);
      accept_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e && !stopping_) StartAccept();
      });
      return;
    }
    OnAccepted(std::move(s));
    StartAccept();
  });
}

void Node::OnAccepted(asio::ip::tcp::socket s) {
  boost::system::error_code ec;
  const auto remote = s.remote_endpoint(ec);
  if (ec) return;
  std::string address = remote.address().to_string();
  // Before any TLS work: connection caps and the handshake rate of the address.
  if (auto ok = guard_.OnAccept(MonoMs(), address); !ok.ok()) {
    ++counters_.refused_connections;
    spdlog::debug("refusing a connection from {}: {}: {}", address, ok.error().code,
                  ok.error().message);
    return;  // The socket closes here.
  }
  net::Connection::Accept(std::move(s), identity_, limits_,
                          [this, address](Result<std::shared_ptr<net::Connection>> r) {
                            if (!r.ok()) {
                              guard_.OnClose(address);
                              spdlog::debug("inbound handshake failed: {}: {}", r.error().code,
                                            r.error().message);
                              return;
                            }
                            OnConnected(std::move(r).value(), /*outbound=*/false, address);
                          });
}

void Node::DialBootstrap() {
  for (const BootstrapPeer& b : config_.bootstrap) {
    net::Connection::Dial(io_, identity_, b.address.host, b.address.port, b.key, limits_,
                          [this, b](Result<std::shared_ptr<net::Connection>> r) {
                            if (!r.ok()) {
                              spdlog::info("bootstrap peer {}: {}: {}", b.address.ToString(),
                                           r.error().code, r.error().message);
                              return;
                            }
                            LearnPeer((*r)->peer_key(), b.address.ToString(), true);
                            const NodeId id = (*r)->peer_id();
                            OnConnected(std::move(r).value(), /*outbound=*/true);
                            // A bootstrap peer is a DHT contact (trusted as configured).
                            if (!stopping_) {
                              dout_.Clear();
                              discovery_->AddContact(NowMs(), id, *discovery_host_, dout_);
                              FlushDiscovery();
                            }
                          });
  }
}

void Node::LearnPeer(const PublicKey& key, const std::string& address, bool first_hand) {
  // Only an address this node could dial: host:port, short enough for a peer record.
  if (address.size() > proto::kFrameStringMax || !ParseEndpoint(address).ok()) return;
  const NodeId id = proto::NodeIdOfKey(key);
  if (id == identity_->id()) return;
  book_.Learn(MonoMs(), id, proto::PeerRecord{key, address}, first_hand);
}

void Node::Uncount(const net::Connection* conn) {
  auto it = counted_.find(conn);
  if (it == counted_.end()) return;
  guard_.OnClose(it->second);
  counted_.erase(it);
}

void Node::OnConnected(std::shared_ptr<net::Connection> conn, bool outbound,
                       const std::string& address) {
  const NodeId id = conn->peer_id();
  if (!outbound) counted_.emplace(conn.get(), address);
  auto refuse = [&](const Error& why) {
    Uncount(conn.get());
    conn->Close(why);
  };
  if (stopping_) return refuse(Error{codes::kShuttingDown, "The node is stopping."});
  if (id == identity_->id()) return refuse(Error{codes::kPeerMismatch, "A node's own key."});
  if (auto ok = guard_.OnPeer(MonoMs(), id, outbound ? std::string_view() : address); !ok.ok()) {
    ++counters_.refused_connections;
    return refuse(ok.error());
  }
  Peer& p = peers_[id];
  p.id = id;
  if (p.conn && !p.conn->closing()) {
    // Both sides dialled: keep the connection dialled by the smaller id, on both sides.
    const bool keep_new = outbound ? identity_->id() < id : id < identity_->id();
    if (!keep_new) {
      return refuse(Error{codes::kClosed, "A connection between the two nodes exists."});
    }
    p.conn->Close(Error{codes::kClosed, "A connection between the two nodes exists."});
  }
  p.conn = conn;
  p.address = outbound ? std::string() : address;
  {
    auto remote = ParseEndpoint(conn->remote());
    core_->scores().OnConnected(id, remote.ok() ? remote->host : conn->remote());
  }
  p.outbound = outbound;
  p.hello = false;
  p.bound.assign(core_->group_count(), false);
  p.handles.clear();
  p.last_used = p.last_sent = Clock::now();
  if (outbound) book_.OnConnected(MonoMs(), id);
  conn->Start([this](net::Connection& c, proto::Frame f) { OnFrame(c, std::move(f)); },
              [this](net::Connection& c, const Error& why) {
                // Never re-enter the caller: handle the close on its own turn of the loop.
                auto self = c.shared_from_this();
                asio::post(io_, [this, self, why] { OnClosed(*self, why); });
              });
  conn->Send(proto::HelloFrame{proto::kFrameVersion, advertise_});
  std::vector<proto::Frame> queued = std::move(p.queue);
  p.queue.clear();
  for (const proto::Frame& f : queued) SendFrame(p, f);
  PumpEntries(p);
  spdlog::debug("peer {} connected ({}, {})", NodeHex(id), conn->remote(),
                outbound ? "outbound" : "inbound");
}

void Node::PeerUnreachable(NodeId id) {
  auto it = peers_.find(id);
  if (it != peers_.end() && !it->second.conn) {
    peers_.erase(it);
    outflow_.Drop(id);
  }
  asio::post(io_, [this, id] {
    if (!peers_.contains(id) && !stopping_) TellPeerDown(id);
  });
}

void Node::Dial(NodeId id) {
  if (dialling_.contains(id) || stopping_) return;
  const proto::PeerRecord* rec = book_.Find(id);
  if (rec == nullptr || !book_.MayDial(MonoMs(), id) || guard_.Banned(MonoMs(), id)) {
    return PeerUnreachable(id);
  }
  auto endpoint = ParseEndpoint(rec->address);
  if (!endpoint.ok()) return PeerUnreachable(id);
  dialling_.insert(id);
  net::Connection::Dial(io_, identity_, endpoint->host, endpoint->port, rec->key, limits_,
                        [this, id](Result<std::shared_ptr<net::Connection>> r) {
                          dialling_.erase(id);
                          if (r.ok()) return OnConnected(std::move(r).value(), /*outbound=*/true);
                          spdlog::debug("dialling {} failed: {}: {}", NodeHex(id), r.error().code,
                                        r.error().message);
                          // Back off, and forget an address that keeps failing.
                          book_.OnDialFailed(MonoMs(), id);
                          PeerUnreachable(id);
                        });
}

void Node::OnClosed(net::Connection& conn, const Error& why) {
  Uncount(&conn);
  const NodeId id = conn.peer_id();
  auto it = peers_.find(id);
  if (it == peers_.end() || it->second.conn.get() != &conn) return;
  spdlog::debug("peer {} gone: {}: {}", NodeHex(id), why.code, why.message);
  // The connection refused the peer's bytes itself (a frame that does not decode, or a
  // length over the limit): that is misbehaviour, like any the node finds in a frame.
  if ((why.code == codes::kMalformed || why.code == codes::kOversize) &&
      !guard_.Banned(MonoMs(), id)) {
    Ban(id, why);
  }
  peers_.erase(it);
  outflow_.Drop(id);
  guard_.OnPeerGone(id);
  core_->scores().OnGone(id);
  if (!stopping_) TellPeerDown(id);
}

void Node::TellPeerDown(NodeId id) {
  dout_.Clear();
  discovery_->OnPeerDown(NowMs(), id, *discovery_host_, dout_);
  FlushDiscovery();
  if (!core_->started()) return;
  out_.Clear();
  core_->OnPeerDown(NowMs(), id, *core_host_, out_);
  Flush();
}

void Node::Ban(NodeId id, const Error& why) {
  auto it = peers_.find(id);
  const bool connected = it != peers_.end() && it->second.conn;
  guard_.Ban(MonoMs(), id, connected ? std::string_view(it->second.address) : std::string_view());
  ++counters_.bans;
  spdlog::warn("banning peer {} ({}) for {} s: {}: {}", NodeHex(id),
               connected ? it->second.conn->remote() : "", config_.ban_duration.count(), why.code,
               why.message);
  if (connected) it->second.conn->Close(why);
}

void Node::KeepAway(const proto::PeerVerdict& v) {
  auto it = peers_.find(v.peer);
  if (it == peers_.end() || !it->second.conn || it->second.conn->closing()) return;
  guard_.Block(MonoMs(), v.peer, v.keep_away_ms);
  ++counters_.scored_out;
  spdlog::warn("closing peer {} ({}) for {} s: its score is {:.1f}", NodeHex(v.peer),
               it->second.conn->remote(), v.keep_away_ms / 1000, v.score);
  it->second.conn->Close(Error{codes::kLowPeerScore, "This peer's score here is " +
                                                         std::to_string(v.score) +
                                                         " (docs/node.md, \"Peer scores\")."});
}

void Node::Block(const std::vector<PublicKey>& peers, std::chrono::seconds duration) {
  for (const PublicKey& key : peers) {
    const NodeId id = proto::NodeIdOfKey(key);
    guard_.Block(MonoMs(), id,
                 std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
    spdlog::info("blocking peer {} for {} s", NodeHex(id), duration.count());
    auto it = peers_.find(id);
    if (it != peers_.end() && it->second.conn) {
      it->second.conn->Close(Error{codes::kBanned, "The node's operator blocked this peer."});
    }
  }
}

void Node::Unblock(const std::vector<PublicKey>& peers) {
  for (const PublicKey& key : peers) {
    const NodeId id = proto::NodeIdOfKey(key);
    if (guard_.Unblock(id)) spdlog::info("unblocking peer {}", NodeHex(id));
  }
}

void Node::Sweep() {
  if (stopping_) return;
  const auto now = Clock::now();
  const bool started = core_->started();
  std::vector<NodeId> wanted = started ? core_->replica().Connections() : std::vector<NodeId>{};
  book_.Expire(MonoMs());
  std::sort(wanted.begin(), wanted.end());
  for (auto& [id, p] : peers_) {
    if (!p.conn || p.conn->closing()) continue;
    if (!std::binary_search(wanted.begin(), wanted.end(), id) && now - p.last_used > kSpareLinger) {
      p.conn->Close(Error{codes::kClosed, "No longer a neighbour."});
      continue;
    }
    if (now - p.last_sent > config_.idle_timeout / 3) {
      p.conn->Send(proto::PingFrame{});
      p.last_sent = now;
    }
  }
  SeekCarriers();
  const bool alone = started && wanted.empty();
  if ((!started || alone) && !config_.bootstrap.empty() &&
      now - last_bootstrap_ > kBootstrapRetry) {
    last_bootstrap_ = now;
    want_contact_ = true;
    DialBootstrap();
  }
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Sweep();
  });
}

void Node::SendFrame(Peer& p, const proto::Frame& frame) {
  if (!p.conn) {
    p.queue.push_back(frame);
    return;
  }
  if (auto h = HandleOf(frame); h && *h < p.bound.size() && !p.bound[*h]) {
    p.bound[*h] = true;
    p.conn->Send(proto::GroupFrame{*h, core_->group_name(*h)});
  }
  p.conn->Send(frame);
  spdlog::trace("-> {} frame {}", NodeHex(p.id), frame.index());
  p.last_used = p.last_sent = Clock::now();
  ++counters_.frames_out;
}

void Node::Deliver(NodeId to, const proto::GroupMessage& m) {
  std::vector<proto::Frame> frames;
  const uint32_t h = m.group;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_constructible_v<proto::MembershipMessage, T>) {
          proto::MembershipFrame f{h, x, {}};
          std::vector<NodeId> named = proto::NamedIds(f.message);
          std::sort(named.begin(), named.end());
          named.erase(std::unique(named.begin(), named.end()), named.end());
          for (NodeId n : named) {
            if (n == to || n == identity_->id()) continue;
            const proto::PeerRecord* rec = book_.Find(n);
            if (rec == nullptr) {
              spdlog::debug("no address for {}; {} to {} dropped", NodeHex(n), T::kName,
                            NodeHex(to));
              return;
            }
            f.peers.push_back(*rec);
          }
          frames.push_back(std::move(f));
        } else if constexpr (std::is_same_v<T, proto::Gossip>) {
          auto peer = peers_.find(to);
          if (peer != peers_.end() && peer->second.conn &&
              peer->second.conn->queued_bytes() > kGossipQueueBytes) {
            frames.push_back(proto::BroadcastFrame{h, proto::IHave{x.id, x.hops}, {}});
            return;
          }
          std::optional<Bytes> bytes = EntryBytes(x.id);
          if (!bytes) return;
          proto::Gossip g = x;
          g.payload_bytes = static_cast<uint32_t>(bytes->size());
          frames.push_back(proto::BroadcastFrame{h, g, std::move(*bytes)});
        } else if constexpr (std::is_constructible_v<proto::BroadcastMessage, T>) {
          frames.push_back(proto::BroadcastFrame{h, x, {}});
        } else if constexpr (std::is_same_v<T, proto::Reconcile>) {
          frames.push_back(proto::ReconcileFrame{h, x.open, x.body});
        } else if constexpr (std::is_same_v<T, proto::Want>) {
          // An empty WANT still ends the session on the other side.
          if (x.ids.empty()) frames.push_back(proto::WantFrame{h, {}});
          outflow_.Want(to, h, x.ids);
        } else if constexpr (std::is_same_v<T, proto::Entries>) {
          outflow_.Owe(to, h, x.ids);
        }
      },
      m.body);
  if (frames.empty() && !outflow_.Owes(to)) return;
  SendTo(to, std::move(frames));
  // WANT ids and ENTRIES go out as the send queue drains (PumpEntries), once connected.
  if (auto it = peers_.find(to); it != peers_.end() && it->second.conn) PumpEntries(it->second);
}

void Node::SendTo(NodeId to, std::vector<proto::Frame> frames) {
  Peer& p = peers_[to];
  p.id = to;
  if (!p.conn) {
    for (proto::Frame& f : frames) p.queue.push_back(std::move(f));
    Dial(to);
    return;
  }
  for (const proto::Frame& f : frames) SendFrame(p, f);
}

void Node::PumpEntries(Peer& p) {
  if (!p.conn || p.conn->closing()) {
    if (outflow_.Owes(p.id)) ArmPump();
    return;
  }
  // Reads the owed entries from memory or the store.
  struct Reader final : proto::OutflowHost {
    Node* node;
    explicit Reader(Node* n) : node(n) {}
    std::vector<std::optional<Bytes>> ReadEntries(std::span<const Hash32> ids) override {
      return node->EntriesBytes(ids);
    }
  } reader(this);
  std::vector<proto::Frame> frames;
  const bool more = outflow_.Pump(p.id, p.conn->queued_bytes(), reader, frames);
  for (const proto::Frame& f : frames) SendFrame(p, f);
  if (!more) return;
  // The queue is full: go on as soon as it drains below the mark.
  p.conn->NotifyWhenBelow(outflow_.limits().queue_bytes_max, [this, id = p.id] {
    if (auto it = peers_.find(id); it != peers_.end() && !stopping_) PumpEntries(it->second);
  });
}

void Node::ArmPump() {
  if (pump_armed_ || stopping_) return;
  pump_armed_ = true;
  pump_timer_.expires_after(std::chrono::milliseconds(5));
  pump_timer_.async_wait([this](const boost::system::error_code& ec) {
    pump_armed_ = false;
    if (ec || stopping_) return;
    for (auto& [id, p] : peers_) {
      if (outflow_.Owes(id)) PumpEntries(p);
    }
  });
}

void Node::OnFrame(net::Connection& conn, proto::Frame frame) {
  const NodeId id = conn.peer_id();
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  p.last_used = Clock::now();
  spdlog::trace("<- {} frame {}", NodeHex(id), frame.index());
  ++counters_.frames_in;
  if (auto ok = guard_.OnFrame(MonoMs(), id); !ok.ok()) return Ban(id, ok.error());
  if (!p.hello && !std::holds_alternative<proto::HelloFrame>(frame) &&
      !std::holds_alternative<proto::GoAwayFrame>(frame)) {
    return Ban(id, Error{codes::kProtocol, "A frame came before HELLO."});
  }
  // A group frame's local group; nullopt when it is done with: an unbound handle (a ban) or
  // a group this node does not carry (NOT_CARRIED, once).
  auto group_of = [&](uint32_t handle) -> std::optional<uint32_t> {
    auto h = p.handles.find(handle);
    if (h == p.handles.end()) {
      Ban(id, Error{codes::kProtocol, "Group handle " + std::to_string(handle) + " is not bound."});
      return std::nullopt;
    }
    if (h->second == UINT32_MAX) {
      AnswerNotCarried(p, handle);
      return std::nullopt;
    }
    return h->second;
  };
  std::visit(
      [&](auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, proto::HelloFrame>) {
          if (p.hello) return Ban(id, Error{codes::kProtocol, "A second HELLO."});
          if (f.version != proto::kFrameVersion) {
            return conn.Close(Error{codes::kUnknownVersion, "This node speaks frame version 1."});
          }
          p.hello = true;
          OnHello(p, conn, f.listen_address);
        } else if constexpr (std::is_same_v<T, proto::GroupFrame>) {
          if (p.handles.size() >= proto::kGroupHandlesMax && !p.handles.contains(f.handle)) {
            return Ban(id, Error{codes::kProtocol, "Too many group handles."});
          }
          const std::optional<uint32_t> g = core_->GroupOf(f.name);
          p.handles[f.handle] = g.value_or(UINT32_MAX);
          if (g) {
            p.names.erase(f.handle);
          } else {
            p.names[f.handle] = f.name;
          }
        } else if constexpr (std::is_same_v<T, proto::GoAwayFrame>) {
          spdlog::debug("peer {} says GOAWAY {}: {}", NodeHex(id), f.code, f.reason);
        } else if constexpr (std::is_same_v<T, proto::PingFrame>) {
        } else if constexpr (std::is_same_v<T, proto::MembershipFrame>) {
          auto g = group_of(f.handle);
          if (!g) return;
          // Second hand: never replaces an address learned from the peer itself.
          for (const proto::PeerRecord& r : f.peers) LearnPeer(r.key, r.address, false);
          std::visit([&](auto& m) { OnMessage(id, *g, proto::PeerBody(std::move(m)), {}, false); },
                     f.message);
        } else if constexpr (std::is_same_v<T, proto::BroadcastFrame>) {
          auto g = group_of(f.handle);
          if (!g) return;
          if (auto* gossip = std::get_if<proto::Gossip>(&f.message)) {
            auto e = Entry::Decode(std::move(f.entry));
            if (!e.ok()) return Ban(id, e.error());
            if (e->id() != gossip->id) {
              return Ban(id, Error{codes::kProtocol, "A GOSSIP's entry does not have its id."});
            }
            // An entry waits for its group's turn (node_entries.cc, DrainIngest).
            std::vector<Entry> entries;
            entries.push_back(std::move(e).value());
            return Ingest(Arrival{id, *g, *gossip, std::move(entries), true});
          }
          std::visit([&](auto& m) { OnMessage(id, *g, proto::PeerBody(std::move(m)), {}, true); },
                     f.message);
        } else if constexpr (std::is_same_v<T, proto::ReconcileFrame>) {
          auto g = group_of(f.handle);
          if (!g) return;
          OnMessage(id, *g, proto::Reconcile{f.open, std::move(f.body)}, {}, false);
        } else if constexpr (std::is_same_v<T, proto::WantFrame>) {
          auto g = group_of(f.handle);
          if (!g) return;
          OnMessage(id, *g, proto::Want{std::move(f.ids)}, {}, false);
        } else if constexpr (std::is_same_v<T, proto::EntriesFrame>) {
          auto g = group_of(f.handle);
          if (!g) return;
          OnEntriesFrame(id, *g, f);
        } else if constexpr (std::is_same_v<T, proto::DhtFrame>) {
          OnDhtFrame(id, f);
        } else if constexpr (std::is_same_v<T, proto::NotCarriedFrame>) {
          const std::optional<uint32_t> g = core_->GroupOf(f.name);
          if (!g || !core_->started()) return;
          spdlog::debug("peer {} does not carry group {}", NodeHex(id), f.name);
          out_.Clear();
          core_->NotCarried(NowMs(), *g, id, *core_host_, out_);
          Flush(id);
        } else {
          static_assert(std::is_same_v<T, proto::ForkProofFrame>);
          OnForkProofFrame(id, f);
        }
      },
      frame);
}

void Node::OnHello(Peer& p, net::Connection& conn, const std::string& listen_address) {
  // A peer may only name an address at the IP it connects from (or one this node dialled):
  // otherwise any peer could make the network dial a host:port of its choosing.
  const bool own_ip = p.outbound || AtIp(listen_address, p.address);
  if (own_ip) {
    LearnPeer(conn.peer_key(), listen_address, true);
  } else {
    spdlog::debug("peer {} names {} but connects from {}: not learned", NodeHex(p.id),
                  listen_address, p.address);
  }
  if (want_contact_ || !core_->started()) {
    want_contact_ = false;
    StartGroups(p.id);
  }
}

void Node::OnForkProofFrame(NodeId from, proto::ForkProofFrame& f) {
  auto proof = DecodeForkProof(f.proof);
  if (!proof.ok()) return Ban(from, proof.error());
  const PublicKey author = proof->author();
  out_.Clear();
  core_->OnForkProof(NowMs(), from, *proof, *core_host_, out_);
  if (std::find(out_.now_forked.begin(), out_.now_forked.end(), author) != out_.now_forked.end()) {
    spdlog::warn("peer {} proved that author {} forked", NodeHex(from), AuthorId(author));
    RememberProof(author, std::move(f.proof));
    auto stored = std::make_shared<std::future<Status>>(store_->SubmitForkProof(*std::move(proof)));
    waiter_->Add([stored, author] {
      if (Status s = stored->get(); !s.ok()) {
        spdlog::error("storing the fork proof of {}: {}", AuthorId(author), s.error().message);
      }
    });
  }
  Flush(from);
}

void Node::SendProof(NodeId to, const PublicKey& author) {
  auto it = peers_.find(to);
  if (it == peers_.end() || (it->second.conn && it->second.conn->closing())) return;
  std::optional<Bytes> bytes = ProofBytes(author);
  if (!bytes) return;
  if (bytes->size() + 1 > proto::kFrameBytesMax) {
    ++counters_.proofs_too_large;
    return;
  }
  Peer& p = it->second;
  proto::ForkProofFrame frame{std::move(*bytes)};
  if (!p.conn) {
    // Being dialled: first of what waits for the connection.
    p.queue.insert(p.queue.begin(), std::move(frame));
    return;
  }
  p.conn->SendFirst(frame);
  p.last_used = p.last_sent = Clock::now();
  ++counters_.frames_out;
}

void Node::OnEntriesFrame(NodeId from, uint32_t group, proto::EntriesFrame& f) {
  std::vector<Entry> entries;
  uint64_t bytes = 0;
  entries.reserve(f.entries.size());
  for (Bytes& b : f.entries) {
    bytes += b.size();
    auto e = Entry::Decode(std::move(b));
    if (!e.ok()) return Ban(from, e.error());
    entries.push_back(std::move(e).value());
  }
  // Chain verification and admission wait for the group's turn (node_entries.cc).
  Ingest(Arrival{from, group, proto::Entries{{}, bytes}, std::move(entries), false});
}

}  // namespace pando::node
