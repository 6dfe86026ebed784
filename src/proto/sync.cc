#include "proto/sync.h"

namespace pando::proto {

void SyncScheduler::Start(TimeMs now, uint64_t phase) {
  next_at_ = config_.interval_ms > 0
                 ? now + 1 + static_cast<TimeMs>(phase % static_cast<uint64_t>(config_.interval_ms))
                 : kNever;
}

std::optional<NodeId> SyncScheduler::OnTimer(TimeMs now, std::span<const NodeId> neighbors) {
  if (now < next_at_) return std::nullopt;
  next_at_ = config_.interval_ms > 0 ? now + config_.interval_ms : kNever;
  if (neighbors.empty()) return std::nullopt;
  return neighbors[cursor_++ % neighbors.size()];
}

}  // namespace pando::proto
