// SlotPool<T>: objects addressed by a uint32_t index, as the events in the queue refer to the
// messages in flight.
//
// Storage grows in fixed chunks rather than by doubling one vector: growing never moves what
// is stored, so there is no copy of a few hundred megabytes in the middle of a big run and no
// moment when the old and the new buffer are both resident. Memory follows the peak number
// of objects. Freed indices are reused last-in first-out; a freed object stays in place
// (moved-from) until its index is reused. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/check.h"

namespace pando::sim {

template <typename T>
class SlotPool {
 public:
  static constexpr uint32_t kChunkShift = 14;  // 16,384 objects a chunk.
  static constexpr uint32_t kChunkSize = uint32_t{1} << kChunkShift;

  // Stores v and returns its index.
  uint32_t Add(T&& v) {
    if (!free_.empty()) {
      const uint32_t i = free_.back();
      free_.pop_back();
      (*this)[i] = std::move(v);
      return i;
    }
    CHECK(size_ < UINT32_MAX);
    if (size_ % kChunkSize == 0) {
      chunks_.emplace_back();
      chunks_.back().reserve(kChunkSize);
    }
    chunks_.back().push_back(std::move(v));
    return static_cast<uint32_t>(size_++);
  }
  T& operator[](uint32_t i) {
    DCHECK(i < size_);
    return chunks_[i >> kChunkShift][i & (kChunkSize - 1)];
  }
  const T& operator[](uint32_t i) const {
    DCHECK(i < size_);
    return chunks_[i >> kChunkShift][i & (kChunkSize - 1)];
  }
  void Free(uint32_t i) { free_.push_back(i); }

  size_t in_use() const { return size_ - free_.size(); }
  size_t ReservedBytes() const {
    return chunks_.size() * kChunkSize * sizeof(T) + free_.capacity() * sizeof(uint32_t);
  }

 private:
  std::vector<std::vector<T>> chunks_;
  std::vector<uint32_t> free_;
  size_t size_ = 0;  // Objects ever constructed: indices [0, size_) exist.
};

}  // namespace pando::sim
