#include "sim/report.h"

#include <cstdio>
#include <cstring>

namespace pando::sim {
namespace {

// Reads a "Name:   1234 kB" line of /proc/self/status.
uint64_t ReadStatusKb(const char* name) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  const size_t name_len = std::strlen(name);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, name, name_len) == 0 && line[name_len] == ':') {
      unsigned long long value = 0;
      if (std::sscanf(line + name_len + 1, "%llu", &value) == 1) kb = value;
      break;
    }
  }
  std::fclose(f);
  return kb * 1024;
}

}  // namespace

std::string Report::ResultText() const { return result.dump(2) + "\n"; }

std::string Report::ToText() const {
  Json all = Json::object();
  all["result"] = result;
  all["environment"] = environment;
  return all.dump(2) + "\n";
}

Json ToJson(const NetworkConfig& config) {
  Json j = Json::object();
  j["seed"] = config.seed;
  if (config.link_latency_ms) {
    j["latency"] = "custom";
  } else {
    j["latency_min_ms"] = config.latency_min_ms;
    j["latency_max_ms"] = config.latency_max_ms;
  }
  j["jitter_max_ms"] = config.jitter_max_ms;
  j["loss_probability"] = config.loss_probability;
  j["upload_bytes_per_s"] = config.upload_bytes_per_s;
  j["peer_down_delay_ms"] = config.peer_down_delay_ms;
  j["clock_skew_max_ms"] = config.clock_skew_max_ms;
  return j;
}

Json ToJson(const MessageStats& stats) {
  Json j = Json::object();
  j["sent"] = stats.sent;
  j["delivered"] = stats.delivered;
  j["dropped"] = stats.dropped;
  j["bytes_sent"] = stats.bytes_sent;
  j["bytes_delivered"] = stats.bytes_delivered;
  return j;
}

Json ToJson(const SimStats& stats) {
  Json j = Json::object();
  j["messages"] = ToJson(stats.total);
  if (stats.per_type.size() > 1) {
    Json types = Json::object();
    for (size_t i = 0; i < stats.per_type.size(); ++i) {
      types[stats.type_names[i]] = ToJson(stats.per_type[i]);
    }
    j["by_type"] = std::move(types);
  }
  j["dropped_loss"] = stats.dropped_loss;
  j["dropped_partition"] = stats.dropped_partition;
  j["dropped_receiver_down"] = stats.dropped_receiver_down;
  j["dropped_sender_down"] = stats.dropped_sender_down;
  j["peer_down_notices"] = stats.peer_down_notices;
  j["timers_fired"] = stats.timers_fired;
  j["actions_run"] = stats.actions_run;
  j["events_processed"] = stats.events_processed;
  j["peak_in_flight_messages"] = stats.peak_in_flight_messages;
  j["peak_queued_events"] = stats.peak_queued_events;
  return j;
}

Json ToJson(const LatencyHistogram& histogram) {
  Json j = Json::object();
  j["count"] = histogram.count();
  j["min_ms"] = histogram.Min();
  j["mean_ms"] = histogram.MeanFloor();
  j["p50_ms"] = histogram.Percentile(500);
  j["p90_ms"] = histogram.Percentile(900);
  j["p99_ms"] = histogram.Percentile(990);
  j["p999_ms"] = histogram.Percentile(999);
  j["max_ms"] = histogram.Max();
  return j;
}

uint64_t PeakRssBytes() { return ReadStatusKb("VmHWM"); }
uint64_t CurrentRssBytes() { return ReadStatusKb("VmRSS"); }

}  // namespace pando::sim
