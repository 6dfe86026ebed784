// Fair-share benchmark: under a flood of one group, what share of their fair share the quiet
// groups get and how late, with the node's per-group ingest queue (proto::FairQueue) next to
// one shared FIFO queue, the baseline, in the same run (the simulator's --group-flood
// scenario, sim/fair_scenario.h, on the network node's own core over real signed entries).
//
//   ./build/bench/pando_bench_fair            # 16 nodes, 20 s of posting
//   ./build/bench/pando_bench_fair --quick    # 6 s of posting (smoke run for ctest)
//
// The figures are simulated, so they do not depend on the machine; the wall time does.
// A missed target is printed as MISSED; the exit code stays 0.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "sim/fair_scenario.h"

int main(int argc, char** argv) {
  using pando::sim::Json;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  pando::sim::FairShareConfig config;
  if (quick) config.post_ms = 6'000;
  const auto t0 = std::chrono::steady_clock::now();
  const Json out = pando::sim::RunFairShareComparison(config);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Json& fig = out["figure"];
  const double share = fig["fair_queue"]["min_share_of_fair_share"].get<double>();
  const double fifo_share = fig["fifo"]["min_share_of_fair_share"].get<double>();
  const int64_t p99 = fig["fair_queue"]["max_p99_ms"].get<int64_t>();
  const int64_t fifo_p99 = fig["fifo"]["max_p99_ms"].get<int64_t>();
  const double share_target = fig["target_min_share_of_fair_share"].get<double>();
  const int64_t p99_target = fig["target_max_p99_ms"].get<int64_t>();
  std::printf(
      "fair share under a %.0fx flood of one group: %llu nodes checking %.0f entries/s each, "
      "%u quiet groups posting %.0f%% of their fair share, %lld ms of posting\n",
      config.flood_factor, static_cast<unsigned long long>(config.nodes), config.capacity_per_s,
      config.quiet_groups, config.quiet_share * 100, static_cast<long long>(config.post_ms));
  std::printf(
      "(a) quiet groups' smallest share of their fair share: %.1f%%, FIFO baseline %.1f%%  "
      "[target >= %.0f%%: %s]\n",
      share * 100, fifo_share * 100, share_target * 100, share >= share_target ? "met" : "MISSED");
  std::printf(
      "(b) quiet groups' largest p99 delay: %lld ms, FIFO baseline %lld ms  "
      "[target < %lld ms: %s]\n",
      static_cast<long long>(p99), static_cast<long long>(fifo_p99),
      static_cast<long long>(p99_target), p99 < p99_target ? "met" : "MISSED");
  std::printf("     both runs in %.1f s wall\n", wall_s);
  return 0;
}
