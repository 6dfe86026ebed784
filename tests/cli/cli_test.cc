// End-to-end tests of the `pando` binary: each test runs real processes on temp directories.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "testutil/feed.h"

namespace {

using pando::testing::TempDir;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(int fd) {
  std::string s;
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) s.append(buf.data(), n);
  return s;
}

// Runs pando with args, the given environment additions and optional stdin text.
Outcome Pando(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
              const std::string& input = "") {
  TempDir io;
  const std::string in_path = io.path() + "/in", out_path = io.path() + "/out",
                    err_path = io.path() + "/err";
  std::ofstream(in_path) << input;
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open(in_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT, 0600);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::unsetenv("PANDO_HOME");
    ::unsetenv("XDG_DATA_HOME");
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv = {const_cast<char*>(PANDO_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(PANDO_BIN, argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  Outcome o;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int fd = ::open(out_path.c_str(), O_RDONLY);
  o.out = ReadAll(fd);
  ::close(fd);
  fd = ::open(err_path.c_str(), O_RDONLY);
  o.err = ReadAll(fd);
  ::close(fd);
  return o;
}

class CliTest : public ::testing::Test {
 protected:
  std::map<std::string, std::string> Env(const std::string& home) { return {{"PANDO_HOME", home}}; }
  Outcome Run(const std::vector<std::string>& args, const std::string& input = "") {
    return Pando(args, Env(home()), input);
  }
  std::string home() const { return dir_.path() + "/home"; }
  std::vector<nlohmann::json> LogJson(const std::string& h) {
    Outcome o = Pando({"log", "--json"}, Env(h));
    EXPECT_EQ(o.exit_code, 0) << o.err;
    std::vector<nlohmann::json> out;
    std::istringstream lines(o.out);
    for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  TempDir dir_;
};

TEST_F(CliTest, InitCreatesAPrivateKeyAndNeverOverwritesIt) {
  Outcome init = Run({"init"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  struct stat st;
  ASSERT_EQ(::stat((home() + "/identity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(home().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  Outcome id = Run({"id"});
  ASSERT_EQ(id.exit_code, 0);
  EXPECT_EQ(id.out.size(), 58u);  // "pd" + 55 base32 characters + newline.
  EXPECT_EQ(id.out.substr(0, 2), "pd");

  Outcome again = Run({"init"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("IDENTITY_EXISTS"), std::string::npos);
  EXPECT_EQ(Run({"id"}).out, id.out);
}

TEST_F(CliTest, DataDirectoryPrecedence) {
  const std::string flag_dir = dir_.path() + "/flag", xdg = dir_.path() + "/xdg";
  ASSERT_EQ(Pando({"init"}, {{"XDG_DATA_HOME", xdg}}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(xdg + "/pando/identity.key"));
  ASSERT_EQ(Pando({"--data-dir", flag_dir, "init"}, Env(home())).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(flag_dir + "/identity.key"));
  EXPECT_FALSE(std::filesystem::exists(home()));
  ASSERT_EQ(Pando({"init"}, Env(home())).exit_code, 0);
  EXPECT_NE(Pando({"id"}, Env(home())).out, Pando({"--data-dir", flag_dir, "id"}, {}).out);
}

TEST_F(CliTest, PostLogShow) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  Outcome p1 = Run({"post", "--group", "blog.me", "first *post*"});
  ASSERT_EQ(p1.exit_code, 0) << p1.err;
  ASSERT_EQ(p1.out.size(), 65u);
  Outcome p2 = Run({"post", "-g", "blog.me", "-"}, "from\nstdin\n");
  ASSERT_EQ(p2.exit_code, 0) << p2.err;
  ASSERT_EQ(Run({"post", "-g", "other", "--kind", "raw", "x"}).exit_code, 0);

  auto log = LogJson(home());
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["payload"], "first *post*");
  EXPECT_EQ(log[0]["seq"], 1);
  EXPECT_EQ(log[1]["payload"], "from\nstdin\n");
  EXPECT_EQ(log[1]["seq"], 2);
  EXPECT_EQ(log[1]["prev"], log[0]["id"]);
  EXPECT_EQ(log[2]["seq"], 1);  // Its own feed: seq counts per (author, group).
  EXPECT_EQ(log[2]["kind"], 0);
  EXPECT_EQ(log[0]["id"], p1.out.substr(0, 64));

  Outcome by_group = Run({"log", "--group", "other", "--json"});
  EXPECT_EQ(std::count(by_group.out.begin(), by_group.out.end(), '\n'), 1);
  Outcome by_author = Run({"log", "--author", Run({"id"}).out.substr(0, 57)});
  EXPECT_EQ(by_author.exit_code, 0) << by_author.err;
  EXPECT_EQ(std::count(by_author.out.begin(), by_author.out.end(), '\n'), 3);

  Outcome show = Run({"show", p1.out.substr(0, 6)});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("first *post*"), std::string::npos);
  EXPECT_NE(show.out.find("blog.me"), std::string::npos);
  Outcome missing = Run({"show", "00000000"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("NOT_FOUND"), std::string::npos);
}

// What docs/cli.md shows a command printing: the lines after "$ COMMAND" in its code blocks,
// up to the next command or the end of the block ("" if the page shows no such command).
std::string DocOutput(const std::string& command) {
  std::ifstream page(PANDO_DOCS "/cli.md");
  std::string line, out;
  bool in_output = false;
  while (std::getline(page, line)) {
    if (in_output && (line.starts_with("$ ") || line.starts_with("```"))) break;
    if (in_output) out += line + "\n";
    if (line == "$ " + command) in_output = true;
  }
  return out;
}

// The example session of docs/cli.md: three posts in two feeds, verified, exported and
// imported twice; each command prints what the page shows.
TEST_F(CliTest, ExampleSessionPrintsWhatTheDocShows) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  ASSERT_EQ(Run({"post", "--group", "blog.alice", "Hello, *world*"}).exit_code, 0);
  ASSERT_EQ(Run({"post", "-g", "blog.alice", "-"}, "Second post\n").exit_code, 0);
  ASSERT_EQ(Run({"post", "-g", "notes", "-k", "raw", "x"}).exit_code, 0);
  for (std::string_view command : {"pando verify", "pando verify --all-signatures"}) {
    const std::string shown = DocOutput(std::string(command));
    ASSERT_FALSE(shown.empty()) << command;
    std::vector<std::string> args = {"verify"};
    if (command.ends_with("--all-signatures")) args.push_back("--all-signatures");
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 0) << o.err;
    EXPECT_EQ(o.out, shown) << command;
  }
  const std::string bundle = dir_.path() + "/backup.pbdl", other = dir_.path() + "/b";
  ASSERT_EQ(Run({"export", bundle}).exit_code, 0);
  Outcome first = Pando({"import", "--progress", bundle}, Env(other));
  EXPECT_EQ(first.out, DocOutput("pando --data-dir /tmp/docdemo-b import --progress backup.pbdl"));
  Outcome again = Pando({"import", bundle}, Env(other));
  EXPECT_EQ(again.out, DocOutput("pando --data-dir /tmp/docdemo-b import backup.pbdl"));
}

TEST_F(CliTest, FailuresPrintTheirCodeAndStoreNothing) {
  Outcome no_id = Run({"post", "-g", "g", "x"});
  EXPECT_EQ(no_id.exit_code, 1);
  EXPECT_NE(no_id.err.find("NO_IDENTITY"), std::string::npos);

  ASSERT_EQ(Run({"init"}).exit_code, 0);
  ASSERT_EQ(Run({"post", "-g", "g", "kept"}).exit_code, 0);
  struct Case {
    std::vector<std::string> args;
    std::string input;
    const char* code;
    int exit_code;
  };
  const std::vector<Case> cases = {
      {{"post", "-g", "Bad/Group", "x"}, "", "INVALID_GROUP", 1},
      {{"post", "-g", "g", "-"}, std::string(65537, 'a'), "OVERSIZE", 1},
      {{"post", "-g", "g", "--kind", "nonsense", "x"}, "", "BAD_ARGUMENT", 2},
      {{"log", "-n", "-1"}, "", "BAD_ARGUMENT", 2},
      {{"post", "x"}, "", "BAD_ARGUMENT", 2},
      {{"log", "--author", "pdnotanid"}, "", "BAD_ID", 1},
      {{"frobnicate"}, "", "BAD_ARGUMENT", 2},
      {{"import", dir_.path() + "/absent.pbdl"}, "", "IO_ERROR", 1},
  };
  for (const Case& c : cases) {
    Outcome o = Run(c.args, c.input);
    EXPECT_EQ(o.exit_code, c.exit_code) << c.args[0] << " " << o.err;
    EXPECT_NE(o.err.find(c.code), std::string::npos) << o.err;
  }
  EXPECT_EQ(LogJson(home()).size(), 1u);
  EXPECT_EQ(Run({"verify"}).exit_code, 0);
}

TEST_F(CliTest, HelpWorksEverywhere) {
  for (const char* verb :
       {"init", "id", "post", "log", "show", "verify", "export", "import", "forks"}) {
    Outcome o = Run({verb, "--help"});
    EXPECT_EQ(o.exit_code, 0) << verb;
    EXPECT_NE(o.out.find("Usage"), std::string::npos) << verb;
  }
  EXPECT_EQ(Run({"--help"}).exit_code, 0);
}

TEST_F(CliTest, ExportImportAndGarbage) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Run({"post", "-g", "g", std::to_string(i)}).exit_code, 0);
  const std::string bundle = dir_.path() + "/b.pbdl", other = dir_.path() + "/other";
  ASSERT_EQ(Run({"export", bundle}).exit_code, 0);
  Outcome imp = Pando({"import", bundle}, Env(other));
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  EXPECT_NE(imp.out.find("stored: 5"), std::string::npos) << imp.out;
  EXPECT_EQ(LogJson(other), LogJson(home()));

  std::ofstream(dir_.path() + "/junk") << "definitely not a bundle";
  Outcome junk = Pando({"import", dir_.path() + "/junk"}, Env(other));
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.err.find("BAD_BUNDLE"), std::string::npos);
  EXPECT_EQ(Pando({"verify"}, Env(other)).exit_code, 0);
}

TEST_F(CliTest, VerifyCatchesTampering) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  ASSERT_EQ(Run({"post", "-g", "g", "original text"}).exit_code, 0);
  ASSERT_EQ(Run({"verify"}).exit_code, 0);
  const std::string db = home() + "/pando.db";
  ASSERT_EQ(std::system(("sqlite3 " + db +
                         " \"UPDATE entries SET raw = replace(raw, CAST('original' AS BLOB), "
                         "CAST('modified' AS BLOB))\"")
                            .c_str()),
            0);
  Outcome v = Run({"verify"});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.err.find("VERIFY_FAILED"), std::string::npos);
}

// Two machines holding the same key both post seq 1: whoever sees both has a fork proof.
TEST_F(CliTest, ForkedAuthorIsMarkedAndTheProofTravels) {
  const std::string a = dir_.path() + "/a", b = dir_.path() + "/b", c = dir_.path() + "/c";
  ASSERT_EQ(Pando({"init"}, Env(a)).exit_code, 0);
  std::filesystem::create_directories(b);
  std::filesystem::copy_file(a + "/identity.key", b + "/identity.key");
  ::chmod((b + "/identity.key").c_str(), 0600);
  ASSERT_EQ(Pando({"post", "-g", "g", "from a"}, Env(a)).exit_code, 0);
  Outcome pb = Pando({"post", "-g", "g", "from b"}, Env(b));
  ASSERT_EQ(pb.exit_code, 0) << pb.err;
  ASSERT_EQ(Pando({"export", dir_.path() + "/b.pbdl"}, Env(b)).exit_code, 0);

  Outcome imp = Pando({"import", dir_.path() + "/b.pbdl"}, Env(a));
  EXPECT_EQ(imp.exit_code, 1);
  EXPECT_NE(imp.err.find("FORKED"), std::string::npos) << imp.err;
  EXPECT_NE(Pando({"log"}, Env(a)).out.find("[FORKED]"), std::string::npos);
  EXPECT_EQ(LogJson(a).at(0)["author_forked"], true);
  EXPECT_NE(Pando({"forks"}, Env(a)).out.find("seq 1"), std::string::npos);
  Outcome refused = Pando({"post", "-g", "g", "again"}, Env(a));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("AUTHOR_FORKED"), std::string::npos);

  ASSERT_EQ(Pando({"export", dir_.path() + "/a.pbdl"}, Env(a)).exit_code, 0);
  Outcome to_c = Pando({"import", dir_.path() + "/a.pbdl"}, Env(c));
  EXPECT_NE(to_c.out.find("fork proofs: 1"), std::string::npos) << to_c.out;
  EXPECT_NE(Pando({"forks"}, Env(c)).out.find("seq 1"), std::string::npos);
  EXPECT_EQ(Pando({"verify"}, Env(c)).exit_code, 0);
}

// pando sim takes its scenario from flags or a JSON file of flag names (flags win), and
// refuses a file with an unknown key or a value of the wrong type.
TEST_F(CliTest, SimTakesAScenarioFile) {
  const std::string file = dir_.path() + "/scenario.json";
  std::ofstream(file) << R"({"nodes": 300, "groups": 3, "entries": 4, "post-interval": 100})";
  Outcome run = Run({"sim", "--scenario", file, "--entries", "8"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json r = nlohmann::json::parse(run.out)["result"];
  EXPECT_EQ(r["scenario"]["nodes"], 300);
  EXPECT_EQ(r["scenario"]["groups"], 3);
  EXPECT_EQ(r["scenario"]["entries"], 8);  // The flag wins over the file.
  EXPECT_EQ(r["scenario"]["post_interval_ms"], 100);
  EXPECT_EQ(r["delivery"]["ratio"], 1.0);
  EXPECT_EQ(r["groups"]["held_outside_their_group"], 0);

  std::ofstream(file) << R"({"nodez": 300})";
  Outcome unknown = Run({"sim", "--scenario", file});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("error: BAD_ARGUMENT:"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("nodez"), std::string::npos);
  std::ofstream(file) << R"({"nodes": "many"})";
  EXPECT_NE(Run({"sim", "--scenario", file}).err.find("BAD_ARGUMENT"), std::string::npos);
  EXPECT_NE(Run({"sim", "--scenario", dir_.path() + "/none.json"}).err.find("NOT_FOUND"),
            std::string::npos);
}

}  // namespace
