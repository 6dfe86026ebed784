// A real etcd cluster for tests and benchmarks: N members (default 3) started as child
// processes of /usr/bin/etcd (Debian's etcd-server, or $PANDO_ETCD) on 127.0.0.1, each with
// free ports and its own data directory under one temporary directory, and killed with the
// directory when the object dies. Nothing of a system etcd is used.
//
// The members get SIGKILL if the thread that started them exits (PR_SET_PDEATHSIG), so they
// never outlive a crashed test: start the cluster on a thread that outlives it (the test's
// own). Not thread-safe, except that Kill may be called from another thread than the others.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/error_codes.h"
#include "names/etcd_http.h"

namespace pando::testing {

class EtcdCluster {
 public:
  struct Options {
    int members = 3;
    // The etcd binary: $PANDO_ETCD if set, else Debian's.
    std::string binary = std::getenv("PANDO_ETCD") ? std::getenv("PANDO_ETCD") : "/usr/bin/etcd";
    // How long the members may take to answer and agree on a leader, per attempt.
    std::chrono::milliseconds start_timeout{30000};
  };

  // Starts the members and waits until each answers and all name the same leader. Retries
  // with other ports (another process may take a free port first) up to three times. Error
  // (IO_ERROR) if etcd is not installed or the cluster does not come up, with its logs.
  static Result<std::unique_ptr<EtcdCluster>> Start(Options options) {
    if (::access(options.binary.c_str(), X_OK) != 0) {
      return Error{codes::kIo, "etcd is not installed at " + options.binary +
                                   ": the etcd tests need it (Debian packages etcd-server and "
                                   "etcd-client, which scripts/install-deps.sh installs)."};
    }
    std::string why;
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::unique_ptr<EtcdCluster> c(new EtcdCluster());
      auto started = c->Launch(options);
      if (started.ok()) return c;
      why = started.error().message;
    }
    return Error{codes::kIo, "The etcd cluster did not start: " + why};
  }
  static Result<std::unique_ptr<EtcdCluster>> Start() { return Start(Options{}); }

  ~EtcdCluster() {
    for (size_t i = 0; i < members_.size(); ++i) Kill(static_cast<int>(i));
    std::error_code ignored;
    if (!root_.empty()) std::filesystem::remove_all(root_, ignored);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // Every member's client URL, in member order, killed ones included.
  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const Member& m : members_) out.push_back(m.client_url);
    return out;
  }
  std::vector<std::string> LiveEndpoints() const {
    std::vector<std::string> out;
    for (int i = 0; i < size(); ++i) {
      if (alive(i)) out.push_back(members_[i].client_url);
    }
    return out;
  }
  bool alive(int i) const {
    std::lock_guard lock(mu_);
    return members_[i].pid > 0;
  }

  // The index of the member the live members name as leader (POST /v3/maintenance/status),
  // once one is; -1 if none is named within timeout.
  int LeaderIndex(std::chrono::milliseconds timeout = std::chrono::seconds(15)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      for (int i = 0; i < size(); ++i) {
        if (!alive(i)) continue;
        auto s = StatusOf(i);
        if (!s) continue;
        for (int j = 0; j < size(); ++j) {
          if (members_[j].id == s->leader && s->leader != 0 && alive(j)) return j;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return -1;
  }

  // SIGKILL: the member stops at once, as in a power cut (its fsynced data stays on disk).
  void Kill(int i) {
    pid_t pid;
    {
      std::lock_guard lock(mu_);
      pid = members_[i].pid;
      members_[i].pid = -1;
    }
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }

  // The end of member i's log (its stderr), for a failure message.
  std::string LogTail(int i, size_t bytes = 2000) const {
    std::ifstream f(members_[i].log, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    const std::string all = s.str();
    return all.size() > bytes ? all.substr(all.size() - bytes) : all;
  }

 private:
  struct Member {
    std::string client_url, peer_url, dir, log;
    pid_t pid = -1;
    uint64_t id = 0;  // etcd's member id, known once it answered.
  };
  struct MemberStatus {
    uint64_t id = 0, leader = 0;
  };

  EtcdCluster() = default;

  // Ports nobody listens on now: bound to port 0 all at once (so they differ), then freed.
  static std::optional<std::vector<uint16_t>> FreePorts(int n) {
    std::vector<int> fds;
    std::vector<uint16_t> ports;
    for (int i = 0; i < n; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      fds.push_back(fd);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof a;
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
          ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        break;
      }
      ports.push_back(ntohs(a.sin_port));
    }
    for (int fd : fds) ::close(fd);
    if (static_cast<int>(ports.size()) != n) return std::nullopt;
    return ports;
  }

  // Forks and execs etcd with args; its stdout and stderr go to log. In the child only
  // async-signal-safe calls are made (the parent may have threads).
  static pid_t Spawn(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& log) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // The parent died before prctl took effect.
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int in = ::open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::close_range(3, ~0U, 0);  // No descriptor of the test (sockets, files) leaks into etcd.
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }

  std::optional<MemberStatus> StatusOf(int i) const {
    auto endpoint = names::etcd::ParseEndpoint(members_[i].client_url);
    if (!endpoint.ok()) return std::nullopt;
    auto reply = names::etcd::Post(*endpoint, "/v3/maintenance/status", "{}",
                                   std::chrono::milliseconds(1000));
    if (!reply.ok() || reply->status != 200) return std::nullopt;
    auto j = nlohmann::json::parse(reply->body, nullptr, false);
    auto number = [](const nlohmann::json& v) -> uint64_t {
      return v.is_string() ? std::strtoull(v.get<std::string>().c_str(), nullptr, 10) : 0;
    };
    if (!j.is_object() || !j.contains("header") || !j["header"].is_object()) return std::nullopt;
    MemberStatus s;
    s.id = number(j["header"].value("member_id", nlohmann::json()));
    s.leader = number(j.value("leader", nlohmann::json()));
    return s;
  }

  Status Launch(const Options& options) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pando-etcd-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return Error{codes::kIo, "mkdtemp failed."};
    root_ = tmpl;
    auto ports = FreePorts(2 * options.members);
    if (!ports) return Error{codes::kIo, "No free ports on 127.0.0.1."};
    std::string initial;
    for (int i = 0; i < options.members; ++i) {
      Member m;
      m.client_url = "http://127.0.0.1:" + std::to_string((*ports)[2 * i]);
      m.peer_url = "http://127.0.0.1:" + std::to_string((*ports)[2 * i + 1]);
      m.dir = root_ + "/m" + std::to_string(i);
      m.log = m.dir + ".log";
      initial += (i ? "," : "") + ("m" + std::to_string(i)) + "=" + m.peer_url;
      members_.push_back(m);
    }
    const std::string token =
        "pando-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device()());
    for (int i = 0; i < options.members; ++i) {
      Member& m = members_[i];
      const std::vector<std::string> args = {"--name",
                                             "m" + std::to_string(i),
                                             "--data-dir",
                                             m.dir,
                                             "--listen-client-urls",
                                             m.client_url,
                                             "--advertise-client-urls",
                                             m.client_url,
                                             "--listen-peer-urls",
                                             m.peer_url,
                                             "--initial-advertise-peer-urls",
                                             m.peer_url,
                                             "--initial-cluster",
                                             initial,
                                             "--initial-cluster-state",
                                             "new",
                                             "--initial-cluster-token",
                                             token,
                                             "--logger",
                                             "zap",
                                             "--log-outputs",
                                             "stderr",
                                             "--log-level",
                                             "error"};
      m.pid = Spawn(options.binary, args, m.log);
      if (m.pid < 0) return Error{codes::kIo, "fork failed."};
    }
    return WaitUntilReady(options.start_timeout);
  }

  // Until every member answers and names the same leader, or a member exits, or time is up.
  Status WaitUntilReady(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (int i = 0; i < size(); ++i) {
        int wstatus = 0;
        if (::waitpid(members_[i].pid, &wstatus, WNOHANG) == members_[i].pid) {
          members_[i].pid = -1;
          return Error{codes::kIo,
                       "member " + std::to_string(i) + " exited; its log ends:\n" + LogTail(i)};
        }
      }
      std::vector<MemberStatus> statuses;
      for (int i = 0; i < size(); ++i) {
        if (auto s = StatusOf(i)) statuses.push_back(*s);
      }
      bool ready = static_cast<int>(statuses.size()) == size();
      for (const MemberStatus& s : statuses) {
        ready = ready && s.leader != 0 && s.leader == statuses[0].leader;
      }
      if (ready) {
        for (int i = 0; i < size(); ++i) members_[i].id = statuses[i].id;
        return Status::Ok();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Error{codes::kIo, "the members did not agree on a leader within " +
                                 std::to_string(timeout.count()) + " ms; member 0's log ends:\n" +
                                 LogTail(0)};
  }

  std::string root_;
  std::vector<Member> members_;
  mutable std::mutex mu_;  // Guards the members' pids (Kill may run on another thread).
};

}  // namespace pando::testing
