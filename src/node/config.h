// NodeConfig: what `pando node` runs with. Built from embedded defaults, then a TOML file
// (data_dir/node.toml, or --config), then command-line flags; docs/node.md lists every key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/endpoint.h"
#include "core/error.h"
#include "proto/quota.h"

namespace pando::node {

// The group every node carries: the network-wide catalog.
inline constexpr std::string_view kCatalogGroup = "catalog";

// The node's addresses (listening, HTTP, peers) are core Endpoints (core/endpoint.h).
using pando::Endpoint;
using pando::ParseEndpoint;

// A peer to dial at start: "host:port", or "KEY@host:port" with the peer's author id (64 hex
// digits), which the peer must then prove.
struct BootstrapPeer {
  std::optional<PublicKey> key;
  Endpoint address;
};
// Errors: BAD_ARGUMENT.
Result<BootstrapPeer> ParseBootstrap(std::string_view text);

struct NodeConfig {
  std::string data_dir;
  Endpoint listen{"127.0.0.1", 7420};  // Peer connections (TLS).
  Endpoint http{"127.0.0.1", 7480};    // Local API.
  // The address announced to peers; empty: the listening address (with the port actually
  // bound). Required when listening on a wildcard address.
  std::string advertise;
  // Where the node stands, "LAT,LON" in degrees, for monitoring (the metrics' geolocation);
  // empty when not given.
  std::string location;
  std::vector<BootstrapPeer> bootstrap;
  // Groups carried besides the catalog.
  std::vector<std::string> groups;
  // Limits.
  size_t max_connections = 256;
  size_t send_queue_bytes = size_t{8} << 20;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::seconds ban_duration{600};
  size_t pending_entries_max = 20'000;  // Entries held until their feed's gap fills.
  // Frames per second a peer may send, averaged over ten seconds, before it is banned.
  uint32_t peer_frames_per_s_max = 20'000;
  // What one author may make the node take in one group (docs/node.md, "Quotas").
  proto::QuotaLimits quota;
  std::string log_level = "info";  // trace, debug, info, warn, error, off.

  // Unique names (docs/names.md; docs/node.md, "Names"). The registry backend: "embedded"
  // (a SQLite file in data_dir, names.db), "etcd" (the cluster at names_etcd), "remote" (the
  // registry of the node whose HTTP port is names_remote) or "none".
  std::string names_backend = "embedded";
  std::vector<std::string> names_etcd;  // etcd client URLs, "http://127.0.0.1:2379".
  // "[KEY@]host:port" of the registry node's HTTP port; its key, when given, is trusted as an
  // attester.
  std::optional<BootstrapPeer> names_remote;
  // Keys whose name attestations this node believes, besides its own and names_remote's.
  std::vector<PublicKey> names_attesters;

  // All groups carried: the catalog first, then `groups` without repeats.
  std::vector<std::string> AllGroups() const;
};

// Reads a TOML file into config (keys absent from the file keep their values). Errors:
// BAD_CONFIG (with the file, line and key), IO_ERROR.
Status LoadConfigFile(const std::string& path, NodeConfig* config);

// "LAT,LON" in degrees as (latitude, longitude); nullopt unless both are in range.
std::optional<std::pair<double, double>> ParseLocation(std::string_view text);

// Checks values that flags and files cannot check one by one. Errors: BAD_CONFIG.
Status Validate(const NodeConfig& config);

}  // namespace pando::node
