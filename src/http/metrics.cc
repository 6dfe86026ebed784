#include "http/metrics.h"

#include <fmt/format.h>

#include <chrono>

#include "http/backend.h"
#include "http/handlers.h"

#ifndef PANDO_REVISION
#define PANDO_REVISION "unknown"
#endif

namespace pando::http {
namespace {

// A label value in the text format: backslash, quote and newline escaped.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string_view BuildRevision() { return PANDO_REVISION; }

void Metrics::Record(std::string_view route, unsigned status, std::chrono::nanoseconds took) {
  ++requests_[{std::string(route), status}];
  Histogram& h = times_[std::string(route)];
  const double s = std::chrono::duration<double>(took).count();
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (s <= kBuckets[i]) {
      ++h.le[i];
      break;
    }
  }
  ++h.count;
  h.sum_s += s;
}

std::string Metrics::Render(const nlohmann::json& st, size_t streams) const {
  std::string out;
  Family(out, "pando_build_info", "gauge", "The revision this node runs; always 1.");
  out += fmt::format("pando_build_info{{revision=\"{}\",node_id=\"{}\"}} 1\n",
                     Label(BuildRevision()), Label(st.value("node_id", "")));
  const double now_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  Family(out, "pando_heartbeat_timestamp_seconds", "gauge",
         "When this answer was made (Unix time): a stale value means a stuck node.");
  out += fmt::format("pando_heartbeat_timestamp_seconds {:.3f}\n", now_s);
  if (auto loc = st.find("location"); loc != st.end() && loc->is_object()) {
    Family(out, "pando_node_location", "gauge",
           "Where the node stands (its location setting); always 1.");
    out += fmt::format("pando_node_location{{latitude=\"{}\",longitude=\"{}\"}} 1\n",
                       loc->value("latitude", 0.0), loc->value("longitude", 0.0));
  }
  Family(out, "pando_uptime_seconds", "gauge", "Seconds since the node started.");
  out += fmt::format("pando_uptime_seconds {}\n", st.value("uptime_s", int64_t{0}));
  Family(out, "pando_started", "gauge", "1 once the node joined its groups' overlays.");
  out += fmt::format("pando_started {}\n", st.value("started", false) ? 1 : 0);
  Family(out, "pando_peers", "gauge", "Open peer connections.");
  out += fmt::format("pando_peers {}\n", st.contains("peers") ? st["peers"].size() : 0);
  Family(out, "pando_group_entries", "gauge", "Entries held, by group.");
  if (auto groups = st.find("groups"); groups != st.end() && groups->is_array()) {
    for (const auto& g : *groups) {
      out += fmt::format("pando_group_entries{{group=\"{}\"}} {}\n", Label(g.value("name", "")),
                         g.value("entries", int64_t{0}));
    }
  }
  if (auto counters = st.find("counters"); counters != st.end() && counters->is_object()) {
    for (const auto& [name, value] : counters->items()) {
      const bool gauge = name == "entries_pending";
      const std::string metric = "pando_" + name + (gauge ? "" : "_total");
      Family(out, metric, gauge ? "gauge" : "counter", "Node counter " + name + ".");
      out += fmt::format("{} {}\n", metric, value.get<uint64_t>());
    }
  }
  Family(out, "pando_http_streams", "gauge", "Open WebSocket streams.");
  out += fmt::format("pando_http_streams {}\n", streams);
  Family(out, "pando_http_requests_total", "counter",
         "HTTP requests answered, by route and status.");
  for (const auto& [key, n] : requests_) {
    out += fmt::format("pando_http_requests_total{{route=\"{}\",code=\"{}\"}} {}\n",
                       Label(key.first), key.second, n);
  }
  Family(out, "pando_http_request_duration_seconds", "histogram",
         "Time from a request read to its answer queued, by route.");
  for (const auto& [route, h] : times_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.le[i];
      out +=
          fmt::format("pando_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                      Label(route), kBuckets[i], cumulative);
    }
    out += fmt::format(
        "pando_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n"
        "pando_http_request_duration_seconds_sum{{route=\"{}\"}} {:.6f}\n"
        "pando_http_request_duration_seconds_count{{route=\"{}\"}} {}\n",
        Label(route), h.count, Label(route), h.sum_s, Label(route), h.count);
  }
  return out;
}

void MetricsGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  const size_t streams = ctx.streams_open ? ctx.streams_open() : 0;
  respond(MakeResponse(200, ctx.metrics->Render(ctx.backend->StatusJson(), streams),
                       "text/plain; version=0.0.4; charset=utf-8", call.req));
}

}  // namespace pando::http
