// Node: a running Pando node. It drives proto::Replica (membership, broadcast and
// anti-entropy of every carried group) over net::Connection peer links, keeps entries in the
// SQLite store, and runs the HTTP server it is given (src/http: API, web UI, streams).
//
// Threads: one event loop (an io_context run on the thread that calls Run) does all the
// network, protocol and API work; the store's writer thread commits entries; a waiter
// thread waits for the writer's futures and posts their outcome back to the loop. Nothing
// else is shared between threads.
//
// Entries. The node keeps, per carried group, an index of the entries it holds (timestamp,
// id, size): what reconciliation and broadcast ask about. An entry from a peer is checked
// (structure, group, clock, signature, or chain authentication for a batch of one feed)
// before anything else; the node then relays it and submits it to the store. An entry
// whose feed predecessor has not arrived yet waits in memory (bounded) and is stored once
// the gap fills; anti-entropy fetches the missing predecessor. A local post is stored first
// (the API answers after the commit) and then broadcast.
//
// Misbehaviour (a frame that does not decode, an entry that fails its checks, a protocol
// violation, more frames than the rate limit) closes the connection with GOAWAY and bans
// the peer for config.ban_duration; nothing it sent is stored.
//
// Fork proofs (docs/node.md, "Fork proofs"). When the store finds a fork (FORKED) or refuses
// an author it knows to be forked that the core does not (AUTHOR_FORKED, after an import),
// the node reads the proof back and hands it to the core; a FORK_PROOF frame from a peer is
// decoded and handed to it too, and stored if the core took it. The core's proof sends go
// out ahead of every other frame (Connection::SendFirst); the bytes come from a small cache
// of recent proofs or from the store. A forked author's entries are no longer served (WANT,
// GRAFT, ENTRIES owed): EntriesBytes does not find them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/error.h"
#include "crdt/op.h"
#include "names/registry.h"
#include "net/connection.h"
#include "net/tls.h"
#include "node/config.h"
#include "proto/address_book.h"
#include "proto/discovery.h"
#include "proto/fair_queue.h"
#include "proto/frame.h"
#include "proto/node_core.h"
#include "proto/outflow.h"
#include "proto/peer_guard.h"
#include "proto/sign_queue.h"
#include "store/feed_writer.h"
#include "store/store.h"

namespace pando::node {

class Node;

// The node's HTTP server (src/http): the node binds it in Open, so that node.json names its
// address, and starts and stops it with the peer port. It runs on the node's event loop.
class HttpService {
 public:
  virtual ~HttpService() = default;
  virtual void Start() = 0;
  virtual void Stop() = 0;
  virtual const Endpoint& endpoint() const = 0;
};

// Binds the HTTP server on `endpoint` for `node`. Errors: UNREACHABLE.
using HttpFactory = std::function<Result<std::unique_ptr<HttpService>>(
    boost::asio::io_context& io, const Endpoint& endpoint, Node* node)>;

// Counters a node reports in its status.
// (The entry counters are the core's, proto::NodeCoreCounters.)
struct NodeCounters {
  uint64_t bans = 0;
  uint64_t scored_out = 0;           // Peers closed for a low score (proto/peer_score.h).
  uint64_t refused_connections = 0;  // By PeerGuard: busy, rate-limited or banned.
  uint64_t accept_errors = 0;        // accept() failed (descriptors exhausted, say).
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  // Fork proofs not sent because their frame would pass kFrameBytesMax.
  uint64_t proofs_too_large = 0;
};

class Node {
 public:
  // Loads (or creates) the identity in config.data_dir, opens the store, binds the peer and
  // API ports and writes data_dir/node.json. Errors: IO_ERROR, STORE_ERROR, BAD_CONFIG,
  // TLS_ERROR, UNREACHABLE (a port could not be bound).
  static Result<std::unique_ptr<Node>> Open(NodeConfig config, const HttpFactory& http);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Runs the event loop until Stop() or, with handle_signals, SIGINT or SIGTERM. On the way
  // out it says GOAWAY to every peer, lets the store commit everything queued, and removes
  // node.json.
  void Run(bool handle_signals);
  // Asks Run to return; safe from any thread.
  void Stop();

  const Endpoint& peer_endpoint() const { return peer_endpoint_; }
  const Endpoint& http_endpoint() const { return http_endpoint_; }
  const PublicKey& key() const { return identity_->key(); }

  // --- Used by the HTTP server, on the loop's thread -------------------------------------
  store::Store& store() { return *store_; }
  const NodeConfig& config() const { return config_; }
  // Stores a signed entry made on this machine, then broadcasts it. `done` runs on the loop
  // once the entry is committed (OK) or refused (the error).
  void PostLocal(Entry entry, std::function<void(Status)> done);
  // Signs a CRDT operation with the node's own key as the next entry of its feed in
  // `group`, with a clock later than every operation the store has applied (op.hlc is set
  // here), then stores and broadcasts it like PostLocal. Operations are signed one at a
  // time, holding the data directory's post.lock, so `pando post` never signs the same seq.
  // Errors: those of crdt::CheckOp and PostLocal, TIMEOUT if post.lock stays taken.
  void PostOp(std::string group, crdt::Op op, std::function<void(Result<Entry>)> done);
  nlohmann::json StatusJson() const;
  // The operator blocks peers (closing any connection and refusing new ones, like a ban)
  // for `duration`, or lifts blocks and bans.
  void Block(const std::vector<PublicKey>& peers, std::chrono::seconds duration);
  void Unblock(const std::vector<PublicKey>& peers);
  // Calls done(true) once the node holds entry `id` (at once if it does), or done(false)
  // after `timeout`. For scripts and benchmarks that measure replication.
  void WaitForEntry(const Hash32& id, std::chrono::milliseconds timeout,
                    std::function<void(bool)> done);
  bool stopping() const { return stopping_; }

  // --- Names (node_names.cc, docs/names.md) ----------------------------------------------
  // What a registration or transfer came to, and the attestation that publishes it (signed
  // by this node when its registry made it; by the registry node for the remote backend).
  struct NameAnswer {
    names::RegisterResult result;
    std::optional<Hash32> attestation;
  };
  // Whether the node has a registry (names_backend is not "none").
  bool has_registry() const { return registry_ != nullptr; }
  // Registers or transfers on the registry, off the loop, then (when this node's registry made
  // it) signs and stores the attestation, a kind 4 entry in the catalog group. With the remote
  // backend it waits up to 3 s for the registry node's attestation to arrive here. `done` runs
  // on the loop. Errors: NO_REGISTRY, REGISTRY_UNAVAILABLE, the backend's.
  void RegisterName(names::Claim claim, std::function<void(Result<NameAnswer>)> done);
  void TransferName(names::Claim claim, std::function<void(Result<NameAnswer>)> done);
  // The registry's record of a name, checked against its owner's signature.
  void LookupName(std::string typed,
                  std::function<void(Result<std::optional<names::Record>>)> done);
  void NamesOf(PublicKey owner, std::function<void(Result<std::vector<names::Record>>)> done);
  // Whether this node believes name attestations signed by `key`: its own, those of the node
  // that hosts its registry (when names_remote names its key) and names_attesters.
  bool TrustsAttester(const PublicKey& key) const;
  // Signs `payload` of `kind` with the node's key as the next entry of its feed in `group`, and
  // stores and broadcasts it like PostOp (one at a time, under post.lock).
  void PostSigned(std::string group, uint16_t kind, Bytes payload,
                  std::function<void(Result<Entry>)> done);
  // `f` runs on the loop for every entry once it is committed, whether posted here or
  // received from a peer (the WebSocket stream of the HTTP server). One listener.
  void SetStoredListener(std::function<void(const Entry&)> f) { stored_listener_ = std::move(f); }

  // --- Discovery (node_discovery.cc, docs/dht-format.md) ----------------------------------
  // Looks records of (kind, key) up in the DHT; `done` runs on the loop with the lookup's
  // result. Error: BUSY (too many lookups in flight).
  void Find(proto::DhtKind kind, const Hash32& key,
            std::function<void(Result<proto::DhtLookupResult>)> done);
  boost::asio::io_context& io() { return io_; }

 private:
  struct Peer {
    proto::NodeId id = proto::kNoNode;
    std::shared_ptr<net::Connection> conn;
    std::string address;                             // The remote IP (for PeerGuard).
    bool outbound = false;                           // This node dialled the connection.
    bool hello = false;                              // The peer's HELLO arrived.
    std::vector<bool> bound;                         // GROUP sent, by local group index.
    std::unordered_map<uint32_t, uint32_t> handles;  // Peer's handle -> local group index.
    std::chrono::steady_clock::time_point last_used, last_sent;
    std::vector<proto::Frame> queue;  // Frames waiting while the connection is dialled.
    // Peer's handles of groups not carried here, until answered NOT_CARRIED (once a binding).
    std::unordered_map<uint32_t, std::string> names;
  };
  class CoreHost;
  class DiscoveryHost;
  class Waiter;
  // A message that carries entries (a GOSSIP, an ENTRIES answer), decoded and checked
  // against its frame, waiting in ingest_ for its turn to be admitted.
  struct Arrival {
    proto::NodeId from = proto::kNoNode;
    uint32_t group = 0;
    proto::PeerBody body;
    std::vector<Entry> entries;
    bool from_broadcast = false;
  };

  explicit Node(NodeConfig config);
  Status Init(const HttpFactory& http);
  // The clocks: the shell reads them and hands them to the core.
  proto::TimeMs NowMs() const;
  proto::TimeMs MonoMs() const;

  // Peers (node_peers.cc).
  void StartAccept();
  void OnAccepted(boost::asio::ip::tcp::socket s);
  void OnConnected(std::shared_ptr<net::Connection> conn, bool outbound,
                   const std::string& address = {});
  // Gives back the PeerGuard count of an inbound connection, once.
  void Uncount(const net::Connection* conn);
  void OnHello(Peer& p, net::Connection& conn, const std::string& listen_address);
  void Dial(proto::NodeId id);
  void DialBootstrap();
  void PeerUnreachable(proto::NodeId id);
  void OnFrame(net::Connection& conn, proto::Frame frame);
  void OnEntriesFrame(proto::NodeId from, uint32_t group, proto::EntriesFrame& f);
  void OnForkProofFrame(proto::NodeId from, proto::ForkProofFrame& f);
  // Sends `author`'s fork proof to the peer, ahead of its other frames.
  void SendProof(proto::NodeId to, const PublicKey& author);
  void OnClosed(net::Connection& conn, const Error& why);
  void Ban(proto::NodeId id, const Error& why);
  // Closes a peer whose score fell below a threshold and keeps it away (LOW_PEER_SCORE).
  void KeepAway(const proto::PeerVerdict& verdict);
  void Sweep();
  void SendFrame(Peer& peer, const proto::Frame& frame);
  // Sends what outflow_ owes the peer while its send queue is short; goes on when the queue
  // drains, or (not connected yet) on the pump timer.
  void PumpEntries(Peer& peer);
  void ArmPump();
  void Deliver(proto::NodeId to, const proto::GroupMessage& m);
  // Sends frames to a peer, dialling it first if needed (its address from the book): they
  // wait, in order, for the connection.
  void SendTo(proto::NodeId to, std::vector<proto::Frame> frames);
  // The peer is gone or unreachable: discovery's pending requests to it fail, and (once the
  // core runs) every group hears of it.
  void TellPeerDown(proto::NodeId id);
  void LearnPeer(const PublicKey& key, const std::string& address, bool first_hand);

  // The core (node.cc).
  void StartGroups(proto::NodeId contact);
  // Hands a message to the core, then carries out what it asks.
  void OnMessage(proto::NodeId from, uint32_t group, proto::PeerBody body,
                 std::span<const proto::ArrivingEntry> entries, bool from_broadcast);
  // Carries out out_: the store submissions, the sends, the timer; bans `from` for a
  // violation.
  void Flush(proto::NodeId from = proto::kNoNode);
  void ArmTimer();
  // Sets `timer` to run `fire` on the loop at core time `at` (kNever: cancels it).
  void ArmAt(boost::asio::steady_timer& timer, proto::TimeMs at, std::function<void()> fire);

  // Discovery (node_discovery.cc).
  void StartDiscovery();
  void OnDhtFrame(proto::NodeId from, proto::DhtFrame& f);
  // Carries out dout_: DHT frames, joins through the carriers found, clients' finds.
  void FlushDiscovery();
  void ArmDiscoveryTimer();
  // A group frame for a group this node does not carry: NOT_CARRIED, once per handle.
  void AnswerNotCarried(Peer& p, uint32_t handle);
  // Once a second (Sweep): carried groups with no neighbour ask discovery for carriers.
  void SeekCarriers();

  // Entries (node_entries.cc).
  Status LoadIndex();
  std::optional<Bytes> EntryBytes(const Hash32& id);
  // The encodings of these entries (nullopt: not held), from memory or the store in one read.
  std::vector<std::optional<Bytes>> EntriesBytes(std::span<const Hash32> ids);
  // Keeps the bytes of entries the core just started holding, for relaying.
  void Remember(const Entry& e);
  // Submits what the core admitted: one store run per stretch of one feed and one waiter job
  // for them all. An entry the store refuses is forgotten by the core again.
  void FlushStore(std::vector<std::pair<Entry, uint32_t>> to_store);
  // The store holds a fork proof of `author` the core may not know of: reads it and hands it
  // to the core, which spreads it.
  void LearnStoredFork(const PublicKey& author);
  // Takes a forked author's stored entries out of the core's index: they stay in the store
  // (and its log) but are no longer offered to reconciliation, where peers that know of the
  // fork would ask for them in vain.
  void ForgetAuthor(const PublicKey& author);
  // Keeps a proof's bytes for sending; the most recent kRecentProofs.
  void RememberProof(const PublicKey& author, Bytes bytes);
  // A proof's bytes, from memory or the store; nullopt if neither has it.
  std::optional<Bytes> ProofBytes(const PublicKey& author);
  // Queues a message with entries in ingest_ under its group (dropped, and counted, when the
  // group's share is full) and makes sure a turn of DrainIngest is coming.
  void Ingest(Arrival a);
  // One turn: hands the core what ingest_ serves next, up to a budget of entries and bytes,
  // then lets the loop run other work before the next turn.
  void DrainIngest();

  NodeConfig config_;
  boost::asio::io_context io_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<net::TlsIdentity> identity_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<HttpService> api_;
  std::function<void(const Entry&)> stored_listener_;
  Endpoint peer_endpoint_, http_endpoint_;
  std::string advertise_;
  std::string info_path_;
  net::ConnectionLimits limits_;

  // The sans-IO logic: entries held, admission, the Replica; peers' accounting; addresses.
  std::unique_ptr<proto::NodeCore> core_;
  std::unique_ptr<CoreHost> core_host_;
  proto::NodeOutbox out_;
  proto::PeerGuard guard_;
  proto::AddressBook book_;
  proto::Outflow outflow_;  // WANT ids and ENTRIES owed to peers, paced by their send queues.
  std::unique_ptr<proto::Discovery> discovery_;
  std::unique_ptr<DiscoveryHost> discovery_host_;
  proto::DiscoveryOutbox dout_;
  boost::asio::steady_timer discovery_timer_;
  std::unordered_map<uint64_t, std::function<void(Result<proto::DhtLookupResult>)>> finds_;
  std::vector<bool> lonely_logged_;  // By group: "no carrier" was logged (once per spell).
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer pump_timer_;
  boost::asio::steady_timer accept_timer_;  // Accepting again after accept() failed.
  bool pump_armed_ = false;
  // The next HELLO's sender becomes the contact through which the groups (re)join.
  bool want_contact_ = false;
  std::chrono::steady_clock::time_point last_bootstrap_{};
  bool stopping_ = false;
  std::chrono::steady_clock::time_point began_;

  std::unordered_map<proto::NodeId, Peer> peers_;
  std::unordered_set<proto::NodeId> dialling_;
  // Inbound connections PeerGuard counts, with their address, until they close.
  std::unordered_map<const net::Connection*, std::string> counted_;

  // Bytes of recently held entries, so relaying does not read the store.
  std::unordered_map<Hash32, Bytes, HashOf32> recent_;
  std::deque<Hash32> recent_order_;
  // Bytes of recent fork proofs, so relaying one does not read the store (nor wait for its
  // commit).
  std::unordered_map<PublicKey, Bytes, HashOf32> proofs_;
  std::deque<PublicKey> proofs_order_;
  // Entries of the frame being handled, for relaying while it is handled.
  std::unordered_map<Hash32, const Entry*, HashOf32> arriving_;
  // Messages with entries waiting to be admitted, per group (R4: a flood in one group does
  // not delay the others), and whether a turn of DrainIngest is posted.
  proto::FairQueue<Arrival> ingest_;
  bool ingest_posted_ = false;
  NodeCounters counters_;

  // WaitForEntry callers, by entry id.
  struct EntryWaiter {
    std::shared_ptr<boost::asio::steady_timer> timer;
    std::function<void(bool)> done;
  };
  std::unordered_multimap<Hash32, EntryWaiter, HashOf32> entry_waiters_;
  void WakeWaiters(const Hash32& id);

  std::unique_ptr<Waiter> waiter_;
  // PostOp's and PostSigned's jobs (node_sign.cc): one entry is signed at a time.
  struct PendingOp {
    std::string group;
    std::optional<crdt::Op> op;  // Or, for PostSigned, kind and payload as they are.
    uint16_t kind = 0;
    Bytes payload;
    std::function<void(Result<Entry>)> done;
  };
  using SignQueue = proto::SignQueue<PendingOp>;
  SignQueue signing_{store::kPostLockRetryMs.count(), store::kPostLockWaitMsMax.count()};
  std::unique_ptr<boost::asio::steady_timer> sign_timer_;
  void SignNext();
  std::optional<KeyPair> signing_key_;  // The identity's key; set by Init.
  std::optional<boost::asio::signal_set> signals_;

  // Names: the registry and the threads that call it (its backends may block on the network).
  std::unique_ptr<names::Registry> registry_;
  std::unique_ptr<Waiter> name_workers_;  // Declared after registry_: joined before it goes.
  // Runs job on a names thread, then done(its result) on the loop. Errors: REGISTRY_UNAVAILABLE
  // when too many calls wait.
  template <typename T>
  void OffLoop(std::function<Result<T>(names::Registry&)> job, std::function<void(Result<T>)> done);
  Status OpenNames();  // From Init: the registry config.names_backend names.
  void FinishName(names::Claim claim, Result<names::RegisterResult> r,
                  std::function<void(Result<NameAnswer>)> done);
};

}  // namespace pando::node
