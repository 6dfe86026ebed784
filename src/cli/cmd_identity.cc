// pando init, pando id: create and show the local author identity.
#include <iostream>

#include "cli/common.h"
#include "core/identity.h"

namespace pando::cli {

void AddInit(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("init", "Create this machine's author key and an empty store");
  cmd->callback([&ctx] {
    const std::string dir = ctx.DataDir();
    KeyPair key = Check(CreateIdentity(dir));
    Check(ctx.OpenStore(/*create=*/true));
    std::cout << "Created identity " << AuthorId(key.public_key()) << "\n"
              << "Data directory: " << dir << "\n";
  });
}

void AddId(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("id", "Print this identity's self-certifying author id");
  cmd->callback([&ctx] {
    KeyPair key = Check(LoadIdentity(ctx.DataDir()));
    std::cout << AuthorId(key.public_key()) << "\n";
  });
}

}  // namespace pando::cli
