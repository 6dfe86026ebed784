// Crash test: SIGKILL `pando import` during a large import, many times over. After each
// kill the store is reopened and every entry the process acknowledged ("settled N" on
// stdout: the first N bundle entries are final and durable) must be present, and
// Store::Verify (which includes PRAGMA integrity_check) must pass. Each round re-imports the
// same bundle: entries already stored come back as DUPLICATE and the rest continue.
//
// Environment: PANDO_CRASH_ROUNDS (default 15), PANDO_CRASH_SEED (default 20240601),
// PANDO_CRASH_BIN (the pando binary to run; default the one built with this test).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/bundle.h"
#include "core/crypto.h"
#include "core/entry.h"
#include "store/store.h"

extern char** environ;

namespace pando {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kAuthors = 30;
constexpr int kEntriesPerAuthor = 2000;
constexpr int64_t kTotal = int64_t{kAuthors} * kEntriesPerAuthor;
constexpr int64_t kBaseTimestampMs = 1'600'000'000'000;  // September 2020.
constexpr auto kRoundWatchdog = std::chrono::seconds(60);

std::string PandoBin() {
  const char* v = std::getenv("PANDO_CRASH_BIN");
  return v != nullptr && *v != '\0' ? v : PANDO_BIN;
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::atoi(v);
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pando-crash-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed: " << std::strerror(errno);
      return;
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Writes the bundle (feed after feed, seq 1.. in order) and returns the ids in bundle order.
std::vector<Hash32> WriteBundle(const fs::path& path) {
  std::vector<Hash32> ids;
  ids.reserve(kTotal);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  BundleWriter writer(&file);
  std::mt19937 rng(7);
  for (int a = 0; a < kAuthors; ++a) {
    Seed seed{};
    seed.fill(static_cast<uint8_t>(a + 1));
    seed[0] = 0xC5;
    const KeyPair key = KeyPair::FromSeed(seed);
    Hash32 prev{};
    for (int i = 0; i < kEntriesPerAuthor; ++i) {
      EntryDraft d;
      d.seq = static_cast<uint64_t>(i + 1);
      d.prev = prev;
      d.timestamp_ms = kBaseTimestampMs + int64_t{a} * 10'000'000 + int64_t{i} * 1000;
      d.group = "crash.test";
      d.kind = 0;
      const std::string text =
          "author " + std::to_string(a) + " entry " + std::to_string(i + 1) + " ";
      d.payload.assign(text.begin(), text.end());
      d.payload.resize(d.payload.size() + rng() % 200, static_cast<uint8_t>('x'));
      auto e = Entry::Sign(d, key);
      EXPECT_TRUE(e.ok()) << e.error().ToString();
      if (!e.ok()) return {};
      writer.WriteEntry(*e);
      prev = e->id();
      ids.push_back(e->id());
    }
  }
  Status s = writer.Finish();
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  file.close();
  return ids;
}

// When to SIGKILL the child: after delay_ms, or once `lines` "settled" lines with a count
// above settled_above have been read, plus jitter_ms. Neither set: let it run to the end
// (the watchdog still applies).
struct KillPlan {
  std::optional<int> delay_ms;
  std::optional<int> lines;
  int64_t settled_above = 0;
  int jitter_ms = 0;
  std::string Describe() const {
    if (delay_ms) return "after " + std::to_string(*delay_ms) + " ms";
    if (lines) {
      return "after " + std::to_string(*lines) + " settled line(s) above " +
             std::to_string(settled_above) + " + " + std::to_string(jitter_ms) + " ms";
    }
    return "never";
  }
};

struct ChildResult {
  bool spawned = false;
  bool killed = false;     // Ended by SIGKILL.
  bool timed_out = false;  // The watchdog killed it.
  int exit_code = -1;      // When it exited by itself.
  int64_t max_settled = 0;
  int settled_lines = 0;
  double seconds = 0;
  std::string output;  // Everything it printed on stdout.
};

// Runs PANDO_BIN with args, stdout to a pipe we read, stderr appended to stderr_path.
ChildResult RunPando(const std::vector<std::string>& args, const KillPlan& plan,
                     const fs::path& stderr_path) {
  ChildResult r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> argv_s;
  const std::string bin = PandoBin();
  argv_s.push_back(bin);
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const auto start = Clock::now();
  const int rc = ::posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    ADD_FAILURE() << "posix_spawn " << bin << ": " << std::strerror(rc);
    return r;
  }
  r.spawned = true;

  std::optional<Clock::time_point> kill_at;
  int lines_above = 0;
  if (plan.delay_ms) kill_at = start + std::chrono::milliseconds(*plan.delay_ms);
  const auto watchdog_at = start + kRoundWatchdog;
  bool kill_sent = false;
  std::string partial;
  char buf[4096];
  while (true) {
    auto now = Clock::now();
    if (!kill_sent && kill_at && now >= *kill_at) {
      ::kill(pid, SIGKILL);
      kill_sent = true;
    }
    if (!kill_sent && now >= watchdog_at) {
      ::kill(pid, SIGKILL);
      kill_sent = true;
      r.timed_out = true;
    }
    auto deadline = watchdog_at;
    if (!kill_sent && kill_at) deadline = std::min(deadline, *kill_at);
    int timeout_ms =
        kill_sent
            ? 1000
            : static_cast<int>(std::max<int64_t>(
                  0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() +
                         1));
    pollfd p{fds[0], POLLIN, 0};
    const int pr = ::poll(&p, 1, timeout_ms);
    if (pr < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      break;
    }
    if (pr == 0) {
      if (kill_sent && SecondsSince(start) > 2 * kRoundWatchdog.count()) {
        ADD_FAILURE() << "the child's stdout stays open after SIGKILL";
        break;
      }
      continue;
    }
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "read: " << std::strerror(errno);
      break;
    }
    if (n == 0) break;  // EOF: the child is gone (or closed stdout).
    // Every line in the pipe was written after its commit, so lines read after the kill
    // still count as acknowledged.
    r.output.append(buf, static_cast<size_t>(n));
    partial.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      const std::string line = partial.substr(0, nl);
      partial.erase(0, nl + 1);
      if (line.rfind("settled ", 0) == 0) {
        const int64_t settled = std::stoll(line.substr(8));
        EXPECT_GE(settled, r.max_settled) << "settled counts must not decrease";
        r.max_settled = std::max(r.max_settled, settled);
        ++r.settled_lines;
        if (settled > plan.settled_above) ++lines_above;
        if (!kill_sent && !kill_at && plan.lines && lines_above >= *plan.lines) {
          kill_at = Clock::now() + std::chrono::milliseconds(plan.jitter_ms);
        }
      }
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.seconds = SecondsSince(start);
  if (WIFSIGNALED(status)) {
    r.killed = WTERMSIG(status) == SIGKILL;
    EXPECT_EQ(WTERMSIG(status), SIGKILL) << "pando died of another signal";
  } else if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  }
  return r;
}

std::string Tail(const fs::path& path, size_t max_bytes = 2000) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

// Opens the store and checks that ids[0, acknowledged) are present and Verify passes.
// Returns the number of entries stored.
int64_t CheckStore(const fs::path& data_dir, const std::vector<Hash32>& ids, int64_t acknowledged,
                   const std::string& when) {
  SCOPED_TRACE(when);
  auto store = store::Store::Open(store::StoreOptions{store::StorePathIn(data_dir.string())});
  EXPECT_TRUE(store.ok()) << store.error().ToString();
  if (!store.ok()) return -1;
  int64_t missing = 0;
  std::string first_missing;
  for (int64_t i = 0; i < acknowledged; ++i) {
    auto got = (*store)->Get(ids[static_cast<size_t>(i)]);
    if (!got.ok()) {
      ADD_FAILURE() << "Get failed: " << got.error().ToString();
      return -1;
    }
    if (!*got) {
      if (missing++ == 0) first_missing = "bundle entry #" + std::to_string(i);
    } else if ((*got)->id() != ids[static_cast<size_t>(i)]) {
      ADD_FAILURE() << "Get returned another entry for bundle entry #" << i;
    }
  }
  EXPECT_EQ(missing, 0) << missing << " of " << acknowledged
                        << " acknowledged entries are missing; the first is " << first_missing;
  auto report = (*store)->Verify(/*all_signatures=*/false);
  EXPECT_TRUE(report.ok()) << report.error().ToString();
  int64_t stored = -1;
  if (report.ok()) {
    std::string problems;
    for (const auto& p : report->problems) problems += "\n  " + p;
    EXPECT_TRUE(report->ok()) << "Store::Verify found problems:" << problems;
    stored = report->entries_checked;
  }
  auto stats = (*store)->Stats();
  EXPECT_TRUE(stats.ok());
  if (stats.ok()) {
    EXPECT_GE(stats->entries, acknowledged);
    EXPECT_LE(stats->entries, kTotal);
    stored = stats->entries;
  }
  return stored;
}

TEST(ImportCrashTest, SigkillDuringImportKeepsAcknowledgedEntries) {
  InitCrypto();
  const int rounds = std::max(1, EnvInt("PANDO_CRASH_ROUNDS", 15));
  const unsigned seed = static_cast<unsigned>(EnvInt("PANDO_CRASH_SEED", 20240601));
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const fs::path bundle = tmp.path() / "big.bundle";
  const fs::path data_dir = tmp.path() / "data";
  const fs::path stderr_log = tmp.path() / "pando-stderr.log";
  const std::vector<std::string> import_args = {"--data-dir", data_dir.string(), "import",
                                                bundle.string(), "--progress"};

  auto t0 = Clock::now();
  const std::vector<Hash32> ids = WriteBundle(bundle);
  ASSERT_EQ(static_cast<int64_t>(ids.size()), kTotal);
  std::cout << "[crash] bundle: " << kTotal << " entries (" << kAuthors << " authors x "
            << kEntriesPerAuthor << "), " << fs::file_size(bundle) / 1024 << " KiB, written in "
            << SecondsSince(t0) << " s; rounds " << rounds << ", seed " << seed << "\n";

  std::mt19937 rng(seed);
  int64_t acknowledged = 0;   // Most entries any round acknowledged: all must stay.
  int64_t stored_before = 0;  // Entries in the store before the round.
  int kills = 0, kills_mid_import = 0, kills_storing_new = 0, completed = 0;
  for (int round = 1; round <= rounds; ++round) {
    // Half the rounds die at a random time (often while opening the store or re-reading
    // duplicates); the others soon after the import gets past what is already stored, so
    // they die while new entries are being written.
    KillPlan plan;
    if (rng() % 2 == 0) {
      plan.delay_ms = 5 + static_cast<int>(rng() % 396);  // 5..400 ms after the start.
    } else {
      plan.lines = 1;
      // Once everything is stored, die at a random point of the re-import instead.
      plan.settled_above =
          stored_before < kTotal ? stored_before : static_cast<int64_t>(rng() % kTotal);
      plan.jitter_ms = static_cast<int>(rng() % 30);
    }
    ChildResult r = RunPando(import_args, plan, stderr_log);
    ASSERT_TRUE(r.spawned);
    ASSERT_FALSE(r.timed_out) << "round " << round << " ran over " << kRoundWatchdog.count()
                              << " s; stderr:\n"
                              << Tail(stderr_log);
    if (r.killed) {
      ++kills;
      if (r.max_settled > 0 && r.max_settled < kTotal) ++kills_mid_import;
    } else {
      ++completed;
      EXPECT_EQ(r.exit_code, 0) << "round " << round << " output:\n"
                                << r.output << "stderr:\n"
                                << Tail(stderr_log);
      EXPECT_EQ(r.max_settled, kTotal) << "an import that ran to the end settles everything";
    }
    acknowledged = std::max(acknowledged, r.max_settled);
    const int64_t stored =
        CheckStore(data_dir, ids, acknowledged, "after round " + std::to_string(round));
    if (r.killed && stored > stored_before && stored < kTotal) ++kills_storing_new;
    stored_before = std::max<int64_t>(stored_before, stored);
    std::cout << "[crash] round " << round << ": kill " << plan.Describe() << " -> "
              << (r.killed ? "killed" : "exited " + std::to_string(r.exit_code)) << " after "
              << r.seconds << " s, settled " << r.max_settled << " (" << r.settled_lines
              << " lines), stored " << stored << "\n";
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) {
      std::cout << "[crash] pando stderr:\n" << Tail(stderr_log) << "\n";
      FAIL() << "round " << round << " failed";
    }
  }

  // A last import runs to the end: everything is stored and `pando verify` passes.
  ChildResult last = RunPando(import_args, KillPlan{}, stderr_log);
  ASSERT_TRUE(last.spawned);
  ASSERT_FALSE(last.killed || last.timed_out);
  EXPECT_EQ(last.exit_code, 0) << last.output << Tail(stderr_log);
  EXPECT_EQ(last.max_settled, kTotal);
  EXPECT_EQ(CheckStore(data_dir, ids, kTotal, "after the final import"), kTotal);
  ChildResult verify =
      RunPando({"--data-dir", data_dir.string(), "verify"}, KillPlan{}, stderr_log);
  ASSERT_TRUE(verify.spawned);
  EXPECT_EQ(verify.exit_code, 0) << verify.output << Tail(stderr_log);

  std::cout << "[crash] rounds " << rounds << ", killed " << kills << " (" << kills_mid_import
            << " mid-import with 0 < settled < " << kTotal << ", " << kills_storing_new
            << " while storing new entries), ran to the end " << completed << "; final import "
            << last.seconds << " s; total " << SecondsSince(t0) << " s\n";
  EXPECT_GE(kills_mid_import, 1) << "no round was killed in the middle of an import";
  EXPECT_GE(kills_storing_new, 1) << "no round was killed while storing new entries";
}

}  // namespace
}  // namespace pando
