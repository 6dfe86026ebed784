// pando_bench_crdt: how fast crdt::Replica applies CRDT operations and rebuilds state from
// 1,000,000 of them, next to Yjs (npm yjs, bench/yjs) applying the same map and sequence
// operations in the same run. bench/README.md explains each figure.
//
//   pando_bench_crdt                 full run: 1,000,000 operations per workload (a few minutes)
//   pando_bench_crdt --quick         20,000 operations; Yjs is skipped when it is not installed
//   pando_bench_crdt --ops N         N operations per workload
//   pando_bench_crdt --no-yjs        Pando only
//   pando_bench_crdt --text          Yjs also runs the sequence on a Y.Text (extra lines)
//
// Two workloads, generated from a fixed seed: MAP, partial updates of one field each to
// 1,000 shared objects of 100 fields by 8 authors; SEQ, typing on one shared sequence by 4
// authors in turns (inserts after the previous character, sometimes at a random place, and
// 10% deletes). Every entry is signed before any timer starts. The generator tracks the
// visible order of the sequence, so it can tell Yjs each operation as an index; it writes the
// operations to a file that bench/yjs/yjs_bench.mjs reads. Both sides must end with the same
// state (size and digest) or the program exits 1. A missed target does not change the exit
// code.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/kinds.h"
#include "cpu_use.h"
#include "crdt/op.h"
#include "crdt/state.h"
#include "store/store.h"

namespace {

using pando::Bytes;
using pando::ByteSpan;
using pando::Entry;
using pando::KeyPair;
using pando::Status;
namespace crdt = pando::crdt;
using Clock = std::chrono::steady_clock;

struct Config {
  const char* name;
  size_t ops;         // Per workload.
  int map_objects;    // MAP: objects ...
  int map_fields;     // ... of this many fields each,
  int map_authors;    // written by this many authors.
  int seq_authors;    // SEQ: authors typing in turns.
  bool yjs_required;  // Fail, rather than skip Yjs, when it is not installed.
};

constexpr Config kFull{"full", 1'000'000, 1'000, 100, 8, 4, true};
constexpr Config kQuick{"quick", 20'000, 1'000, 100, 8, 4, false};

constexpr std::string_view kGroup = "bench";
constexpr uint64_t kSeed = 20261123;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "pando_bench_crdt: FAILED: %s\n", why.c_str());
  std::exit(1);
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// "1,234,567"
std::string Grouped(double v) {
  std::string digits = std::to_string(static_cast<long long>(v + 0.5));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// FNV-1a, 32 bits: the digest both sides compute over the same text of the final state.
class Fnv1a32 {
 public:
  void Add(std::string_view s) {
    for (unsigned char c : s) {
      h_ ^= c;
      h_ *= 0x01000193u;
    }
  }
  uint32_t value() const { return h_; }

 private:
  uint32_t h_ = 0x811c9dc5u;
};

// ---- CPU use --------------------------------------------------------------------------------

double SelfCpuSeconds(int who) {
  rusage ru{};
  getrusage(who, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Wall time, CPU of this process (or of its waited-for children), and the cores other
// processes kept busy meanwhile.
class Meter {
 public:
  explicit Meter(int who = RUSAGE_SELF)
      : who_(who),
        self0_(SelfCpuSeconds(who)),
        all0_(pando::bench::MachineCpuSeconds()),
        start_(Clock::now()) {}
  // "1.00 cores, other processes 0.01 cores"
  std::string Describe() const {
    const double secs = Seconds(start_, Clock::now());
    const double self = SelfCpuSeconds(who_) - self0_;
    const double all = pando::bench::MachineCpuSeconds() - all0_;
    // The machine's counter ticks at 100 Hz; the process's, finer: clamp the difference.
    const double others = std::max(0.0, all - self) / secs;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%.2f cores, other processes %.2f cores%s", self / secs, others,
                  others > pando::bench::kOthersCoresNoisy ? " (NOISY: machine busy)" : "");
    return buf;
  }

 private:
  int who_;
  double self0_, all0_;
  Clock::time_point start_;
};

// ---- Authors --------------------------------------------------------------------------------

// One author's feed of crdt entries in group "bench".
class Feed {
 public:
  explicit Feed(int author) : key_(KeyFor(author)) {}

  Entry Sign(int64_t timestamp_ms, const crdt::Op& op) {
    pando::EntryDraft d;
    d.seq = seq_ + 1;
    d.prev = prev_;
    d.timestamp_ms = timestamp_ms;
    d.group = std::string(kGroup);
    d.kind = pando::kinds::kCrdt;
    d.payload = crdt::EncodeOp(op);
    auto e = Entry::Sign(d, key_);
    if (!e.ok()) Die("signing: " + e.error().ToString());
    seq_ = e->seq();
    prev_ = e->id();
    return std::move(*e);
  }

 private:
  static KeyPair KeyFor(int author) {
    pando::Seed seed{};
    seed[0] = 0xcd;
    seed[1] = static_cast<uint8_t>(author);
    return KeyPair::FromSeed(seed);
  }
  KeyPair key_;
  uint64_t seq_ = 0;
  pando::Hash32 prev_{};
};

// The authors' clocks: one virtual wall time that moves 1-2 ms per operation, which each
// author reads with a fixed skew of up to 20 ms either way. Every author has seen every
// earlier operation (they are online together), so each stamp is HlcNext of the newest one:
// stamps grow with the order of the operations, and applying them in that order (as Yjs's
// local writes do) gives the same state as the merge rules.
class Clocks {
 public:
  Clocks(std::mt19937_64& rng, int authors)
      : now_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count() -
                int64_t{7} * 24 * 3600 * 1000),
        skew_(static_cast<size_t>(authors)),
        last_ts_(static_cast<size_t>(authors), 0) {
    for (auto& s : skew_) s = static_cast<int64_t>(rng() % 41) - 20;
  }
  // The entry timestamp and the op clock of the next operation, by `author`.
  std::pair<int64_t, crdt::Hlc> Next(std::mt19937_64& rng, int author) {
    now_ms_ += 1 + static_cast<int64_t>(rng() % 2);
    const auto a = static_cast<size_t>(author);
    const int64_t ts = std::max(last_ts_[a], now_ms_ + skew_[a]);
    last_ts_[a] = ts;
    last_hlc_ = crdt::HlcNext(last_hlc_, ts);
    return {ts, last_hlc_};
  }

 private:
  int64_t now_ms_;
  std::vector<int64_t> skew_, last_ts_;
  crdt::Hlc last_hlc_ = 0;
};

// ---- Workloads ------------------------------------------------------------------------------

// The operations for Yjs (bench/yjs/yjs_bench.mjs documents the format).
class YjsFile {
 public:
  enum Kind : uint8_t { kMap = 1, kSeq = 2 };
  YjsFile(Kind kind, size_t ops, uint32_t objects) {
    Append("PCRDTWL1");
    U8(kind);
    U32(static_cast<uint32_t>(ops));
    U32(objects);
  }
  void MapSet(int author, uint32_t object, std::string_view field, std::string_view value) {
    U8(static_cast<uint8_t>(author));
    U32(object);
    U8(static_cast<uint8_t>(field.size()));
    Append(field);
    U16(static_cast<uint16_t>(value.size()));
    Append(value);
  }
  void SeqInsert(int author, size_t index, std::string_view value) {
    U8(static_cast<uint8_t>(author));
    U8(0);
    U32(static_cast<uint32_t>(index));
    U16(static_cast<uint16_t>(value.size()));
    Append(value);
  }
  void SeqDelete(int author, size_t index) {
    U8(static_cast<uint8_t>(author));
    U8(1);
    U32(static_cast<uint32_t>(index));
  }
  void Write(const std::string& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes_.data()),
              static_cast<std::streamsize>(bytes_.size()));
    if (!out) Die("cannot write " + path);
  }

 private:
  void U8(uint8_t v) { bytes_.push_back(v); }
  void U16(uint16_t v) {
    for (int i = 0; i < 2; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Append(std::string_view s) { bytes_.insert(bytes_.end(), s.begin(), s.end()); }
  Bytes bytes_;
};

struct Workload {
  std::string name;            // "map", "seq"
  std::string description;     // One line.
  std::string size_unit;       // What the state's size counts: "fields", "elements".
  int objects = 0;             // MAP: objects "o0".."o<objects-1>".
  std::vector<Entry> entries;  // Signed, in the order they are applied.
  YjsFile yjs{YjsFile::kMap, 0, 0};
  double sign_seconds = 0;  // Wall time of signing the entries,
  int sign_threads = 1;     // on this many threads.
};

// MAP: each operation writes one field of one object: a number or a short string.
Workload MakeMap(const Config& cfg) {
  std::mt19937_64 rng(kSeed);
  Workload w;
  w.name = "map";
  w.size_unit = "fields";
  w.objects = cfg.map_objects;
  w.description = Grouped(static_cast<double>(cfg.ops)) + " field writes (one field each) to " +
                  Grouped(cfg.map_objects) + " objects x " + std::to_string(cfg.map_fields) +
                  " fields by " + std::to_string(cfg.map_authors) + " authors";
  w.yjs = YjsFile(YjsFile::kMap, cfg.ops, static_cast<uint32_t>(cfg.map_objects));
  Clocks clocks(rng, cfg.map_authors);

  struct Pending {
    int author;
    int64_t ts;
    crdt::Op op;
  };
  std::vector<Pending> pending;
  pending.reserve(cfg.ops);
  for (size_t i = 0; i < cfg.ops; ++i) {
    const int author = static_cast<int>(rng() % static_cast<uint64_t>(cfg.map_authors));
    const auto object = static_cast<uint32_t>(rng() % static_cast<uint64_t>(cfg.map_objects));
    const int f = static_cast<int>(rng() % static_cast<uint64_t>(cfg.map_fields));
    char field[8];
    std::snprintf(field, sizeof field, "f%02d", f);
    std::string value;
    if (rng() % 2 == 0) {
      value = std::to_string(rng() % 1'000'000);
    } else {
      value = "\"";
      for (int k = 0; k < 6; ++k) value += static_cast<char>('a' + rng() % 26);
      value += "\"";
    }
    const auto [ts, hlc] = clocks.Next(rng, author);
    crdt::Op op;
    op.name = "o" + std::to_string(object);
    op.hlc = hlc;
    op.action = crdt::MapUpdate{{crdt::MapField{field, value}}};
    w.yjs.MapSet(author, object, field, value);
    pending.push_back({author, ts, std::move(op)});
  }

  // Feeds are independent (no operation names another's entry): sign them on 2 threads, each
  // feed in order.
  w.sign_threads = 2;
  std::vector<std::optional<Entry>> signed_entries(cfg.ops);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < w.sign_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int a = t; a < cfg.map_authors; a += w.sign_threads) {
        Feed feed(a);
        for (size_t i = 0; i < pending.size(); ++i) {
          if (pending[i].author == a) signed_entries[i] = feed.Sign(pending[i].ts, pending[i].op);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  w.sign_seconds = Seconds(start, Clock::now());
  w.entries.reserve(cfg.ops);
  for (auto& e : signed_entries) w.entries.push_back(std::move(*e));
  return w;
}

// The visible elements of a sequence in order, by index: a list of blocks of at most kMax
// ids, so that finding, inserting and erasing at an index costs O(sqrt n).
class VisibleOrder {
 public:
  VisibleOrder() : blocks_(1) {}
  size_t size() const { return size_; }
  const crdt::ElemId& At(size_t index) const {
    auto [b, i] = Locate(index, false);
    return blocks_[b][i];
  }
  void Insert(size_t index, const crdt::ElemId& id) {
    auto [b, i] = Locate(index, true);
    auto& block = blocks_[b];
    block.insert(block.begin() + static_cast<ptrdiff_t>(i), id);
    ++size_;
    if (block.size() > kMax) {
      std::vector<crdt::ElemId> tail(block.begin() + kMax / 2, block.end());
      block.resize(kMax / 2);
      blocks_.insert(blocks_.begin() + static_cast<ptrdiff_t>(b) + 1, std::move(tail));
    }
  }
  void Erase(size_t index) {
    auto [b, i] = Locate(index, false);
    auto& block = blocks_[b];
    block.erase(block.begin() + static_cast<ptrdiff_t>(i));
    --size_;
    if (block.empty() && blocks_.size() > 1) {
      blocks_.erase(blocks_.begin() + static_cast<ptrdiff_t>(b));
    }
  }

 private:
  static constexpr size_t kMax = 1024;
  // The block and offset of `index`; for an insert, index may be size() (the end).
  std::pair<size_t, size_t> Locate(size_t index, bool insert) const {
    for (size_t b = 0; b < blocks_.size(); ++b) {
      const size_t n = blocks_[b].size();
      if (index < n || (insert && index == n)) return {b, index};
      index -= n;
    }
    Die("sequence index out of range");
  }
  std::vector<std::vector<crdt::ElemId>> blocks_;
  size_t size_ = 0;
};

// SEQ: authors take turns typing into one shared sequence, one character (a JSON string) per
// operation. Each turn starts at a random place; within it, 87% of operations insert after
// the previous character, 3% move to a random place and insert there, and 10% delete a
// character (half of them the one before the cursor, half a random one).
Workload MakeSeq(const Config& cfg) {
  std::mt19937_64 rng(kSeed + 1);
  Workload w;
  w.name = "seq";
  w.size_unit = "elements";
  w.yjs = YjsFile(YjsFile::kSeq, cfg.ops, 0);
  Clocks clocks(rng, cfg.seq_authors);
  std::vector<Feed> feeds;
  for (int a = 0; a < cfg.seq_authors; ++a) feeds.emplace_back(100 + a);

  VisibleOrder order;
  size_t cursor = 0, turn_left = 0, inserts = 0, jumps = 0, deletes = 0;
  int author = 0;
  static constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyz    ";
  w.entries.reserve(cfg.ops);
  Clock::duration signing{};
  for (size_t n = 0; n < cfg.ops; ++n) {
    if (turn_left == 0) {
      author = static_cast<int>(rng() % static_cast<uint64_t>(cfg.seq_authors));
      turn_left = 50 + rng() % 450;
      cursor = rng() % (order.size() + 1);
    }
    --turn_left;
    const uint64_t roll = rng() % 100;
    crdt::Op op;
    op.name = "doc";
    if (order.size() > 0 && roll < 10) {
      const size_t k = roll < 5 && cursor > 0 ? cursor - 1 : rng() % order.size();
      op.action = crdt::SeqDelete{{order.At(k)}};
      order.Erase(k);
      if (k < cursor) --cursor;
      w.yjs.SeqDelete(author, k);
      ++deletes;
    } else {
      if (roll < 13) {
        cursor = rng() % (order.size() + 1);
        ++jumps;
      }
      crdt::SeqInsert ins;
      if (cursor > 0) ins.after = order.At(cursor - 1);
      ins.values.push_back("\"" + std::string(1, kLetters[rng() % kLetters.size()]) + "\"");
      w.yjs.SeqInsert(author, cursor, ins.values[0]);
      op.action = std::move(ins);
      ++inserts;
    }
    const auto [ts, hlc] = clocks.Next(rng, author);
    op.hlc = hlc;
    const auto t0 = Clock::now();
    w.entries.push_back(feeds[static_cast<size_t>(author)].Sign(ts, op));
    signing += Clock::now() - t0;
    // A new element follows the element it was inserted after at once: its stamp is the
    // newest, so it comes first among that element's children.
    if (std::holds_alternative<crdt::SeqInsert>(op.action)) {
      order.Insert(cursor++, crdt::ElemId{w.entries.back().id(), 0});
    }
  }
  w.sign_seconds = std::chrono::duration<double>(signing).count();
  w.sign_threads = 1;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s operations on one sequence by %d authors in turns: %s inserts (%s at a "
                "random place), %s deletes",
                Grouped(static_cast<double>(cfg.ops)).c_str(), cfg.seq_authors,
                Grouped(static_cast<double>(inserts)).c_str(),
                Grouped(static_cast<double>(jumps)).c_str(),
                Grouped(static_cast<double>(deletes)).c_str());
  w.description = buf;
  return w;
}

// ---- Final states ---------------------------------------------------------------------------

struct State {
  size_t size = 0;  // Fields of every map, or visible elements of the sequence.
  uint32_t digest = 0;
};

// The text yjs_bench.mjs digests too: "o<i> <field> <JSON>\n" per field (objects in index
// order, fields in byte order), or "<JSON>\n" per visible element of the sequence. map_of and
// seq_of give an object's state (nullptr when it has none).
template <typename MapOf, typename SeqOf>
State StateWith(const Workload& w, MapOf map_of, SeqOf seq_of) {
  State s;
  Fnv1a32 h;
  if (w.name == "map") {
    for (int o = 0; o < w.objects; ++o) {
      const crdt::ObjectKey key{std::string(kGroup), {}, crdt::Type::kMap, "o" + std::to_string(o)};
      const crdt::MapState* m = map_of(key);
      if (m == nullptr) continue;
      for (const auto& [field, cell] : m->cells()) {
        if (!cell.value) continue;
        h.Add("o" + std::to_string(o) + " " + field + " " + *cell.value + "\n");
        ++s.size;
      }
    }
  } else {
    const crdt::SeqState* q =
        seq_of(crdt::ObjectKey{std::string(kGroup), {}, crdt::Type::kSeq, "doc"});
    if (q != nullptr) {
      for (const auto& [id, value] : q->Values()) {
        h.Add(value);
        h.Add("\n");
        ++s.size;
      }
    }
  }
  s.digest = h.value();
  return s;
}

State StateOf(const Workload& w, const crdt::Replica& r) {
  return StateWith(
      w, [&](const crdt::ObjectKey& k) { return r.Map(k); },
      [&](const crdt::ObjectKey& k) { return r.Seq(k); });
}

// The same, read from the store's CRDT state (Store::LoadCrdt).
State StateOf(const Workload& w, pando::store::Store& st) {
  std::optional<pando::store::CrdtObject> held;
  auto load = [&](const crdt::ObjectKey& k) -> const void* {
    auto o = st.LoadCrdt(k);
    if (!o.ok()) Die("Store::LoadCrdt: " + o.error().ToString());
    held = std::move(*o);
    return held ? &held->state : nullptr;
  };
  return StateWith(
      w,
      [&](const crdt::ObjectKey& k) {
        return load(k) ? &std::get<crdt::MapState>(held->state) : nullptr;
      },
      [&](const crdt::ObjectKey& k) {
        return load(k) ? &std::get<crdt::SeqState>(held->state) : nullptr;
      });
}

// ---- Measurements ---------------------------------------------------------------------------

// One system's figures for one workload; nullopt where it has no such figure. A system is a
// column of the table.
struct Figures {
  std::optional<double> apply_ops_s;     // Operations applied per second, one by one.
  std::optional<double> received_ops_s;  // The same for operations as they arrive from others.
  std::optional<double> rebuild_s;       // Rebuilding the state from every operation.
  std::optional<double> merged_s;        // Loading the final state from one merged snapshot.
  State state;                           // The final state.
  std::string notes;                     // How each figure was measured, for the legend.
};

// Pando: crdt::Replica, in memory.
//   apply, received: Replica::Apply(const Entry&) of every entry, already decoded (as entries
//                    arrive from ingest), into an empty replica; it decodes each payload;
//   rebuild:         Entry::Decode of each entry's bytes (copy, checks, BLAKE2b id) followed
//                    by Replica::Apply, into an empty replica: rebuilding from stored entries.
Figures MeasurePando(const Workload& w) {
  Figures f;
  const double n = static_cast<double>(w.entries.size());
  Meter meter;
  {
    auto r = std::make_unique<crdt::Replica>();
    const auto t0 = Clock::now();
    for (const Entry& e : w.entries) {
      const Status s = r->Apply(e);
      if (!s.ok()) Die("Replica::Apply: " + s.error().ToString());
    }
    const double secs = Seconds(t0, Clock::now());
    f.apply_ops_s = f.received_ops_s = n / secs;
    f.state = StateOf(w, *r);
  }
  {
    auto r = std::make_unique<crdt::Replica>();
    const auto t0 = Clock::now();
    for (const Entry& e : w.entries) {
      auto d = Entry::Decode(ByteSpan(e.bytes()));
      if (!d.ok()) Die("Entry::Decode: " + d.error().ToString());
      const Status s = r->Apply(*d);
      if (!s.ok()) Die("Replica::Apply: " + s.error().ToString());
    }
    f.rebuild_s = Seconds(t0, Clock::now());
    const State again = StateOf(w, *r);
    if (again.size != f.state.size || again.digest != f.state.digest) {
      Die(w.name + ": the rebuilt replica differs from the first one");
    }
  }
  f.notes = "pando " + meter.Describe();
  return f;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// The directory of bench/yjs, and why Yjs cannot run (empty if it can).
std::string YjsDir() { return std::string(PANDO_SOURCE_DIR) + "/bench/yjs"; }
std::string YjsMissing() {
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not on PATH";
  if (!std::filesystem::exists(YjsDir() + "/node_modules/yjs/package.json")) {
    return YjsDir() + "/node_modules is missing (run scripts/install-deps.sh)";
  }
  return "";
}

struct YjsRun {
  Figures figures;
  std::string version, node_version;
  double update_bytes = 0, merged_bytes = 0;
  nlohmann::json text;  // The Y.Text figures (--text, sequence), or null.
};

// Runs bench/yjs/yjs_bench.mjs on the workload's file and reads its JSON line.
//   apply:    each operation in its own doc.transact() (Y.Map.set, Y.Array insert/delete);
//   received: Y.applyUpdate of each operation's update, one by one, into an empty Y.Doc;
//   rebuild:  the same, as a time;
//   merged:   one Y.applyUpdate of Y.encodeStateAsUpdate of the final state.
YjsRun MeasureYjs(const Workload& w, const std::string& dir, bool text) {
  const std::string file = dir + "/" + w.name + ".ops";
  w.yjs.Write(file);
  const std::string cmd = "node --max-old-space-size=8192 " + Quote(YjsDir() + "/yjs_bench.mjs") +
                          " " + Quote(file) + (text ? " --text" : "");
  Meter meter(RUSAGE_CHILDREN);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) Die("cannot run: " + cmd);
  std::string out;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, got);
  const int status = ::pclose(pipe);
  const std::string usage = meter.Describe();
  std::filesystem::remove(file);
  if (status != 0) Die("Yjs failed (" + cmd + ", status " + std::to_string(status) + "): " + out);
  YjsRun r;
  try {
    const auto j = nlohmann::json::parse(out);
    const double n = static_cast<double>(w.entries.size());
    if (j.at("ops").get<double>() != n) throw std::runtime_error("wrong operation count");
    r.version = j.at("yjs_version").get<std::string>();
    r.node_version = j.at("node_version").get<std::string>();
    r.figures.apply_ops_s = n / j.at("local_s").get<double>();
    r.figures.received_ops_s = n / j.at("updates_s").get<double>();
    r.figures.rebuild_s = j.at("updates_s").get<double>();
    r.figures.merged_s = j.at("merged_s").get<double>();
    r.figures.state.size = j.at("size").get<size_t>();
    r.figures.state.digest = j.at("digest").get<uint32_t>();
    r.update_bytes = j.at("update_bytes").get<double>();
    r.merged_bytes = j.at("merged_bytes").get<double>();
    if (j.contains("text")) r.text = j.at("text");
  } catch (const std::exception& e) {
    Die("unexpected output from " + cmd + " (" + e.what() + "): " + out);
  }
  r.figures.notes = "node " + usage;
  return r;
}

// ---- The table ------------------------------------------------------------------------------

// Pando with its state in SQLite (store/crdt.cc), what a node keeps:
//   rebuild: Store::RebuildCrdt over a store holding every entry (stored before timing): it
//            reads each entry back, decodes it, applies it to the CRDT tables, all in one
//            transaction, and commits (synchronous=FULL);
//   apply:   the operations of that rebuild per second.
Figures MeasureStore(const Workload& w, const std::string& dir) {
  Figures f;
  const std::string path = dir + "/" + w.name + ".db";
  auto opened = pando::store::Store::Open(pando::store::StoreOptions{path});
  if (!opened.ok()) Die("Store::Open: " + opened.error().ToString());
  auto st = std::move(opened).value();
  constexpr size_t kBatch = 4096;
  int64_t latest = 0;  // Entries are checked against the clock: "now" is the newest.
  for (const Entry& e : w.entries) latest = std::max(latest, e.timestamp_ms());
  for (size_t i = 0; i < w.entries.size(); i += kBatch) {
    const size_t n = std::min(kBatch, w.entries.size() - i);
    for (const Status& s : st->Add(std::span(w.entries).subspan(i, n), latest)) {
      if (!s.ok()) Die("Store::Add: " + s.error().ToString());
    }
  }
  Meter meter;
  const auto t0 = Clock::now();
  auto applied = st->RebuildCrdt();
  f.rebuild_s = Seconds(t0, Clock::now());
  if (!applied.ok()) Die("Store::RebuildCrdt: " + applied.error().ToString());
  if (static_cast<size_t>(*applied) != w.entries.size()) {
    Die("Store::RebuildCrdt applied " + std::to_string(*applied) + " of " +
        std::to_string(w.entries.size()) + " operations");
  }
  f.apply_ops_s = static_cast<double>(w.entries.size()) / *f.rebuild_s;
  f.notes = "sqlite " + meter.Describe();
  f.state = StateOf(w, *st);
  st.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return f;
}

struct Column {
  std::string name;
  const Figures* figures;
};

// Prints one table for a workload: a row per figure, a column per system, and the speed of
// each other column relative to the column named "yjs" (above 1: faster than Yjs).
void PrintTable(const Workload& w, const std::vector<Column>& columns) {
  struct Row {
    std::string label;
    std::optional<double> Figures::*figure;
    bool seconds;  // A time (lower is better), else a rate.
  };
  const std::string ops = Grouped(static_cast<double>(w.entries.size()));
  const std::vector<Row> rows = {
      {"ops/s applied one by one", &Figures::apply_ops_s, false},
      {"ops/s applied as received", &Figures::received_ops_s, false},
      {"rebuild from " + ops + " ops, s", &Figures::rebuild_s, true},
      {"load the merged state, s", &Figures::merged_s, true},
  };
  const Figures* yjs = nullptr;
  for (const auto& c : columns) {
    if (c.name == "yjs") yjs = c.figures;
  }
  std::printf("  %-32s", "figure");
  for (const auto& c : columns) std::printf(" %12s", c.name.c_str());
  if (yjs) {
    for (const auto& c : columns) {
      if (c.figures != yjs) std::printf(" %12s", (c.name + "/yjs").c_str());
    }
  }
  std::printf("\n");
  for (const auto& row : rows) {
    bool any = false;
    for (const auto& c : columns) any = any || (c.figures->*row.figure).has_value();
    if (!any) continue;
    std::printf("  %-32s", (w.name + " " + row.label).c_str());
    for (const auto& c : columns) {
      const auto& v = c.figures->*row.figure;
      if (!v) {
        std::printf(" %12s", "-");
      } else if (row.seconds) {
        std::printf(" %12.3f", *v);
      } else {
        std::printf(" %12s", Grouped(*v).c_str());
      }
    }
    for (const auto& c : columns) {
      if (!yjs || c.figures == yjs) continue;
      const auto& a = c.figures->*row.figure;
      const auto& b = yjs->*row.figure;
      if (a && b) {
        std::printf(" %11.2fx", row.seconds ? *b / *a : *a / *b);
      } else {
        std::printf(" %12s", "-");
      }
    }
    std::printf("\n");
  }
}

// The target: faster than Yjs at applying operations (against both of its ways) and at
// rebuilding state: "ops/s met, rebuild met", with MISSED for a missed one.
std::string Target(const Figures& p, const Figures& y) {
  const bool ops = *p.apply_ops_s > *y.apply_ops_s && *p.received_ops_s > *y.received_ops_s;
  const bool rebuild = *p.rebuild_s < *y.rebuild_s;
  return std::string("ops/s ") + (ops ? "met" : "MISSED") + ", rebuild " +
         (rebuild ? "met" : "MISSED");
}

// A fresh directory under $TMPDIR (or /tmp) for the workload files, removed at the end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pando-bench-crdt-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp(" + tmpl + ") failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

int main(int argc, char** argv) {
  pando::InitCrypto();
  Config cfg = kFull;
  bool use_yjs = true, text = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      const size_t ops = cfg.ops == kFull.ops ? kQuick.ops : cfg.ops;
      cfg = kQuick;
      cfg.ops = ops;
    } else if (a == "--ops" && i + 1 < argc) {
      cfg.ops = std::stoul(argv[++i]);
    } else if (a == "--no-yjs") {
      use_yjs = false;
    } else if (a == "--text") {
      text = true;
    } else {
      std::fprintf(stderr, "usage: pando_bench_crdt [--quick] [--ops N] [--no-yjs] [--text]\n");
      return 2;
    }
  }
  if (cfg.ops == 0 || cfg.ops > 10'000'000) Die("--ops must be 1..10,000,000");

  std::string yjs_missing = use_yjs ? YjsMissing() : "";
  if (!yjs_missing.empty() && cfg.yjs_required) {
    Die("Yjs cannot run: " + yjs_missing + " (or pass --no-yjs)");
  }
  use_yjs = use_yjs && yjs_missing.empty();

  std::printf("pando_bench_crdt (%s): crdt::Replica%s, the same operations in the same run\n",
              cfg.name, use_yjs ? " next to Yjs (bench/yjs)" : "");
  std::fflush(stdout);
  TempDir dir;
  bool all_met = true;
  for (const auto& make : {MakeMap, MakeSeq}) {
    const Workload w = make(cfg);
    size_t entry_bytes = 0, payload_bytes = 0;
    for (const Entry& e : w.entries) {
      entry_bytes += e.bytes().size();
      payload_bytes += e.payload().size();
    }
    const double n = static_cast<double>(w.entries.size());
    std::printf("\n%s: %s\n", w.name.c_str(), w.description.c_str());
    std::printf(
        "  entries %.0f bytes on average (op payload %.1f bytes); signed before timing "
        "at %s entries/s on %d thread%s\n",
        static_cast<double>(entry_bytes) / n, static_cast<double>(payload_bytes) / n,
        Grouped(n / w.sign_seconds).c_str(), w.sign_threads, w.sign_threads == 1 ? "" : "s");
    std::fflush(stdout);

    const Figures pando = MeasurePando(w);
    const Figures sqlite = MeasureStore(w, dir.path());
    if (sqlite.state.size != pando.state.size || sqlite.state.digest != pando.state.digest) {
      Die(w.name + ": the store's state differs from the in-memory replica's");
    }
    // One column per system; the ratio columns compare each with the one named "yjs".
    std::vector<Column> columns = {{"pando", &pando}, {"pando-sqlite", &sqlite}};
    std::optional<YjsRun> yjs;
    if (use_yjs) {
      yjs = MeasureYjs(w, dir.path(), text);
      columns.push_back({"yjs", &yjs->figures});
    }
    PrintTable(w, columns);
    std::printf(
        "  pando: crdt::Replica, in memory. ops/s: Replica::Apply(entry) of decoded entries "
        "(it decodes the payload)\n"
        "         rebuild: Entry::Decode of each entry's bytes, then Replica::Apply, into "
        "an empty replica\n"
        "         CPU: %s\n"
        "  pando-sqlite: the state a node keeps in SQLite. rebuild: Store::RebuildCrdt over "
        "a store holding every entry\n"
        "         (read back, decode, apply to the CRDT tables, one transaction, commit); "
        "ops/s: that rebuild's\n"
        "         CPU: %s\n",
        pando.notes.c_str(), sqlite.notes.c_str());
    if (!yjs) {
      std::printf("  final state: %s %s\n", Grouped(static_cast<double>(pando.state.size)).c_str(),
                  w.size_unit.c_str());
      if (!yjs_missing.empty()) std::printf("  yjs: skipped, %s\n", yjs_missing.c_str());
      continue;
    }
    const Figures& y = yjs->figures;
    std::printf(
        "  yjs %s, Node.js %s. ops/s one by one: %s, one doc.transact per op\n"
        "         as received, rebuild: Y.applyUpdate of each op's update (%.1f bytes on "
        "average), into an empty Y.Doc\n"
        "         merged state: one Y.applyUpdate of Y.encodeStateAsUpdate (%s bytes)\n"
        "         CPU: %s\n",
        yjs->version.c_str(), yjs->node_version.c_str(),
        w.name == "map" ? "Y.Map.set" : "Y.Array insert or delete", yjs->update_bytes / n,
        Grouped(yjs->merged_bytes).c_str(), y.notes.c_str());
    if (!yjs->text.is_null()) {
      const double local = yjs->text.at("local_s").get<double>();
      const double updates = yjs->text.at("updates_s").get<double>();
      std::printf(
          "  extra, yjs on a Y.Text: %s ops/s one by one, %s ops/s as received "
          "(rebuild %.3f s, %.1f bytes per update), merged state %.3f s\n",
          Grouped(n / local).c_str(), Grouped(n / updates).c_str(), updates,
          yjs->text.at("update_bytes").get<double>() / n, yjs->text.at("merged_s").get<double>());
    }
    const bool agree = pando.state.size == y.state.size && pando.state.digest == y.state.digest;
    std::printf("  final state: pando %s %s (digest %08x), yjs %s %s (digest %08x): %s\n",
                Grouped(static_cast<double>(pando.state.size)).c_str(), w.size_unit.c_str(),
                pando.state.digest, Grouped(static_cast<double>(y.state.size)).c_str(),
                w.size_unit.c_str(), y.state.digest, agree ? "same" : "DIFFERENT");
    if (!agree) Die(w.name + ": Pando and Yjs end with different states");
    std::string target = Target(pando, y);
    target +=
        std::string("; sqlite rebuild ") + (*sqlite.rebuild_s < *y.rebuild_s ? "met" : "MISSED");
    all_met = all_met && target.find("MISSED") == std::string::npos;
    std::printf("  target, faster than Yjs: %s\n", target.c_str());
    std::fflush(stdout);
  }
  if (use_yjs) std::printf("\ntargets: %s\n", all_met ? "all met" : "MISSED");
  return 0;
}
