// pando sim: run a simulated overlay scenario (src/sim/scenario.h) and print its report.
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "cli/common.h"
#include "core/error_codes.h"
#include "sim/scenario.h"

namespace pando::cli {
namespace {

struct SimOptions {
  uint64_t nodes = 10'000;
  uint64_t entries = 50;
  uint64_t seed = 1;
  std::string latency = "20-150";
  bool baseline = false;
  int64_t warmup_ms = 30'000;
  int64_t post_interval_ms = sim::ScenarioConfig{}.post_interval_ms;
  int64_t ihave_timeout_ms = sim::ScenarioConfig{}.ihave_timeout_ms;
  int64_t optimize_lead_ms = sim::ScenarioConfig{}.optimize_lead_ms;
  uint16_t optimize_threshold_hops = sim::ScenarioConfig{}.optimize_threshold_hops;
  int64_t prune_guard_ms = sim::ScenarioConfig{}.prune_guard_ms;
};

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
      "Simulate one group on a HyParView overlay of N nodes in deterministic simulated time: "
      "nodes join through random earlier nodes, the overlay warms up, then E synthetic "
      "200-byte entries are posted from random nodes, one every --post-interval ms, and "
      "disseminated by Plumtree. Prints a JSON report: delivery ratio, replication delay "
      "percentiles, payload copies per node per entry, control traffic, bytes, the largest "
      "connected component of the overlay, and counters under \"result\" (byte-identical for "
      "the same flags), wall time and memory under \"environment\". Needs no data directory.");
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
  cmd->add_option("--prune-guard", opts->prune_guard_ms,
                  "Plumtree: a duplicate does not prune a link that brought another entry first "
                  "within this many ms; 0 turns the guard off")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{600'000}));
  cmd->add_flag("--baseline", opts->baseline,
                "Also run Usenet-style flooding (every new entry to every active neighbour, "
                "no pruning) on the same overlay and seed; prints "
                "{\"plumtree\": report, \"flooding\": report}");
  cmd->callback([opts] {
    sim::ScenarioConfig config;
    config.nodes = opts->nodes;
    config.entries = opts->entries;
    config.seed = opts->seed;
    config.warmup_ms = opts->warmup_ms;
    config.post_interval_ms = opts->post_interval_ms;
    config.ihave_timeout_ms = opts->ihave_timeout_ms;
    config.optimize_lead_ms = opts->optimize_lead_ms;
    config.optimize_threshold_hops = opts->optimize_threshold_hops;
    config.prune_guard_ms = opts->prune_guard_ms;
    if (!ParseLatency(opts->latency, &config.latency_min_ms, &config.latency_max_ms)) {
      Fail(Error{codes::kBadArgument,
                 "--latency takes MIN-MAX in milliseconds with MIN <= MAX, e.g. 20-150."});
    }
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
    if (!opts->baseline) {
      std::cout << sim::RunOneGroupScenario(config).ToText();
      return;
    }
    sim::Json out = sim::Json::object();
    out["plumtree"] = as_json(sim::RunOneGroupScenario(config));
    config.flooding = true;
    out["flooding"] = as_json(sim::RunOneGroupScenario(config));
    std::cout << out.dump(2) << "\n";
  });
}

}  // namespace pando::cli
