// TokenBucket: a rate limit with a burst, for requests, bytes or handshakes per second. The
// time comes in as an argument (milliseconds on any monotonic clock), so the same limit runs
// in the sans-IO node core, the simulator and the HTTP server, and tests replay it exactly.
//
// `rate_per_s` tokens flow in per second and at most `burst` are held; a bucket starts full.
// A `now_ms` earlier than the last one seen (clocks that disagree) adds nothing. A request
// for more than the burst is taken as the burst: a bucket cannot hold more. Not thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace pando {

class TokenBucket {
 public:
  TokenBucket(double rate_per_s, double burst, int64_t now_ms)
      : rate_per_s_(rate_per_s), burst_(burst), tokens_(burst), at_ms_(now_ms) {}

  // Takes n tokens if the bucket holds them at now_ms, and returns true; else takes none.
  bool Take(double n, int64_t now_ms) {
    n = std::min(n, burst_);
    tokens_ = Level(now_ms);
    at_ms_ = std::max(at_ms_, now_ms);
    if (n > tokens_) return false;
    tokens_ -= n;
    return true;
  }
  // Milliseconds from now_ms until n tokens are held (0: they are).
  int64_t WaitMs(double n, int64_t now_ms) const {
    const double missing = std::min(n, burst_) - Level(now_ms);
    if (missing <= 0 || rate_per_s_ <= 0) return 0;
    return static_cast<int64_t>(std::ceil(missing / rate_per_s_ * 1000.0));
  }
  // Whether the bucket is full at now_ms: forgetting it changes nothing.
  bool Full(int64_t now_ms) const { return Level(now_ms) >= burst_; }

 private:
  double Level(int64_t now_ms) const {
    const double seconds = static_cast<double>(std::max<int64_t>(0, now_ms - at_ms_)) / 1000.0;
    return std::min(burst_, tokens_ + seconds * rate_per_s_);
  }

  double rate_per_s_;
  double burst_;
  double tokens_;
  int64_t at_ms_;
};

}  // namespace pando
