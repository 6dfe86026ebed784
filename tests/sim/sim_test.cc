// The simulator's network model, faults and determinism, checked with toy nodes.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sim/report.h"
#include "sim/simulator.h"
#include "toy_nodes.h"

namespace pando::sim {
namespace {

using toy::Blob;
using toy::Happened;
using toy::Ping;
using toy::ProbeMsg;
using toy::ProbeNode;
using toy::What;

using ProbeSim = Simulator<ProbeNode, ProbeMsg>;
using FloodSim = toy::FloodSim;

std::unique_ptr<ProbeSim> MakeProbes(NetworkConfig config, size_t n, TimeMs timer_after_ms = -1) {
  return std::make_unique<ProbeSim>(std::move(config), n,
                                    [=](NodeId) { return ProbeNode(timer_after_ms); });
}

void SendFrom(ProbeSim& sim, NodeId from, NodeId to, ProbeMsg msg) {
  sim.Invoke(from, [&](ProbeNode&, Context<ProbeMsg>& ctx) { ctx.Send(to, msg); });
}

std::vector<TimeMs> Times(const std::vector<Happened>& happened) {
  std::vector<TimeMs> out;
  for (const Happened& h : happened) out.push_back(h.local_ms);
  return out;
}

using FloodRun = toy::FloodRun;

TEST(SimLatency, FloodHopsStayWithinLatencyBounds) {
  NetworkConfig config;
  config.latency_min_ms = 20;
  config.latency_max_ms = 150;
  FloodRun run(config, 300);
  run.Originate(3);
  EXPECT_TRUE(run.sim->RunUntilIdle(60'000));
  const SimStats& stats = run.sim->stats();
  EXPECT_EQ(stats.total.delivered, stats.total.sent);
  EXPECT_EQ(stats.total.dropped, 0u);
  EXPECT_EQ(stats.total.bytes_sent, stats.total.sent * toy::kFloodMessageBytes);
  EXPECT_GE(run.shared.hop_latency.Min(), 20);
  EXPECT_LE(run.shared.hop_latency.Max(), 150);
  EXPECT_LT(run.shared.hop_latency.Min() + 50, run.shared.hop_latency.Max());
  for (int m = 0; m < 3; ++m) EXPECT_EQ(run.shared.reached[m], 300u);
}

TEST(SimLatency, JitterAddsAtMostItsMaximum) {
  NetworkConfig config;
  config.latency_min_ms = 20;
  config.latency_max_ms = 40;
  config.jitter_max_ms = 30;
  FloodRun run(config, 300);
  run.Originate(2);
  EXPECT_TRUE(run.sim->RunUntilIdle(60'000));
  EXPECT_GE(run.shared.hop_latency.Min(), 20);
  EXPECT_LE(run.shared.hop_latency.Max(), 70);
  EXPECT_GT(run.shared.hop_latency.Max(), 40);
}

TEST(SimLatency, LinkLatencyIsSymmetricSeededAndExact) {
  NetworkConfig config;
  config.seed = 7;
  auto sim = MakeProbes(config, 50);
  NetworkConfig other = config;
  other.seed = 8;
  auto sim2 = MakeProbes(other, 50);
  int differ = 0;
  for (NodeId a = 0; a < 50; ++a) {
    for (NodeId b = 0; b < 50; ++b) {
      const TimeMs l = sim->net().LinkLatencyMs(a, b);
      EXPECT_EQ(l, sim->net().LinkLatencyMs(b, a));
      EXPECT_GE(l, 20);
      EXPECT_LE(l, 150);
      differ += l != sim2->net().LinkLatencyMs(a, b);
    }
  }
  EXPECT_GT(differ, 2000);
  sim->StartAll();
  SendFrom(*sim, 3, 4, Ping{1});
  sim->RunUntilIdle(10'000);
  const TimeMs l = sim->net().LinkLatencyMs(3, 4);
  EXPECT_EQ(Times(sim->node(4).Of(What::kMessage)), std::vector<TimeMs>{l});
  EXPECT_EQ(Times(sim->node(3).Of(What::kMessage)), std::vector<TimeMs>{2 * l});
}

TEST(SimLoss, LossDropsAboutItsShareAndSameSeedSameCount) {
  auto run = [](uint64_t seed) {
    NetworkConfig config;
    config.seed = seed;
    config.loss_probability = 0.1;
    auto sim = MakeProbes(config, 2);
    sim->StartAll();
    for (uint32_t i = 0; i < 20'000; ++i) SendFrom(*sim, 0, 1, Blob{i, 100});
    sim->RunUntilIdle(10'000);
    EXPECT_EQ(sim->stats().dropped_loss, sim->stats().total.dropped);
    EXPECT_EQ(sim->stats().total.delivered + sim->stats().dropped_loss, 20'000u);
    EXPECT_EQ(sim->node(1).Of(What::kMessage).size(), sim->stats().total.delivered);
    return sim->stats().dropped_loss;
  };
  const uint64_t dropped = run(1);
  EXPECT_GT(dropped, 1800u);
  EXPECT_LT(dropped, 2200u);
  EXPECT_EQ(run(1), dropped);
  EXPECT_NE(run(2), dropped);
}

TEST(SimBandwidth, BurstQueuesOnTheUplinkExactly) {
  NetworkConfig config;
  config.latency_min_ms = config.latency_max_ms = 50;
  config.upload_bytes_per_s = 100'000;  // 1,000 bytes take 10 ms.
  auto sim = MakeProbes(config, 2);
  sim->StartAll();
  for (uint32_t i = 0; i < 10; ++i) SendFrom(*sim, 0, 1, Blob{i, 1000});
  sim->RunUntil(1000);
  EXPECT_EQ(Times(sim->node(1).Of(What::kMessage)),
            (std::vector<TimeMs>{60, 70, 80, 90, 100, 110, 120, 130, 140, 150}));
  // An idle uplink starts afresh; 150-byte messages take 1.5 ms each, and each leaves when
  // its last byte does (rounded up to the millisecond): at 1001.5, 1003 and 1004.5 ms.
  for (uint32_t i = 0; i < 3; ++i) SendFrom(*sim, 0, 1, Blob{10 + i, 150});
  sim->RunUntilIdle(5000);
  const std::vector<TimeMs> all = Times(sim->node(1).Of(What::kMessage));
  EXPECT_EQ(std::vector<TimeMs>(all.begin() + 10, all.end()),
            (std::vector<TimeMs>{1052, 1053, 1055}));
}

TEST(SimPartition, DropsCrossMessagesNotifiesSenderAndHeals) {
  NetworkConfig config;
  config.peer_down_delay_ms = 2000;
  auto sim = MakeProbes(config, 3);
  sim->StartAll();
  sim->Partition([](NodeId id) { return id == 1 ? 1u : 0u; });
  sim->RunUntil(100);
  SendFrom(*sim, 0, 1, Ping{1});  // Across: dropped at once.
  SendFrom(*sim, 0, 2, Ping{2});  // Same side: delivered.
  sim->RunUntil(3000);
  EXPECT_TRUE(sim->node(1).Of(What::kMessage).empty());
  ASSERT_EQ(sim->node(2).Of(What::kMessage).size(), 1u);
  const std::vector<Happened> downs = sim->node(0).Of(What::kPeerDown);
  ASSERT_EQ(downs.size(), 1u);
  EXPECT_EQ(downs[0].peer, 1u);
  EXPECT_EQ(downs[0].local_ms, 2100);

  sim->Heal();
  SendFrom(*sim, 0, 1, Ping{3});
  sim->RunUntil(4000);
  const TimeMs l = sim->net().LinkLatencyMs(0, 1);
  EXPECT_EQ(Times(sim->node(1).Of(What::kMessage)), std::vector<TimeMs>{3000 + l});
  EXPECT_EQ(sim->node(0).Of(What::kMessage).back().local_ms, 3000 + 2 * l);

  // A partition that starts while a message is in flight loses it at its arrival time.
  SendFrom(*sim, 0, 1, Ping{4});
  sim->At(4001, [](ProbeSim& s) { s.SetPartition(1, 5); });
  sim->RunUntil(10'000);
  EXPECT_EQ(sim->node(1).Of(What::kMessage).size(), 1u);
  ASSERT_EQ(sim->node(0).Of(What::kPeerDown).size(), 2u);
  EXPECT_EQ(sim->node(0).Of(What::kPeerDown)[1].local_ms, 4000 + l + 2000);
  EXPECT_EQ(sim->stats().dropped_partition, 2u);
}

TEST(SimCrash, CrashedNodeIsSilentAndSendersNotice) {
  NetworkConfig config;
  auto sim = MakeProbes(config, 2, /*timer_after_ms=*/1000);
  sim->StartAll();
  sim->At(500, [](ProbeSim& s) { s.Crash(1); });
  sim->RunUntil(600);
  SendFrom(*sim, 0, 1, Ping{1});
  sim->RunUntil(2999);
  EXPECT_FALSE(sim->net().IsUp(1));
  EXPECT_TRUE(sim->node(1).Of(What::kTimer).empty());  // Its timer died with it.
  EXPECT_EQ(Times(sim->node(0).Of(What::kTimer)), std::vector<TimeMs>{1000});
  ASSERT_EQ(sim->node(0).Of(What::kPeerDown).size(), 1u);
  EXPECT_EQ(sim->node(0).Of(What::kPeerDown)[0].local_ms, 2600);
  EXPECT_EQ(sim->stats().dropped_receiver_down, 1u);
}

TEST(SimCrash, RestartKeepsOrResetsState) {
  NetworkConfig config;
  auto sim = MakeProbes(config, 2, /*timer_after_ms=*/1000);
  sim->StartAll();
  sim->At(500, [](ProbeSim& s) { s.Crash(1); });
  sim->At(3000, [](ProbeSim& s) { s.Restart(1, RestartMode::kKeepState); });
  sim->RunUntil(4500);
  EXPECT_EQ(sim->node(1).generation, 2);
  EXPECT_EQ(Times(sim->node(1).Of(What::kStart)), (std::vector<TimeMs>{0, 3000}));
  EXPECT_EQ(Times(sim->node(1).Of(What::kTimer)), std::vector<TimeMs>{4000});

  sim->Restart(1, RestartMode::kFreshState);  // A reboot onto an empty disk at 4500.
  EXPECT_EQ(sim->node(1).generation, 1);
  EXPECT_EQ(Times(sim->node(1).Of(What::kStart)), std::vector<TimeMs>{4500});
  SendFrom(*sim, 0, 1, Ping{1});
  sim->RunUntil(6000);
  EXPECT_EQ(sim->node(1).Of(What::kMessage).size(), 1u);
  EXPECT_EQ(sim->node(0).Of(What::kMessage).size(), 1u);  // The pong.
}

TEST(SimCrash, RestartLosesMessagesInFlightBothWays) {
  NetworkConfig config;
  config.latency_min_ms = config.latency_max_ms = 50;
  auto sim = MakeProbes(config, 2);
  sim->StartAll();
  SendFrom(*sim, 0, 1, Ping{1});  // Arrives at 50, after the receiver restarted at 10.
  sim->At(10, [](ProbeSim& s) { s.Restart(1, RestartMode::kKeepState); });
  sim->RunUntil(2100);
  EXPECT_TRUE(sim->node(1).Of(What::kMessage).empty());
  EXPECT_EQ(sim->stats().dropped_receiver_down, 1u);
  EXPECT_EQ(Times(sim->node(0).Of(What::kPeerDown)), std::vector<TimeMs>{2050});

  SendFrom(*sim, 0, 1, Ping{2});  // Arrives at 2150, after its sender crashed at 2110.
  sim->At(2110, [](ProbeSim& s) { s.Crash(0); });
  sim->RunUntil(5000);
  EXPECT_TRUE(sim->node(1).Of(What::kMessage).empty());
  EXPECT_EQ(sim->stats().dropped_sender_down, 1u);
  EXPECT_EQ(sim->stats().peer_down_notices, 1u);
}

TEST(SimCrash, ReceiverCrashLosesMessageInFlight) {
  NetworkConfig config;
  config.latency_min_ms = config.latency_max_ms = 50;
  config.peer_down_delay_ms = 500;
  auto sim = MakeProbes(config, 2);
  sim->StartAll();
  SendFrom(*sim, 0, 1, Ping{1});
  sim->At(20, [](ProbeSim& s) { s.Crash(1); });
  sim->RunUntilIdle(10'000);
  EXPECT_TRUE(sim->node(1).Of(What::kMessage).empty());
  EXPECT_EQ(Times(sim->node(0).Of(What::kPeerDown)), std::vector<TimeMs>{550});
}

TEST(SimScript, CustomLatencyAndStaggeredStart) {
  NetworkConfig config;
  config.link_latency_ms = [](NodeId a, NodeId b) { return TimeMs(10 * (a + b)); };
  auto sim = MakeProbes(config, 3);
  sim->Start(0);
  sim->At(100, [](ProbeSim& s) { s.Start(2); });
  sim->RunUntil(50);
  EXPECT_FALSE(sim->net().IsUp(2));
  SendFrom(*sim, 0, 2, Ping{1});  // Node 2 is not up yet: dropped, reported at 2050.
  sim->RunUntil(200);
  EXPECT_TRUE(sim->net().IsUp(2));
  SendFrom(*sim, 0, 2, Ping{2});
  sim->RunUntilIdle(10'000);
  EXPECT_EQ(Times(sim->node(2).Of(What::kMessage)), std::vector<TimeMs>{220});
  EXPECT_EQ(Times(sim->node(0).Of(What::kPeerDown)), std::vector<TimeMs>{2050});
  EXPECT_EQ(Times(sim->node(2).Of(What::kStart)), std::vector<TimeMs>{100});
  EXPECT_TRUE(sim->node(1).Of(What::kStart).empty());
}

TEST(SimScript, RunUntilThePastDoesNothing) {
  auto sim = MakeProbes(NetworkConfig{}, 1, /*timer_after_ms=*/0);
  sim->RunUntil(100);
  sim->StartAll();  // Timer due at once, at 100.
  sim->RunUntil(50);
  EXPECT_TRUE(sim->node(0).Of(What::kTimer).empty());
  EXPECT_EQ(sim->now(), 100);
  sim->RunUntil(100);
  EXPECT_EQ(Times(sim->node(0).Of(What::kTimer)), std::vector<TimeMs>{100});
}

TEST(SimConnections, CrashBreaksConnectionsBothListed) {
  NetworkConfig config;
  config.peer_down_delay_ms = 700;
  auto sim = MakeProbes(config, 4);
  sim->node(0).connections = {1};
  sim->node(1).connections = {0, 3};
  sim->node(2).connections = {1};  // Half-open: 1 does not list 2, so 2 is not told.
  sim->node(3).connections = {1};
  sim->StartAll();
  sim->Crash(3);  // Down already when 1 crashes: not told either.
  sim->At(100, [](ProbeSim& s) { s.Crash(1); });
  sim->RunUntilIdle(10'000);
  const std::vector<Happened> downs = sim->node(0).Of(What::kPeerDown);
  ASSERT_EQ(downs.size(), 1u);
  EXPECT_EQ(downs[0].peer, 1u);
  EXPECT_EQ(downs[0].local_ms, 800);
  EXPECT_TRUE(sim->node(2).Of(What::kPeerDown).empty());
  EXPECT_TRUE(sim->node(3).Of(What::kPeerDown).empty());
}

TEST(SimConnections, PartitionBreaksConnectionsAcrossOnly) {
  NetworkConfig config;
  config.peer_down_delay_ms = 700;
  auto sim = MakeProbes(config, 4);
  sim->node(0).connections = {1, 2};
  sim->node(1).connections = {0};
  sim->node(2).connections = {0, 3};
  sim->node(3).connections = {2};
  sim->StartAll();
  sim->At(100, [](ProbeSim& s) { s.Partition([](NodeId id) { return id == 1 ? 1u : 0u; }); });
  sim->At(200, [](ProbeSim& s) { s.SetPartition(3, 2); });
  sim->RunUntilIdle(10'000);
  auto peers = [&](NodeId n) {
    std::vector<std::pair<NodeId, TimeMs>> out;
    for (const Happened& h : sim->node(n).Of(What::kPeerDown)) out.emplace_back(h.peer, h.local_ms);
    return out;
  };
  using Downs = std::vector<std::pair<NodeId, TimeMs>>;
  EXPECT_EQ(peers(0), (Downs{{1, 800}}));
  EXPECT_EQ(peers(1), (Downs{{0, 800}}));
  EXPECT_EQ(peers(2), (Downs{{3, 900}}));
  EXPECT_EQ(peers(3), (Downs{{2, 900}}));
}

TEST(SimClock, SkewIsSeenByNodesButTimeOrdersEvents) {
  NetworkConfig config;
  config.latency_min_ms = config.latency_max_ms = 30;
  auto sim = MakeProbes(config, 2);
  sim->SetClockSkew(0, 5000);
  sim->SetClockSkew(1, -3000);
  sim->StartAll();
  EXPECT_EQ(Times(sim->node(0).Of(What::kStart)), std::vector<TimeMs>{5000});
  EXPECT_EQ(Times(sim->node(1).Of(What::kStart)), std::vector<TimeMs>{-3000});
  // Node 0 asks for local 5100 (true 100), node 1 for local -2700 (true 300): node 0's timer
  // fires first although its clock reads far later.
  sim->Invoke(0, [](ProbeNode&, Context<ProbeMsg>& ctx) { ctx.SetTimer(ctx.Now() + 100); });
  sim->Invoke(1, [](ProbeNode&, Context<ProbeMsg>& ctx) { ctx.SetTimer(ctx.Now() + 300); });
  sim->RunUntil(200);
  EXPECT_EQ(Times(sim->node(0).Of(What::kTimer)), std::vector<TimeMs>{5100});
  EXPECT_TRUE(sim->node(1).Of(What::kTimer).empty());
  sim->RunUntil(400);
  EXPECT_EQ(Times(sim->node(1).Of(What::kTimer)), std::vector<TimeMs>{-2700});
  SendFrom(*sim, 0, 1, Ping{1});  // True 400, arrives at true 430.
  sim->RunUntilIdle(1000);
  EXPECT_EQ(Times(sim->node(1).Of(What::kMessage)), std::vector<TimeMs>{430 - 3000});
  EXPECT_EQ(Times(sim->node(0).Of(What::kMessage)), std::vector<TimeMs>{460 + 5000});
}

TEST(SimClock, ConfiguredSkewIsSeededAndBounded) {
  NetworkConfig config;
  config.clock_skew_max_ms = 500;
  auto a = MakeProbes(config, 100);
  auto b = MakeProbes(config, 100);
  int distinct = 0;
  for (NodeId i = 0; i < 100; ++i) {
    EXPECT_LE(std::abs(a->net().clock_skew(i)), 500);
    EXPECT_EQ(a->net().clock_skew(i), b->net().clock_skew(i));
    distinct += a->net().clock_skew(i) != a->net().clock_skew(0);
  }
  EXPECT_GT(distinct, 90);
}

TEST(SimTimer, OneTimerPerNodeReplacedOrCancelled) {
  auto sim = MakeProbes(NetworkConfig{}, 1);
  sim->StartAll();
  auto set = [&](TimeMs at) {
    sim->Invoke(0, [at](ProbeNode&, Context<ProbeMsg>& ctx) { ctx.SetTimer(at); });
  };
  set(500);
  set(200);  // Earlier: replaces 500.
  sim->RunUntil(1000);
  set(1300);
  set(1800);  // Later: replaces 1300.
  sim->RunUntil(2000);
  set(2500);
  sim->Invoke(0, [](ProbeNode&, Context<ProbeMsg>& ctx) { ctx.CancelTimer(); });
  sim->RunUntil(3000);
  set(100);  // In the past: fires at once.
  EXPECT_TRUE(sim->RunUntilIdle(10'000));
  EXPECT_EQ(Times(sim->node(0).Of(What::kTimer)), (std::vector<TimeMs>{200, 1800, 3000}));
  EXPECT_EQ(sim->stats().timers_fired, 3u);
  EXPECT_EQ(sim->now(), 3000);
}

TEST(SimTimer, NeverCancelsWhateverTheSkew) {
  auto sim = MakeProbes(NetworkConfig{}, 1, /*timer_after_ms=*/100);
  sim->SetClockSkew(0, -5000);
  sim->StartAll();
  sim->Invoke(0, [](ProbeNode&, Context<ProbeMsg>& ctx) { ctx.SetTimer(kNever); });
  EXPECT_TRUE(sim->RunUntilIdle(10'000));
  EXPECT_TRUE(sim->node(0).Of(What::kTimer).empty());
}

TEST(SimScript, ActionsRunAtTheirTimeAfterEarlierEvents) {
  auto sim = MakeProbes(NetworkConfig{}, 1, /*timer_after_ms=*/100);
  std::vector<std::string> order;
  sim->StartAll();
  sim->At(100, [&](ProbeSim& s) {
    order.push_back("action timers=" + std::to_string(s.node(0).Of(What::kTimer).size()));
    s.At(50, [&](ProbeSim& s2) { order.push_back("late " + std::to_string(s2.now())); });
  });
  EXPECT_TRUE(sim->RunUntilIdle(1000));
  EXPECT_EQ(order, (std::vector<std::string>{"action timers=1", "late 100"}));
  EXPECT_EQ(sim->stats().actions_run, 2u);
}

TEST(SimStats, CountsPerMessageType) {
  auto sim = MakeProbes(NetworkConfig{}, 2);
  sim->StartAll();
  SendFrom(*sim, 0, 1, Ping{1});
  SendFrom(*sim, 0, 1, Ping{2});
  SendFrom(*sim, 0, 1, Blob{3, 1000});
  EXPECT_TRUE(sim->RunUntilIdle(10'000));
  const SimStats& s = sim->stats();
  EXPECT_EQ(s.type_names, (std::vector<std::string>{"ping", "pong", "type2"}));
  EXPECT_EQ(s.per_type[0].delivered, 2u);
  EXPECT_EQ(s.per_type[1].delivered, 2u);
  EXPECT_EQ(s.per_type[2].bytes_delivered, 1000u);
  EXPECT_EQ(s.total.bytes_sent, 16u * 4 + 1000);
  EXPECT_EQ(s.peak_in_flight_messages, 3u);
}

// A scenario with every fault on, reported as text.
std::string FaultyFloodReport(uint64_t seed) {
  NetworkConfig config;
  config.seed = seed;
  config.jitter_max_ms = 20;
  config.loss_probability = 0.02;
  config.upload_bytes_per_s = 1'000'000;
  config.clock_skew_max_ms = 300;
  FloodRun run(config, 2000);
  run.Originate(8);
  run.sim->At(250, [](FloodSim& s) {
    for (NodeId i = 0; i < 100; ++i) s.Crash(i * 3);
  });
  run.sim->At(400, [](FloodSim& s) { s.Partition([](NodeId id) { return id % 4 == 0; }); });
  run.sim->At(600, [](FloodSim& s) { s.Heal(); });
  run.sim->At(700, [](FloodSim& s) {
    for (NodeId i = 0; i < 50; ++i) s.Restart(i * 3, RestartMode::kKeepState);
  });
  run.sim->RunUntilIdle(60'000);
  Report report;
  run.sim->FillReport(&report);
  report.result["hop_latency"] = ToJson(run.shared.hop_latency);
  report.result["first_delivery"] = ToJson(run.shared.first_delivery);
  report.result["reached"] = run.shared.reached;
  report.result["peer_downs"] = run.shared.peer_downs;
  EXPECT_TRUE(report.environment.contains("peak_rss_bytes"));
  return report.ResultText();
}

TEST(SimDeterminism, SameSeedSameReportDifferentSeedDifferentReport) {
  const std::string a = FaultyFloodReport(42);
  const std::string b = FaultyFloodReport(42);
  const std::string c = FaultyFloodReport(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a.find("\"dropped_partition\""), std::string::npos);
  EXPECT_EQ(a.find("wall"), std::string::npos);
}

TEST(SimReport, TextHoldsBothSectionsInOrder) {
  Report report;
  report.result["b"] = 1;
  report.result["a"] = 2;
  report.environment["wall_ms"] = 5;
  EXPECT_EQ(report.ResultText(), "{\n  \"b\": 1,\n  \"a\": 2\n}\n");
  const std::string all = report.ToText();
  EXPECT_LT(all.find("\"result\""), all.find("\"environment\""));
}

TEST(SimHistogram, ExactPercentiles) {
  LatencyHistogram h;
  for (TimeMs v = 1; v <= 1000; ++v) h.Add(v);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.Min(), 1);
  EXPECT_EQ(h.Max(), 1000);
  EXPECT_EQ(h.Percentile(500), 500);
  EXPECT_EQ(h.Percentile(990), 990);
  EXPECT_EQ(h.MeanFloor(), 500);
  h.Add(-5);
  h.Add(INT64_MAX);
  EXPECT_EQ(h.Min(), 0);
  EXPECT_EQ(h.Max(), LatencyHistogram::kMaxMs);
}

}  // namespace
}  // namespace pando::sim
