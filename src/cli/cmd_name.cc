// pando name: unique names (docs/names.md). The claim is signed here with this machine's
// identity; the registry is reached through a node's API: the node running with the data
// directory, or the one --node names.
#include <iostream>

#include "cli/common.h"
#include "core/error_codes.h"
#include "core/identity.h"
#include "core/name_claim.h"
#include "node/names.h"

namespace pando::cli {
namespace {

using nlohmann::json;

struct NameArgs {
  std::string name, to, owner, node;
  bool json = false;
};

client::ApiClient NodeFor(Context& ctx, const NameArgs& a) {
  if (!a.node.empty()) return client::ApiClient(Check(ParseEndpoint(a.node)));
  auto running = ctx.RunningNode();
  if (!running) {
    Fail(Error{codes::kNodeUnavailable,
               "No node runs with " + ctx.DataDir() +
                   "; start one with `pando node`, or name one with --node HOST:PORT."});
  }
  return *running;
}

// Sends a claim; prints the record, or fails with the registry's code (NAME_TAKEN, ...).
void SendClaim(Context& ctx, const NameArgs& a, const std::string& target,
               const names::Claim& claim) {
  const json body = {{"claim", ToHex(names::EncodeClaim(claim))}};
  const json answer = Check(NodeFor(ctx, a).Post(target, body));
  if (a.json) {
    std::cout << answer.dump(2) << "\n";
    return;
  }
  std::cout << answer.value("outcome", "") << " @" << claim.name << " -> " << AuthorId(claim.owner)
            << "\n";
  if (answer.contains("attestation")) {
    std::cout << "attestation " << answer["attestation"].get<std::string>() << "\n";
  }
}

void Register(Context& ctx, const NameArgs& a) {
  const std::string normal = Check(names::Normalize(a.name));
  const KeyPair key = Check(LoadIdentity(ctx.DataDir()));
  SendClaim(ctx, a, "/api/v1/names", names::SignRegistration(normal, key, NowMs()));
}

void Transfer(Context& ctx, const NameArgs& a) {
  const std::string normal = Check(names::Normalize(a.name));
  const PublicKey to = Check(ParseAuthorId(a.to));
  const KeyPair key = Check(LoadIdentity(ctx.DataDir()));
  // The transfer names the current record, which the registry gives with its claim.
  const names::Record current =
      Check(node::RecordFromJson(Check(NodeFor(ctx, a).Get("/api/v1/names/" + normal))));
  if (current.owner != key.public_key()) {
    Fail(Error{codes::kBadSignature, "@" + normal + " points at " + AuthorId(current.owner) +
                                         ", not at this identity: only its owner transfers it."});
  }
  SendClaim(ctx, a, "/api/v1/names/" + normal + "/transfer",
            names::SignTransfer(normal, key, to, names::ClaimId(current.claim), NowMs()));
}

void Show(Context& ctx, const NameArgs& a) {
  const std::string normal = Check(names::Normalize(a.name));
  const json j = Check(NodeFor(ctx, a).Get("/api/v1/names/" + normal));
  // Checked here too: the owner's signature, not the node's word, makes the record.
  const names::Record r = Check(node::RecordFromJson(j));
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "@" << r.name << " -> " << AuthorId(r.owner) << " (since "
            << FormatTime(r.claim.timestamp_ms) << ", " << j.value("source", "") << ")\n";
}

void List(Context& ctx, const NameArgs& a) {
  std::string owner = a.owner;
  if (owner.empty()) owner = AuthorId(Check(LoadIdentity(ctx.DataDir())).public_key());
  Check(ParseAuthorId(owner));
  const json j = Check(NodeFor(ctx, a).Get("/api/v1/names?owner=" + owner));
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  for (const json& n : j.value("names", json::array())) {
    std::cout << "@" << Check(node::RecordFromJson(n)).name << "\n";
  }
}

}  // namespace

void AddName(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("name", "Unique usernames: register, show, list, transfer");
  cmd->require_subcommand(1);
  auto args = std::make_shared<NameArgs>();
  auto common = [args](CLI::App* sub) {
    sub->add_option("--node", args->node,
                    "HOST:PORT of a node's HTTP port (default: the node running here)");
    sub->add_flag("--json", args->json, "Print the node's JSON answer");
  };
  auto* reg = cmd->add_subcommand("register", "Sign a claim to NAME for your key and register it");
  reg->add_option("name", args->name, "The name, e.g. ada_lovelace")->required();
  common(reg);
  reg->callback([&ctx, args] { Register(ctx, *args); });
  auto* show = cmd->add_subcommand("show", "Whom NAME points at");
  show->add_option("name", args->name, "The name")->required();
  common(show);
  show->callback([&ctx, args] { Show(ctx, *args); });
  auto* list = cmd->add_subcommand("list", "The names an author holds (default: yours)");
  list->add_option("--owner", args->owner, "Author id, pd...");
  common(list);
  list->callback([&ctx, args] { List(ctx, *args); });
  auto* transfer =
      cmd->add_subcommand("transfer", "Sign over NAME, which you hold, to another key");
  transfer->add_option("name", args->name, "The name")->required();
  transfer->add_option("--to", args->to, "The new owner's author id, pd...")->required();
  common(transfer);
  transfer->callback([&ctx, args] { Transfer(ctx, *args); });
}

}  // namespace pando::cli
