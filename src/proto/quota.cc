#include "proto/quota.h"

#include <algorithm>
#include <string>

#include "core/crypto.h"
#include "core/error_codes.h"

namespace pando::proto {

namespace {
constexpr double kSecondsPerDay = 86'400;
constexpr TimeMs kSweepEveryMs = 1'000;
}  // namespace

AuthorQuotas::Record* AuthorQuotas::RecordOf(TimeMs now, const Key& key, bool young) {
  const double entries_per_s = young ? limits_.young_entries_per_s : limits_.entries_per_s;
  const double entries_burst = young ? limits_.young_entries_burst : limits_.entries_burst;
  const double bytes = young ? limits_.young_bytes_per_day : limits_.bytes_per_day;
  const auto make = [&] {
    return Record{TokenBucket(entries_per_s, entries_burst, now),
                  TokenBucket(bytes / kSecondsPerDay, bytes, now), young};
  };
  if (auto it = authors_.find(key); it != authors_.end()) {
    // The feed grew past its young entries: its author gets the full allowance from now on.
    if (it->second.young && !young) it->second = make();
    return &it->second;
  }
  if (authors_.size() >= limits_.tracked_max && now - last_sweep_ >= kSweepEveryMs) {
    last_sweep_ = now;
    counters_.forgotten += std::erase_if(authors_, [&](const auto& kv) {
      return kv.second.entries.Full(now) && kv.second.bytes.Full(now);
    });
  }
  if (authors_.size() >= limits_.tracked_max) return nullptr;
  return &authors_.emplace(key, make()).first->second;
}

TokenBucket& AuthorQuotas::YoungGroup(TimeMs now, uint32_t g) {
  return young_groups_
      .try_emplace(g, limits_.young_group_entries_per_s, limits_.young_group_entries_burst, now)
      .first->second;
}

Status AuthorQuotas::Charge(TimeMs now, const Entry& e, uint32_t g) {
  if (!limits_.enabled) return {};
  const bool young = e.seq() <= limits_.young_seq_max;
  const bool live = e.timestamp_ms() >= now - limits_.live_ms;
  Record* r = RecordOf(now, Key{e.author(), g}, young);
  TokenBucket* entries = r != nullptr && live ? &r->entries : nullptr;
  // No record for this author (tracked_max): its entries count as a young feed's.
  TokenBucket* group = live && (young || r == nullptr) ? &YoungGroup(now, g) : nullptr;
  TokenBucket* bytes = r != nullptr
                           ? &r->bytes
                           : &overflow_bytes_
                                  .try_emplace(g, limits_.young_bytes_per_day / kSecondsPerDay,
                                               limits_.young_bytes_per_day, now)
                                  .first->second;
  const double size = static_cast<double>(e.bytes().size());
  const auto refuse = [&](const char* what, int64_t wait_ms) {
    return Error{codes::kQuotaExceeded,
                 "Author " + AuthorId(e.author()) + " went over this node's quota of " + what +
                     " in group '" + std::string(e.group()) + "'; the entry is taken again in " +
                     std::to_string((wait_ms + 999) / 1000) + " s."};
  };
  if (const int64_t wait = entries != nullptr ? entries->WaitMs(1, now) : 0; wait > 0) {
    ++counters_.refused_entries;
    return refuse("entries per second", wait);
  }
  if (const int64_t wait = group != nullptr ? group->WaitMs(1, now) : 0; wait > 0) {
    ++counters_.refused_entries;
    return refuse("entries per second of new authors", wait);
  }
  if (const int64_t wait = bytes->WaitMs(size, now); wait > 0) {
    ++counters_.refused_bytes;
    return refuse("bytes per day", wait);
  }
  if (entries != nullptr) entries->Take(1, now);
  if (group != nullptr) group->Take(1, now);
  bytes->Take(size, now);
  return {};
}

}  // namespace pando::proto
