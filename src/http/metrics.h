// Metrics: what the HTTP server counts of itself, and the Prometheus text format of
// /metrics (docs/web.md, "Metrics"), which adds the node's own counters. Used on the event
// loop only.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace pando::http {

class Metrics {
 public:
  // Upper bounds of the request-time histogram, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

  // One answered request: its route class ("api", "page", "static", "metrics", "stream"),
  // status and time taken.
  void Record(std::string_view route, unsigned status, std::chrono::nanoseconds took);

  // Everything in the Prometheus text format: these counters, the node's status
  // (`node_status`, Node::StatusJson) and the number of open streams.
  std::string Render(const nlohmann::json& node_status, size_t streams) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> le{};  // Not cumulative; Render sums.
    uint64_t count = 0;
    double sum_s = 0;
  };
  std::map<std::pair<std::string, unsigned>, uint64_t> requests_;
  std::map<std::string, Histogram> times_;
};

// The revision this binary was built from (git describe), or "unknown".
std::string_view BuildRevision();

}  // namespace pando::http
