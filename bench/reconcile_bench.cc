// Reconciliation benchmark: two sets of N ids that differ in D items, reconciled with
// proto::Session, next to the baseline of one side sending every id it has.
//
//   ./build/bench/pando_bench_reconcile           # N = 1,000,000; D = 1, 10, 1000, 100000
//   ./build/bench/pando_bench_reconcile --quick   # N = 20,000 (smoke run for ctest)
//
// Prints, per D: messages, round trips, bytes in both directions, bytes per differing
// item, the baseline's bytes (N x 32: every id, once) and the ratio, and wall time.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "core/crypto.h"
#include "proto/reconcile.h"
#include "proto/types.h"

namespace {

using pando::proto::ItemSet;
using pando::proto::ReconItem;
using pando::proto::Session;

ReconItem Item(uint64_t k) {
  uint8_t buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<uint8_t>(k >> (8 * i));
  // About 100 items per millisecond, like a busy group's log.
  return ReconItem{1'700'000'000'000 + k / 100, pando::Blake2b256(pando::ByteSpan(buf, 8))};
}

struct Run {
  size_t messages = 0, bytes = 0;
  size_t a_need = 0, b_need = 0;
  double seconds = 0;
};

Run Reconcile(const ItemSet& a, const ItemSet& b) {
  Run r;
  const auto t0 = std::chrono::steady_clock::now();
  Session sa(&a), sb(&b);
  std::optional<pando::Bytes> msg = sa.Initiate();
  Session* receiver = &sb;
  while (msg) {
    ++r.messages;
    r.bytes += msg->size();
    auto reply = receiver->Respond(*msg);
    if (!reply.ok()) {
      std::fprintf(stderr, "reconcile failed: %s\n", reply.error().ToString().c_str());
      std::exit(1);
    }
    msg = std::move(reply).value();
    receiver = receiver == &sb ? &sa : &sb;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.a_need = sa.need().size();
  r.b_need = sb.need().size();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  pando::InitCrypto();
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const uint64_t n = quick ? 20'000 : 1'000'000;
  std::vector<uint64_t> diffs = {1, 10, 1000, quick ? uint64_t{2000} : uint64_t{100'000}};
  std::printf("reconciliation of two sets of %llu ids (item = timestamp + 32-byte id)\n",
              static_cast<unsigned long long>(n));
  std::printf("baseline: one side sends every id it has: %llu bytes, 1 message\n\n",
              static_cast<unsigned long long>(n * 32));
  std::vector<ReconItem> base;
  base.reserve(n);
  for (uint64_t k = 0; k < n; ++k) base.push_back(Item(k));
  bool ok = true;
  for (uint64_t d : diffs) {
    // Half the differences only in A, half only in B: they replace base items.
    std::vector<ReconItem> xa = base, xb = base;
    pando::proto::Rng rng(d);
    for (uint64_t i = 0; i < d; ++i) {
      const uint64_t at = rng.Below(n);
      (i % 2 ? xa : xb)[at] = Item(n + i);
    }
    const ItemSet a(std::move(xa)), b(std::move(xb));
    const Run r = Reconcile(a, b);
    // The true differences, counted directly, check the protocol's answer.
    size_t a_only = 0;
    for (size_t i = 0, j = 0; i < a.size();) {
      if (j < b.size() && b[j] < a[i]) {
        ++j;
      } else if (j < b.size() && b[j] == a[i]) {
        ++i, ++j;
      } else {
        ++a_only, ++i;
      }
    }
    const size_t b_only = b.size() - (a.size() - a_only);
    const bool exact = r.b_need == a_only && r.a_need == b_only;
    ok = ok && exact;
    const double baseline = static_cast<double>(n) * 32;
    std::printf(
        "D=%-7llu messages %2zu (%zu round trips)  bytes %9zu  (%.1f per difference)  "
        "= %.4fx baseline (%.0fx fewer)  %.2f s  %s\n",
        static_cast<unsigned long long>(d), r.messages, (r.messages + 1) / 2, r.bytes,
        static_cast<double>(r.bytes) / static_cast<double>(a_only + b_only),
        static_cast<double>(r.bytes) / baseline, baseline / static_cast<double>(r.bytes), r.seconds,
        exact ? "exact" : "WRONG");
  }
  return ok ? 0 : 1;
}
