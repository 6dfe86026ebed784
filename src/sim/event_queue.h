// The simulator's event queue: a calendar queue with one bucket per millisecond over a
// sliding window, and a binary heap for the few events further out than the window.
//
// Events come out in (time, push order). Simulated time is whole milliseconds and almost
// every event lands within a few hundred milliseconds of now (one link latency), so a bucket
// per millisecond makes push an append and pop a sequential read: O(1) and cache-friendly,
// where a binary heap over millions of in-flight events costs ~log2(n) cache misses per
// operation. The selftest (tests/sim/sim_selftest.cc) measures both on the same workload.
//
// Push order is the tie-break, so no sequence number is stored per event: appends to one
// bucket are in push order by construction. Far events carry a sequence number and are moved
// into their bucket the moment the window first covers their time, before anything can be
// appended to it directly, which keeps push order across the two structures.
//
// Not thread-safe; owned by one Simulator.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/check.h"
#include "proto/types.h"

namespace pando::sim {

using proto::TimeMs;

// What an event does when it comes due.
enum class EventKind : uint32_t {
  kMessage = 0,   // Deliver the message in slot `arg` to `target`.
  kTimer = 1,     // `target`'s timer may be due (it is checked against the node's state).
  kPeerDown = 2,  // Tell `target` a peer is unreachable (notice slot `arg`).
  kAction = 3,    // Run scripted action `arg`.
};

// The largest node count an event can address: the kind takes the top 2 bits.
inline constexpr uint32_t kMaxNodes = uint32_t{1} << 30;

// An event as the queue stores it, 8 bytes: its time is implied by the bucket it sits in.
struct Event {
  uint32_t head = 0;  // Kind in the top 2 bits, target node in the low 30.
  uint32_t arg = 0;   // Message slot, notice slot or action index, by kind.

  static Event Make(EventKind kind, uint32_t target, uint32_t arg) {
    DCHECK(target < kMaxNodes);
    return {(static_cast<uint32_t>(kind) << 30) | target, arg};
  }
  EventKind kind() const { return static_cast<EventKind>(head >> 30); }
  uint32_t target() const { return head & (kMaxNodes - 1); }
};
static_assert(sizeof(Event) == 8);

class EventQueue {
 public:
  // Width of the bucket window. Link latencies, jitter and bandwidth queueing stay well
  // below it; the 2 s peer-down delay and long protocol timers go to the far heap.
  static constexpr TimeMs kWindowMs = 4096;
  // A drained bucket keeps up to this many events' worth of capacity: 8 MiB at most in all.
  static constexpr size_t kRetainedEvents = 256;

  EventQueue() : buckets_(kWindowMs) {}

  // The time of the last event popped, or the time AdvanceTo moved to.
  TimeMs now() const { return now_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Queues `e` at time `at` >= now().
  void Push(TimeMs at, Event e) {
    CHECK(at >= now_);
    ++size_;
    if (at < now_ + kWindowMs) {
      buckets_[Index(at)].push_back(e);
      ++window_size_;
    } else {
      far_.push_back({at, far_seq_++, e});
      std::push_heap(far_.begin(), far_.end(), FarLater);
    }
  }

  // Pops the first event if its time is <= limit: sets *at and *e, moves now() to *at and
  // returns true. Otherwise returns false and leaves now() alone.
  bool PopUntil(TimeMs limit, TimeMs* at, Event* e) {
    if (now_ > limit) return false;
    for (;;) {
      std::vector<Event>& bucket = buckets_[Index(now_)];
      if (read_ < bucket.size()) {
        *e = bucket[read_++];
        *at = now_;
        --size_;
        --window_size_;
        return true;
      }
      const TimeMs next = NextTimeAfterDrained();
      if (next < 0 || next > limit) return false;
      AdvanceTo(next);
    }
  }

  // The event `ahead` places after the next one to pop, if it is in the current bucket (at
  // now()), else nullptr: what the simulator prefetches for while it runs the earlier ones.
  const Event* Peek(size_t ahead) const {
    const std::vector<Event>& bucket = buckets_[Index(now_)];
    return read_ + ahead < bucket.size() ? &bucket[read_ + ahead] : nullptr;
  }

  // Moves now() forward to `t`. Requires that no queued event is earlier than `t`.
  void AdvanceTo(TimeMs t) {
    CHECK(t >= now_);
    if (t == now_) return;
    std::vector<Event>& bucket = buckets_[Index(now_)];
    CHECK(read_ == bucket.size());
    // A small bucket keeps its capacity for the next lap; a large one gives it back, so the
    // queue's memory follows the events in flight rather than the busiest millisecond of
    // each of the kWindowMs buckets. Regrowing costs one copy of each event, amortised.
    if (bucket.capacity() > kRetainedEvents) {
      std::vector<Event>().swap(bucket);
    } else {
      bucket.clear();
    }
    read_ = 0;
    now_ = t;
    while (!far_.empty() && far_.front().at < now_ + kWindowMs) {
      std::pop_heap(far_.begin(), far_.end(), FarLater);
      const Far f = far_.back();
      far_.pop_back();
      buckets_[Index(f.at)].push_back(f.e);
      ++window_size_;
    }
  }

  // Bytes held by the queue, including spare bucket capacity.
  size_t ReservedBytes() const {
    size_t total = far_.capacity() * sizeof(Far) + buckets_.capacity() * sizeof(std::vector<Event>);
    for (const std::vector<Event>& b : buckets_) total += b.capacity() * sizeof(Event);
    return total;
  }

 private:
  struct Far {
    TimeMs at;
    uint64_t seq;
    Event e;
  };
  // Heap order for std::push_heap: the top is the earliest (at, seq).
  static bool FarLater(const Far& a, const Far& b) {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
  static size_t Index(TimeMs t) { return static_cast<size_t>(t) & (kWindowMs - 1); }

  // With the current bucket read to the end: the time of the next event, or -1 if none.
  TimeMs NextTimeAfterDrained() const {
    if (window_size_ > 0) {
      // Every window event is later than now_ and earlier than now_ + kWindowMs.
      TimeMs t = now_ + 1;
      while (buckets_[Index(t)].empty()) ++t;
      return t;
    }
    return far_.empty() ? -1 : far_.front().at;
  }

  std::vector<std::vector<Event>> buckets_;  // Bucket Index(t) holds events at time t.
  std::vector<Far> far_;                     // Events at now_ + kWindowMs or later.
  TimeMs now_ = 0;
  size_t read_ = 0;  // Events of the current bucket already popped.
  size_t size_ = 0;
  size_t window_size_ = 0;  // Unpopped events in buckets_.
  uint64_t far_seq_ = 0;
};

}  // namespace pando::sim
