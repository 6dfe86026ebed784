// pando_bench_ingest: how fast entries get into a store, next to the raw Ed25519 verify rate
// measured in the same run. bench/README.md explains each figure.
//
//   pando_bench_ingest          full run (about 30 s)
//   pando_bench_ingest --quick  smoke run (about a second); its figures mean little
//
// Every input is signed and encoded before any timer starts; every measurement uses a fresh
// store in its own temporary directory, removed afterwards. A wrong result (an entry not
// stored, a failed verification) aborts with exit code 1; a missed target does not.
#include <sodium.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/bundle.h"
#include "core/crypto.h"
#include "core/entry.h"
#include "cpu_use.h"
#include "store/import.h"
#include "store/store.h"

namespace {

using pando::Bytes;
using pando::Entry;
using pando::Status;
using pando::bench::kOthersCoresNoisy;
using pando::bench::MachineCpuSeconds;
using Clock = std::chrono::steady_clock;

struct Config {
  const char* name;
  double verify_seconds;    // Per raw-verify measurement.
  int live_authors;         // (a1), (a2): one feed each.
  int live_per_author;      // Entries per feed.
  int bundle_authors;       // (b): one feed each.
  int bundle_per_author;    // Entries per feed.
  size_t payload_bytes;     // Of every entry.
  size_t verify_msg_bytes;  // Of the raw-verify messages.
};

constexpr Config kFull{"full", 2.0, 100, 400, 20, 10'000, 150, 200};
constexpr Config kQuick{"quick", 0.2, 20, 50, 2, 1'000, 150, 200};

constexpr std::string_view kGroup = "bench";
constexpr int kTwoThreads = 2;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "pando_bench_ingest: FAILED: %s\n", why.c_str());
  std::exit(1);
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- Measuring CPU use ----------------------------------------------------------------------

// CPU seconds (user + system) used so far by this process, all threads.
double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// CPU seconds used so far by the calling thread.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return in ? one + " " + five : "?";
}

// Wall time and CPU use of one measurement: this process's, and other processes' (which take
// cores away from the benchmark on a small machine).
struct Usage {
  double seconds = 0;
  double self_cpu = 0;     // CPU seconds of this process, all threads.
  double other_cores = 0;  // Average cores other processes kept busy.
  // "this process 0.98 cores (CPU 52.1 us per verify), other processes 0.01 cores"
  std::string Describe(double items, const char* item) const {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "this process %.2f cores (CPU %.1f us per %s), other processes %.2f cores%s",
                  self_cpu / seconds, 1e6 * self_cpu / items, item, other_cores,
                  other_cores > kOthersCoresNoisy ? " (NOISY: machine busy)" : "");
    return buf;
  }
};

class Meter {
 public:
  Meter() : self0_(ProcessCpuSeconds()), all0_(MachineCpuSeconds()), start_(Clock::now()) {}
  Usage Stop() const {
    Usage u;
    u.seconds = Seconds(start_, Clock::now());
    u.self_cpu = ProcessCpuSeconds() - self0_;
    u.other_cores = std::max(0.0, MachineCpuSeconds() - all0_ - u.self_cpu) / u.seconds;
    return u;
  }

 private:
  double self0_, all0_;
  Clock::time_point start_;
};

// ---- Inputs -----------------------------------------------------------------------------

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pando-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp(" + tmpl + ") failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

std::unique_ptr<pando::store::Store> OpenStore(const std::string& path) {
  pando::store::StoreOptions options;
  options.path = path;
  auto store = pando::store::Store::Open(options);
  if (!store.ok()) Die("Store::Open: " + store.error().ToString());
  return std::move(store).value();
}

// Runs fn(0) .. fn(n-1) on every core (the calling thread included).
template <typename Fn>
void ParallelFor(int n, Fn fn) {
  const int threads = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<int> next{0};
  auto work = [&] {
    for (int i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

// Deterministic filler, so every run measures the same bytes.
void Fill(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<uint8_t>(x);
  }
}

// One feed of `count` linked entries with timestamps an hour in the past, increasing.
std::vector<Entry> MakeFeed(uint64_t salt, int author, int count, size_t payload_bytes) {
  pando::Seed seed{};
  Fill(seed.data(), seed.size(), salt * 1'000'003 + static_cast<uint64_t>(author));
  const pando::KeyPair key = pando::KeyPair::FromSeed(seed);
  const int64_t base_ts = NowMs() - 3'600'000 - 10 * static_cast<int64_t>(count);
  std::vector<Entry> feed;
  feed.reserve(static_cast<size_t>(count));
  pando::EntryDraft d;
  d.group = std::string(kGroup);
  d.kind = 1;
  d.payload.resize(payload_bytes);
  for (int s = 1; s <= count; ++s) {
    d.seq = static_cast<uint64_t>(s);
    d.prev = feed.empty() ? pando::Hash32{} : feed.back().id();
    d.timestamp_ms = base_ts + 10 * s;
    Fill(d.payload.data(), d.payload.size(), salt ^ (static_cast<uint64_t>(author) << 32) ^ d.seq);
    auto e = Entry::Sign(d, key);
    if (!e.ok()) Die("Entry::Sign: " + e.error().ToString());
    feed.push_back(std::move(e).value());
  }
  return feed;
}

// ---- Baseline: raw libsodium verification -----------------------------------------------

struct VerifyInput {
  pando::PublicKey pk;
  Bytes msg;
  pando::Signature sig;
};

std::vector<VerifyInput> MakeVerifyInputs(size_t msg_bytes) {
  std::vector<VerifyInput> in(64);
  for (size_t i = 0; i < in.size(); ++i) {
    std::array<uint8_t, crypto_sign_SECRETKEYBYTES> sk;
    crypto_sign_keypair(in[i].pk.data(), sk.data());
    in[i].msg.resize(msg_bytes);
    Fill(in[i].msg.data(), msg_bytes, 77 + i);
    crypto_sign_detached(in[i].sig.data(), nullptr, in[i].msg.data(), msg_bytes, sk.data());
    sodium_memzero(sk.data(), sk.size());
  }
  return in;
}

struct VerifyResult {
  double rate = 0;  // Verifications per second, all threads together.
  uint64_t count = 0;
  Usage usage;
};

VerifyResult RawVerify(const std::vector<VerifyInput>& in, int threads, double seconds) {
  std::vector<uint64_t> counts(static_cast<size_t>(threads));
  const Meter meter;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  auto work = [&](int t) {
    uint64_t n = 0;
    while (Clock::now() < deadline) {
      for (const VerifyInput& v : in) {
        if (crypto_sign_verify_detached(v.sig.data(), v.msg.data(), v.msg.size(), v.pk.data()) !=
            0) {
          Die("raw verification failed");
        }
      }
      n += in.size();
    }
    counts[static_cast<size_t>(t)] = n;
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  VerifyResult r;
  r.usage = meter.Stop();
  for (uint64_t c : counts) r.count += c;
  r.rate = static_cast<double>(r.count) / r.usage.seconds;
  return r;
}

// ---- (a1), (a2): entries arriving one by one ----------------------------------------------

// Every entry as it would arrive from the network: encoded[author][seq-1].
using EncodedFeeds = std::vector<std::vector<Bytes>>;

struct LiveResult {
  size_t entries = 0;
  double submitted_at = 0;  // Seconds until the last entry was submitted.
  Usage usage;              // From the first decode to the last acknowledgement.
  // Summed over the ingest threads: their CPU time, and wall time in each step.
  double ingest_cpu = 0, decode = 0, verify = 0, submit = 0;
};

// Thread t handles the authors a with a % threads == t, in arrival order (seq 1 of every
// author, then seq 2, ...), so each feed reaches the store in seq order. Each entry is
// decoded, checked against the clock, verified and submitted alone; the acknowledgements
// (fulfilled at commit) are collected at the end.
LiveResult IngestOneByOne(const EncodedFeeds& feeds, int threads) {
  TempDir dir;
  auto store = OpenStore(dir.File("pando.db"));
  const int authors = static_cast<int>(feeds.size());
  const size_t per_author = feeds.front().size();
  std::vector<std::vector<std::future<std::vector<Status>>>> acks(static_cast<size_t>(threads));
  for (auto& a : acks) a.reserve(feeds.size() * per_author / static_cast<size_t>(threads) + 1);

  // Per thread: CPU seconds, then wall seconds in decode, verify and submit.
  std::vector<std::array<double, 4>> spent(static_cast<size_t>(threads));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  auto work = [&](int t) {
    auto& mine = acks[static_cast<size_t>(t)];
    auto& [cpu, decode, verify, submit] = spent[static_cast<size_t>(t)];
    ready.fetch_add(1);
    while (!go.load(std::memory_order_acquire)) {
    }
    const double cpu0 = ThreadCpuSeconds();
    for (size_t s = 0; s < per_author; ++s) {
      for (int a = t; a < authors; a += threads) {
        const auto t0 = Clock::now();
        auto e = Entry::Decode(feeds[static_cast<size_t>(a)][s]);
        if (!e.ok()) Die("Entry::Decode: " + e.error().ToString());
        if (Status st = pando::CheckNotFromFuture(*e, NowMs()); !st.ok()) {
          Die("CheckNotFromFuture: " + st.error().ToString());
        }
        const auto t1 = Clock::now();
        if (Status st = pando::VerifyEntrySignature(*e); !st.ok()) {
          Die("VerifyEntrySignature: " + st.error().ToString());
        }
        const auto t2 = Clock::now();
        pando::store::Run run;
        run.entries.push_back(std::move(e).value());
        run.authenticated = 1;
        mine.push_back(store->Submit(std::move(run)));
        const auto t3 = Clock::now();
        decode += Seconds(t0, t1);
        verify += Seconds(t1, t2);
        submit += Seconds(t2, t3);
      }
    }
    cpu = ThreadCpuSeconds() - cpu0;
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  while (ready.load() < threads - 1) std::this_thread::yield();
  const Meter meter;
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  work(0);
  for (auto& t : pool) t.join();
  LiveResult r;
  r.submitted_at = Seconds(start, Clock::now());
  for (auto& mine : acks) {
    for (auto& fut : mine) {
      std::vector<Status> st = fut.get();
      if (st.size() != 1) Die("Submit returned " + std::to_string(st.size()) + " statuses");
      if (!st[0].ok()) Die("the store refused an entry: " + st[0].error().ToString());
      ++r.entries;
    }
  }
  r.usage = meter.Stop();
  for (const auto& [cpu, decode, verify, submit] : spent) {
    r.ingest_cpu += cpu;
    r.decode += decode;
    r.verify += verify;
    r.submit += submit;
  }
  auto stats = store->Stats();
  if (!stats.ok()) Die("Store::Stats: " + stats.error().ToString());
  if (static_cast<size_t>(stats->entries) != r.entries) Die("the store lost entries");
  return r;
}

// ---- (b): bundle import ---------------------------------------------------------------------

struct BundleResult {
  double import_cpu = 0;  // CPU seconds of the thread calling ImportBundle.
  size_t entries = 0;
  uintmax_t bytes = 0;
  int64_t signatures_checked = 0;
  Usage usage;
};

// Writes a bundle of the config's feeds (one after another, each in seq order, as `pando
// export` does) and imports it into a fresh store.
BundleResult ImportBundleOnce(const Config& cfg) {
  TempDir dir;
  const std::string bundle_path = dir.File("bench.bundle");
  std::vector<std::vector<Entry>> feeds(static_cast<size_t>(cfg.bundle_authors));
  ParallelFor(cfg.bundle_authors, [&](int a) {
    feeds[static_cast<size_t>(a)] = MakeFeed(2, a, cfg.bundle_per_author, cfg.payload_bytes);
  });
  BundleResult r;
  {
    std::ofstream out(bundle_path, std::ios::binary);
    pando::BundleWriter w(&out);
    for (auto& feed : feeds) {
      for (const Entry& e : feed) w.WriteEntry(e);
      r.entries += feed.size();
      feed = {};
    }
    if (Status s = w.Finish(); !s.ok()) Die("BundleWriter::Finish: " + s.error().ToString());
    out.close();
    if (!out) Die("writing " + bundle_path + " failed");
  }
  r.bytes = std::filesystem::file_size(bundle_path);

  auto store = OpenStore(dir.File("pando.db"));
  std::ifstream in(bundle_path, std::ios::binary);
  if (!in) Die("cannot open " + bundle_path);
  pando::store::ImportOptions options;
  options.now_ms = NowMs();
  const Meter meter;
  const double cpu0 = ThreadCpuSeconds();
  pando::store::ImportReport report = pando::store::ImportBundle(*store, &in, options);
  r.import_cpu = ThreadCpuSeconds() - cpu0;
  r.usage = meter.Stop();
  if (!report.bundle_status.ok()) Die("bundle damaged: " + report.bundle_status.error().ToString());
  if (static_cast<size_t>(report.accepted) != r.entries) {
    Die("the import accepted " + std::to_string(report.accepted) + " of " +
        std::to_string(r.entries) + " entries" +
        (report.first_errors.empty() ? "" : "; first error: " + report.first_errors.front()));
  }
  r.signatures_checked = report.signatures_checked;
  return r;
}

// ---- Reporting ------------------------------------------------------------------------------

// journal_mode and synchronous as a new connection to a store file sees them. The store's
// writer opens its connection the same way, so unless the store sets synchronous on that
// connection itself, this is the mode its commits run with.
std::string SqliteModes() {
  TempDir dir;
  { auto store = OpenStore(dir.File("pando.db")); }
  std::string out = "SQLite " + std::string(sqlite3_libversion());
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(dir.File("pando.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    for (std::string_view pragma : {"journal_mode", "synchronous"}) {
      const std::string sql = "PRAGMA " + std::string(pragma);
      std::string value = "?";
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        value = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      }
      sqlite3_finalize(st);
      static constexpr const char* kSyncNames[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
      if (pragma == "synchronous" && value.size() == 1 && value[0] >= '0' && value[0] <= '3') {
        value = kSyncNames[value[0] - '0'];
      }
      out += ", " + std::string(pragma) + "=" + value;
    }
  }
  sqlite3_close(db);
  return out;
}

// "(label): 9000 entries/s = 0.76x raw verify  [target >= 0.7x: met]" and a detail line.
bool PrintFigure(const char* label, double rate, double baseline, double target,
                 const std::string& detail) {
  const double ratio = rate / baseline;
  // Compare what is printed, so 0.695 shows as 0.70x and counts as met.
  const bool met = std::round(ratio * 100) >= std::round(target * 100);
  std::printf("%s: %.0f entries/s = %.2fx raw verify  [target >= %.1fx: %s]\n     %s\n", label,
              rate, ratio, target, met ? "met" : "MISSED", detail.c_str());
  return met;
}

std::string LiveDetail(const LiveResult& r) {
  const double n = static_cast<double>(r.entries);
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "%zu entries in %.2f s (all submitted at %.2f s); %s\n"
                "     per entry: ingest threads %.1f us CPU (wall: decode+clock check %.1f us, "
                "verify %.1f us, submit %.1f us); store writer and the rest %.1f us CPU",
                r.entries, r.usage.seconds, r.submitted_at, r.usage.Describe(n, "entry").c_str(),
                1e6 * r.ingest_cpu / n, 1e6 * r.decode / n, 1e6 * r.verify / n, 1e6 * r.submit / n,
                1e6 * (r.usage.self_cpu - r.ingest_cpu) / n);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const Config* cfg = &kFull;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--quick") {
      cfg = &kQuick;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--quick]\n"
                   "  Measures a Pando store's ingest rates against raw Ed25519 verification\n"
                   "  (bench/README.md).\n"
                   "  --quick  a small smoke run of about a second; its figures mean little\n",
                   argv[0]);
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  pando::InitCrypto();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  std::printf("pando_bench_ingest (%s): %u cores, load average %s\n", cfg->name,
              std::thread::hardware_concurrency(), LoadAverage().c_str());
  std::printf("store: %s (Store::Open requests synchronous=FULL)\n", SqliteModes().c_str());

  // Inputs of (a1) and (a2), signed and encoded as they would arrive from the network.
  EncodedFeeds live(static_cast<size_t>(cfg->live_authors));
  ParallelFor(cfg->live_authors, [&](int a) {
    for (const Entry& e : MakeFeed(1, a, cfg->live_per_author, cfg->payload_bytes)) {
      live[static_cast<size_t>(a)].push_back(e.bytes());
    }
  });
  const size_t entry_bytes = live.front().front().size();
  std::printf(
      "inputs: %zu-byte entries (%zu-byte payload, %zu-byte signed message); one-by-one: %d "
      "authors x %d = %d entries; bundle: %d authors x %d = %d entries\n\n",
      entry_bytes, cfg->payload_bytes, entry_bytes - 64 + pando::kEntrySignatureDomain.size(),
      cfg->live_authors, cfg->live_per_author, cfg->live_authors * cfg->live_per_author,
      cfg->bundle_authors, cfg->bundle_per_author, cfg->bundle_authors * cfg->bundle_per_author);

  const auto inputs = MakeVerifyInputs(cfg->verify_msg_bytes);
  (void)RawVerify(inputs, 1, cfg->verify_seconds / 10);  // Warm up.
  const VerifyResult v1 = RawVerify(inputs, 1, cfg->verify_seconds);
  std::printf("baseline: libsodium Ed25519 verify (1 thread, %zu-byte messages): %.0f verify/s\n",
              cfg->verify_msg_bytes, v1.rate);
  std::printf("     %s\n", v1.usage.Describe(static_cast<double>(v1.count), "verify").c_str());
  const VerifyResult v2 = RawVerify(inputs, kTwoThreads, cfg->verify_seconds);
  std::printf(
      "reference: libsodium Ed25519 verify (%d threads, %zu-byte messages): %.0f verify/s = "
      "%.2fx\n     %s\n",
      kTwoThreads, cfg->verify_msg_bytes, v2.rate, v2.rate / v1.rate,
      v2.usage.Describe(static_cast<double>(v2.count), "verify").c_str());

  const LiveResult a1 = IngestOneByOne(live, 1);
  PrintFigure("(a1) one-by-one ingest, 1 thread (decode+verify+store)",
              static_cast<double>(a1.entries) / a1.usage.seconds, v1.rate, 0.7, LiveDetail(a1));
  const LiveResult a2 = IngestOneByOne(live, kTwoThreads);
  PrintFigure("(a2) one-by-one ingest, 2 cores", static_cast<double>(a2.entries) / a2.usage.seconds,
              v1.rate, 1.0, LiveDetail(a2));
  live = {};

  const BundleResult b = ImportBundleOnce(*cfg);
  const double n = static_cast<double>(b.entries);
  char detail[400];
  std::snprintf(detail, sizeof detail,
                "%zu entries, %.1f MB in %.2f s = %.1f MB/s; %lld signatures checked; %s\n"
                "     per entry: importing thread (read, decode, link check) %.1f us CPU; store "
                "writer and the rest %.1f us CPU",
                b.entries, static_cast<double>(b.bytes) / 1e6, b.usage.seconds,
                static_cast<double>(b.bytes) / 1e6 / b.usage.seconds,
                static_cast<long long>(b.signatures_checked), b.usage.Describe(n, "entry").c_str(),
                1e6 * b.import_cpu / n, 1e6 * (b.usage.self_cpu - b.import_cpu) / n);
  PrintFigure("(b) bundle import with chain verification", n / b.usage.seconds, v1.rate, 3.0,
              detail);

  // The same baseline again: a large drift means the machine's speed changed during the run.
  const VerifyResult v1_end = RawVerify(inputs, 1, cfg->verify_seconds);
  std::printf("\nbaseline again at the end: %.0f verify/s (%+.1f%%); load average %s\n",
              v1_end.rate, 100 * (v1_end.rate / v1.rate - 1), LoadAverage().c_str());
  return 0;
}
