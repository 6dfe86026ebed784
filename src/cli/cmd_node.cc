// pando node: run a node. pando status: ask the running node how it is. pando find: ask its
// DHT who carries a group or holds a feed.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "core/error_codes.h"
#include "http/server.h"
#include "node/node.h"

namespace pando::cli {

void AddNode(CLI::App& app, Context& ctx) {
  struct Args {
    std::string config_file;
    std::string listen, http, advertise, location, log_level;
    std::vector<std::string> bootstrap, groups;
    std::string names_backend, names_remote;
    std::vector<std::string> names_etcd, names_attesters;
    int64_t ban_seconds = -1;
    int64_t max_connections = -1;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("node",
                                 "Run a node: replicate the groups it carries with its peers and "
                                 "serve its HTTP port (API and web UI)");
  cmd->add_option("--config", args->config_file,
                  "TOML file of settings (default: node.toml in the data directory, if present); "
                  "flags take precedence");
  cmd->add_option("--listen", args->listen,
                  "Address for peer connections (default 127.0.0.1:7420)");
  cmd->add_option("--http", args->http,
                  "Address of the HTTP port: API and web UI (default 127.0.0.1:7480)");
  cmd->add_option("--location", args->location,
                  "Where the node stands, LAT,LON in degrees (reported in /metrics)");
  cmd->add_option("--advertise", args->advertise,
                  "Address announced to peers (default: the listening address)");
  cmd->add_option("--bootstrap,-b", args->bootstrap,
                  "Peer to join through: host:port or AUTHOR_ID@host:port (repeatable)");
  cmd->add_option("--group,-g", args->groups, "Group to carry besides the catalog (repeatable)");
  cmd->add_option("--log-level", args->log_level,
                  "trace, debug, info, warn, error or off (default info)");
  cmd->add_option("--ban-seconds", args->ban_seconds, "How long a misbehaving peer is banned")
      ->check(CLI::Range(int64_t{0}, int64_t{86'400} * 365));
  cmd->add_option("--max-connections", args->max_connections, "Most peer connections at once")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  cmd->add_option("--names-backend", args->names_backend,
                  "Name registry: embedded (default), etcd, remote or none (docs/names.md)");
  cmd->add_option("--names-remote", args->names_remote,
                  "[KEY@]HOST:PORT: the HTTP port of the node that hosts the site's registry");
  cmd->add_option("--names-etcd", args->names_etcd,
                  "Client URL of an etcd member, http://HOST:PORT (repeatable)");
  cmd->add_option("--names-attester", args->names_attesters,
                  "Author id (pd...) whose name attestations this node believes (repeatable)");
  cmd->callback([&ctx, args] {
    node::NodeConfig config;
    config.data_dir = ctx.DataDir();
    std::string file = args->config_file;
    const std::string default_file = config.data_dir + "/node.toml";
    std::error_code ec;
    if (file.empty() && std::filesystem::exists(default_file, ec)) file = default_file;
    if (!file.empty()) Check(node::LoadConfigFile(file, &config));
    auto endpoint = [](const std::string& text) {
      auto e = node::ParseEndpoint(text);
      if (!e.ok()) Fail(e.error());
      return *e;
    };
    if (!args->listen.empty()) config.listen = endpoint(args->listen);
    if (!args->http.empty()) config.http = endpoint(args->http);
    if (!args->advertise.empty()) config.advertise = args->advertise;
    if (!args->location.empty()) config.location = args->location;
    if (!args->log_level.empty()) config.log_level = args->log_level;
    if (!args->bootstrap.empty()) {
      config.bootstrap.clear();
      for (const std::string& b : args->bootstrap) {
        config.bootstrap.push_back(Check(node::ParseBootstrap(b)));
      }
    }
    for (const std::string& g : args->groups) config.groups.push_back(g);
    if (args->ban_seconds >= 0) config.ban_duration = std::chrono::seconds(args->ban_seconds);
    if (args->max_connections > 0) config.max_connections = args->max_connections;
    if (!args->names_backend.empty()) config.names_backend = args->names_backend;
    if (!args->names_remote.empty()) {
      config.names_remote = Check(node::ParseBootstrap(args->names_remote));
    }
    if (!args->names_etcd.empty()) config.names_etcd = args->names_etcd;
    for (const std::string& a : args->names_attesters) {
      config.names_attesters.push_back(Check(ParseAuthorId(a)));
    }
    Check(node::Validate(config));

    auto logger = spdlog::stderr_color_mt("pando");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    logger->set_level(spdlog::level::from_str(config.log_level));
    spdlog::set_default_logger(logger);
    if (auto running = Check(client::ApiClient::ForDataDir(config.data_dir))) {
      Fail(Error{codes::kConflict, "A node already runs with " + config.data_dir + " (API on " +
                                       running->endpoint().ToString() + ")."});
    }
    auto node = Check(node::Node::Open(std::move(config), &http::Server::Open));
    node->Run(/*handle_signals=*/true);
  });
}

void AddStatus(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("status", "Show the running node's peers, groups and counters");
  cmd->callback([&ctx] {
    auto node = ctx.RunningNode();
    if (!node) {
      Fail(Error{codes::kNodeUnavailable,
                 "No node runs with " + ctx.DataDir() + "; start one with `pando node`."});
    }
    std::cout << Check(node->Get("/api/v1/status")).dump(2) << "\n";
  });
}

void AddFind(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "find",
      "Ask the DHT which nodes carry a group (find group NAME) or hold an author's feed "
      "(find feed AUTHOR), through the running node");
  cmd->require_subcommand(1);
  struct Args {
    std::string what;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto run = [&ctx, args](const std::string& route) {
    auto node = ctx.RunningNode();
    if (!node) {
      Fail(Error{codes::kNodeUnavailable,
                 "No node runs with " + ctx.DataDir() + "; start one with `pando node`."});
    }
    const nlohmann::json j = Check(node->Get(route + args->what));
    if (args->json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    const auto& lookup = j["lookup"];
    std::cout << j["nodes"].size() << (j["nodes"].size() == 1 ? " node" : " nodes") << " found ("
              << lookup["how"].get<std::string>() << ": " << lookup["requests"] << " asked in "
              << lookup["ms"] << " ms)\n";
    for (const auto& n : j["nodes"]) {
      std::cout << "  " << n["address"].get<std::string>() << "  " << n["author"].get<std::string>()
                << (n["this_node"].get<bool>() ? "  (this node)" : "") << "\n";
    }
  };
  auto* group = cmd->add_subcommand("group", "Nodes that carry group NAME");
  group->add_option("name", args->what, "Group name")->required();
  group->add_flag("--json", args->json, "Print the API's JSON answer");
  group->callback([run, args] {
    if (!IsValidGroupName(args->what)) {
      throw CLI::ValidationError("name", "'" + args->what + "' is not a valid group name");
    }
    run("/api/v1/find/group/");
  });
  auto* feed = cmd->add_subcommand("feed", "Nodes that hold the feed of AUTHOR (pd...)");
  feed->add_option("author", args->what, "Author id (pd...)")->required();
  feed->add_flag("--json", args->json, "Print the API's JSON answer");
  feed->callback([run, args] {
    if (!ParseAuthorId(args->what).ok()) {
      throw CLI::ValidationError("author", "'" + args->what + "' is not an author id (pd...)");
    }
    run("/api/v1/find/feed/");
  });
}

}  // namespace pando::cli
