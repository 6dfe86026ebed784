// pando_bench_names: registrations per second of both name-registry backends (docs/names.md),
// each next to a baseline measured in the same run. bench/README.md explains each figure.
//
//   pando_bench_names                   full run: 5,000 claims per run, etcdctl check perf (4 min)
//   pando_bench_names --quick           200 claims per run, no etcdctl check perf (about 10 s)
//   pando_bench_names --count N         N claims per run
//   pando_bench_names --clients C       C concurrent clients in the concurrent runs (16)
//   pando_bench_names --perf-load L     etcdctl check perf's load: s, m, l (default) or xl
//   pando_bench_names --no-check-perf   skip etcdctl check perf
//
// Every claim is signed before any timer starts: signing is the client's cost, not the
// registry's. Three runs per backend: 1 client registering N distinct names; C clients doing
// the same, each with its own registry object (as separate processes would have); and C
// clients racing for N/2 names, each claimed by two owners at about the same time, so half the
// answers are "taken". SQLite has a fourth: C clients calling one shared object, as the node
// that hosts an embedded registry does. After each run every name must have been won exactly
// once, every other answer must be "taken" and lookups of 16 names must find their winners, or
// the program exits 1.
//
// Baselines: libsodium's raw Ed25519 verify rate (every Register verifies one claim, so that is
// the ceiling per core); for etcd, raw puts of the same values through the same HTTP client
// with as many clients (what the transaction and the claim checks cost on top of a bare put),
// and `etcdctl check perf` against the same cluster (etcd's own tool, full mode only). Its
// loads are rate limits (s: 150 writes/s, m: 1,000, l: 8,000, xl: 15,000), so only a load the
// cluster cannot keep up with measures what the cluster can do: l by default, where etcdctl
// answers FAIL and its throughput is the cluster's.
#include <fcntl.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "core/name_claim.h"
#include "cpu_use.h"
#include "names/etcd_codec.h"
#include "names/etcd_http.h"
#include "names/etcd_registry.h"
#include "names/registry.h"
#include "testutil/etcd_cluster.h"

namespace {

using pando::KeyPair;
using pando::Status;
using pando::names::Claim;
using pando::names::Outcome;
using pando::names::Registry;
using Clock = std::chrono::steady_clock;

struct Config {
  const char* mode;
  size_t count;           // Claims per run.
  double verify_seconds;  // Per measurement of the raw verify rate.
  bool check_perf;        // Run etcdctl check perf.
};
constexpr Config kFull{"full", 5'000, 2.0, true};
constexpr Config kQuick{"quick", 200, 0.5, false};

constexpr size_t kKeys = 64;  // Owners: claim i is signed by key i % kKeys.
const char* const kEtcdctl = "/usr/bin/etcdctl";

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "pando_bench_names: FAILED: %s\n", why.c_str());
  std::exit(1);
}

// "12,345"
std::string Thousands(double v) {
  std::string s = std::to_string(std::llround(v));
  for (int at = static_cast<int>(s.size()) - 3; at > 0; at -= 3) s.insert(s.begin() + at, ',');
  return s;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// ---- CPU use --------------------------------------------------------------------------------

double OwnCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The pids of this process's children named `comm` (the etcd members).
std::vector<int> ChildrenNamed(const std::string& comm) {
  std::vector<int> out;
  for (const auto& dir : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = dir.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(dir.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 > line.size()) {
      continue;
    }
    // After ") ": the state, then the parent's pid.
    const int parent = std::atoi(line.c_str() + close + 4);
    if (parent == ::getpid() && line.substr(open + 1, close - open - 1) == comm) {
      out.push_back(std::stoi(pid));
    }
  }
  return out;
}

// CPU seconds so far: this process, the watched processes (etcd members), the whole machine.
struct CpuSample {
  Clock::time_point at = Clock::now();
  double own = OwnCpuSeconds();
  double watched = 0;
  double machine = pando::bench::MachineCpuSeconds();
  explicit CpuSample(const std::vector<int>& pids) {
    for (int pid : pids) watched += pando::bench::ProcessCpuSeconds(pid);
  }
};

// "this process 0.93 cores, etcd members 1.01 cores (CPU 85 us + 310 us per registration),
// other processes 0.02 cores"
std::string DescribeCpu(const CpuSample& a, const CpuSample& b, size_t items, const char* item,
                        bool watched) {
  const double secs = std::chrono::duration<double>(b.at - a.at).count();
  const double own = b.own - a.own, members = b.watched - a.watched;
  // The machine's counters tick at 100 Hz, the process's finer: clamp the difference.
  const double others = std::max(0.0, b.machine - a.machine - own - members) / secs;
  const double n = static_cast<double>(items);
  char buf[300];
  if (watched) {
    std::snprintf(buf, sizeof buf,
                  "this process %.2f cores, etcd members %.2f cores (CPU %.0f us + %.0f us per "
                  "%s), other processes %.2f cores%s",
                  own / secs, members / secs, 1e6 * own / n, 1e6 * members / n, item, others,
                  others > pando::bench::kOthersCoresNoisy ? " (NOISY: machine busy)" : "");
  } else {
    std::snprintf(buf, sizeof buf,
                  "this process %.2f cores (CPU %.0f us per %s), other processes %.2f cores%s",
                  own / secs, 1e6 * own / n, item, others,
                  others > pando::bench::kOthersCoresNoisy ? " (NOISY: machine busy)" : "");
  }
  return buf;
}

// ---- Baseline: raw Ed25519 verify -----------------------------------------------------------

// Verifications per second of one signature over a message of `bytes` bytes, on `threads`
// threads for `seconds`, with libsodium directly.
double VerifyRate(size_t bytes, int threads, double seconds) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  const std::vector<unsigned char> msg(bytes, 0x5a);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), sk);
  std::atomic<uint64_t> total{0};
  std::atomic<bool> bad{false};
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      uint64_t n = 0;
      while (Clock::now() < end) {
        for (int k = 0; k < 32; ++k, ++n) {
          bad = bad || crypto_sign_verify_detached(sig, msg.data(), msg.size(), pk) != 0;
        }
      }
      total += n;
    });
  }
  for (auto& th : pool) th.join();
  if (bad) Die("libsodium refused its own signature");
  return static_cast<double>(total) / std::chrono::duration<double>(Clock::now() - start).count();
}

// Baseline for SQLite, which commits each registration durably: fdatasync()s per second of 4
// KiB appends to a new file in `dir`, on one thread, for `seconds`.
double SyncRate(const std::string& dir, double seconds) {
  const std::string path = dir + "/sync-baseline";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die("cannot create " + path);
  const std::vector<char> page(4096, 'p');
  uint64_t n = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (; Clock::now() < end; ++n) {
    if (::write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size()) ||
        ::fdatasync(fd) != 0) {
      Die("write and fdatasync of " + path + " failed");
    }
  }
  const double rate =
      static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

// ---- Workloads ------------------------------------------------------------------------------

struct Workload {
  std::vector<Claim> claims;      // In the order the clients take them.
  std::vector<size_t> name_of;    // Claim i is for name name_of[i] of the workload,
  size_t names = 0;               // out of this many.
  std::vector<pando::Bytes> raw;  // Each claim's bytes: the raw-put baseline's values.
};

// N registrations of distinct names ("bench0", "bench1", ...), or, contended, N claims for
// N/2 names ("race0", ...), claims 2j and 2j+1 for name j by two owners, so that the two
// clients that take them one after the other race for it.
Workload MakeWorkload(const std::vector<KeyPair>& keys, size_t count, bool contended) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  Workload w;
  w.names = contended ? (count + 1) / 2 : count;
  for (size_t i = 0; i < count; ++i) {
    const size_t name = contended ? i / 2 : i;
    const std::string normal = (contended ? "race" : "bench") + std::to_string(name);
    w.claims.push_back(pando::names::SignRegistration(normal, keys[i % keys.size()], now_ms));
    w.name_of.push_back(name);
    w.raw.push_back(pando::names::EncodeClaim(w.claims.back()));
  }
  return w;
}

// ---- Running clients ------------------------------------------------------------------------

struct Measured {
  double seconds = 0;
  double rate = 0;  // Calls per second.
  std::string cpu;  // DescribeCpu of the run.
};

// Runs call(client, i) for every i in [0, n) on `clients` threads, each taking the next i as
// it finishes one; timed from the moment every thread is ready. The first failure of a call
// stops the program once the threads are done.
Measured Drive(size_t n, int clients, const std::vector<int>& watched, const char* item,
               const std::function<Status(int client, size_t i)>& call) {
  std::atomic<size_t> next{0};
  std::latch ready(clients + 1);
  std::mutex mu;
  std::string failure;
  std::vector<std::thread> pool;
  for (int c = 0; c < clients; ++c) {
    pool.emplace_back([&, c] {
      ready.arrive_and_wait();
      for (size_t i; (i = next++) < n;) {
        if (Status s = call(c, i); !s.ok()) {
          std::lock_guard lock(mu);
          if (failure.empty()) failure = s.error().ToString();
          next = n;
        }
      }
    });
  }
  ready.arrive_and_wait();
  const CpuSample before(watched);
  for (auto& th : pool) th.join();
  const CpuSample after(watched);
  if (!failure.empty()) Die(failure);
  Measured m;
  m.seconds = std::chrono::duration<double>(after.at - before.at).count();
  m.rate = static_cast<double>(n) / m.seconds;
  m.cpu = DescribeCpu(before, after, n, item, !watched.empty());
  return m;
}

// One run of a workload on a registry backend: `open(client)` gives each client its own
// registry object (opened before timing), or, if `shared`, open(0) is the one object every
// client calls. Checks that every name was won exactly once, that every other answer was
// "taken", and that lookups of some names find their winners.
Measured RunClaims(const Workload& w, int clients, bool shared, const std::vector<int>& watched,
                   const std::function<std::unique_ptr<Registry>(int client)>& open,
                   std::string* tally) {
  std::vector<std::unique_ptr<Registry>> registries;
  for (int c = 0; c < (shared ? 1 : clients); ++c) registries.push_back(open(c));
  std::vector<Outcome> outcomes(w.claims.size(), Outcome::kInvalid);
  const Measured m = Drive(w.claims.size(), clients, watched, "claim", [&](int c, size_t i) {
    auto r = registries[static_cast<size_t>(c) % registries.size()]->Register(w.claims[i]);
    if (!r.ok()) return Status(r.error());
    outcomes[i] = r->outcome;
    return Status::Ok();
  });
  std::vector<int> wins(w.names, 0);
  std::vector<size_t> winner(w.names), claim_of(w.names);  // Claim indexes, per name.
  size_t taken = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    claim_of[w.name_of[i]] = i;
    if (outcomes[i] == Outcome::kRegistered) {
      ++wins[w.name_of[i]];
      winner[w.name_of[i]] = i;
    } else if (outcomes[i] == Outcome::kTaken) {
      ++taken;
    } else {
      Die(w.claims[i].name + ": " + std::string(pando::names::OutcomeName(outcomes[i])));
    }
  }
  for (size_t j = 0; j < w.names; ++j) {
    if (wins[j] != 1) {
      Die(w.claims[claim_of[j]].name + " was won " + std::to_string(wins[j]) + " times");
    }
  }
  // And the registry agrees, on 16 names spread over the workload: each points at its winner.
  for (size_t k = 0; k < 16; ++k) {
    const Claim& won = w.claims[winner[k * (w.names - 1) / 15]];
    auto found = registries[0]->Lookup(won.name);
    if (!found.ok()) Die("Lookup(" + won.name + "): " + found.error().ToString());
    if (!*found || (*found)->owner != won.owner) Die(won.name + " does not point at its winner");
  }
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s claims in %.2f s: %s registered (each name once), %s taken",
                Thousands(static_cast<double>(w.claims.size())).c_str(), m.seconds,
                Thousands(static_cast<double>(w.names)).c_str(),
                Thousands(static_cast<double>(taken)).c_str());
  *tally = buf;
  return m;
}

// ---- etcd -----------------------------------------------------------------------------------

// The client URLs of the members, starting at member `first`.
std::vector<std::string> Rotated(std::vector<std::string> urls, size_t first) {
  std::rotate(urls.begin(), urls.begin() + static_cast<std::ptrdiff_t>(first % urls.size()),
              urls.end());
  return urls;
}

// Baseline: raw puts of the workload's claims (as values) through the same HTTP client the
// registry uses, one new connection per put, client c to the member the registry's client c
// starts with; no transaction, no claim checks.
Measured RawPuts(const Workload& w, int clients, const std::vector<std::string>& urls,
                 size_t leader, const std::string& prefix, const std::vector<int>& watched) {
  std::vector<pando::names::etcd::Endpoint> endpoints;
  for (int c = 0; c < clients; ++c) {
    auto e = pando::names::etcd::ParseEndpoint(Rotated(urls, leader + static_cast<size_t>(c))[0]);
    if (!e.ok()) Die(e.error().ToString());
    endpoints.push_back(*e);
  }
  return Drive(w.raw.size(), clients, watched, "put", [&](int c, size_t i) {
    auto reply = pando::names::etcd::Post(
        endpoints[static_cast<size_t>(c)], "/v3/kv/put",
        pando::names::etcd::PutRequest(prefix + std::to_string(i), w.raw[i]),
        std::chrono::milliseconds(15000));
    if (!reply.ok()) return Status(reply.error());
    if (reply->status != 200) {
      return Status(pando::Error{pando::codes::kStore, "HTTP " + std::to_string(reply->status)});
    }
    return Status::Ok();
  });
}

// etcd's version as member 0 reports it (POST /v3/maintenance/status).
std::string EtcdVersion(const std::string& url) {
  auto e = pando::names::etcd::ParseEndpoint(url);
  if (!e.ok()) return "?";
  auto reply =
      pando::names::etcd::Post(*e, "/v3/maintenance/status", "{}", std::chrono::seconds(5));
  if (!reply.ok()) return "?";
  const auto j = nlohmann::json::parse(reply->body, nullptr, false);
  return j.is_object() && j.contains("version") ? j["version"].get<std::string>() : "?";
}

struct CheckPerf {
  double writes_s = 0;
  std::string verdict;  // etcdctl's PASS/FAIL lines, joined.
  std::string cpu;      // etcdctl's and the members' CPU.
};

// `etcdctl check perf --load=<load>` against the cluster (60 s of 1 KiB puts by many clients,
// at most the load's rate), then compaction and defragmentation of what it wrote. Its
// throughput line is the baseline.
CheckPerf RunCheckPerf(const std::vector<std::string>& urls, const std::string& load,
                       const std::vector<int>& watched) {
  std::string endpoints;
  for (const auto& u : urls) endpoints += (endpoints.empty() ? "" : ",") + u;
  const std::string cmd = std::string("ETCDCTL_API=3 ") + kEtcdctl + " --endpoints=" + endpoints +
                          " check perf --load=" + load + " --auto-compact --auto-defrag 2>&1";
  rusage children0{};
  getrusage(RUSAGE_CHILDREN, &children0);
  const CpuSample before(watched);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) Die("cannot run: " + cmd);
  std::string out;
  char buf[4096];
  for (size_t got; (got = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, got);
  ::pclose(pipe);  // etcdctl exits 1 on FAIL: a saturated cluster is what is measured.
  const CpuSample after(watched);
  rusage children1{};
  getrusage(RUSAGE_CHILDREN, &children1);

  CheckPerf r;
  const std::regex throughput(R"(Throughput (is|too low:) (\d+) writes/s)");
  const std::regex verdict(R"(^(PASS|FAIL|Slowest|Stddev).*$)");
  std::smatch m;
  if (!std::regex_search(out, m, throughput)) Die("no throughput from: " + cmd + "\n" + out);
  r.writes_s = std::stod(m[2].str());
  std::string line;
  for (std::istringstream lines(out); std::getline(lines, line);) {
    if (std::regex_match(line, verdict)) r.verdict += (r.verdict.empty() ? "" : "; ") + line;
  }
  auto secs = [](const rusage& u) {
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  const double wall = std::chrono::duration<double>(after.at - before.at).count();
  char cpu[200];
  std::snprintf(cpu, sizeof cpu, "%.0f s; etcdctl %.2f cores, etcd members %.2f cores", wall,
                (secs(children1) - secs(children0)) / wall,
                (after.watched - before.watched) / wall);
  r.cpu = cpu;
  return r;
}

// A fresh directory under $TMPDIR (or /tmp) for the SQLite files, removed at the end.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    path = std::string(base && *base ? base : "/tmp") + "/pando-bench-names-XXXXXX";
    if (::mkdtemp(path.data()) == nullptr) Die("mkdtemp(" + path + ") failed");
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// One run: a workload on `clients` clients.
struct Run {
  std::string label;  // "1 client", "16 clients", "16 clients, contended"
  const Workload* w;
  int clients;
  bool contended;
  bool shared = false;  // All clients call one registry object.
};

std::vector<Run> Runs(const Workload& distinct, const Workload& contended, int clients) {
  const std::string many = Plural(static_cast<size_t>(clients), "client", "clients");
  return {{"1 client", &distinct, 1, false},
          {many, &distinct, clients, false},
          {many + ", contended", &contended, clients, true}};
}

// "names etcd 16 clients: 1,234 reg/s  (ratios)" and the detail line under it.
void PrintRun(const char* backend, const Run& run, const Measured& m, const std::string& ratios,
              const std::string& tally) {
  std::printf("names %s %s: %s %s  (%s)\n", backend, run.label.c_str(), Thousands(m.rate).c_str(),
              run.contended ? "claims/s, half taken" : "reg/s", ratios.c_str());
  std::printf("     %s; %s\n", tally.c_str(), m.cpu.c_str());
  std::fflush(stdout);
}

std::string Ratio(const char* baseline, double base, const char* unit, double rate) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s %s%s: %.2fx", baseline, Thousands(base).c_str(), unit,
                rate / base);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  pando::InitCrypto();
  Config cfg = kFull;
  std::optional<size_t> count;
  int clients = 16;
  std::string perf_load = "l";
  bool check_perf = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      cfg = kQuick;
    } else if (a == "--count" && i + 1 < argc) {
      count = std::stoul(argv[++i]);
    } else if (a == "--clients" && i + 1 < argc) {
      clients = std::stoi(argv[++i]);
    } else if (a == "--perf-load" && i + 1 < argc) {
      perf_load = argv[++i];
    } else if (a == "--no-check-perf") {
      check_perf = false;
    } else {
      std::fprintf(stderr,
                   "usage: pando_bench_names [--quick] [--count N] [--clients C] "
                   "[--perf-load s|m|l|xl] [--no-check-perf]\n");
      return 2;
    }
  }
  if (count) cfg.count = *count;
  check_perf = check_perf && cfg.check_perf;
  if (cfg.count < 2 || cfg.count > 1'000'000) Die("--count must be 2..1,000,000");
  if (clients < 2 || clients > 256) Die("--clients must be 2..256");
  if (perf_load != "s" && perf_load != "m" && perf_load != "l" && perf_load != "xl") {
    Die("--perf-load must be s, m, l or xl");
  }
  std::printf(
      "pando_bench_names (%s): registrations per second, SqliteRegistry and EtcdRegistry,"
      " next to baselines of the same run\n",
      cfg.mode);
  std::fflush(stdout);

  // Claims, signed before any timer starts.
  std::vector<KeyPair> keys;
  for (size_t k = 0; k < kKeys; ++k) {
    pando::Seed seed{};
    seed[0] = 0x4e;
    seed[1] = static_cast<uint8_t>(k);
    keys.push_back(KeyPair::FromSeed(seed));
  }
  const auto sign0 = Clock::now();
  const Workload distinct = MakeWorkload(keys, cfg.count, false);
  const Workload contended = MakeWorkload(keys, cfg.count, true);
  const double sign_s = std::chrono::duration<double>(Clock::now() - sign0).count();
  const size_t signed_bytes =
      pando::names::kClaimDomain.size() + distinct.raw.back().size() - crypto_sign_BYTES;
  std::printf(
      "  claims: %s distinct names; contended, %s names claimed twice by two owners; "
      "%zu owner keys; signed before timing at %s claims/s\n",
      Thousands(static_cast<double>(cfg.count)).c_str(),
      Thousands(static_cast<double>(contended.names)).c_str(), kKeys,
      Thousands(static_cast<double>(2 * cfg.count) / sign_s).c_str());

  // Baseline: raw verify on one thread and on as many threads as the concurrent clients can
  // use (the machine's cores).
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int verify_threads = std::min(cores, clients);
  const double verify1 = VerifyRate(signed_bytes, 1, cfg.verify_seconds);
  const double verify_n = VerifyRate(signed_bytes, verify_threads, cfg.verify_seconds);
  std::printf(
      "baseline: libsodium Ed25519 verify (1 thread, %zu-byte messages, as a claim's): "
      "%s verify/s\n",
      signed_bytes, Thousands(verify1).c_str());
  std::printf("baseline: the same on %d threads (the machine's %d cores): %s verify/s = %.2fx\n",
              verify_threads, cores, Thousands(verify_n).c_str(), verify_n / verify1);
  const std::string verify1_label = "libsodium verify 1 thread";
  const std::string verify_n_label =
      "libsodium verify " + Plural(static_cast<size_t>(verify_threads), "thread", "threads");
  std::fflush(stdout);

  // ---- Embedded: SqliteRegistry on a temporary file -----------------------------------------
  {
    ScratchDir dir;
    const double syncs = SyncRate(dir.path, cfg.verify_seconds / 2);
    std::printf("baseline: fdatasync of 4 KiB appends (1 thread, a file in %s): %s syncs/s\n",
                std::filesystem::path(dir.path).parent_path().c_str(), Thousands(syncs).c_str());
    std::fflush(stdout);
    int file = 0;
    // And, as a node hosts the embedded registry: one object that every client calls (its
    // calls take turns on one connection).
    std::vector<Run> runs = Runs(distinct, contended, clients);
    runs.push_back(runs[1]);
    runs.back().label += ", one shared object";
    runs.back().shared = true;
    for (const Run& run : runs) {
      const std::string path = dir.path + "/names" + std::to_string(file++) + ".db";
      std::string tally;
      const Measured m = RunClaims(
          *run.w, run.clients, run.shared, {},
          [&](int) -> std::unique_ptr<Registry> {
            auto r = pando::names::SqliteRegistry::Open(path);
            if (!r.ok()) Die("SqliteRegistry::Open: " + r.error().ToString());
            return std::move(*r);
          },
          &tally);
      const bool one = run.clients == 1;
      PrintRun("sqlite", run, m,
               Ratio(one ? verify1_label.c_str() : verify_n_label.c_str(), one ? verify1 : verify_n,
                     "/s", m.rate) +
                   "; " + Ratio("fdatasync", syncs, "/s", m.rate),
               tally);
    }
  }

  // ---- etcd: a real 3-member cluster on 127.0.0.1 --------------------------------------------
  auto started = pando::testing::EtcdCluster::Start();
  if (!started.ok()) Die(started.error().ToString());
  auto cluster = std::move(*started);
  const std::vector<std::string> urls = cluster->endpoints();
  const int leader_index = cluster->LeaderIndex();
  if (leader_index < 0) Die("the etcd cluster has no leader");
  const auto leader = static_cast<size_t>(leader_index);
  const std::vector<int> members = ChildrenNamed("etcd");
  if (members.size() != urls.size()) Die("cannot find the etcd members' processes");
  std::printf(
      "etcd %s: %d members on 127.0.0.1 (member %zu leads); EtcdRegistry with all three "
      "endpoints, client c listing them from member (leader + c) mod 3\n",
      EtcdVersion(urls[0]).c_str(), cluster->size(), leader);
  std::fflush(stdout);

  std::optional<CheckPerf> perf;
  if (check_perf) {
    perf = RunCheckPerf(urls, perf_load, members);
    std::printf("baseline: etcdctl check perf --load=%s (3-member): %s writes/s  [%s]\n",
                perf_load.c_str(), Thousands(perf->writes_s).c_str(), perf->verdict.c_str());
    std::printf("     %s\n", perf->cpu.c_str());
  } else {
    std::printf("baseline: etcdctl check perf skipped (%s)\n",
                cfg.check_perf ? "--no-check-perf" : "--quick");
  }
  std::fflush(stdout);

  int run_id = 0;
  for (const Run& run : Runs(distinct, contended, clients)) {
    // Each run writes under a prefix of its own, so every run starts with no names.
    const std::string prefix = "pando-bench/" + std::to_string(++run_id) + "/";
    const std::string clients_label = Plural(static_cast<size_t>(run.clients), "client", "clients");
    const Measured raw = RawPuts(*run.w, run.clients, urls, leader, prefix + "raw/", members);
    std::printf("baseline: raw puts through the gateway (POST /v3/kv/put), %s: %s puts/s\n",
                clients_label.c_str(), Thousands(raw.rate).c_str());
    std::printf("     %s\n", raw.cpu.c_str());
    std::string tally;
    const Measured m = RunClaims(
        *run.w, run.clients, false, members,
        [&](int c) -> std::unique_ptr<Registry> {
          pando::names::EtcdOptions options;
          options.endpoints = Rotated(urls, leader + static_cast<size_t>(c));
          options.prefix = prefix;
          auto r = pando::names::EtcdRegistry::Open(options);
          if (!r.ok()) Die("EtcdRegistry::Open: " + r.error().ToString());
          return std::move(*r);
        },
        &tally);
    std::string ratios =
        Ratio(("raw gateway puts, " + clients_label).c_str(), raw.rate, "/s", m.rate);
    if (perf) {
      ratios += "; " + Ratio(("etcdctl check perf --load=" + perf_load + " 3-member").c_str(),
                             perf->writes_s, " writes/s", m.rate);
    }
    PrintRun("etcd", run, m, ratios, tally);
  }
  cluster.reset();

  const double verify_end = VerifyRate(signed_bytes, 1, cfg.verify_seconds);
  std::printf("baseline again at the end: libsodium verify 1 thread %s verify/s (%+.1f%%)\n",
              Thousands(verify_end).c_str(), 100.0 * (verify_end / verify1 - 1.0));
  return 0;
}
