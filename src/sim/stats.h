// Counters the simulator keeps while it runs, and a latency histogram for scenarios.
//
// Everything here is a pure function of the seed and the scenario, so it may go into the
// deterministic part of a report. Wall time and memory are kept elsewhere (report.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/types.h"

namespace pando::sim {

// Traffic of one message type (or of all of them).
struct MessageStats {
  uint64_t sent = 0;  // Handed to Context::Send, whatever became of them.
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t bytes_sent = 0;  // Sum of EncodedSize over sent messages.
  uint64_t bytes_delivered = 0;
};

struct SimStats {
  MessageStats total;
  std::vector<MessageStats> per_type;   // One per std::variant alternative, else one.
  std::vector<std::string> type_names;  // Same length as per_type.

  // Why messages were dropped; the four add up to total.dropped.
  uint64_t dropped_loss = 0;           // The random loss of NetworkConfig.
  uint64_t dropped_partition = 0;      // Sender and receiver in different partitions.
  uint64_t dropped_receiver_down = 0;  // Receiver crashed, or restarted since the send.
  uint64_t dropped_sender_down = 0;    // Sender crashed or restarted while it was in flight.

  uint64_t peer_down_notices = 0;  // OnPeerDown calls made.
  uint64_t timers_fired = 0;       // OnTimer calls made.
  uint64_t actions_run = 0;        // Scripted At() actions run.
  uint64_t events_processed = 0;   // Every event popped, stale timer events included.
  uint64_t peak_in_flight_messages = 0;
  uint64_t peak_queued_events = 0;
};

// Counts of whole-millisecond latencies, with exact percentiles. Memory is one counter per
// millisecond up to the largest value added; values are clamped to [0, kMaxMs], so a wild
// value costs at most 8 MB rather than whatever it asks for.
class LatencyHistogram {
 public:
  static constexpr proto::TimeMs kMaxMs = 1'000'000;

  void Add(proto::TimeMs ms) {
    const size_t i = static_cast<size_t>(std::clamp<proto::TimeMs>(ms, 0, kMaxMs));
    if (i >= counts_.size()) counts_.resize(i + 1, 0);
    ++counts_[i];
    ++count_;
    sum_ += static_cast<uint64_t>(i);
  }
  uint64_t count() const { return count_; }
  proto::TimeMs Max() const { return counts_.empty() ? 0 : proto::TimeMs(counts_.size() - 1); }
  proto::TimeMs Min() const {
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] != 0) return proto::TimeMs(i);
    }
    return 0;
  }
  // Mean in whole milliseconds, rounded down, so that reports hold no floating point.
  proto::TimeMs MeanFloor() const { return count_ == 0 ? 0 : proto::TimeMs(sum_ / count_); }
  // The smallest value v such that at least permille/1000 of the values are <= v.
  proto::TimeMs Percentile(uint32_t permille) const {
    if (count_ == 0) return 0;
    const uint64_t need = (count_ * permille + 999) / 1000;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= need && seen > 0) return proto::TimeMs(i);
    }
    return Max();
  }
  void Merge(const LatencyHistogram& other) {
    if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
    for (size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
  }

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace pando::sim
