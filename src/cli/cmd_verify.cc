// pando verify: re-verify the whole store.
#include <iostream>

#include "cli/common.h"
#include "core/error_codes.h"

namespace pando::cli {

void AddVerify(CLI::App& app, Context& ctx) {
  auto all = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "verify",
      "Re-verify the whole store: every entry's bytes and id, every feed's hash chain and "
      "head signature, fork proofs, and SQLite's integrity check");
  cmd->add_flag("--all-signatures", *all,
                "Also check every entry's own signature, not only each feed's head");
  cmd->callback([&ctx, all] {
    auto store = Check(ctx.OpenStore(/*create=*/false));
    auto report = Check(store->Verify(*all));
    std::cout << "entries checked:     " << report.entries_checked << "\n"
              << "feeds checked:       " << report.feeds_checked << "\n"
              << "signatures checked:  " << report.signatures_checked << "\n";
    if (*all) {
      std::cout << "covered by chain only: " << report.chain_authenticated_only << "\n";
    }
    for (const auto& p : report.problems) std::cout << "PROBLEM: " << p << "\n";
    if (!report.ok()) {
      Fail(Error{codes::kVerifyFailed,
                 std::to_string(report.problems.size()) + " problem(s) found in the store."});
    }
    std::cout << "ok\n";
  });
}

}  // namespace pando::cli
