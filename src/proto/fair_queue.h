// FairQueue: arriving work waiting to be admitted, served per group by deficit round robin
// (Shreedhar and Varghese, 1995), so that a flood in one group cannot starve another (R4).
//
// Checking an arriving entry's signature and writing it to the store are what limit how
// many entries a node takes per second. A node that handled every arriving message at once,
// in arrival order, would make every group wait behind the busiest one. Instead the runtime
// puts each message that carries entries (a GOSSIP, an ENTRIES answer) into this queue,
// under the group it belongs to, and takes work out with a budget per turn of its loop
// (node/node_peers.cc: entries per turn of the event loop; sim/real_node.h: entries per
// simulated second). Pop gives the next item in DRR order: the groups with work wait in a
// ring; the group at the front gets `quantum_bytes` of credit and is served while its next
// item costs no more than its credit, then goes to the back of the ring. A group whose
// queue empties loses what credit it had left, so a group that was idle has no hoard to
// spend later. Each group with work thus gets an equal share of the bytes served, whatever
// the sizes of its items, and a group that asks for less than its share is served as soon
// as its turn comes: it waits at most one round of the ring.
//
// Items should be small next to what the node admits per second: DRR serves an item whole,
// so the runtime cuts a message of many entries into pieces (piece_bytes_max, ForEachPiece).
//
// Bounded: at most group_bytes_max queued per group and total_bytes_max in all. An item
// that would pass its group's bound is dropped (the newest: what is queued keeps its
// order, so each feed still arrives in seq order). When the total would pass its bound, the
// newest items of the group with the most bytes queued are dropped until the item fits, or
// the item itself if its group is that group: a quiet group's work is never dropped to make
// room for a flood. Dropped work is counted per group; nothing is lost for the network,
// since reconciliation offers the entries again later (as with quotas, proto/quota.h).
//
// `T` is the runtime's description of one item (a message and its entries); the queue only
// moves it. A "group" is a small dense index (NodeCore's group index, or 0 for a queue
// that is one FIFO). Sans-IO and single-threaded, like every machine in src/proto.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "core/check.h"

namespace pando::proto {

struct FairQueueLimits {
  // Credit a group gets each time its turn comes. Smaller is fairer at a finer grain (a
  // quiet group waits at most one quantum per busy group); larger costs fewer turns of the
  // ring for large items. 16 KiB is about 50 entries of 300 bytes: a few milliseconds of
  // signature checks.
  uint64_t quantum_bytes = 16 * 1024;
  uint64_t group_bytes_max = 8ull << 20;   // Queued bytes of one group.
  uint64_t total_bytes_max = 32ull << 20;  // Queued bytes of all groups.
  // The runtime queues a message with more entries than this many bytes (an ENTRIES answer
  // of a catch-up) in pieces of at most this much: an item, once taken, is admitted whole,
  // and one of thousands of entries would hold every other group back for its whole time.
  // 64 KiB is about 200 entries; a piece's linked runs still cost one signature each.
  uint64_t piece_bytes_max = 64 * 1024;
};

// Cuts `count` items of sizes size(i) into consecutive pieces of at most `bytes_max` bytes
// (an item larger than that alone): calls piece(begin, end, bytes) for each.
template <typename Size, typename Piece>
void ForEachPiece(size_t count, uint64_t bytes_max, Size size, Piece piece) {
  size_t begin = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t s = size(i);
    if (i > begin && bytes + s > bytes_max) {
      piece(begin, i, bytes);
      begin = i;
      bytes = 0;
    }
    bytes += s;
  }
  if (count > begin) piece(begin, count, bytes);
}

// What happened to one group's work.
struct FairQueueGroupStats {
  uint64_t queued_bytes = 0;  // Now.
  uint64_t queued_items = 0;
  uint64_t queued_entries = 0;
  uint64_t served_items = 0;  // Since the start.
  uint64_t served_entries = 0;
  uint64_t dropped_items = 0;
  uint64_t dropped_entries = 0;
};

template <typename T>
class FairQueue {
 public:
  // An item taken out of the queue, with what it was queued with.
  struct Served {
    uint32_t group = 0;
    uint64_t bytes = 0;
    uint32_t entries = 0;
    T item;
  };

  explicit FairQueue(const FairQueueLimits& limits = {}) : limits_(limits) {
    CHECK(limits_.quantum_bytes > 0);
  }

  // Queues `item` of `group`, costing `bytes` (at least 1) and carrying `entries` entries.
  // Returns false if the item was dropped (its group's bound, or the total's while its group
  // queues the most).
  bool Push(uint32_t group, T item, uint64_t bytes, uint32_t entries) {
    bytes = std::max<uint64_t>(bytes, 1);
    if (group >= flows_.size()) flows_.resize(group + 1);
    Flow& f = flows_[group];
    if (f.stats.queued_bytes + bytes > limits_.group_bytes_max) return Drop(f, entries);
    while (bytes_ + bytes > limits_.total_bytes_max) {
      Flow* longest = Longest();
      if (longest == nullptr || longest == &f ||
          longest->stats.queued_bytes < f.stats.queued_bytes + bytes) {
        return Drop(f, entries);
      }
      DropNewest(*longest);
    }
    if (f.items.empty() && !f.active) {
      f.active = true;
      ring_.push_back(group);
    }
    f.items.push_back(Item{std::move(item), bytes, entries});
    f.stats.queued_bytes += bytes;
    ++f.stats.queued_items;
    f.stats.queued_entries += entries;
    bytes_ += bytes;
    ++items_;
    return true;
  }

  // The next item in deficit round robin order; nullopt when nothing is queued.
  std::optional<Served> Pop() {
    while (!ring_.empty()) {
      const uint32_t g = ring_.front();
      Flow& f = flows_[g];
      if (f.items.empty()) {  // Emptied by drops while it waited its turn.
        Leave(f);
        continue;
      }
      if (!visiting_) {
        visiting_ = true;
        f.deficit += limits_.quantum_bytes;
      }
      if (f.items.front().bytes > f.deficit) {
        // Not enough credit for the next item: the turn passes, the credit stays.
        visiting_ = false;
        ring_.pop_front();
        ring_.push_back(g);
        continue;
      }
      Item it = std::move(f.items.front());
      f.items.pop_front();
      f.deficit -= it.bytes;
      Unqueue(f, it);
      ++f.stats.served_items;
      f.stats.served_entries += it.entries;
      if (f.items.empty()) Leave(f);
      return Served{g, it.bytes, it.entries, std::move(it.item)};
    }
    return std::nullopt;
  }

  // The item Pop just gave out cost less work than it was queued at (its entries turned
  // out to be held already, say): gives `bytes` back to its group's credit for the rest of
  // its turn, so that credit counts work done. Nothing if the group's turn is over.
  void Refund(uint32_t group, uint64_t bytes) {
    if (visiting_ && !ring_.empty() && ring_.front() == group) flows_[group].deficit += bytes;
  }

  bool empty() const { return items_ == 0; }
  size_t items() const { return items_; }
  uint64_t bytes() const { return bytes_; }
  size_t groups() const { return flows_.size(); }
  // A group's figures (all zero for a group never seen).
  FairQueueGroupStats stats(uint32_t group) const {
    return group < flows_.size() ? flows_[group].stats : FairQueueGroupStats{};
  }
  // The figures of all groups added up.
  FairQueueGroupStats total() const {
    FairQueueGroupStats t;
    for (const Flow& f : flows_) {
      t.queued_bytes += f.stats.queued_bytes;
      t.queued_items += f.stats.queued_items;
      t.queued_entries += f.stats.queued_entries;
      t.served_items += f.stats.served_items;
      t.served_entries += f.stats.served_entries;
      t.dropped_items += f.stats.dropped_items;
      t.dropped_entries += f.stats.dropped_entries;
    }
    return t;
  }
  const FairQueueLimits& limits() const { return limits_; }

 private:
  struct Item {
    T item;
    uint64_t bytes;
    uint32_t entries;
  };
  struct Flow {
    std::deque<Item> items;
    uint64_t deficit = 0;
    bool active = false;  // In the ring.
    FairQueueGroupStats stats;
  };

  bool Drop(Flow& f, uint32_t entries) {
    ++f.stats.dropped_items;
    f.stats.dropped_entries += entries;
    return false;
  }
  void DropNewest(Flow& f) {
    Item& it = f.items.back();
    Unqueue(f, it);
    Drop(f, it.entries);
    f.items.pop_back();
    if (f.items.empty()) f.deficit = 0;  // No credit kept for later, as in Leave.
  }
  void Unqueue(Flow& f, const Item& it) {
    f.stats.queued_bytes -= it.bytes;
    --f.stats.queued_items;
    f.stats.queued_entries -= it.entries;
    bytes_ -= it.bytes;
    --items_;
  }
  // The front group leaves the ring with nothing queued: its credit goes with it.
  void Leave(Flow& f) {
    f.active = false;
    f.deficit = 0;
    visiting_ = false;
    ring_.pop_front();
  }
  // The group with the most bytes queued. O(groups): called only when the total is full,
  // and a node carries tens of groups, not millions.
  Flow* Longest() {
    Flow* best = nullptr;
    for (Flow& f : flows_) {
      if (!f.items.empty() &&
          (best == nullptr || f.stats.queued_bytes > best->stats.queued_bytes)) {
        best = &f;
      }
    }
    return best;
  }

  FairQueueLimits limits_;
  std::vector<Flow> flows_;    // By group.
  std::deque<uint32_t> ring_;  // Groups with work, the one being served first.
  bool visiting_ = false;      // The front group has had its quantum for this turn.
  uint64_t bytes_ = 0;
  size_t items_ = 0;
};

}  // namespace pando::proto
