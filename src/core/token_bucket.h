// TokenBucket: a rate limit with a burst, for requests, bytes or handshakes per second. The
// time comes in as an argument (milliseconds on any monotonic clock), so the same limit runs
// in the sans-IO node core, the simulator and the HTTP server, and tests replay it exactly.
//
// A bucket holds up to `burst` tokens and gains `rate_per_s` tokens per second; Take(n)
// succeeds when n tokens are there and removes them. A bucket starts full. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pando {

class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double rate_per_s, double burst) : rate_per_s_(rate_per_s), burst_(burst) {
    tokens_ = burst;
  }

  // Takes n tokens at now_ms if they are there.
  bool Take(int64_t now_ms, double n = 1) {
    Refill(now_ms);
    if (tokens_ < n) return false;
    tokens_ -= n;
    return true;
  }
  // Takes n tokens even if that leaves the bucket in debt (a request already read whose size
  // was not known in advance); later Takes fail until the debt is paid back.
  void Charge(int64_t now_ms, double n) {
    Refill(now_ms);
    tokens_ -= n;
  }
  // Milliseconds from now_ms until n tokens are there (0: now).
  int64_t WaitMs(int64_t now_ms, double n = 1) {
    Refill(now_ms);
    if (tokens_ >= n || rate_per_s_ <= 0) return 0;
    return static_cast<int64_t>((n - tokens_) * 1000.0 / rate_per_s_) + 1;
  }
  // Whether the bucket is full at now_ms (an idle client's record may be forgotten).
  bool Full(int64_t now_ms) {
    Refill(now_ms);
    return tokens_ >= burst_;
  }

 private:
  void Refill(int64_t now_ms) {
    if (fresh_) {
      fresh_ = false;
      last_ms_ = now_ms;
      return;
    }
    if (now_ms > last_ms_) {
      tokens_ =
          std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_per_s_ / 1000.0);
    }
    last_ms_ = std::max(last_ms_, now_ms);
  }

  double rate_per_s_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  int64_t last_ms_ = 0;
  bool fresh_ = true;  // No call yet: the first one sets last_ms_.
};

}  // namespace pando
