// Real `pando node` processes on 127.0.0.1 for integration tests: start, stop, kill, post and
// read through each node's local API. Every wait is bounded; a NodeProcess still running when
// its object dies is killed.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/api_client.h"
#include "client/http_client.h"
#include "core/crypto.h"
#include "core/endpoint.h"
#include "core/entry.h"
#include "core/identity.h"
#include "store/feed_writer.h"
#include "testutil/feed.h"

namespace pando::testing {

using Clock = std::chrono::steady_clock;

// Polls pred every 50 ms until it holds or `limit` passes; returns whether it held.
// This machine's clock in milliseconds since the epoch: an entry timestamp for now.
inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline bool WaitFor(std::chrono::milliseconds limit, const std::function<bool()>& pred) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// Runs pando to completion; returns (exit status, its output). Standard error goes to *err
// when given, else into the output with standard output.
inline std::pair<int, std::string> RunPando(const std::vector<std::string>& args,
                                            std::string* err = nullptr) {
  TempDir io;
  const std::string out = io.path() + "/out", err_path = io.path() + "/err";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT, 0600);
    ::dup2(fd, 1);
    if (err == nullptr) {
      ::dup2(fd, 2);
    } else {
      ::dup2(::open(err_path.c_str(), O_WRONLY | O_CREAT, 0600), 2);
    }
    std::vector<std::string> a = {PANDO_BIN};
    a.insert(a.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(PANDO_BIN, argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto read = [](const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  };
  if (err != nullptr) *err = read(err_path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read(out)};
}

class NodeProcess {
 public:
  explicit NodeProcess(std::string data_dir) : dir_(std::move(data_dir)) {}
  ~NodeProcess() { Kill(); }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts `pando node` with the given extra flags and waits until its API answers. The
  // first start picks free ports; later starts reuse them, so peers' address books stay
  // true.
  bool Start(const std::vector<std::string>& extra = {}) {
    std::filesystem::create_directories(dir_);
    std::filesystem::remove(dir_ + "/node.json");
    std::vector<std::string> args = {PANDO_BIN,  "--data-dir",
                                     dir_,       "node",
                                     "--listen", "127.0.0.1:" + std::to_string(peer_port_),
                                     "--http",   "127.0.0.1:" + std::to_string(http_port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string log = dir_ + "/node.log";
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(PANDO_BIN, argv.data());
      ::_exit(127);
    }
    const bool up = WaitFor(std::chrono::seconds(20), [&] {
      std::ifstream f(dir_ + "/node.json");
      if (!f) return false;
      auto j = nlohmann::json::parse(f, nullptr, false);
      if (j.is_discarded() || j.value("pid", 0) != pid_) return false;
      info_ = j;
      return true;
    });
    if (!up) return false;
    auto peer = ParseEndpoint(info_["peer"].get<std::string>());
    auto http = ParseEndpoint(info_["http"].get<std::string>());
    peer_port_ = peer->port;
    http_port_ = http->port;
    return true;
  }

  // SIGTERM, then wait (bounded) for a clean exit; returns the exit status or -1.
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    return Reap(std::chrono::seconds(15));
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    Reap(std::chrono::seconds(5));
  }
  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }

  std::string bootstrap() const {
    return info_["author"].get<std::string>() + "@" + info_["peer"].get<std::string>();
  }
  const std::string& dir() const { return dir_; }
  std::string author() const { return info_["author"].get<std::string>(); }
  client::ApiClient api() const { return client::ApiClient({"127.0.0.1", http_port_}); }

  // Whether the node has started and has a neighbour in every group's overlay: before that,
  // a write elsewhere reaches it only by the next reconciliation, seconds later.
  bool Joined() const {
    auto s = api().Get("/api/v1/status");
    if (!s.ok() || !(*s)["started"].get<bool>()) return false;
    for (const auto& g : (*s)["groups"]) {
      if (g["neighbours"].empty()) return false;
    }
    return true;
  }

  // The ids of the entries this node holds (all groups), read page after page.
  std::set<std::string> Ids() const {
    std::set<std::string> out;
    std::string target = "/api/v1/log?limit=1000";
    while (true) {
      auto log = api().Get(target);
      if (!log.ok()) return out;
      for (const auto& hex : (*log)["entries"]) {
        auto bytes = FromHex(hex.get<std::string>());
        auto e = Entry::Decode(*bytes);
        if (e.ok()) out.insert(ToHex(e->id()));
      }
      if (!log->contains("next")) return out;
      target = "/api/v1/log?limit=1000&before=" + (*log)["next"].get<std::string>();
    }
  }

  // The next entry of this node's feed in `group`, signed with its identity (the feed head
  // read through the API), not yet posted.
  std::optional<Entry> Sign(const std::string& group, const std::string& text) const {
    auto key = LoadIdentity(dir_);
    if (!key.ok()) return std::nullopt;
    auto head = api().Get("/api/v1/head?author=" + AuthorId(key->public_key()) + "&group=" + group);
    if (!head.ok()) return std::nullopt;
    std::optional<FeedHead> h;
    if ((*head)["seq"].get<uint64_t>() > 0) {
      auto prev = FromHex((*head)["id"].get<std::string>());
      h.emplace();
      h->seq = (*head)["seq"].get<uint64_t>();
      std::copy(prev->begin(), prev->end(), h->id.begin());
      h->timestamp_ms = (*head)["timestamp_ms"].get<int64_t>();
    }
    EntryDraft d;
    d.group = group;
    d.kind = 1;
    d.payload.assign(text.begin(), text.end());
    d = store::NextDraft(h, std::move(d), NowMs());
    auto e = Entry::Sign(d, *key);
    if (!e.ok()) return std::nullopt;
    return std::move(e).value();
  }

  // Signs an entry with this node's identity and posts it through its API; returns the id,
  // or "" if the node refused it.
  std::string Post(const std::string& group, const std::string& text) const {
    std::optional<Entry> e = Sign(group, text);
    if (!e) return "";
    auto r = api().Post("/api/v1/entries", {{"entry", ToHex(e->bytes())}});
    return r.ok() ? ToHex(e->id()) : "";
  }

 private:
  int Reap(std::chrono::milliseconds limit) {
    int status = 0;
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }

  std::string dir_;
  pid_t pid_ = -1;
  uint16_t peer_port_ = 0, http_port_ = 0;
  nlohmann::json info_;
};

// One HTTP/1.1 request to a node's HTTP port on a fresh connection (client::HttpClient),
// bounded by a 10 s deadline: for pages and raw answers, which ApiClient (JSON only) does not
// read. No answer at all gives status 0.
struct HttpAnswer {
  unsigned status = 0;
  std::string body;
  std::string code;  // error.code of a JSON error body, else "".
};

inline HttpAnswer Http(uint16_t port, boost::beast::http::verb method, const std::string& target,
                       std::string body = "",
                       const std::string& content_type = "application/json") {
  client::HttpOptions options;
  options.timeout = std::chrono::seconds(10);
  options.body_bytes_max = 64 << 20;
  client::HttpRequest req;
  req.method = std::string(boost::beast::http::to_string(method));
  req.target = target;
  if (!body.empty()) req.headers.push_back({"Content-Type", content_type});
  req.body = std::move(body);
  auto res = client::HttpClient({"127.0.0.1", port}, options).Send(req);
  HttpAnswer a;
  if (!res.ok()) return a;
  a.status = res->status;
  a.body = std::move(res->body);
  auto j = nlohmann::json::parse(a.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    a.code = j["error"].value("code", "");
  }
  return a;
}

// A test of real node processes, each in its own directory under one temporary directory,
// all killed when the test ends.
class NodesTest : public ::testing::Test {
 protected:
  // Starts `pando node` with the extra flags in a new directory (n0, n1, ...).
  NodeProcess& Start(const std::vector<std::string>& extra = {}) {
    nodes_.push_back(
        std::make_unique<NodeProcess>(dir_.path() + "/n" + std::to_string(nodes_.size())));
    EXPECT_TRUE(nodes_.back()->Start(extra)) << "node did not start";
    return *nodes_.back();
  }
  TempDir dir_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
};

}  // namespace pando::testing
