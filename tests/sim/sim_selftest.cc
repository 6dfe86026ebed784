// pando_sim_selftest: how fast and how small the simulator is, on toy flooding nodes.
//
//   pando_sim_selftest [nodes [messages]]    default: 1,000,000 nodes, 10 messages
//
// Prints the run's report, then one line per figure. The event queue is also measured next
// to a plain binary heap (std::priority_queue of time, sequence and event) on the same
// hold-model workload, as the baseline that justifies the calendar queue. Not run by ctest.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <queue>
#include <vector>

#include "sim/event_queue.h"
#include "sim/report.h"
#include "sim/simulator.h"
#include "toy_nodes.h"

namespace pando::sim {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Hold model: `held` events queued; each step pops the first and pushes one 20-150 ms later.
// Returns operations (pop + push pairs) per second.
double CalendarOpsPerSecond(size_t held, size_t steps) {
  EventQueue q;
  proto::Rng rng(1);
  for (size_t i = 0; i < held; ++i) {
    q.Push(static_cast<TimeMs>(rng.Below(150)), Event::Make(EventKind::kMessage, 0, 0));
  }
  const auto start = Clock::now();
  TimeMs at;
  Event e;
  for (size_t i = 0; i < steps; ++i) {
    CHECK(q.PopUntil(INT64_MAX, &at, &e));
    q.Push(at + 20 + static_cast<TimeMs>(rng.Below(131)), e);
  }
  return static_cast<double>(steps) / Seconds(start);
}

double HeapOpsPerSecond(size_t held, size_t steps) {
  struct Item {
    TimeMs at;
    uint64_t seq;
    Event e;
    bool operator>(const Item& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  std::priority_queue<Item, std::vector<Item>, std::greater<>> q;
  proto::Rng rng(1);
  uint64_t seq = 0;
  for (size_t i = 0; i < held; ++i) {
    q.push({static_cast<TimeMs>(rng.Below(150)), seq++, Event::Make(EventKind::kMessage, 0, 0)});
  }
  const auto start = Clock::now();
  for (size_t i = 0; i < steps; ++i) {
    const Item top = q.top();
    q.pop();
    q.push({top.at + 20 + static_cast<TimeMs>(rng.Below(131)), seq++, top.e});
  }
  return static_cast<double>(steps) / Seconds(start);
}

int Main(int argc, char** argv) {
  const size_t nodes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const int messages = argc > 2 ? std::atoi(argv[2]) : 10;
  if (nodes < 2 || messages < 1 || messages > 32) {
    std::fprintf(stderr, "usage: pando_sim_selftest [nodes >= 2 [messages 1..32]]\n");
    return 2;
  }

  const auto build_start = Clock::now();
  NetworkConfig config;
  toy::FloodRun run(config, nodes);
  run.Originate(messages);
  const double build_s = Seconds(build_start);
  const bool idle = run.sim->RunUntilIdle(3'600'000);

  Report report;
  run.sim->FillReport(&report);
  report.result["first_delivery"] = ToJson(run.shared.first_delivery);
  report.result["reached"] = run.shared.reached;
  report.environment["build_s"] = static_cast<int64_t>(build_s);
  std::fputs(report.ToText().c_str(), stdout);

  const SimStats& stats = run.sim->stats();
  uint64_t missing = 0;
  for (uint64_t r : run.shared.reached) missing += nodes - r;
  std::printf("nodes %zu, messages %d, idle %s, missed deliveries %llu\n", nodes, messages,
              idle ? "yes" : "no", static_cast<unsigned long long>(missing));
  std::printf("events %llu in %.2f s: %.2f M events/s\n",
              static_cast<unsigned long long>(stats.events_processed), run.sim->wall_seconds(),
              static_cast<double>(stats.events_processed) / run.sim->wall_seconds() / 1e6);
  std::printf("bytes per node: simulator %zu + toy node %zu; peak RSS %.1f MiB = %llu per node\n",
              toy::FloodSim::kStateBytesPerNode, sizeof(toy::FloodNode),
              static_cast<double>(PeakRssBytes()) / (1 << 20),
              static_cast<unsigned long long>(PeakRssBytes() / nodes));

  const size_t held = static_cast<size_t>(stats.peak_queued_events);
  const size_t steps = 20'000'000;
  const double calendar = CalendarOpsPerSecond(held, steps);
  const double heap = HeapOpsPerSecond(held, steps);
  std::printf("queue, %zu held, pop+push pairs/s: calendar %.1f M, binary heap %.1f M (x%.1f)\n",
              held, calendar / 1e6, heap / 1e6, calendar / heap);
  return idle && missing == 0 ? 0 : 1;
}

}  // namespace
}  // namespace pando::sim

int main(int argc, char** argv) { return pando::sim::Main(argc, argv); }
