// pando sim: run a simulated overlay scenario (src/sim/scenario.h) and print its report.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/common.h"
#include "core/error_codes.h"
#include "proto/membership.h"
#include "sim/dht_scenario.h"
#include "sim/fair_scenario.h"
#include "sim/real_scenario.h"
#include "sim/scenario.h"

namespace pando::cli {
namespace {

struct SimOptions {
  uint64_t nodes = 10'000;
  uint64_t entries = 50;
  uint64_t seed = 1;
  std::string latency = "20-150";
  bool baseline = false;
  bool flooding = false;
  int64_t warmup_ms = 30'000;
  int64_t post_interval_ms = sim::ScenarioConfig{}.post_interval_ms;
  int64_t ihave_timeout_ms = sim::ScenarioConfig{}.ihave_timeout_ms;
  uint32_t groups = 0;
  int64_t sync_interval_ms = sim::ScenarioConfig{}.sync_interval_ms;
  bool no_sync = false;
  double crash_fraction = 0;
  int64_t crash_at_ms = 0;
  int64_t partition_at_ms = -1;
  int64_t partition_ms = 600'000;
  int64_t drain_limit_ms = sim::ScenarioConfig{}.drain_limit_ms;
  std::string scenario_file;
  int64_t optimize_lead_ms = sim::ScenarioConfig{}.optimize_lead_ms;
  uint16_t optimize_threshold_hops = sim::ScenarioConfig{}.optimize_threshold_hops;
  int active_view = sim::ScenarioConfig{}.active_view;
  int64_t prune_guard_ms = sim::ScenarioConfig{}.prune_guard_ms;
  bool real_entries = false;
  uint32_t authors = sim::RealScenarioConfig{}.authors;
  std::string attack;
  double hostile = sim::RealScenarioConfig{}.hostile_fraction;
  double sybils_per_honest = 0;
  uint32_t hostile_ranges = sim::RealScenarioConfig{}.hostile_ranges;
  int64_t hostile_join_ms = -1;
  uint32_t eclipsers = sim::RealScenarioConfig{}.eclipsers;
  uint32_t spammers = sim::RealScenarioConfig{}.spammers;
  double spam_per_s = sim::RealScenarioConfig{}.spam_per_s;
  bool no_attack_baseline = false;
  bool group_flood = false;
  bool dht = false;
  uint32_t lookups = sim::DhtScenarioConfig{}.lookups;
  uint32_t records = sim::DhtScenarioConfig{}.records;
  uint32_t carriers = sim::DhtScenarioConfig{}.carriers;
  bool dht_flood = false;
  uint32_t overlay_degree = sim::DhtScenarioConfig{}.overlay_degree;
  uint32_t flood_hops = proto::DiscoveryConfig{}.flood_hops;
  uint32_t flood_fanout = static_cast<uint32_t>(proto::DiscoveryConfig{}.flood_fanout);
  double capacity_per_s = sim::FairShareConfig{}.capacity_per_s;
  double flood_factor = sim::FairShareConfig{}.flood_factor;
  double quiet_share = sim::FairShareConfig{}.quiet_share;
  int64_t flood_for_ms = sim::FairShareConfig{}.post_ms;
};

bool ParseLatency(const std::string& text, int64_t* min_ms, int64_t* max_ms);

// ParseLatency, or BAD_ARGUMENT (exits) for text that is not MIN-MAX.
void LatencyOrFail(const std::string& text, int64_t* min_ms, int64_t* max_ms) {
  if (!ParseLatency(text, min_ms, max_ms)) {
    Fail(Error{codes::kBadArgument,
               "--latency takes MIN-MAX in milliseconds with MIN <= MAX, e.g. 20-150."});
  }
}

// `pando sim --real-entries`: the network node's core over real signed feeds.
void RunReal(const SimOptions& o) {
  sim::RealScenarioConfig config;
  config.nodes = o.nodes;
  config.entries = o.entries;
  config.authors = std::max<uint32_t>(1, o.authors);
  config.seed = o.seed;
  config.warmup_ms = o.warmup_ms;
  config.drain_limit_ms = o.drain_limit_ms;
  if (!o.attack.empty()) config.attack = *sim::ParseAttack(o.attack);
  config.hostile_fraction =
      o.sybils_per_honest > 0 ? o.sybils_per_honest / (o.sybils_per_honest + 1) : o.hostile;
  config.hostile_ranges = o.hostile_ranges;
  config.hostile_join_ms = o.hostile_join_ms;
  config.eclipsers = o.eclipsers;
  config.spammers = o.spammers;
  config.spam_per_s = o.spam_per_s;
  config.baseline = !o.no_attack_baseline;
  if (uint64_t{config.eclipsers} + 2 > config.nodes ||
      uint64_t{config.spammers} + 2 > config.nodes) {
    Fail(Error{codes::kBadArgument,
               "--eclipsers and --spammers must leave at least 2 honest nodes."});
  }
  if (o.post_interval_ms != sim::ScenarioConfig{}.post_interval_ms) {
    config.post_interval_ms = o.post_interval_ms;
  }
  LatencyOrFail(o.latency, &config.latency_min_ms, &config.latency_max_ms);
  std::cout << sim::RunRealScenario(config).ToText();
}

// `pando sim --dht`: discovery's DHT on every node: lookups, publications, a crash.
void RunDht(const SimOptions& o, const CLI::App& cmd) {
  sim::DhtScenarioConfig config;
  config.nodes = std::max<uint64_t>(2, o.nodes);
  config.seed = o.seed;
  config.lookups = o.lookups;
  config.records = o.records;
  config.carriers = std::max<uint32_t>(1, o.carriers);
  config.flood = o.dht_flood;
  config.overlay_degree = o.overlay_degree;
  config.discovery.flood_hops = static_cast<uint8_t>(o.flood_hops);
  config.discovery.flood_fanout = o.flood_fanout;
  if (cmd.get_option("--crash-fraction")->count() > 0) config.crash_fraction = o.crash_fraction;
  if (cmd.get_option("--hostile")->count() > 0) config.hostile_fraction = o.hostile;
  LatencyOrFail(o.latency, &config.latency_min_ms, &config.latency_max_ms);
  std::cout << sim::RunDhtScenario(config).ToText();
}

// `pando sim --group-flood`: one group floods nodes of limited ingest capacity; the quiet
// groups' share and delay with per-group queues, next to one FIFO queue.
void RunGroupFlood(const SimOptions& o, const CLI::App& cmd) {
  sim::FairShareConfig config;
  // This scenario's own defaults where the flag was not given: a small network, 4 groups.
  if (cmd.get_option("--nodes")->count() > 0) config.nodes = std::max<uint64_t>(2, o.nodes);
  if (cmd.get_option("--groups")->count() > 0)
    config.quiet_groups = std::max<uint32_t>(1, o.groups);
  if (cmd.get_option("--drain-limit")->count() > 0) config.drain_ms = o.drain_limit_ms;
  config.capacity_per_s = o.capacity_per_s;
  config.flood_factor = o.flood_factor;
  config.quiet_share = o.quiet_share;
  config.post_ms = o.flood_for_ms;
  config.seed = o.seed;
  LatencyOrFail(o.latency, &config.latency_min_ms, &config.latency_max_ms);
  std::cout << sim::RunFairShareComparison(config).dump(2) << "\n";
}

// Reads a scenario file: a JSON object whose keys are the long flag names without dashes
// ("nodes", "post-interval", ...). Flags given on the command line take precedence.
void ApplyScenarioFile(const std::string& path, CLI::App& cmd) {
  std::ifstream in(path);
  if (!in) Fail(Error{codes::kNotFound, "Cannot open the scenario file " + path + "."});
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    Fail(Error{codes::kBadArgument,
               "The scenario file " + path + " is not a JSON object of flag names and values."});
  }
  // The concatenations in this loop build the message of an error that ends the command, once:
  // not worth the appends performance-inefficient-string-concatenation asks for.
  // NOLINTBEGIN(performance-inefficient-string-concatenation)
  for (const auto& [key, value] : j.items()) {
    CLI::Option* opt = nullptr;
    try {
      opt = cmd.get_option("--" + key);
    } catch (const CLI::Error&) {
    }
    if (opt == nullptr || key == "scenario") {
      Fail(Error{codes::kBadArgument, "The scenario file " + path + " has an unknown key \"" + key +
                                          "\"; keys are pando sim's flag names."});
    }
    if (opt->count() > 0) continue;  // The command line wins.
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_boolean()) {
      text = value.get<bool>() ? "true" : "false";
    } else if (value.is_number()) {
      text = value.dump();
    } else {
      Fail(Error{codes::kBadArgument, "The scenario file " + path + ": \"" + key +
                                          "\" must be a number, a string or a boolean."});
    }
    try {
      opt->add_result(text);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      Fail(Error{codes::kBadArgument,
                 "The scenario file " + path + ": \"" + key + "\": " + e.what()});
    }
  }
  // NOLINTEND(performance-inefficient-string-concatenation)
}

// Parses "MIN-MAX" in milliseconds, 0 <= MIN <= MAX.
bool ParseLatency(const std::string& text, int64_t* min_ms, int64_t* max_ms) {
  const size_t dash = text.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == text.size()) return false;
  try {
    size_t used_min = 0, used_max = 0;
    *min_ms = std::stoll(text.substr(0, dash), &used_min);
    *max_ms = std::stoll(text.substr(dash + 1), &used_max);
    if (used_min != dash || used_max != text.size() - dash - 1) return false;
  } catch (const std::exception&) {
    return false;
  }
  return *min_ms >= 0 && *min_ms <= *max_ms && *max_ms <= 100'000;
}

}  // namespace

void AddSim(CLI::App& app, Context&) {
  auto opts = std::make_shared<SimOptions>();
  auto* cmd = app.add_subcommand(
      "sim",
      "Simulate N Pando nodes in deterministic simulated time: every node carries the "
      "catalog group (and with --groups G one of G more groups); nodes join each group's "
      "HyParView overlay through random earlier carriers, the overlays warm up, then E "
      "synthetic 200-byte entries are posted from random carriers, one every --post-interval "
      "ms, disseminated by Plumtree and repaired by anti-entropy (range-based "
      "reconciliation), under optional faults (--crash-fraction, --partition-at). Prints a "
      "JSON report (docs/sim.md): delivery, replication delay percentiles, payload copies "
      "per node per entry, control traffic, bytes, anti-entropy traffic, overlay "
      "components, recovery times, and counters under \"result\" (byte-identical for the "
      "same flags), wall time and memory under \"environment\". Needs no data directory.");
  cmd->add_option("--nodes", opts->nodes, "Simulated nodes (default 10000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 29));
  cmd->add_option("--entries", opts->entries, "Entries posted (default 50)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000}));
  cmd->add_option("--seed", opts->seed, "Seed of every random choice (default 1)");
  cmd->add_option("--latency", opts->latency,
                  "One-way link latency range MIN-MAX in ms, uniform per link (default 20-150)");
  cmd->add_option("--warmup", opts->warmup_ms,
                  "Simulated ms between the last join and the first post (default 30000)")
      ->check(CLI::Range(int64_t{0}, int64_t{10'000'000}));
  cmd->add_option("--post-interval", opts->post_interval_ms, "Simulated ms between posts")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}));
  cmd->add_option("--ihave-timeout", opts->ihave_timeout_ms,
                  "Plumtree: ms an announced (IHAVE) entry may stay missing before the node "
                  "GRAFTs it from the announcer")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{600'000}));
  cmd->add_option("--groups", opts->groups,
                  "Groups besides the catalog: node n also carries group 1 + n mod G, and "
                  "entry k goes to group k mod (G + 1), 0 being the catalog (default 0)")
      ->check(CLI::Range(uint32_t{0}, uint32_t{1'000'000}));
  cmd->add_option("--sync-interval", opts->sync_interval_ms,
                  "Anti-entropy: ms between periodic reconciliations with one neighbour in "
                  "turn, per group; 0: only when a neighbour connects")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  cmd->add_flag("--no-sync", opts->no_sync, "No anti-entropy at all");
  cmd->add_option("--crash-fraction", opts->crash_fraction,
                  "Crash this fraction of the nodes (chosen from the seed) at once, for good")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--crash-at", opts->crash_at_ms, "When to crash, in ms after the first post")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  cmd->add_option("--partition-at", opts->partition_at_ms,
                  "Split the nodes into two halves (chosen from the seed) this many ms after "
                  "the first post")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  cmd->add_option("--partition-for", opts->partition_ms, "How long the partition lasts, in ms")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  cmd->add_option("--drain-limit", opts->drain_limit_ms,
                  "Stop this many ms after the last post (or heal) even if some node still "
                  "lacks an entry")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  cmd->add_option("--scenario", opts->scenario_file,
                  "A JSON file of flag names and values, e.g. {\"nodes\": 100000, "
                  "\"groups\": 1000}; flags on the command line take precedence");
  cmd->add_flag("--flooding", opts->flooding,
                "Run only the flooding baseline (what --baseline adds), e.g. to run the two "
                "modes of a long scenario as two processes");
  cmd->add_option("--optimize-lead", opts->optimize_lead_ms,
                  "Plumtree: move the tree link to a neighbour whose IHAVE came at least this "
                  "many ms before the entry, with no more hops; 0 turns it off")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{600'000}));
  cmd->add_option("--optimize-threshold", opts->optimize_threshold_hops,
                  "Plumtree, the paper's rule: move the tree link to a neighbour whose IHAVE, "
                  "after the entry, shows a path at least this many hops shorter; 0 turns it off")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--active-view", opts->active_view,
                  "HyParView's active view size: each node's number of neighbours per group")
      ->capture_default_str()
      ->check(CLI::Range(2, static_cast<int>(proto::kActiveCapacity) - 1));
  cmd->add_option("--prune-guard", opts->prune_guard_ms,
                  "Plumtree: a duplicate does not prune a link that brought another entry first "
                  "within this many ms; 0 turns the guard off")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{600'000}));
  cmd->add_flag("--baseline", opts->baseline,
                "Also run Usenet-style flooding (every new entry to every active neighbour, "
                "no pruning) on the same overlay and seed; prints "
                "{\"plumtree\": report, \"flooding\": report}");
  cmd->add_flag("--real-entries", opts->real_entries,
                "Run the network node's own core (admission, holding, gap filling) over real "
                "signed feeds instead of synthetic entries (catalog only; docs/sim.md)");
  cmd->add_option("--authors", opts->authors,
                  "With --real-entries: feeds the entries are spread over (default 10)");
  cmd->add_option("--attack", opts->attack,
                  "With --real-entries: an attack to run beside the honest feeds (docs/sim.md, "
                  "\"Attacks\"). fork: one author signs two entries with one seq, posts them at "
                  "two far-apart nodes and goes on posting. spam: --spammers fresh keys post "
                  "--spam-rate entries/s each from hostile home nodes. hoard: --hostile of the "
                  "nodes take entries, announce them and never forward one. sybil: as hoard, "
                  "and they fill honest passive views with their own kind from --hostile-ranges "
                  "/24s. eclipse: --eclipsers Sybils besiege one honest node. Every attack but "
                  "fork runs with peer scores, after a baseline run without it")
      ->check(CLI::IsMember({"fork", "spam", "hoard", "sybil", "eclipse"}));
  cmd->add_option("--hostile", opts->hostile,
                  "With --attack hoard or sybil, or --dht: the fraction of hostile nodes")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--sybils-per-honest", opts->sybils_per_honest,
                  "With --attack sybil: hostile nodes per honest one (40: the 40:1 of gossipsub "
                  "v1.1's evaluation); replaces --hostile")
      ->check(CLI::Range(0.0, 1'000.0));
  cmd->add_option("--hostile-ranges", opts->hostile_ranges,
                  "With --attack sybil or eclipse: the /24s the hostile nodes' addresses share")
      ->capture_default_str()
      ->check(CLI::Range(1u, 65'536u));
  cmd->add_option("--hostile-join-at", opts->hostile_join_ms,
                  "With --attack hoard or sybil: the honest nodes join first and the hostile "
                  "ones this many ms after the first post (an attack on a warm overlay)")
      ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}));
  cmd->add_option("--eclipsers", opts->eclipsers,
                  "With --attack eclipse: the hostile nodes besieging the target")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1'000'000u));
  cmd->add_option("--spammers", opts->spammers, "With --attack spam: fresh keys flooding")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10'000u));
  cmd->add_option("--spam-rate", opts->spam_per_s,
                  "With --attack spam: entries per second each spammer posts")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 100'000.0));
  cmd->add_flag("--no-attack-baseline", opts->no_attack_baseline,
                "With --attack (but fork): skip the run without the attack that the extra "
                "traffic is measured against");
  cmd->add_flag("--dht", opts->dht,
                "Discovery (docs/sim.md): the DHT on every node; --lookups node lookups of "
                "random points, --records publications each looked up once, then "
                "--crash-fraction (default 0.5) of the nodes crash and the records are looked "
                "up again");
  cmd->add_option("--lookups", opts->lookups, "With --dht: node lookups")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1'000'000u));
  cmd->add_option("--records", opts->records, "With --dht: records published and looked up")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1'000'000u));
  cmd->add_option("--carriers", opts->carriers,
                  "With --dht: carriers per group, each publishing its own record")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1'000u));
  cmd->add_flag("--flood", opts->dht_flood,
                "With --dht: record lookups the DHT leaves empty fall back on a flooded query "
                "over an overlay of random links; then the same groups are looked up by "
                "flooding alone, the baseline");
  cmd->add_option("--overlay-degree", opts->overlay_degree,
                  "With --dht --flood: the overlay's mean degree")
      ->capture_default_str()
      ->check(CLI::Range(2u, 64u));
  cmd->add_option("--flood-hops", opts->flood_hops, "With --dht --flood: a flood's hop limit")
      ->capture_default_str()
      ->check(CLI::Range(1u, static_cast<uint32_t>(proto::kDhtFloodHopsMax)));
  cmd->add_option("--flood-fanout", opts->flood_fanout,
                  "With --dht --flood: neighbours each hop passes a flood to")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  cmd->add_flag("--group-flood", opts->group_flood,
                "Fair share under overload (docs/sim.md): nodes that admit --capacity entries "
                "a second, one group posting --flood-factor times that, --groups quiet groups "
                "(default 4) posting --quiet-share of their fair share each, 16 nodes unless "
                "--nodes; runs per-group fair queues and one FIFO queue on the same entries and "
                "prints {\"fair_queue\": report, \"fifo\": report, \"figure\": ...}");
  cmd->add_option("--capacity", opts->capacity_per_s,
                  "With --group-flood: entries one node admits per simulated second")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1'000'000.0));
  cmd->add_option("--flood-factor", opts->flood_factor,
                  "With --group-flood: the flood posts this many times --capacity")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1'000.0));
  cmd->add_option("--quiet-share", opts->quiet_share,
                  "With --group-flood: each quiet group posts this fraction of its fair share")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  cmd->add_option("--flood-for", opts->flood_for_ms,
                  "With --group-flood: simulated ms every group posts for")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1'000}, int64_t{10'000'000}));
  cmd->callback([opts, cmd] {
    if (!opts->scenario_file.empty()) ApplyScenarioFile(opts->scenario_file, *cmd);
    if (!opts->attack.empty() && !opts->real_entries) {
      Fail(Error{codes::kBadArgument, "--attack runs with --real-entries only."});
    }
    if (opts->real_entries) return RunReal(*opts);
    if (opts->group_flood) return RunGroupFlood(*opts, *cmd);
    if (opts->dht) return RunDht(*opts, *cmd);
    sim::ScenarioConfig config;
    config.groups = opts->groups;
    config.flooding = opts->flooding;
    config.sync = !opts->no_sync;
    config.sync_interval_ms = opts->sync_interval_ms;
    config.crash_fraction = opts->crash_fraction;
    config.crash_at_ms = opts->crash_at_ms;
    config.partition_at_ms = opts->partition_at_ms;
    config.partition_ms = opts->partition_ms;
    config.drain_limit_ms = opts->drain_limit_ms;
    if (opts->groups >= opts->nodes) {
      Fail(Error{codes::kBadArgument, "--groups must be smaller than --nodes."});
    }
    config.nodes = opts->nodes;
    config.entries = opts->entries;
    config.seed = opts->seed;
    config.warmup_ms = opts->warmup_ms;
    config.post_interval_ms = opts->post_interval_ms;
    config.ihave_timeout_ms = opts->ihave_timeout_ms;
    config.optimize_lead_ms = opts->optimize_lead_ms;
    config.optimize_threshold_hops = opts->optimize_threshold_hops;
    config.prune_guard_ms = opts->prune_guard_ms;
    config.active_view = static_cast<uint8_t>(opts->active_view);
    LatencyOrFail(opts->latency, &config.latency_min_ms, &config.latency_max_ms);
    // Each node keeps one bit per entry; refuse runs whose bitsets alone would not fit.
    if (opts->nodes * ((opts->entries + 63) / 64) * 8 > (uint64_t{8} << 30)) {
      Fail(Error{codes::kBadArgument,
                 "--nodes times --entries is too large: one bit per node and entry must fit "
                 "in 8 GiB."});
    }
    auto as_json = [](const sim::Report& r) {
      sim::Json j = sim::Json::object();
      j["result"] = r.result;
      j["environment"] = r.environment;
      return j;
    };
    if (opts->baseline && opts->flooding) {
      Fail(Error{codes::kBadArgument, "--flooding and --baseline exclude each other."});
    }
    if (!opts->baseline) {
      std::cout << sim::RunScenario(config).ToText();
      return;
    }
    sim::Json out = sim::Json::object();
    out["plumtree"] = as_json(sim::RunScenario(config));
    config.flooding = true;
    out["flooding"] = as_json(sim::RunScenario(config));
    std::cout << out.dump(2) << "\n";
  });
}

}  // namespace pando::cli
