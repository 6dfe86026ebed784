// AddressBook: where a node may dial its peers, learned from their HELLOs (first hand) and
// from the peer records of MEMBERSHIP frames (second hand). Sans-IO: every call gets `now`.
//
// A hostile peer must not be able to make the network dial an arbitrary host:port, nor keep
// it dialling one long after the peer left, so:
//   - a second-hand record never replaces an address learned first hand;
//   - a dial that fails backs off (retry_min_ms, doubling to retry_max_ms); after
//     failures_max failures in a row the record is dropped, and a second-hand record for
//     that key is not taken again while the drop lasts (retry_max_ms);
//   - a record not refreshed (learned again or connected) for ttl_ms is dropped;
//   - at most records_max records: the oldest second-hand ones go first.
// The runtime checks that a HELLO's address names the connection's own IP before it calls
// Learn with first_hand (node.cc).
//
// Single-threaded.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "proto/frame.h"
#include "proto/types.h"

namespace pando::proto {

struct AddressBookLimits {
  size_t records_max = 4'096;
  TimeMs ttl_ms = 3'600'000;
  TimeMs retry_min_ms = 1'000;
  TimeMs retry_max_ms = 300'000;
  uint32_t failures_max = 5;
};

class AddressBook {
 public:
  explicit AddressBook(const AddressBookLimits& limits = {}) : limits_(limits) {}

  void Learn(TimeMs now, NodeId id, const PeerRecord& record, bool first_hand);
  const PeerRecord* Find(NodeId id) const;
  // Whether `id` may be dialled now (it has a record and is not backing off).
  bool MayDial(TimeMs now, NodeId id) const;
  void OnDialFailed(TimeMs now, NodeId id);
  void OnConnected(TimeMs now, NodeId id);
  // Drops records older than ttl_ms and the memory of dropped ones.
  void Expire(TimeMs now);
  size_t size() const { return records_.size(); }

 private:
  struct Record {
    PeerRecord peer;
    bool first_hand = false;
    TimeMs refreshed_ms = 0;
    uint32_t failures = 0;
    TimeMs retry_at_ms = 0;
  };
  void MakeRoom();

  AddressBookLimits limits_;
  std::unordered_map<NodeId, Record> records_;
  std::unordered_map<NodeId, TimeMs> dropped_;  // Until when second-hand records are refused.
};

}  // namespace pando::proto
