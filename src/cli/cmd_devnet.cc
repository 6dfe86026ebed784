// pando devnet: N local nodes on loopback, wired together and supervised.
//
//   pando devnet N [--dir D] [--group G]... [--posts K]   start and supervise (Ctrl-C stops)
//   pando devnet status|kill I|restart I [--dir D]        act on a running devnet
//
// The supervisor starts node 0, then the others with node 0 as bootstrap peer, each with its
// own data directory D/node-I and log D/node-I/node.log, writes D/devnet.json, and from then
// on keeps every node running that was not stopped with `devnet kill` (a node that crashes
// is restarted on its old ports). `kill` and `restart` talk to the supervisor through files:
// D/node-I/stopped marks a node to keep down.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/common.h"
#include "client/api_client.h"
#include "core/error_codes.h"
#include "node/node.h"

namespace pando::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// clang-tidy's exception-escape reports an implicit member function of this plain struct,
// which only moves or destroys strings and a json value; none of that throws.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct DevNode {
  int index = 0;
  std::string dir;
  pid_t pid = -1;
  json info;  // The node's node.json once it is up.
  uint16_t peer_port = 0, http_port = 0;
};

std::string SelfExe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("pando") : p.string();
}

std::string StoppedMarker(const DevNode& n) { return n.dir + "/stopped"; }

json ReadJson(const std::string& path) {
  std::ifstream f(path);
  if (!f) return json();
  auto j = json::parse(f, nullptr, false);
  return j.is_discarded() ? json() : j;
}

void WriteJson(const std::string& path, const json& j) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << j.dump(2) << "\n";
  std::error_code ec;
  fs::rename(tmp, path, ec);
}

bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

class Devnet {
 public:
  Devnet(std::string dir, int n, std::vector<std::string> groups)
      : dir_(std::move(dir)), groups_(std::move(groups)) {
    for (int i = 0; i < n; ++i) {
      DevNode node;
      node.index = i;
      node.dir = dir_ + "/node-" + std::to_string(i);
      nodes_.push_back(std::move(node));
    }
  }

  // Starts node i and waits until it wrote node.json. false if it did not come up.
  bool Start(DevNode& n) {
    std::error_code ec;
    fs::create_directories(n.dir, ec);
    fs::remove(n.dir + "/node.json", ec);
    std::vector<std::string> args = {SelfExe(),  "--data-dir",
                                     n.dir,      "node",
                                     "--listen", "127.0.0.1:" + std::to_string(n.peer_port),
                                     "--http",   "127.0.0.1:" + std::to_string(n.http_port)};
    for (const std::string& g : groups_) args.insert(args.end(), {"--group", g});
    // Node 0 hosts the devnet's name registry; the others register and look up through it
    // and believe its attestations (docs/names.md, "One registry per site").
    if (n.index != 0 && !nodes_[0].info.is_null()) {
      args.insert(args.end(), {"--names-backend", "remote", "--names-remote",
                               nodes_[0].info["author"].get<std::string>() + "@" +
                                   nodes_[0].info["http"].get<std::string>()});
    }
    for (const DevNode& other : nodes_) {
      if (&other == &n || !Alive(other.pid) || other.info.is_null()) continue;
      args.insert(args.end(), {"--bootstrap", other.info["author"].get<std::string>() + "@" +
                                                  other.info["peer"].get<std::string>()});
      break;
    }
    const std::string log = n.dir + "/node.log";
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    n.pid = pid;
    n.info = json();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      json info = ReadJson(n.dir + "/node.json");
      if (info.is_object() && info.value("pid", 0) == pid) {
        n.info = info;
        auto peer = node::ParseEndpoint(info["peer"].get<std::string>());
        auto http = node::ParseEndpoint(info["http"].get<std::string>());
        if (peer.ok()) n.peer_port = peer->port;
        if (http.ok()) n.http_port = http->port;
        return true;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        n.pid = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void Save() const {
    json nodes = json::array();
    for (const DevNode& n : nodes_) {
      nodes.push_back({{"index", n.index},
                       {"id", n.info.value("author", "")},
                       {"node_id", n.info.value("node_id", "")},
                       {"peer", n.info.value("peer", "")},
                       {"http", n.info.value("http", "")},
                       {"data_dir", n.dir},
                       {"log", n.dir + "/node.log"},
                       {"pid", Alive(n.pid) ? n.pid : 0}});
    }
    WriteJson(dir_ + "/devnet.json",
              {{"dir", dir_}, {"supervisor_pid", ::getpid()}, {"nodes", nodes}});
  }

  // Supervises until SIGINT or SIGTERM; then stops every node.
  void Supervise() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    timespec tick{0, 200'000'000};
    while (true) {
      siginfo_t info;
      if (::sigtimedwait(&stop, &info, &tick) > 0) break;
      bool changed = false;
      int status = 0;
      pid_t gone;
      while ((gone = ::waitpid(-1, &status, WNOHANG)) > 0) {
        for (DevNode& n : nodes_) {
          if (n.pid != gone) continue;
          std::cout << "node " << n.index << " exited ("
                    << (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                          : "signal " + std::to_string(WTERMSIG(status)))
                    << ")" << std::endl;
          n.pid = -1;
          changed = true;
        }
      }
      for (DevNode& n : nodes_) {
        std::error_code ec;
        if (n.pid > 0 || fs::exists(StoppedMarker(n), ec)) continue;
        if (Start(n) || (n.peer_port = n.http_port = 0, Start(n))) {
          std::cout << "node " << n.index << " started (pid " << n.pid << ")" << std::endl;
        } else {
          std::cout << "node " << n.index << " did not start; see " << n.dir << "/node.log"
                    << std::endl;
          std::ofstream(StoppedMarker(n)) << "failed to start\n";
        }
        changed = true;
      }
      if (changed) Save();
    }
    std::cout << "stopping " << nodes_.size() << " nodes" << std::endl;
    for (DevNode& n : nodes_) {
      if (n.pid > 0) ::kill(n.pid, SIGTERM);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (DevNode& n : nodes_) {
      while (n.pid > 0) {
        int status = 0;
        if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
          n.pid = -1;
        } else if (std::chrono::steady_clock::now() > deadline) {
          ::kill(n.pid, SIGKILL);
          ::waitpid(n.pid, &status, 0);
          n.pid = -1;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    }
    Save();
  }

  std::vector<DevNode>& nodes() { return nodes_; }

 private:
  std::string dir_;
  std::vector<std::string> groups_;
  std::vector<DevNode> nodes_;
};

json LoadDevnet(const std::string& dir) {
  json j = ReadJson(dir + "/devnet.json");
  if (!j.is_object() || !j.contains("nodes")) {
    Fail(Error{codes::kNotFound, "No devnet in " + dir +
                                     " (no devnet.json); start one with "
                                     "`pando devnet N --dir " +
                                     dir + "`."});
  }
  return j;
}

const json& NodeAt(const json& devnet, int index) {
  for (const json& n : devnet["nodes"]) {
    if (n["index"].get<int>() == index) return n;
  }
  Fail(Error{codes::kBadArgument, "The devnet has no node " + std::to_string(index) + "."});
}

}  // namespace

void AddDevnet(CLI::App& app, Context&) {
  struct Args {
    std::vector<std::string> words;
    std::string dir = "pando-devnet";
    std::vector<std::string> groups;
    int posts = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "devnet",
      "Run N local nodes wired together (devnet N), or act on a running devnet: devnet status, "
      "devnet kill I, devnet restart I");
  cmd->add_option("words", args->words, "N, or status, kill I, restart I")->required();
  cmd->add_option("--dir,-d", args->dir, "Directory of the devnet's nodes")->capture_default_str();
  cmd->add_option("--group,-g", args->groups, "Group every node carries besides the catalog");
  cmd->add_option("--posts", args->posts, "Sample entries to post once the nodes are up")
      ->check(CLI::Range(0, 10'000));
  cmd->callback([args] {
    const std::string dir = fs::absolute(args->dir).lexically_normal().string();
    const std::string& verb = args->words[0];
    if (verb == "status") {
      json devnet = LoadDevnet(dir);
      const bool supervised = Alive(devnet.value("supervisor_pid", 0));
      std::cout << "devnet " << dir << (supervised ? "" : " (supervisor not running)") << "\n";
      for (const json& n : devnet["nodes"]) {
        const int pid = n.value("pid", 0);
        std::string state = Alive(pid) ? "up" : "down";
        std::string detail;
        if (Alive(pid)) {
          auto endpoint = node::ParseEndpoint(n["http"].get<std::string>());
          if (endpoint.ok()) {
            auto status = client::ApiClient(*endpoint).Get("/api/v1/status");
            if (status.ok()) {
              detail = std::to_string((*status)["peers"].size()) + " peers";
              for (const json& g : (*status)["groups"]) {
                detail += ", " + g["name"].get<std::string>() + " " +
                          std::to_string(g["entries"].get<size_t>()) + " entries";
              }
            } else {
              state = "not answering";
            }
          }
        }
        std::cout << "  node " << n["index"].get<int>() << "  " << state << "  peer "
                  << n["peer"].get<std::string>() << "  http " << n["http"].get<std::string>()
                  << (detail.empty() ? "" : "  " + detail) << "\n";
      }
      return;
    }
    if (verb == "kill" || verb == "restart") {
      if (args->words.size() != 2) {
        Fail(Error{codes::kBadArgument, "Usage: pando devnet " + verb + " I [--dir D]."});
      }
      json devnet = LoadDevnet(dir);
      if (!Alive(devnet.value("supervisor_pid", 0))) {
        Fail(Error{codes::kNotFound, "The devnet in " + dir + " has no running supervisor."});
      }
      int index = -1;
      try {
        index = std::stoi(args->words[1]);
      } catch (const std::exception&) {
        Fail(Error{codes::kBadArgument, "'" + args->words[1] + "' is not a node number."});
      }
      const json& n = NodeAt(devnet, index);
      const std::string marker = n["data_dir"].get<std::string>() + "/stopped";
      const int pid = n.value("pid", 0);
      if (verb == "kill") {
        std::ofstream(marker) << "stopped by devnet kill\n";
        if (Alive(pid)) ::kill(pid, SIGTERM);
        std::cout << "node " << index << " stopping\n";
      } else {
        std::error_code ec;
        fs::remove(marker, ec);
        if (Alive(pid)) ::kill(pid, SIGTERM);
        std::cout << "node " << index << " restarting\n";
      }
      return;
    }
    int count = 0;
    try {
      count = std::stoi(verb);
    } catch (const std::exception&) {
      count = 0;
    }
    if (count < 1 || count > 256 || args->words.size() != 1) {
      Fail(Error{codes::kBadArgument,
                 "Give a number of nodes from 1 to 256, or status, kill I, restart I."});
    }
    if (json old = ReadJson(dir + "/devnet.json");
        old.is_object() && Alive(old.value("supervisor_pid", 0))) {
      Fail(Error{codes::kConflict, "A devnet already runs in " + dir + "."});
    }
    // Signals go to the supervision loop; nodes get the default handling back.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &stop, nullptr);
    Devnet devnet(dir, count, args->groups);
    for (DevNode& n : devnet.nodes()) {
      std::error_code ec;
      fs::remove(StoppedMarker(n), ec);
      if (!devnet.Start(n)) {
        Fail(Error{codes::kIo, "Node " + std::to_string(n.index) + " did not start; see " + n.dir +
                                   "/node.log."});
      }
    }
    devnet.Save();
    std::cout << "devnet of " << count << " nodes in " << dir << " (devnet.json)\n";
    for (const DevNode& n : devnet.nodes()) {
      std::cout << "  node " << n.index << "  peer " << n.info["peer"].get<std::string>()
                << "  http://" << n.info["http"].get<std::string>() << "  --data-dir " << n.dir
                << "\n";
    }
    // Runs `pando --data-dir DIR ARGS...` (this binary) and waits for it; its output is
    // dropped.
    auto run_self = [](const std::string& dir, std::vector<std::string> argv) {
      const std::string exe = SelfExe();
      argv.insert(argv.begin(), {exe, "--data-dir", dir});
      pid_t pid = ::fork();
      if (pid == 0) {
        int fd = ::open("/dev/null", O_WRONLY);
        ::dup2(fd, 1);
        std::vector<char*> raw;
        raw.reserve(argv.size() + 1);
        for (std::string& a : argv) raw.push_back(a.data());
        raw.push_back(nullptr);
        ::execv(exe.c_str(), raw.data());
        ::_exit(127);
      }
      int status = 0;
      ::waitpid(pid, &status, 0);
    };
    for (int k = 0; k < args->posts; ++k) {
      const DevNode& n = devnet.nodes()[k % count];
      const std::string text = "Hello from node " + std::to_string(n.index) + " (sample post " +
                               std::to_string(k + 1) + ")";
      // With a group of its own the sample is a post with its catalog record, which every
      // node's front page lists; else an entry of the catalog.
      if (!args->groups.empty()) {
        run_self(n.dir, {"post", "--group", args->groups.front(), "--announce",
                         "# " + text + "\n\nA *sample* post of this devnet."});
      } else {
        run_self(n.dir, {"post", "--group", "catalog", text});
      }
    }
    // The authors of sample posts get a profile name, which their blog pages show.
    for (int k = 0; k < std::min(args->posts, count); ++k) {
      const DevNode& n = devnet.nodes()[k];
      run_self(n.dir, {"profile", "set", "name", "Devnet node " + std::to_string(n.index)});
    }
    if (args->posts > 0) std::cout << "posted " << args->posts << " sample entries\n";
    std::cout << "try: pando --data-dir " << devnet.nodes()[0].dir
              << " post --group catalog 'hello'; pando --data-dir " << devnet.nodes().back().dir
              << " log\n"
              << "Ctrl-C stops every node." << std::endl;
    devnet.Supervise();
  });
}

}  // namespace pando::cli
