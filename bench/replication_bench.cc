// pando_bench_replication: replication delay across real `pando node` processes on loopback
// under a steady posting load, next to the loopback API round trip measured in the same run.
//
//   pando_bench_replication [--quick] [--nodes N] [--seconds S] [--rate R]
//
// N nodes (default 32) start as in a devnet: node 0 alone, the others bootstrapping through
// it. Once every node has at least two neighbours and 5 s have passed, entries are posted
// at R per second (default 10) for S seconds (default 30), each from a random node. For
// every entry, each other node is asked first to answer when it holds the entry
// (GET /api/v1/wait); the delay of a (node, entry) pair is from just before the POST to that
// answer, so it includes the origin's commit (fsync) and the API's own round trip.
// Baseline: GET /api/v1/status round trips to random nodes, measured before the load.
#include <algorithm>
#include <cstdio>
#include <future>
#include <random>

#include "node/harness.h"
#include "testutil/feed.h"

using namespace pando;
using namespace pando::testing;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  InitCrypto();
  size_t nodes_n = 32;
  double seconds = 30, rate = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      nodes_n = 4;
      seconds = 2;
      rate = 5;
    } else if (a == "--nodes" && i + 1 < argc) {
      nodes_n = std::stoul(argv[++i]);
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (a == "--rate" && i + 1 < argc) {
      rate = std::stod(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--nodes N] [--seconds S] [--rate R]\n", argv[0]);
      return 2;
    }
  }
  TempDir dir;
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  for (size_t i = 0; i < nodes_n; ++i) {
    nodes.push_back(std::make_unique<NodeProcess>(dir.path() + "/node-" + std::to_string(i)));
    std::vector<std::string> args;
    if (i > 0) args = {"--bootstrap", nodes[0]->bootstrap()};
    if (!nodes[i]->Start(args)) {
      std::fprintf(stderr, "node %zu did not start\n", i);
      return 1;
    }
  }
  const size_t want = std::min<size_t>(nodes_n - 1, 2);
  for (size_t i = 0; i < nodes_n; ++i) {
    WaitFor(std::chrono::seconds(30), [&] {
      auto s = nodes[i]->api().Get("/api/v1/status");
      return s.ok() && (*s)["groups"][0]["neighbours"].size() >= want;
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(nodes_n > 4 ? 5 : 1));

  std::mt19937_64 rng(1);
  std::vector<double> rtt;
  for (int k = 0; k < 200; ++k) {
    const auto& n = nodes[rng() % nodes_n];
    const auto t0 = Clock::now();
    if (!n->api().Get("/api/v1/status").ok()) return 1;
    rtt.push_back(Ms(Clock::now() - t0).count());
  }

  const size_t entries = std::max<size_t>(1, static_cast<size_t>(seconds * rate));
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  std::vector<double> delays;
  size_t missing = 0;
  std::vector<std::future<void>> pending;
  std::mutex mu;
  const auto start = Clock::now();
  for (size_t k = 0; k < entries; ++k) {
    std::this_thread::sleep_until(start +
                                  std::chrono::duration_cast<Clock::duration>(interval * k));
    const size_t origin = rng() % nodes_n;
    auto entry = nodes[origin]->Sign("catalog", "bench entry " + std::to_string(k));
    if (!entry) return 1;
    const std::string id = ToHex(entry->id());
    auto t0 = std::make_shared<Clock::time_point>();
    auto posted = std::make_shared<std::promise<void>>();
    std::shared_future<void> posted_f = posted->get_future().share();
    for (size_t i = 0; i < nodes_n; ++i) {
      if (i == origin) continue;
      pending.push_back(std::async(std::launch::async, [&, i, id, t0, posted_f] {
        auto r = nodes[i]->api().Get("/api/v1/wait?id=" + id + "&timeout_ms=20000");
        const auto t1 = Clock::now();
        posted_f.wait();
        std::lock_guard lock(mu);
        if (r.ok() && (*r)["held"].get<bool>()) {
          delays.push_back(Ms(t1 - *t0).count());
        } else {
          ++missing;
        }
      }));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // The waits are registered.
    *t0 = Clock::now();
    auto r = nodes[origin]->api().Post("/api/v1/entries", {{"entry", ToHex(entry->bytes())}});
    posted->set_value();
    if (!r.ok()) {
      std::fprintf(stderr, "post failed: %s\n", r.error().ToString().c_str());
      return 1;
    }
  }
  for (auto& f : pending) f.get();
  const double load_s = std::chrono::duration<double>(Clock::now() - start).count();

  const double rtt50 = Percentile(rtt, 0.5), rtt99 = Percentile(rtt, 0.99);
  const double p50 = Percentile(delays, 0.5), p90 = Percentile(delays, 0.9),
               p99 = Percentile(delays, 0.99), max = Percentile(delays, 1.0);
  std::printf("replication across %zu nodes on loopback, %zu entries at %.1f/s from random nodes\n",
              nodes_n, entries, rate);
  std::printf("  baseline: API round trip (GET /api/v1/status)  p50 %.2f ms  p99 %.2f ms\n", rtt50,
              rtt99);
  std::printf("  delivered %zu of %zu (node, entry) pairs in %.1f s\n", delays.size(),
              delays.size() + missing, load_s);
  std::printf("  delay post -> held   p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n", p50,
              p90, p99, max);
  std::printf("  p99 = %.0fx the API round trip; target p99 < 200 ms: %s\n", p99 / rtt50,
              p99 < 200 ? "met" : "NOT met");
  return missing == 0 ? 0 : 1;
}
