// Node: the event loop, peers and frames. Entry handling is in node_entries.cc.
#include "node/node.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/chain.h"
#include "core/error_codes.h"
#include "core/identity.h"
#include "node/node_internal.h"

namespace pando::node {
namespace asio = boost::asio;
using proto::NodeId;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kSweepInterval = std::chrono::seconds(1);
// A connection to a peer that is no longer a neighbour in any group is closed after this
// much silence (replies to short exchanges, such as a shuffle, come well within it).
constexpr auto kSpareLinger = std::chrono::seconds(10);
constexpr auto kBootstrapRetry = std::chrono::seconds(3);
constexpr size_t kEntriesFrameBytes = 512 * 1024;
// Owed entries read from the store and put in feed order at a time: about five ENTRIES
// frames, 2.5 MB at most per peer.
constexpr size_t kEntriesReadWindow = 8192;
// ENTRIES go out only while less than this is queued for the peer, so a large answer never
// fills the send queue (8 MiB, whose limit ends the connection as SLOW_PEER); the rest
// follows as the queue drains below it (Connection::NotifyWhenBelow). 4 MiB keeps the
// receiver busy while the sender reads the next entries: 1 MiB made catch-up 10% slower.
constexpr size_t kPumpQueueBytes = 4 << 20;
// Above this much queued for a peer, an eager push (GOSSIP) becomes a lazy one (IHAVE): the
// peer asks for the entry (GRAFT) if it lacks it. Bursts, such as relaying what
// reconciliation brought after a partition, then cost 36 bytes per entry per link.
constexpr size_t kGossipQueueBytes = 2 << 20;

// Feed order of two entry encodings (at least entry_layout::kOverhead bytes each): by author,
// then seq. CompareAuthors is <0, 0 or >0 like memcmp.
int CompareAuthors(const Bytes& a, const Bytes& b) {
  return std::memcmp(a.data() + entry_layout::kAuthor, b.data() + entry_layout::kAuthor,
                     sizeof(PublicKey));
}
bool InFeedOrder(const Bytes& a, const Bytes& b) {
  const int c = CompareAuthors(a, b);
  return c != 0 ? c < 0 : GetU64(&a[entry_layout::kSeq]) < GetU64(&b[entry_layout::kSeq]);
}

std::string NodeHex(NodeId id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

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

std::string NodeInfoPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "node.json").string();
}

Node::Node(NodeConfig config)
    : config_(std::move(config)),
      timer_(io_),
      sweep_timer_(io_),
      pump_timer_(io_),
      began_(Clock::now()) {}

Node::~Node() {
  waiter_.reset();  // Its jobs wait for futures the store's writer still fulfils.
  api_.reset();
  store_.reset();  // Drains the writer's queue: every submitted entry is committed.
}

Result<std::unique_ptr<Node>> Node::Open(NodeConfig config, HttpFactory http) {
  if (auto s = Validate(config); !s.ok()) return s.error();
  std::unique_ptr<Node> node(new Node(std::move(config)));
  if (auto s = node->Init(http); !s.ok()) return s.error();
  return node;
}

proto::TimeMs Node::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Node::Init(const HttpFactory& http) {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return Error{codes::kIo, "Cannot create the data directory " + config_.data_dir + ": " +
                                 ec.message() + "."};
  }
  auto key = LoadIdentity(config_.data_dir);
  if (!key.ok() && key.error().code == codes::kNoIdentity) key = CreateIdentity(config_.data_dir);
  if (!key.ok()) return key.error();
  auto store = store::Store::Open({.path = store::StorePathIn(config_.data_dir)});
  if (!store.ok()) return store.error();
  store_ = std::move(store).value();
  signing_key_.emplace(*key);
  auto identity = net::TlsIdentity::FromKey(*key);
  if (!identity.ok()) return identity.error();
  identity_ = std::move(identity).value();
  limits_.send_queue_bytes_max = config_.send_queue_bytes;
  limits_.idle_timeout = config_.idle_timeout;
  limits_.connect_timeout = config_.connect_timeout;

  std::random_device rd;
  auto random64 = [&] { return (uint64_t{rd()} << 32) ^ rd(); };
  replica_ = std::make_unique<proto::Replica>(identity_->id());
  host_ = std::make_unique<Host>(this);
  const std::vector<std::string> names = config_.AllGroups();
  replica_->Reserve(names.size());
  for (const std::string& name : names) {
    const uint32_t k = static_cast<uint32_t>(groups_.size());
    groups_.push_back(Group{name, k, {}, {}});
    group_index_[name] = k;
    replica_->AddGroup(k, replica_config_, random64());
  }
  if (auto s = LoadIndex(); !s.ok()) return s;
  if (auto s = OpenNames(); !s.ok()) return s;

  try {
    asio::ip::tcp::endpoint ep(asio::ip::make_address(config_.listen.host), config_.listen.port);
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(io_, ep, /*reuse_address=*/true);
    peer_endpoint_ = {config_.listen.host, acceptor_->local_endpoint().port()};
  } catch (const std::exception& e) {
    return Error{codes::kUnreachable,
                 "Cannot listen for peers on " + config_.listen.ToString() + ": " + e.what() + "."};
  }
  advertise_ = config_.advertise.empty() ? peer_endpoint_.ToString() : config_.advertise;
  auto api = http(io_, config_.http, this);
  if (!api.ok()) return api.error();
  api_ = std::move(api).value();
  http_endpoint_ = api_->endpoint();
  waiter_ = std::make_unique<Waiter>();

  nlohmann::json info = {{"pid", ::getpid()},
                         {"author", AuthorId(key->public_key())},
                         {"node_id", NodeHex(identity_->id())},
                         {"peer", advertise_},
                         {"http", http_endpoint_.ToString()},
                         {"groups", names}};
  info_path_ = NodeInfoPath(config_.data_dir);
  const std::string tmp = info_path_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << info.dump(2) << "\n";
    if (!f) return Error{codes::kIo, "Cannot write " + tmp + "."};
  }
  std::filesystem::rename(tmp, info_path_, ec);
  if (ec) return Error{codes::kIo, "Cannot write " + info_path_ + ": " + ec.message() + "."};
  return {};
}

void Node::Run(bool handle_signals) {
  if (handle_signals) {
    signals_.emplace(io_, SIGINT, SIGTERM);
    signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("signal {}: stopping", sig);
      Stop();
    });
  }
  spdlog::info("node {} ({}) peers on {}, API on http://{}", NodeHex(identity_->id()),
               AuthorId(identity_->key()), advertise_, http_endpoint_.ToString());
  StartAccept();
  api_->Start();
  // Without bootstrap peers the node starts a network of its own; with them, the first
  // sweep dials them and the first HELLO back names the contact.
  if (config_.bootstrap.empty()) StartGroups(proto::kNoNode);
  Sweep();
  io_.run();
  std::error_code ec;
  std::filesystem::remove(info_path_, ec);
  spdlog::info("stopped");
}

void Node::Stop() {
  asio::post(io_, [this] {
    if (stopping_) return;
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    api_->Stop();
    timer_.cancel();
    sweep_timer_.cancel();
    pump_timer_.cancel();
    if (signals_) signals_->cancel();
    for (auto& [id, peer] : peers_) {
      if (peer.conn) peer.conn->Close(Error{codes::kShuttingDown, "The node is stopping."});
    }
    // GOAWAY frames get a moment to leave; then the loop ends.
    sweep_timer_.expires_after(std::chrono::milliseconds(200));
    sweep_timer_.async_wait([this](const boost::system::error_code&) { io_.stop(); });
  });
}

// --- Peers -----------------------------------------------------------------------------

void Node::StartAccept() {
  acceptor_->async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    if (ec || stopping_) return;
    net::Connection::Accept(
        std::move(s), identity_, limits_, [this](Result<std::shared_ptr<net::Connection>> r) {
          if (!r.ok()) {
            spdlog::debug("inbound handshake failed: {}: {}", r.error().code, r.error().message);
            return;
          }
          OnConnected(std::move(r).value(), /*outbound=*/false);
        });
    StartAccept();
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
                            LearnPeer((*r)->peer_key(), b.address.ToString());
                            OnConnected(std::move(r).value(), /*outbound=*/true);
                          });
  }
}

void Node::LearnPeer(const PublicKey& key, const std::string& address) {
  // Only an address this node could dial: host:port, short enough for a peer record.
  if (address.size() > proto::kFrameStringMax || !ParseEndpoint(address).ok()) return;
  const NodeId id = proto::NodeIdOfKey(key);
  if (id == identity_->id()) return;
  book_[id] = proto::PeerRecord{key, address};
}

bool Node::Banned(NodeId id) {
  auto it = bans_.find(id);
  if (it == bans_.end()) return false;
  if (Clock::now() < it->second) return true;
  bans_.erase(it);
  return false;
}

void Node::OnConnected(std::shared_ptr<net::Connection> conn, bool outbound) {
  const NodeId id = conn->peer_id();
  if (stopping_) return conn->Close(Error{codes::kShuttingDown, "The node is stopping."});
  if (id == identity_->id()) return conn->Close(Error{codes::kPeerMismatch, "A node's own key."});
  if (Banned(id)) {
    return conn->Close(Error{codes::kBanned, "This node banned you for misbehaviour; wait."});
  }
  if (!outbound && !peers_.contains(id) && peers_.size() >= config_.max_connections) {
    return conn->Close(Error{codes::kFlood, "The node has its maximum of connections."});
  }
  Peer& p = peers_[id];
  p.id = id;
  if (p.conn && !p.conn->closing()) {
    // Both sides dialled: keep the connection dialled by the smaller id, on both sides.
    const bool keep_new = outbound ? identity_->id() < id : id < identity_->id();
    if (!keep_new) {
      return conn->Close(Error{codes::kClosed, "A connection between the two nodes exists."});
    }
    p.conn->Close(Error{codes::kClosed, "A connection between the two nodes exists."});
  }
  p.conn = conn;
  p.outbound = outbound;
  p.hello = false;
  p.bound.assign(groups_.size(), false);
  p.handles.clear();
  p.last_used = p.last_sent = p.window_start = Clock::now();
  p.window_frames = 0;
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

void Node::Dial(NodeId id) {
  if (dialling_.contains(id) || stopping_) return;
  auto rec = book_.find(id);
  if (rec == book_.end() || Banned(id)) {
    peers_.erase(id);
    asio::post(io_, [this, id] {
      if (peers_.contains(id) || !started_ || stopping_) return;
      out_.Clear();
      replica_->OnPeerDown(NowMs(), id, *host_, out_);
      Flush();
    });
    return;
  }
  auto endpoint = ParseEndpoint(rec->second.address);
  if (!endpoint.ok()) {
    book_.erase(rec);
    return Dial(id);
  }
  dialling_.insert(id);
  net::Connection::Dial(io_, identity_, endpoint->host, endpoint->port, rec->second.key, limits_,
                        [this, id](Result<std::shared_ptr<net::Connection>> r) {
                          dialling_.erase(id);
                          if (r.ok()) return OnConnected(std::move(r).value(), /*outbound=*/true);
                          spdlog::debug("dialling {} failed: {}: {}", NodeHex(id), r.error().code,
                                        r.error().message);
                          auto it = peers_.find(id);
                          if (it != peers_.end() && !it->second.conn) peers_.erase(it);
                          if (peers_.contains(id) || !started_ || stopping_) return;
                          out_.Clear();
                          replica_->OnPeerDown(NowMs(), id, *host_, out_);
                          Flush();
                        });
}

void Node::OnClosed(net::Connection& conn, const Error& why) {
  const NodeId id = conn.peer_id();
  auto it = peers_.find(id);
  if (it == peers_.end() || it->second.conn.get() != &conn) return;
  spdlog::debug("peer {} gone: {}: {}", NodeHex(id), why.code, why.message);
  // The connection refused the peer's bytes itself (a frame that does not decode, or a
  // length over the limit): that is misbehaviour, like any the node finds in a frame.
  if ((why.code == codes::kMalformed || why.code == codes::kOversize) && !Banned(id)) {
    Ban(id, why);
  }
  peers_.erase(it);
  if (!started_ || stopping_) return;
  out_.Clear();
  replica_->OnPeerDown(NowMs(), id, *host_, out_);
  Flush();
}

void Node::Ban(NodeId id, const Error& why) {
  if (config_.ban_duration.count() > 0) bans_[id] = Clock::now() + config_.ban_duration;
  ++counters_.bans;
  auto it = peers_.find(id);
  const std::string remote = it != peers_.end() && it->second.conn ? it->second.conn->remote() : "";
  spdlog::warn("banning peer {} ({}) for {} s: {}: {}", NodeHex(id), remote,
               config_.ban_duration.count(), why.code, why.message);
  if (it != peers_.end() && it->second.conn) it->second.conn->Close(why);
}

void Node::Block(const std::vector<PublicKey>& peers, std::chrono::seconds duration) {
  for (const PublicKey& key : peers) {
    const NodeId id = proto::NodeIdOfKey(key);
    bans_[id] = Clock::now() + duration;
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
    if (bans_.erase(id) > 0) spdlog::info("unblocking peer {}", NodeHex(id));
  }
}

void Node::Sweep() {
  if (stopping_) return;
  const auto now = Clock::now();
  std::vector<NodeId> wanted = started_ ? replica_->Connections() : std::vector<NodeId>{};
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
  const bool alone = started_ && wanted.empty();
  if ((!started_ || alone) && !config_.bootstrap.empty() &&
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
    p.conn->Send(proto::GroupFrame{*h, groups_[*h].name});
  }
  p.conn->Send(frame);
  spdlog::trace("-> {} frame {}", NodeHex(p.id), frame.index());
  p.last_used = p.last_sent = Clock::now();
  ++counters_.frames_out;
}

void Node::Deliver(NodeId to, const proto::GroupMessage& m) {
  std::vector<proto::Frame> frames;
  std::vector<std::pair<uint32_t, Hash32>> owed_wants, owed_entries;
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
            auto rec = book_.find(n);
            if (rec == book_.end()) {
              spdlog::debug("no address for {}; {} to {} dropped", NodeHex(n), T::kName,
                            NodeHex(to));
              return;
            }
            f.peers.push_back(rec->second);
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
          for (const Hash32& id : x.ids) owed_wants.emplace_back(h, id);
        } else if constexpr (std::is_same_v<T, proto::Entries>) {
          for (const Hash32& id : x.ids) owed_entries.emplace_back(h, id);
        }
      },
      m.body);
  if (frames.empty() && owed_wants.empty() && owed_entries.empty()) return;
  Peer& p = peers_[to];
  p.id = to;
  // WANT ids and ENTRIES go out as the send queue drains (PumpEntries), once connected.
  p.wants_out.insert(p.wants_out.end(), owed_wants.begin(), owed_wants.end());
  p.entries_out.insert(p.entries_out.end(), owed_entries.begin(), owed_entries.end());
  if (!p.conn) {
    for (proto::Frame& f : frames) p.queue.push_back(std::move(f));
    Dial(to);
    return;
  }
  for (const proto::Frame& f : frames) SendFrame(p, f);
  PumpEntries(p);
}

void Node::PumpEntries(Peer& p) {
  while (!p.wants_out.empty() && p.conn && !p.conn->closing() &&
         p.conn->queued_bytes() < kPumpQueueBytes) {
    const uint32_t h = p.wants_out.front().first;
    proto::WantFrame f{h, {}};
    while (!p.wants_out.empty() && p.wants_out.front().first == h &&
           f.ids.size() < proto::kWantIdsMax) {
      f.ids.push_back(p.wants_out.front().second);
      p.wants_out.pop_front();
    }
    SendFrame(p, f);
  }
  while ((!p.entries_ready.empty() || !p.entries_out.empty()) && p.conn && !p.conn->closing() &&
         p.conn->queued_bytes() < kPumpQueueBytes) {
    if (p.entries_ready.empty()) ReadOwedEntries(p);
    if (p.entries_ready.empty()) continue;  // None of those ids is held (any more).
    const uint32_t h = p.entries_ready.front().first;
    proto::EntriesFrame f{h, {}};
    size_t bytes_in_frame = 0;
    while (!p.entries_ready.empty() && p.entries_ready.front().first == h) {
      const size_t size = p.entries_ready.front().second.size() + 4;
      if (bytes_in_frame + size > kEntriesFrameBytes && !f.entries.empty()) break;
      bytes_in_frame += size;
      f.entries.push_back(std::move(p.entries_ready.front().second));
      p.entries_ready.pop_front();
    }
    SendFrame(p, f);
  }
  if (!p.owes()) return;
  if (p.conn && !p.conn->closing()) {
    // The queue is full: go on as soon as it drains below the mark.
    p.conn->NotifyWhenBelow(kPumpQueueBytes, [this, id = p.id] {
      if (auto it = peers_.find(id); it != peers_.end() && !stopping_) PumpEntries(it->second);
    });
  } else {
    ArmPump();
  }
}

void Node::ReadOwedEntries(Peer& p) {
  const uint32_t h = p.entries_out.front().first;
  std::vector<Hash32> ids;
  while (!p.entries_out.empty() && p.entries_out.front().first == h &&
         ids.size() < kEntriesReadWindow) {
    ids.push_back(p.entries_out.front().second);
    p.entries_out.pop_front();
  }
  std::vector<std::optional<Bytes>> found = EntriesBytes(ids);
  std::vector<Bytes> ready;
  ready.reserve(found.size());
  for (std::optional<Bytes>& b : found) {
    if (b && b->size() >= entry_layout::kOverhead) ready.push_back(std::move(*b));
  }
  // Feed order, so that each frame carries long linked runs of few feeds: the peer checks
  // one signature per run. Each feed stays in seq order across windows, as the peer asked
  // in timestamp order and timestamps grow along a feed.
  std::stable_sort(ready.begin(), ready.end(), InFeedOrder);
  for (Bytes& b : ready) p.entries_ready.emplace_back(h, std::move(b));
}

void Node::ArmPump() {
  if (pump_armed_ || stopping_) return;
  pump_armed_ = true;
  pump_timer_.expires_after(std::chrono::milliseconds(5));
  pump_timer_.async_wait([this](const boost::system::error_code& ec) {
    pump_armed_ = false;
    if (ec || stopping_) return;
    for (auto& [id, p] : peers_) {
      if (p.owes()) PumpEntries(p);
    }
  });
}

void Node::OnFrame(net::Connection& conn, proto::Frame frame) {
  const NodeId id = conn.peer_id();
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  const auto now = Clock::now();
  p.last_used = now;
  spdlog::trace("<- {} frame {}", NodeHex(id), frame.index());
  ++counters_.frames_in;
  if (now - p.window_start > std::chrono::seconds(10)) {
    p.window_start = now;
    p.window_frames = 0;
  }
  if (++p.window_frames > uint64_t{config_.peer_frames_per_s_max} * 10) {
    return Ban(id,
               Error{codes::kFlood, "More than " + std::to_string(config_.peer_frames_per_s_max) +
                                        " frames per second."});
  }
  if (!p.hello && !std::holds_alternative<proto::HelloFrame>(frame) &&
      !std::holds_alternative<proto::GoAwayFrame>(frame)) {
    return Ban(id, Error{codes::kProtocol, "A frame came before HELLO."});
  }
  auto group_of = [&](uint32_t handle) -> std::optional<uint32_t> {
    auto h = p.handles.find(handle);
    if (h == p.handles.end()) return std::nullopt;
    return h->second;
  };
  auto unbound = [&](uint32_t handle) {
    Ban(id, Error{codes::kProtocol, "Group handle " + std::to_string(handle) + " is not bound."});
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
          LearnPeer(conn.peer_key(), f.listen_address);
          if (want_contact_ || !started_) {
            want_contact_ = false;
            StartGroups(id);
          }
        } else if constexpr (std::is_same_v<T, proto::GroupFrame>) {
          if (p.handles.size() >= proto::kGroupHandlesMax && !p.handles.contains(f.handle)) {
            return Ban(id, Error{codes::kProtocol, "Too many group handles."});
          }
          auto g = group_index_.find(f.name);
          p.handles[f.handle] = g == group_index_.end() ? UINT32_MAX : g->second;
        } else if constexpr (std::is_same_v<T, proto::GoAwayFrame>) {
          spdlog::debug("peer {} says GOAWAY {}: {}", NodeHex(id), f.code, f.reason);
        } else if constexpr (std::is_same_v<T, proto::PingFrame>) {
        } else if constexpr (std::is_same_v<T, proto::MembershipFrame>) {
          auto g = group_of(f.handle);
          if (!g) return unbound(f.handle);
          for (const proto::PeerRecord& r : f.peers) {
            if (!book_.contains(proto::NodeIdOfKey(r.key))) {
              LearnPeer(r.key, r.address);
            }
          }
          std::visit([&](auto& m) { OnMessage(id, *g, proto::PeerBody(std::move(m))); }, f.message);
        } else if constexpr (std::is_same_v<T, proto::BroadcastFrame>) {
          auto g = group_of(f.handle);
          if (!g) return unbound(f.handle);
          if (auto* gossip = std::get_if<proto::Gossip>(&f.message)) {
            auto e = Entry::Decode(std::move(f.entry));
            if (!e.ok()) return Ban(id, e.error());
            if (e->id() != gossip->id) {
              return Ban(id, Error{codes::kProtocol, "A GOSSIP's entry does not have its id."});
            }
            arriving_.emplace(e->id(), Arriving{std::move(e).value()});
          }
          from_broadcast_ = true;
          std::visit([&](auto& m) { OnMessage(id, *g, proto::PeerBody(std::move(m))); }, f.message);
          from_broadcast_ = false;
        } else if constexpr (std::is_same_v<T, proto::ReconcileFrame>) {
          auto g = group_of(f.handle);
          if (!g) return unbound(f.handle);
          OnMessage(id, *g, proto::Reconcile{f.open, std::move(f.body)});
        } else if constexpr (std::is_same_v<T, proto::WantFrame>) {
          auto g = group_of(f.handle);
          if (!g) return unbound(f.handle);
          OnMessage(id, *g, proto::Want{std::move(f.ids)});
        } else if constexpr (std::is_same_v<T, proto::EntriesFrame>) {
          auto g = group_of(f.handle);
          if (!g) return unbound(f.handle);
          std::vector<Entry> entries;
          uint64_t bytes = 0;
          entries.reserve(f.entries.size());
          for (Bytes& b : f.entries) {
            bytes += b.size();
            auto e = Entry::Decode(std::move(b));
            if (!e.ok()) return Ban(id, e.error());
            entries.push_back(std::move(e).value());
          }
          // Feeds in seq order, so each entry finds its predecessor stored; a linked run of
          // one feed is authenticated by the signature of its last entry (chain verification).
          const auto feed_order = [](const Entry& a, const Entry& b) {
            return InFeedOrder(a.bytes(), b.bytes());
          };
          if (!std::is_sorted(entries.begin(), entries.end(), feed_order)) {
            std::stable_sort(entries.begin(), entries.end(), feed_order);
          }
          std::vector<bool> authenticated(entries.size(), false);
          size_t i = 0;
          while (i < entries.size()) {
            size_t j = i + 1;
            while (j < entries.size() &&
                   CompareAuthors(entries[j].bytes(), entries[i].bytes()) == 0) {
              ++j;
            }
            if (j - i > 1) {
              RunVerdict v = AuthenticateRun(std::span(entries).subspan(i, j - i));
              for (size_t k = 0; k < v.authenticated; ++k) authenticated[i + k] = true;
            }
            i = j;
          }
          proto::Entries m{{}, bytes};
          for (size_t k = 0; k < entries.size(); ++k) {
            m.ids.push_back(entries[k].id());
            arriving_.emplace(entries[k].id(), Arriving{std::move(entries[k]), authenticated[k]});
          }
          OnMessage(id, *g, std::move(m));
        }
      },
      frame);
  arriving_.clear();
}

// --- The Replica ---------------------------------------------------------------------

void Node::StartGroups(NodeId contact) {
  std::random_device rd;
  for (const Group& g : groups_) {
    out_.Clear();
    replica_->Start(NowMs(), g.key, contact, (uint64_t{rd()} << 32) ^ rd(), *host_, out_);
    Flush();
  }
  started_ = true;
}

void Node::OnMessage(NodeId from, uint32_t group, proto::PeerBody body) {
  out_.Clear();
  replica_->OnMessage(NowMs(), from, proto::GroupMessage{group, std::move(body)}, *host_, out_);
  std::optional<Error> violation = std::move(violation_);
  violation_.reset();
  FlushStore();
  Flush();
  if (violation) return Ban(from, *violation);
  // Ask the sender for the predecessors of entries that arrived ahead of them.
  std::vector<std::pair<uint32_t, Hash32>> wanted = std::move(wanted_);
  wanted_.clear();
  for (const auto& [g, id] : wanted) Deliver(from, proto::GroupMessage{g, proto::Want{{id}}});
}

void Node::Flush() {
  std::vector<std::pair<NodeId, proto::GroupMessage>> sends = std::move(out_.sends);
  out_.sends.clear();
  for (const auto& [to, m] : sends) Deliver(to, m);
  ArmTimer();
}

void Node::ArmTimer() {
  if (stopping_) return;
  const proto::TimeMs at = replica_->NextTimerAt();
  if (at == proto::kNever) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::milliseconds(std::max<proto::TimeMs>(0, at - NowMs())));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    out_.Clear();
    replica_->OnTimer(NowMs(), *host_, out_);
    Flush();
  });
}

nlohmann::json Node::StatusJson() const {
  nlohmann::json groups = nlohmann::json::array();
  for (size_t i = 0; i < groups_.size(); ++i) {
    std::vector<uint64_t> active;
    for (NodeId n : replica_->membership(i).active()) active.push_back(n);
    nlohmann::json neighbours = nlohmann::json::array();
    for (NodeId n : active) neighbours.push_back(NodeHex(n));
    groups.push_back({{"name", groups_[i].name},
                      {"entries", groups_[i].items.size()},
                      {"neighbours", neighbours}});
  }
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& [id, p] : peers_) {
    if (!p.conn) continue;
    peers.push_back({{"id", NodeHex(id)},
                     {"author", AuthorId(p.conn->peer_key())},
                     {"remote", p.conn->remote()},
                     {"outbound", p.outbound}});
  }
  nlohmann::json status = {
      {"author", AuthorId(identity_->key())},
      {"node_id", NodeHex(identity_->id())},
      {"peer_address", advertise_},
      {"http_address", http_endpoint_.ToString()},
      {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - began_).count()},
      {"started", started_},
      {"groups", groups},
      {"peers", peers},
      {"counters",
       {{"entries_received", counters_.entries_received},
        {"entries_posted", counters_.entries_posted},
        {"entries_pending", pending_.size()},
        {"duplicates", counters_.duplicates},
        {"bans", counters_.bans},
        {"frames_in", counters_.frames_in},
        {"frames_out", counters_.frames_out}}}};
  if (auto loc = ParseLocation(config_.location)) {
    status["location"] = {{"latitude", loc->first}, {"longitude", loc->second}};
  }
  return status;
}

}  // namespace pando::node
