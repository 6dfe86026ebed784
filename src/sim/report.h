// What a simulation run reports, split by whether it can be reproduced.
//
// `result` must be byte-identical for the same seed, scenario and build: it holds only
// values computed from simulated events (counters, simulated times, latencies in whole
// milliseconds). `environment` holds what the machine decides (wall time, events per second,
// memory) and is left out of any comparison between runs. Keys keep insertion order, so the
// text is as deterministic as the values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "sim/network.h"
#include "sim/stats.h"

namespace pando::sim {

using Json = nlohmann::ordered_json;

struct Report {
  Json result = Json::object();
  Json environment = Json::object();

  // The deterministic part alone, pretty-printed, ending in a newline.
  std::string ResultText() const;
  // {"result": ..., "environment": ...}, pretty-printed, ending in a newline.
  std::string ToText() const;
};

Json ToJson(const NetworkConfig& config);
Json ToJson(const SimStats& stats);
Json ToJson(const MessageStats& stats);
// count, min, mean (rounded down), p50, p90, p99, p999, max; all in whole milliseconds.
Json ToJson(const LatencyHistogram& histogram);

// The process's peak resident set (VmHWM) and current one (VmRSS) from /proc/self/status,
// in bytes; 0 where that file is missing.
uint64_t PeakRssBytes();
uint64_t CurrentRssBytes();

}  // namespace pando::sim
