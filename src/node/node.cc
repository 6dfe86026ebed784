// Node: the shell's lifecycle, its calls into the core, and its status. Peers and frames are
// in node_peers.cc, entries in node_entries.cc.
#include "node/node.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "client/api_client.h"
#include "core/chain.h"
#include "core/error_codes.h"
#include "core/identity.h"
#include "node/node_internal.h"

namespace pando::node {
namespace asio = boost::asio;
using proto::NodeId;
using Clock = std::chrono::steady_clock;

namespace {

proto::PeerLimits PeerLimitsOf(const NodeConfig& c) {
  proto::PeerLimits l;
  l.frames_per_s_max = c.peer_frames_per_s_max;
  l.ban_ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.ban_duration).count();
  l.connections_max = c.max_connections;
  return l;
}

}  // namespace

Node::Node(NodeConfig config)
    : config_(std::move(config)),
      guard_(PeerLimitsOf(config_)),
      discovery_timer_(io_),
      timer_(io_),
      sweep_timer_(io_),
      pump_timer_(io_),
      accept_timer_(io_),
      began_(Clock::now()) {}

Node::~Node() {
  waiter_.reset();  // Its jobs wait for futures the store's writer still fulfils.
  api_.reset();
  store_.reset();  // Drains the writer's queue: every submitted entry is committed.
}

Result<std::unique_ptr<Node>> Node::Open(NodeConfig config, const HttpFactory& http) {
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

proto::TimeMs Node::MonoMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began_).count();
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

  // The shell's one random draw: the seed of the core's choices.
  std::random_device rd;
  const uint64_t seed = (uint64_t{rd()} << 32) ^ rd();
  const std::vector<std::string> names = config_.AllGroups();
  proto::NodeLimits core_limits;
  core_limits.held_entries_max = config_.pending_entries_max;
  core_limits.quota = config_.quota;
  core_ = std::make_unique<proto::NodeCore>(identity_->id(), names, proto::ReplicaConfig{},
                                            core_limits, seed);
  core_host_ = std::make_unique<CoreHost>(this);
  // Address diversity in the overlay's views (MembershipConfig::range_active_max): a peer's
  // range is that of the address the book would dial it at.
  core_->scores().SetRangeOf([this](proto::NodeId id) -> uint64_t {
    const proto::PeerRecord* r = book_.Find(id);
    if (r == nullptr) return 0;
    auto ep = ParseEndpoint(r->address);
    return ep.ok() ? proto::RangeKey(ep->host) : 0;
  });
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
  StartDiscovery();

  nlohmann::json info = {{"pid", ::getpid()},
                         {"author", AuthorId(key->public_key())},
                         {"node_id", NodeHex(identity_->id())},
                         {"peer", advertise_},
                         {"http", http_endpoint_.ToString()},
                         {"groups", names}};
  info_path_ = client::NodeInfoPath(config_.data_dir);
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
    discovery_timer_.cancel();
    if (signals_) signals_->cancel();
    for (auto& [id, peer] : peers_) {
      if (peer.conn) peer.conn->Close(Error{codes::kShuttingDown, "The node is stopping."});
    }
    // GOAWAY frames get a moment to leave; then the loop ends.
    sweep_timer_.expires_after(std::chrono::milliseconds(200));
    sweep_timer_.async_wait([this](const boost::system::error_code&) { io_.stop(); });
  });
}

// --- The core ------------------------------------------------------------------------

void Node::StartGroups(NodeId contact) {
  out_.Clear();
  core_->Start(NowMs(), contact, *core_host_, out_);
  Flush();
}

void Node::OnMessage(NodeId from, uint32_t group, proto::PeerBody body,
                     std::span<const proto::ArrivingEntry> entries, bool from_broadcast) {
  out_.Clear();
  arriving_.clear();
  for (const proto::ArrivingEntry& a : entries) arriving_.emplace(a.entry->id(), a.entry);
  core_->OnMessage(NowMs(), from, proto::GroupMessage{group, std::move(body)}, entries,
                   from_broadcast, *core_host_, out_);
  // Entries of a broadcast are likely to be asked for again soon, and entries released from
  // the waiting room are relayed before the store has them: keep their bytes.
  std::unordered_map<Hash32, const Entry*, HashOf32> released;
  for (const auto& [e, g] : out_.to_store) {
    if (!arriving_.contains(e.id())) released.emplace(e.id(), &e);
  }
  for (const Hash32& id : out_.now_held) {
    auto a = arriving_.find(id);
    if (from_broadcast && a != arriving_.end()) {
      Remember(*a->second);
    } else if (auto r = released.find(id); r != released.end()) {
      Remember(*r->second);
    } else if (!entry_waiters_.empty()) {
      WakeWaiters(id);
    }
  }
  out_.now_held.clear();
  Flush(from);
  arriving_.clear();
}

void Node::Flush(NodeId from) {
  std::optional<Error> violation = std::move(out_.violation);
  out_.violation.reset();
  for (const Hash32& id : out_.now_held) {
    if (!entry_waiters_.empty()) WakeWaiters(id);
  }
  out_.now_held.clear();
  for (const PublicKey& author : out_.now_forked) {
    spdlog::warn("author {} is forked: its entries are refused from now on", AuthorId(author));
    outflow_.Withhold(author);
    ForgetAuthor(author);
  }
  out_.now_forked.clear();
  // Proofs first: they go ahead of everything else queued for each peer.
  std::vector<std::pair<NodeId, PublicKey>> proof_sends = std::move(out_.proof_sends);
  out_.proof_sends.clear();
  for (const auto& [to, author] : proof_sends) SendProof(to, author);
  if (!out_.to_store.empty()) FlushStore(std::move(out_.to_store));
  out_.to_store.clear();
  std::vector<std::pair<NodeId, proto::GroupMessage>> sends = std::move(out_.replica.sends);
  out_.replica.sends.clear();
  for (const auto& [to, m] : sends) Deliver(to, m);
  ArmTimer();
  if (violation && from != proto::kNoNode) Ban(from, *violation);
  std::vector<proto::PeerVerdict> verdicts = std::move(out_.verdicts);
  out_.verdicts.clear();
  for (const proto::PeerVerdict& v : verdicts) KeepAway(v);
}

void Node::ArmAt(asio::steady_timer& timer, proto::TimeMs at, std::function<void()> fire) {
  if (stopping_) return;
  if (at == proto::kNever) {
    timer.cancel();
    return;
  }
  timer.expires_after(std::chrono::milliseconds(std::max<proto::TimeMs>(0, at - NowMs())));
  timer.async_wait([this, fire = std::move(fire)](const boost::system::error_code& ec) {
    if (!ec && !stopping_) fire();
  });
}

void Node::ArmTimer() {
  ArmAt(timer_, core_->NextTimerAt(), [this] {
    out_.Clear();
    core_->OnTimer(NowMs(), *core_host_, out_);
    Flush();
  });
}

nlohmann::json Node::StatusJson() const {
  nlohmann::json groups = nlohmann::json::array();
  for (size_t i = 0; i < core_->group_count(); ++i) {
    nlohmann::json neighbours = nlohmann::json::array();
    for (NodeId n : core_->replica().membership(i).active()) neighbours.push_back(NodeHex(n));
    const proto::FairQueueGroupStats ingest = ingest_.stats(static_cast<uint32_t>(i));
    groups.push_back({{"name", core_->group_name(static_cast<uint32_t>(i))},
                      {"entries", core_->held_count(static_cast<uint32_t>(i))},
                      {"entries_queued", ingest.queued_entries},
                      {"entries_queue_dropped", ingest.dropped_entries},
                      {"neighbours", neighbours},
                      {"no_carrier_found", discovery_->lonely(static_cast<uint32_t>(i))}});
  }
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& [id, p] : peers_) {
    if (!p.conn) continue;
    peers.push_back({{"id", NodeHex(id)},
                     {"author", AuthorId(p.conn->peer_key())},
                     {"remote", p.conn->remote()},
                     {"outbound", p.outbound},
                     {"score", core_->scores().Score(id)}});
  }
  nlohmann::json status = {
      {"author", AuthorId(identity_->key())},
      {"node_id", NodeHex(identity_->id())},
      {"peer_address", advertise_},
      {"http_address", http_endpoint_.ToString()},
      {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - began_).count()},
      {"started", core_->started()},
      {"groups", groups},
      {"peers", peers},
      {"counters",
       {{"entries_received", core_->counters().entries_received},
        {"entries_posted", core_->counters().entries_posted},
        {"entries_pending", core_->waiting_count()},
        {"entries_pending_bytes", core_->waiting_bytes()},
        {"entries_dropped", core_->counters().held_dropped},
        {"entries_over_quota", core_->counters().quota_dropped},
        {"entries_refused_forked", core_->counters().forked_refused},
        {"forked_authors", core_->forked_count()},
        {"proofs_received", core_->counters().proofs_received},
        {"proofs_sent", core_->counters().proofs_sent},
        {"proofs_too_large", counters_.proofs_too_large},
        {"entries_queued", ingest_.total().queued_entries},
        {"entries_queued_bytes", ingest_.bytes()},
        {"entries_queue_dropped", ingest_.total().dropped_entries},
        {"duplicates", core_->counters().duplicates},
        {"bans", counters_.bans},
        {"peers_scored_out", counters_.scored_out},
        {"refused_connections", counters_.refused_connections},
        {"accept_errors", counters_.accept_errors},
        {"owed_dropped", outflow_.dropped()},
        {"frames_in", counters_.frames_in},
        {"frames_out", counters_.frames_out}}}};
  const proto::Dht& dht = discovery_->dht();
  status["discovery"] = {{"contacts", dht.contacts()},
                         {"records_held", dht.records()},
                         {"lookups_in_flight", dht.lookups_in_flight()},
                         {"finds_answered", dht.counters().finds_answered},
                         {"records_refused", dht.counters().records_refused},
                         {"requests_over_rate", dht.counters().requests_over_rate},
                         {"publications", discovery_->counters().publications},
                         {"feeds_published", discovery_->feeds()},
                         {"carrier_lookups", discovery_->counters().carrier_lookups},
                         {"carriers_found", discovery_->counters().carriers_found},
                         {"finds", discovery_->counters().finds},
                         {"floods", discovery_->counters().floods},
                         {"floods_found", discovery_->counters().floods_found},
                         {"hint_answers", discovery_->counters().hint_answers},
                         {"flood_sent", discovery_->counters().flood_sent},
                         {"flood_hits_sent", discovery_->counters().flood_hits_sent},
                         {"flood_dropped", discovery_->counters().flood_dropped}};
  if (auto loc = ParseLocation(config_.location)) {
    status["location"] = {{"latitude", loc->first}, {"longitude", loc->second}};
  }
  return status;
}

}  // namespace pando::node
