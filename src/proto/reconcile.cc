#include "proto/reconcile.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <iterator>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "core/byte_reader.h"
#include "core/crypto.h"
#include "core/error_codes.h"

namespace pando::proto {
namespace {

// --- Encoding helpers ----------------------------------------------------------------------

void PutVarint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

Error Malformed(const std::string& why) {
  return Error{codes::kMalformed, "The reconciliation message is malformed: " + why + "."};
}

// A LEB128 number in its one canonical form.
Result<uint64_t> GetVarint(ByteReader& in) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const uint8_t b = in.U8();
    if (!in.ok()) return Malformed("a number is cut off");
    if (shift == 63 && b > 1) return Malformed("a number exceeds 64 bits");
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      // Canonical form only: no trailing zero groups, so each value has one encoding.
      if (b == 0 && shift > 0) return Malformed("a number is not minimally encoded");
      return v;
    }
  }
  return Malformed("a number is too long");
}

// Timestamps travel as timestamp + 1, with 0 for infinity, so infinity costs one byte.
uint64_t EncodeTimestamp(const Bound& b) { return b.IsInfinity() ? 0 : b.timestamp_ms + 1; }

size_t BoundSize(const Bound& b) { return VarintSize(EncodeTimestamp(b)) + 1 + b.prefix_len; }

// The most a closing Skip and Fingerprint-to-infinity can take: a reply reserves this much,
// whatever bound the close ends up naming.
constexpr size_t kCloseBytesMax = (10 + 1 + 32 + 1) + (1 + 1 + 1 + 16);

void PutBound(Bytes& out, const Bound& b) {
  PutVarint(out, EncodeTimestamp(b));
  out.push_back(b.prefix_len);
  out.insert(out.end(), b.prefix.begin(), b.prefix.begin() + b.prefix_len);
}

size_t RangeSize(const Range& r) {
  size_t n = BoundSize(r.upper) + 1;
  if (r.mode == RangeMode::kFingerprint) n += r.fingerprint.size();
  if (r.mode == RangeMode::kIdList || r.mode == RangeMode::kMissing) {
    n += VarintSize(r.ids.size()) + 32 * r.ids.size();
  }
  return n;
}

// Adds id (a little-endian 256-bit number) to sum, modulo 2^256.
void AddId(std::array<uint64_t, 4>& sum, const Hash32& id) {
  unsigned __int128 carry = 0;
  for (int limb = 0; limb < 4; ++limb) {
    uint64_t v;
    std::memcpy(&v, id.data() + 8 * limb, 8);  // Little-endian host (x86_64, aarch64).
    carry += static_cast<unsigned __int128>(sum[limb]) + v;
    sum[limb] = static_cast<uint64_t>(carry);
    carry >>= 64;
  }
}

std::array<uint64_t, 4> SubSums(const std::array<uint64_t, 4>& a,
                                const std::array<uint64_t, 4>& b) {
  std::array<uint64_t, 4> out;
  uint64_t borrow = 0;
  for (int limb = 0; limb < 4; ++limb) {
    const uint64_t x = a[limb], y = b[limb];
    out[limb] = x - y - borrow;
    borrow = (x < y || (x == y && borrow)) ? 1 : 0;
  }
  return out;
}

}  // namespace

static_assert(std::endian::native == std::endian::little, "fingerprint sums assume it");

// --- Bound ---------------------------------------------------------------------------------

Bound Bound::Between(const ReconItem& a, const ReconItem& next) {
  Bound b;
  b.timestamp_ms = next.timestamp_ms;
  if (a.timestamp_ms != next.timestamp_ms) return b;  // The timestamp alone separates them.
  size_t shared = 0;
  while (shared < 32 && a.id[shared] == next.id[shared]) ++shared;
  b.prefix_len = static_cast<uint8_t>(std::min<size_t>(shared + 1, 32));
  std::copy(next.id.begin(), next.id.begin() + b.prefix_len, b.prefix.begin());
  return b;
}

int Bound::Compare(const ReconItem& item) const {
  if (item.timestamp_ms != timestamp_ms) return item.timestamp_ms < timestamp_ms ? -1 : 1;
  // The bound's key is its prefix padded with zero bytes to 32.
  const int c = std::memcmp(item.id.data(), prefix.data(), prefix_len);
  if (c != 0) return c;
  const bool rest_zero =
      std::all_of(item.id.begin() + prefix_len, item.id.end(), [](uint8_t x) { return x == 0; });
  return rest_zero ? 0 : 1;
}

// --- ItemSet -------------------------------------------------------------------------------

ItemSet::ItemSet(std::vector<ReconItem> items) : items_(std::move(items)) {
  std::sort(items_.begin(), items_.end());
  items_.erase(std::unique(items_.begin(), items_.end()), items_.end());
  prefix_.resize(items_.size() + 1);
  prefix_[0] = {0, 0, 0, 0};
  for (size_t i = 0; i < items_.size(); ++i) {
    prefix_[i + 1] = prefix_[i];
    AddId(prefix_[i + 1], items_[i].id);
  }
}

size_t ItemSet::LowerBound(const Bound& bound) const {
  if (bound.IsInfinity()) return items_.size();
  auto it = std::partition_point(items_.begin(), items_.end(),
                                 [&](const ReconItem& item) { return bound.Compare(item) < 0; });
  return static_cast<size_t>(it - items_.begin());
}

Fingerprint ItemSet::Fp(size_t begin, size_t end) const {
  const std::array<uint64_t, 4> sum = SubSums(prefix_[end], prefix_[begin]);
  uint8_t buf[40];
  std::memcpy(buf, sum.data(), 32);
  const uint64_t count = end - begin;
  for (int i = 0; i < 8; ++i) buf[32 + i] = static_cast<uint8_t>(count >> (8 * i));
  const Hash32 h = Blake2b256(ByteSpan(buf, sizeof buf));
  Fingerprint fp;
  std::copy(h.begin(), h.begin() + fp.size(), fp.begin());
  return fp;
}

// --- Messages ------------------------------------------------------------------------------

Bytes EncodeReconcileMessage(std::span<const Range> ranges) {
  Bytes out;
  out.push_back(kReconcileVersion);
  for (const Range& r : ranges) {
    PutBound(out, r.upper);
    out.push_back(static_cast<uint8_t>(r.mode));
    if (r.mode == RangeMode::kFingerprint) Append(out, r.fingerprint);
    if (r.mode == RangeMode::kIdList || r.mode == RangeMode::kMissing) {
      PutVarint(out, r.ids.size());
      for (const Hash32& id : r.ids) Append(out, id);
    }
  }
  return out;
}

namespace {

Result<Range> DecodeRange(ByteReader& in) {
  Range r;
  auto ts = GetVarint(in);
  if (!ts.ok()) return ts.error();
  r.upper.timestamp_ms = *ts == 0 ? ~uint64_t{0} : *ts - 1;
  r.upper.prefix_len = in.U8();
  if (!in.ok()) return Malformed("it is cut off");
  if (r.upper.prefix_len > 32) return Malformed("a bound's id prefix is longer than 32 bytes");
  if (r.upper.IsInfinity() && r.upper.prefix_len != 0) {
    return Malformed("the infinite bound has an id prefix");
  }
  const ByteSpan prefix = in.Take(r.upper.prefix_len);
  const uint8_t mode = in.U8();
  if (!in.ok()) return Malformed("it is cut off");
  std::copy(prefix.begin(), prefix.end(), r.upper.prefix.begin());
  if (mode > static_cast<uint8_t>(RangeMode::kMissing)) return Malformed("unknown mode");
  r.mode = static_cast<RangeMode>(mode);
  if (r.mode == RangeMode::kFingerprint) {
    in.Read(r.fingerprint);
    if (!in.ok()) return Malformed("it is cut off");
  } else if (r.mode == RangeMode::kIdList || r.mode == RangeMode::kMissing) {
    auto count = GetVarint(in);
    if (!count.ok()) return count.error();
    if (*count > kReconcileMessageBytesMax / 32) return Malformed("an id list is too long");
    if (in.remaining() < 32 * *count) return Malformed("it is cut off");
    r.ids.resize(*count);
    for (Hash32& id : r.ids) in.Read(id);
  }
  return r;
}

// Strict order of bounds, so a message's ranges are consecutive and never overlap.
bool BoundLess(const Bound& a, const Bound& b) {
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms < b.timestamp_ms;
  // Equal timestamps: compare zero-padded prefixes.
  return std::memcmp(a.prefix.data(), b.prefix.data(), 32) < 0;
}

}  // namespace

Result<std::vector<Range>> DecodeReconcileMessage(ByteSpan bytes) {
  if (bytes.size() > kReconcileMessageBytesMax) {
    return Error{codes::kOversize, "The reconciliation message is " + std::to_string(bytes.size()) +
                                       " bytes; at most " +
                                       std::to_string(kReconcileMessageBytesMax) + " are allowed."};
  }
  if (bytes.empty()) return Malformed("it is empty");
  ByteReader in(bytes);
  const uint8_t version = in.U8();
  if (version != kReconcileVersion) {
    return Error{codes::kUnknownVersion, "The reconciliation message has version " +
                                             std::to_string(version) + "; this node speaks 1."};
  }
  std::vector<Range> ranges;
  while (!in.AtEnd()) {
    auto r = DecodeRange(in);
    if (!r.ok()) return r.error();
    if (!ranges.empty() && !BoundLess(ranges.back().upper, r->upper)) {
      return Malformed("range bounds do not increase");
    }
    if (!ranges.empty() && ranges.back().upper.IsInfinity()) {
      return Malformed("a range follows the infinite bound");
    }
    ranges.push_back(std::move(r).value());
  }
  return ranges;
}

// --- Session -------------------------------------------------------------------------------

// Collects a reply's ranges, merging consecutive Skips and dropping trailing ones, and
// keeps the reply under the size budget: when the next range would not fit, it closes the
// message with one Fingerprint of this side's items from there to infinity, which the peer
// answers like any other fingerprint, so the exchange simply continues next round.
class Session::Builder {
 public:
  Builder(const ItemSet* items, size_t budget) : items_(items), budget_(budget) {}

  bool full() const { return full_; }
  void Skip(const Bound& upper) { pending_skip_ = upper; }

  // Adds a non-skip range whose lower bound is `lower` (begin: index of lower in items_).
  void Add(Range r, const Bound& lower, size_t begin) {
    if (full_) return;
    const size_t skip_size = pending_skip_ ? BoundSize(*pending_skip_) + 1 : 0;
    if (size_ + skip_size + RangeSize(r) + kCloseBytesMax > budget_) {
      Close(lower, begin);
      return;
    }
    FlushSkip();
    size_ += RangeSize(r);
    ranges_.push_back(std::move(r));
  }

  // Adds as many Missing ids (sorted, from items_ indexes) as fit, then closes if needed.
  void AddMissing(const Bound& upper, const std::vector<size_t>& idx, const Bound& lower,
                  size_t begin, std::vector<Hash32>& have) {
    const size_t skip_size = pending_skip_ ? BoundSize(*pending_skip_) + 1 : 0;
    const size_t fixed = skip_size + BoundSize(upper) + 1 + 10 + kCloseBytesMax;
    if (full_) return;
    if (size_ + fixed + 32 * idx.size() <= budget_) {
      Range r{upper, RangeMode::kMissing, {}, {}};
      for (size_t i : idx) r.ids.push_back((*items_)[i].id);
      have.insert(have.end(), r.ids.begin(), r.ids.end());
      FlushSkip();
      size_ += RangeSize(r);
      ranges_.push_back(std::move(r));
      return;
    }
    // Send the first k that fit, ending the range just after the k-th, and reopen the rest.
    const size_t room = size_ + fixed + 64 < budget_ ? (budget_ - size_ - fixed - 64) / 32 : 0;
    const size_t k = std::min(room, idx.size());
    if (k == 0) {
      Close(lower, begin);
      return;
    }
    const size_t cut = idx[k - 1] + 1;  // Items [begin, cut) are settled by this range.
    Range r{Bound::Between((*items_)[cut - 1], (*items_)[cut]), RangeMode::kMissing, {}, {}};
    for (size_t i = 0; i < k; ++i) r.ids.push_back((*items_)[idx[i]].id);
    have.insert(have.end(), r.ids.begin(), r.ids.end());
    FlushSkip();
    size_ += RangeSize(r);
    const Bound rest = r.upper;
    ranges_.push_back(std::move(r));
    Close(rest, cut);
  }

  // Nullopt if the reply carries nothing: every range agreed.
  std::optional<Bytes> Finish() {
    if (ranges_.empty()) return std::nullopt;
    return EncodeReconcileMessage(ranges_);
  }

 private:
  void FlushSkip() {
    if (!pending_skip_) return;
    size_ += BoundSize(*pending_skip_) + 1;
    ranges_.push_back(Range{*pending_skip_, RangeMode::kSkip, {}, {}});
    pending_skip_.reset();
  }
  void Close(const Bound& lower, size_t begin) {
    // Everything below `lower` is settled; say so unless the last range already ends there.
    if (!(lower == Bound{}) && !(ranges_.size() && ranges_.back().upper == lower)) Skip(lower);
    FlushSkip();
    Range r{Bound::Infinity(), RangeMode::kFingerprint, items_->Fp(begin, items_->size()), {}};
    size_ += RangeSize(r);
    ranges_.push_back(std::move(r));
    full_ = true;
  }

  const ItemSet* items_;
  size_t budget_;
  size_t size_ = 1;  // The version byte.
  bool full_ = false;
  std::optional<Bound> pending_skip_;
  std::vector<Range> ranges_;
};

Session::Session(const ItemSet* items, size_t message_bytes_max)
    : items_(items),
      message_bytes_max_(
          std::clamp(message_bytes_max, kReconcileMessageBytesMin, kReconcileMessageBytesMax)) {}

// A range with few items goes out as an IdList; a larger one as kReconcileBuckets
// fingerprints of near-equal item counts.
void Session::SplitOrList(Builder& out, const Bound& lower, const Bound& upper, size_t begin,
                          size_t end) const {
  const size_t count = end - begin;
  if (count <= kReconcileIdListMax) {
    Range r{upper, RangeMode::kIdList, {}, {}};
    for (size_t i = begin; i < end; ++i) r.ids.push_back((*items_)[i].id);
    out.Add(std::move(r), lower, begin);
    return;
  }
  // Never more buckets than items: an empty bucket would repeat its neighbour's bound.
  const size_t buckets = std::min(kReconcileBuckets, count);
  size_t start = begin;
  for (size_t b = 0; b < buckets && !out.full(); ++b) {
    const size_t stop = begin + count * (b + 1) / buckets;
    const Bound bucket_upper =
        b + 1 == buckets ? upper : Bound::Between((*items_)[stop - 1], (*items_)[stop]);
    const Bound bucket_lower =
        start == begin ? lower : Bound::Between((*items_)[start - 1], (*items_)[start]);
    out.Add(Range{bucket_upper, RangeMode::kFingerprint, items_->Fp(start, stop), {}}, bucket_lower,
            start);
    start = stop;
  }
}

Bytes Session::Initiate() {
  Builder out(items_, message_bytes_max_);
  SplitOrList(out, Bound{}, Bound::Infinity(), 0, items_->size());
  Bytes msg = out.Finish().value_or(EncodeReconcileMessage(
      std::vector<Range>{Range{Bound::Infinity(), RangeMode::kIdList, {}, {}}}));
  ++stats_.messages_out;
  stats_.bytes_out += msg.size();
  return msg;
}

Result<std::optional<Bytes>> Session::Respond(ByteSpan message) {
  auto ranges = DecodeReconcileMessage(message);
  if (!ranges.ok()) return ranges.error();
  ++stats_.messages_in;
  stats_.bytes_in += message.size();
  Builder out(items_, message_bytes_max_);
  Bound lower;
  size_t begin = 0;
  for (const Range& r : *ranges) {
    if (out.full()) break;
    const size_t end = items_->LowerBound(r.upper);
    switch (r.mode) {
      case RangeMode::kSkip:
        out.Skip(r.upper);
        break;
      case RangeMode::kFingerprint:
        if (items_->Fp(begin, end) == r.fingerprint) {
          out.Skip(r.upper);
        } else {
          SplitOrList(out, lower, r.upper, begin, end);
        }
        break;
      case RangeMode::kIdList: {
        // One pass over mine with their ids in a hash map: O(m + t) for m mine and t theirs.
        // A range may hold many of mine (a peer that lacks most of them lists few), and the
        // range comes back round after round while the missing ones are sent in parts, so
        // nothing here may sort or copy all of mine.
        std::unordered_map<Hash32, size_t, HashOf32> theirs;
        theirs.reserve(r.ids.size());
        for (size_t k = 0; k < r.ids.size(); ++k) theirs.emplace(r.ids[k], k);
        std::vector<bool> present(r.ids.size(), false);
        std::vector<size_t> missing;  // Indexes of mine that they lack, in item order.
        for (size_t i = begin; i < end; ++i) {
          auto it = theirs.find((*items_)[i].id);
          if (it == theirs.end()) {
            missing.push_back(i);
          } else {
            present[it->second] = true;
          }
        }
        for (size_t k = 0; k < r.ids.size(); ++k) {
          if (present[k]) continue;
          need_.push_back(r.ids[k]);
          need_placed_.push_back({lower.timestamp_ms, lower.prefix, k, r.ids[k]});
        }
        if (missing.empty()) {
          out.Skip(r.upper);
        } else {
          out.AddMissing(r.upper, missing, lower, begin, have_);
        }
        break;
      }
      case RangeMode::kMissing:
        need_.insert(need_.end(), r.ids.begin(), r.ids.end());
        for (size_t k = 0; k < r.ids.size(); ++k) {
          need_placed_.push_back({lower.timestamp_ms, lower.prefix, k, r.ids[k]});
        }
        out.Skip(r.upper);
        break;
    }
    lower = r.upper;
    begin = end;
  }
  std::optional<Bytes> reply = out.Finish();
  if (reply) {
    ++stats_.messages_out;
    stats_.bytes_out += reply->size();
  }
  return reply;
}

std::vector<Hash32> Session::need() const {
  std::vector<Hash32> out = need_;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Hash32> Session::need_in_order() const {
  std::vector<Placed> placed = need_placed_;
  std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
    return std::tie(a.timestamp_ms, a.prefix, a.index) <
           std::tie(b.timestamp_ms, b.prefix, b.index);
  });
  std::vector<Hash32> out;
  out.reserve(placed.size());
  std::unordered_set<Hash32, HashOf32> seen;
  seen.reserve(placed.size());
  for (const Placed& p : placed) {
    if (seen.insert(p.id).second) out.push_back(p.id);
  }
  return out;
}

std::vector<Hash32> Session::have() const {
  std::vector<Hash32> out = have_;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace pando::proto
