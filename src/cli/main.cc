// pando: the command-line entry point. Each verb lives in its own cmd_*.cc file.
#include <iostream>

#include "cli/common.h"
#include "core/crypto.h"
#include "core/error_codes.h"

// Only the set-up before the try below can throw (CLI11 refusing a flag defined twice, a bug
// every run shows), and std::terminate reports it: not worth a second try.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  using namespace pando::cli;
  pando::InitCrypto();
  Context ctx;
  CLI::App app{"Pando: signed feeds replicated by volunteer nodes.", "pando"};
  app.require_subcommand(1);
  app.add_option("--data-dir", ctx.data_dir_flag,
                 "Data directory (default: $PANDO_HOME, else $XDG_DATA_HOME/pando, else "
                 "~/.local/share/pando)");
  AddInit(app, ctx);
  AddId(app, ctx);
  AddPost(app, ctx);
  AddLog(app, ctx);
  AddShow(app, ctx);
  AddVerify(app, ctx);
  AddExport(app, ctx);
  AddImport(app, ctx);
  AddForks(app, ctx);
  AddSim(app, ctx);
  AddNode(app, ctx);
  AddStatus(app, ctx);
  AddFind(app, ctx);
  AddDevnet(app, ctx);
  AddData(app, ctx);
  AddName(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << pando::codes::kBadArgument << ": " << e.what() << "\n"
              << "Run `pando --help` or `pando VERB --help` for usage.\n";
    return kExitUsage;
  } catch (const Failure& f) {
    std::cerr << "error: " << f.error.ToString() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "error: " << pando::codes::kInternal << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
