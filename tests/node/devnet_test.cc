// `pando devnet`: a supervised local network of real node processes, and the verbs that act
// on it. Every wait is bounded.
#include <gtest/gtest.h>

#include "node/harness.h"
#include "testutil/feed.h"

namespace pando::testing {
namespace {

using std::chrono::seconds;

class DevnetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    dir_ = tmp_.path() + "/net";
    supervisor_ = ::fork();
    if (supervisor_ == 0) {
      const std::string log = tmp_.path() + "/devnet.out";
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(PANDO_BIN, PANDO_BIN, "devnet", "3", "--dir", dir_.c_str(), "--posts", "2",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_TRUE(WaitFor(seconds(60), [&] {
      nlohmann::json d = Devnet();
      if (!d.is_object()) return false;
      for (const auto& n : d["nodes"]) {
        if (n.value("pid", 0) <= 0) return false;
      }
      return d["nodes"].size() == 3;
    })) << "the devnet did not come up";
  }
  void TearDown() override {
    if (supervisor_ > 0) {
      ::kill(supervisor_, SIGKILL);
      ::waitpid(supervisor_, nullptr, 0);
    }
    // Nodes outlive a SIGKILLed supervisor: stop them by their recorded pids.
    nlohmann::json d = Devnet();
    if (d.is_object()) {
      for (const auto& n : d["nodes"]) {
        if (n.value("pid", 0) > 0) ::kill(n["pid"].get<int>(), SIGKILL);
      }
    }
  }
  nlohmann::json Devnet() const {
    std::ifstream f(dir_ + "/devnet.json");
    if (!f) return nlohmann::json();
    auto j = nlohmann::json::parse(f, nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j;
  }
  int Pid(int i) const { return Devnet()["nodes"][i].value("pid", 0); }
  client::ApiClient Api(int i) const {
    return client::ApiClient(*ParseEndpoint(Devnet()["nodes"][i]["http"].get<std::string>()));
  }
  bool Holds(int i, const std::string& id) const {
    auto r = Api(i).Get("/api/v1/wait?id=" + id + "&timeout_ms=20000");
    return r.ok() && (*r)["held"].get<bool>();
  }
  size_t Entries(int i) const {
    auto r = Api(i).Get("/api/v1/log");
    return r.ok() ? (*r)["entries"].size() : 0;
  }

  TempDir tmp_;
  std::string dir_;
  pid_t supervisor_ = -1;
};

TEST_F(DevnetTest, StartsWiresPostsAndSupervisesNodes) {
  // The sample posts, and the profile names of their two authors, reach every node; a post
  // through any node's data dir reaches all.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitFor(seconds(30), [&] { return Entries(i) == 4; })) << "node " << i;
  }
  auto profile =
      Api(2).Get("/api/v1/authors/" + Devnet()["nodes"][0]["id"].get<std::string>() + "/profile");
  ASSERT_TRUE(profile.ok());
  EXPECT_EQ((*profile)["fields"]["name"], "Devnet node 0");
  auto [code, out] = RunPando({"--data-dir", dir_ + "/node-1", "post", "-g", "catalog", "hi"});
  ASSERT_EQ(code, 0) << out;
  const std::string id = out.substr(0, 64);
  EXPECT_TRUE(Holds(0, id));
  EXPECT_TRUE(Holds(2, id));

  auto status = RunPando({"devnet", "status", "--dir", dir_});
  EXPECT_EQ(status.first, 0);
  EXPECT_NE(status.second.find("node 2  up"), std::string::npos) << status.second;

  // kill keeps a node down; restart brings it back.
  const int old_pid = Pid(1);
  ASSERT_EQ(RunPando({"devnet", "kill", "1", "--dir", dir_}).first, 0);
  EXPECT_TRUE(WaitFor(seconds(20), [&] { return ::kill(old_pid, 0) != 0 && Pid(1) == 0; }));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(Pid(1), 0) << "a killed node was started again";
  EXPECT_NE(RunPando({"devnet", "status", "--dir", dir_}).second.find("node 1  down"),
            std::string::npos);
  ASSERT_EQ(RunPando({"devnet", "restart", "1", "--dir", dir_}).first, 0);
  EXPECT_TRUE(WaitFor(seconds(30), [&] { return Pid(1) > 0; }));
  EXPECT_TRUE(Holds(1, id));

  // A node that crashes is restarted by the supervisor.
  const int crashed = Pid(2);
  ::kill(crashed, SIGKILL);
  EXPECT_TRUE(WaitFor(seconds(30), [&] { return Pid(2) > 0 && Pid(2) != crashed; }));
  EXPECT_TRUE(Holds(2, id));

  // SIGTERM stops the supervisor and every node.
  std::vector<int> pids = {Pid(0), Pid(1), Pid(2)};
  ::kill(supervisor_, SIGTERM);
  int wstatus = 0;
  EXPECT_TRUE(WaitFor(seconds(30), [&] { return ::waitpid(supervisor_, &wstatus, WNOHANG) > 0; }));
  supervisor_ = -1;
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  for (int pid : pids) EXPECT_NE(::kill(pid, 0), 0) << "node pid " << pid << " still runs";
}

TEST_F(DevnetTest, VerbsOnAMissingDevnetOrNodeFailWithACode) {
  auto none = RunPando({"devnet", "status", "--dir", tmp_.path() + "/nothing"});
  EXPECT_EQ(none.first, 1);
  EXPECT_NE(none.second.find("NOT_FOUND"), std::string::npos) << none.second;
  auto bad = RunPando({"devnet", "kill", "7", "--dir", dir_});
  EXPECT_EQ(bad.first, 1);
  EXPECT_NE(bad.second.find("BAD_ARGUMENT"), std::string::npos) << bad.second;
  auto again = RunPando({"devnet", "3", "--dir", dir_});
  EXPECT_EQ(again.first, 1);
  EXPECT_NE(again.second.find("CONFLICT"), std::string::npos) << again.second;
}

}  // namespace
}  // namespace pando::testing
