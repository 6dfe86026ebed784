#include "node/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <functional>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/error_codes.h"

namespace pando::node {
namespace {

Error BadArgument(const std::string& what) { return Error{codes::kBadArgument, what}; }
Error BadConfig(const std::string& what) { return Error{codes::kBadConfig, what}; }

}  // namespace

Result<BootstrapPeer> ParseBootstrap(std::string_view text) {
  BootstrapPeer out;
  const size_t at = text.find('@');
  std::string_view address = text;
  if (at != std::string_view::npos) {
    auto key = ParseAuthorId(text.substr(0, at));
    if (!key.ok()) {
      return BadArgument("'" + std::string(text) +
                         "' is not a bootstrap peer: KEY@host:port needs an author id (pd...) "
                         "before the @.");
    }
    out.key = *key;
    address = text.substr(at + 1);
  }
  auto endpoint = ParseEndpoint(address);
  if (!endpoint.ok()) return endpoint.error();
  if (endpoint->port == 0) return BadArgument("A bootstrap peer needs a port other than 0.");
  out.address = *endpoint;
  return out;
}

std::vector<std::string> NodeConfig::AllGroups() const {
  std::vector<std::string> out = {std::string(kCatalogGroup)};
  for (const std::string& g : groups) {
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  }
  return out;
}

Status LoadConfigFile(const std::string& path, NodeConfig* config) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return BadConfig(path + ":" + std::to_string(where.line) + ": " + std::string(e.description()));
  }
  auto where = [&](std::string_view key) {
    const toml::node* n = table.get(key);
    const int line = n ? static_cast<int>(n->source().begin.line) : 0;
    return path + ":" + std::to_string(line) + ": key '" + std::string(key) + "'";
  };
  static const std::vector<std::string_view> kKeys = {"listen",
                                                      "http",
                                                      "advertise",
                                                      "location",
                                                      "bootstrap",
                                                      "groups",
                                                      "log_level",
                                                      "max_connections",
                                                      "send_queue_bytes",
                                                      "idle_timeout_ms",
                                                      "ban_seconds",
                                                      "pending_entries_max",
                                                      "peer_frames_per_s_max",
                                                      "quota_entries_per_s",
                                                      "quota_entries_burst",
                                                      "quota_young_entries_per_s",
                                                      "quota_young_entries_burst",
                                                      "quota_young_group_entries_per_s",
                                                      "quota_young_group_entries_burst",
                                                      "quota_young_seq_max",
                                                      "quota_bytes_per_day",
                                                      "quota_young_bytes_per_day",
                                                      "quota_live_seconds",
                                                      "quota_authors_max",
                                                      "connect_timeout_ms",
                                                      "names_backend",
                                                      "names_etcd",
                                                      "names_remote",
                                                      "names_attesters"};
  for (const auto& [key, value] : table) {
    if (std::find(kKeys.begin(), kKeys.end(), key.str()) == kKeys.end()) {
      return BadConfig(where(key.str()) + " is not a node setting (docs/node.md lists them).");
    }
  }
  auto get_string = [&](std::string_view key, std::string* out) -> Status {
    if (!table.contains(key)) return {};
    auto v = table[key].value<std::string>();
    if (!v) return BadConfig(where(key) + " must be a string.");
    *out = *v;
    return {};
  };
  auto get_int = [&](std::string_view key, int64_t lo, int64_t hi, int64_t* out) -> Status {
    if (!table.contains(key)) return {};
    auto v = table[key].value<int64_t>();
    if (!v || *v < lo || *v > hi) {
      return BadConfig(where(key) + " must be an integer from " + std::to_string(lo) + " to " +
                       std::to_string(hi) + ".");
    }
    *out = *v;
    return {};
  };
  auto get_strings = [&](std::string_view key, std::vector<std::string>* out) -> Status {
    if (!table.contains(key)) return {};
    const toml::array* arr = table[key].as_array();
    if (!arr) return BadConfig(where(key) + " must be an array of strings.");
    out->clear();
    for (const toml::node& n : *arr) {
      auto v = n.value<std::string>();
      if (!v) return BadConfig(where(key) + " must be an array of strings.");
      out->push_back(*v);
    }
    return {};
  };

  std::string text;
  if (table.contains("listen")) {
    if (auto s = get_string("listen", &text); !s.ok()) return s;
    auto e = ParseEndpoint(text);
    if (!e.ok()) return BadConfig(where("listen") + ": " + e.error().message);
    config->listen = *e;
  }
  if (table.contains("http")) {
    if (auto s = get_string("http", &text); !s.ok()) return s;
    auto e = ParseEndpoint(text);
    if (!e.ok()) return BadConfig(where("http") + ": " + e.error().message);
    config->http = *e;
  }
  if (auto s = get_string("advertise", &config->advertise); !s.ok()) return s;
  if (auto s = get_string("location", &config->location); !s.ok()) return s;
  if (auto s = get_string("log_level", &config->log_level); !s.ok()) return s;
  std::vector<std::string> list;
  if (table.contains("bootstrap")) {
    if (auto s = get_strings("bootstrap", &list); !s.ok()) return s;
    config->bootstrap.clear();
    for (const std::string& b : list) {
      auto peer = ParseBootstrap(b);
      if (!peer.ok()) return BadConfig(where("bootstrap") + ": " + peer.error().message);
      config->bootstrap.push_back(*peer);
    }
  }
  if (auto s = get_strings("groups", &config->groups); !s.ok()) return s;
  if (auto s = get_string("names_backend", &config->names_backend); !s.ok()) return s;
  if (auto s = get_strings("names_etcd", &config->names_etcd); !s.ok()) return s;
  if (table.contains("names_remote")) {
    if (auto s = get_string("names_remote", &text); !s.ok()) return s;
    auto peer = ParseBootstrap(text);
    if (!peer.ok()) return BadConfig(where("names_remote") + ": " + peer.error().message);
    config->names_remote = *peer;
  }
  if (table.contains("names_attesters")) {
    if (auto s = get_strings("names_attesters", &list); !s.ok()) return s;
    config->names_attesters.clear();
    for (const std::string& a : list) {
      auto key = ParseAuthorId(a);
      if (!key.ok()) return BadConfig(where("names_attesters") + ": " + key.error().message);
      config->names_attesters.push_back(*key);
    }
  }
  int64_t n = 0;
  struct IntKey {
    std::string_view key;
    int64_t lo, hi;
    std::function<void(int64_t)> set;
  };
  const IntKey ints[] = {
      {"max_connections", 1, 100'000, [&](int64_t v) { config->max_connections = v; }},
      {"send_queue_bytes", 1 << 20, int64_t{1} << 32,
       [&](int64_t v) { config->send_queue_bytes = v; }},
      {"idle_timeout_ms", 1'000, 86'400'000,
       [&](int64_t v) { config->idle_timeout = std::chrono::milliseconds(v); }},
      {"connect_timeout_ms", 100, 600'000,
       [&](int64_t v) { config->connect_timeout = std::chrono::milliseconds(v); }},
      {"ban_seconds", 0, 86'400 * 365,
       [&](int64_t v) { config->ban_duration = std::chrono::seconds(v); }},
      {"pending_entries_max", 0, 100'000'000, [&](int64_t v) { config->pending_entries_max = v; }},
      {"peer_frames_per_s_max", 1, 100'000'000,
       [&](int64_t v) { config->peer_frames_per_s_max = static_cast<uint32_t>(v); }},
      {"quota_entries_per_s", 1, 1'000'000,
       [&](int64_t v) { config->quota.entries_per_s = static_cast<double>(v); }},
      {"quota_entries_burst", 1, 100'000'000,
       [&](int64_t v) { config->quota.entries_burst = static_cast<double>(v); }},
      {"quota_young_entries_per_s", 1, 1'000'000,
       [&](int64_t v) { config->quota.young_entries_per_s = static_cast<double>(v); }},
      {"quota_young_entries_burst", 1, 100'000'000,
       [&](int64_t v) { config->quota.young_entries_burst = static_cast<double>(v); }},
      {"quota_young_group_entries_per_s", 1, 1'000'000,
       [&](int64_t v) { config->quota.young_group_entries_per_s = static_cast<double>(v); }},
      {"quota_young_group_entries_burst", 1, 100'000'000,
       [&](int64_t v) { config->quota.young_group_entries_burst = static_cast<double>(v); }},
      {"quota_young_seq_max", 0, int64_t{1} << 40,
       [&](int64_t v) { config->quota.young_seq_max = static_cast<uint64_t>(v); }},
      {"quota_bytes_per_day", 1 << 16, int64_t{1} << 50,
       [&](int64_t v) { config->quota.bytes_per_day = static_cast<double>(v); }},
      {"quota_young_bytes_per_day", 1 << 16, int64_t{1} << 50,
       [&](int64_t v) { config->quota.young_bytes_per_day = static_cast<double>(v); }},
      {"quota_live_seconds", 0, 86'400 * 365, [&](int64_t v) { config->quota.live_ms = v * 1000; }},
      {"quota_authors_max", 1, 100'000'000,
       [&](int64_t v) { config->quota.tracked_max = static_cast<size_t>(v); }},
  };
  for (const IntKey& k : ints) {
    if (!table.contains(k.key)) continue;
    if (auto s = get_int(k.key, k.lo, k.hi, &n); !s.ok()) return s;
    k.set(n);
  }
  return {};
}

std::optional<std::pair<double, double>> ParseLocation(std::string_view text) {
  const size_t comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view t) -> std::optional<double> {
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    double v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
    return v;
  };
  auto lat = number(text.substr(0, comma));
  auto lon = number(text.substr(comma + 1));
  if (!lat || !lon || *lat < -90 || *lat > 90 || *lon < -180 || *lon > 180) return std::nullopt;
  return std::make_pair(*lat, *lon);
}

Status Validate(const NodeConfig& config) {
  for (const std::string& g : config.groups) {
    if (!IsValidGroupName(g)) {
      return BadConfig("'" + g +
                       "' is not a group name: 1-64 characters of a-z, 0-9, '.', '_' and '-', "
                       "starting with a letter or digit.");
    }
  }
  static const std::vector<std::string_view> kLevels = {"trace", "debug", "info",
                                                        "warn",  "error", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), config.log_level) == kLevels.end()) {
    return BadConfig("log level '" + config.log_level +
                     "' is not one of trace, debug, info, warn, error, off.");
  }
  const bool wildcard = config.listen.host == "0.0.0.0" || config.listen.host == "::";
  if (wildcard && config.advertise.empty()) {
    return BadConfig("listening on " + config.listen.ToString() +
                     " needs an advertise address (host:port peers can reach).");
  }
  if (!config.advertise.empty()) {
    auto e = ParseEndpoint(config.advertise);
    if (!e.ok()) return BadConfig("advertise: " + e.error().message);
  }
  static const std::vector<std::string_view> kBackends = {"embedded", "etcd", "remote", "none"};
  if (std::find(kBackends.begin(), kBackends.end(), config.names_backend) == kBackends.end()) {
    return BadConfig("names backend '" + config.names_backend +
                     "' is not one of embedded, etcd, remote, none.");
  }
  if (config.names_backend == "etcd" && config.names_etcd.empty()) {
    return BadConfig("the etcd names backend needs names_etcd (the cluster's client URLs).");
  }
  if (config.names_backend == "remote" && !config.names_remote) {
    return BadConfig(
        "the remote names backend needs names_remote (the registry node's HTTP host:port).");
  }
  if (!config.location.empty() && !ParseLocation(config.location)) {
    return BadConfig("location '" + config.location +
                     "' is not LAT,LON in degrees (for example 52.52,13.40).");
  }
  return {};
}

}  // namespace pando::node
