// pando export, pando import: portable bundles (docs/bundle-format.md).
#include <fstream>
#include <iostream>

#include "cli/common.h"
#include "core/bundle.h"
#include "core/error_codes.h"
#include "store/import.h"

namespace pando::cli {

void AddExport(CLI::App& app, Context& ctx) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "export", "Write every stored entry and fork proof to a bundle file (or - for stdout)");
  cmd->add_option("file", *path, "Bundle file to write, or -")->required();
  cmd->callback([&ctx, path] {
    auto store = Check(ctx.OpenStore(/*create=*/false));
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (*path != "-") {
      file.open(*path, std::ios::binary | std::ios::trunc);
      if (!file) Fail(Error{codes::kIo, "Cannot write " + *path + "."});
      out = &file;
    }
    BundleWriter writer(out);
    Check(store->Export(&writer));
    Check(writer.Finish());
  });
}

void AddImport(CLI::App& app, Context& ctx) {
  struct Args {
    std::string path;
    bool progress = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "import", "Verify and store the entries and fork proofs of a bundle (or - for stdin)");
  cmd->add_option("file", args->path, "Bundle file to read, or -")->required();
  cmd->add_flag("--progress", args->progress,
                "Print 'settled N' as records become final: the first N records are stored "
                "(committed) or refused");
  cmd->callback([&ctx, args] {
    auto store = Check(ctx.OpenStore(/*create=*/true));
    std::ifstream file;
    std::istream* in = &std::cin;
    if (args->path != "-") {
      file.open(args->path, std::ios::binary);
      if (!file) Fail(Error{codes::kIo, "Cannot read " + args->path + "."});
      in = &file;
    }
    store::ImportOptions options;
    options.now_ms = NowMs();
    if (args->progress) {
      options.on_progress = [](int64_t n) { std::cout << "settled " << n << std::endl; };
    }
    store::ImportReport r = store::ImportBundle(*store, in, options);
    std::cout << "records: " << r.records << "  stored: " << r.accepted
              << "  fork proofs: " << r.fork_proofs
              << "  signatures checked: " << r.signatures_checked << "\n";
    int64_t bad = 0;
    for (const auto& [code, n] : r.refused) {
      std::cout << "refused " << code << ": " << n << "\n";
      if (code != codes::kDuplicate) bad += n;
    }
    for (const auto& e : r.first_errors) std::cerr << "  " << e << "\n";
    Check(r.bundle_status);
    if (bad > 0) {
      // Codes are static strings, so first_refusal outlives the report.
      Fail(Error{r.first_refusal, std::to_string(bad) +
                                      " records of the bundle were refused; the code is the "
                                      "first refusal's."});
    }
  });
}

}  // namespace pando::cli
