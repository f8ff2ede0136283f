// netc: the command line. It only wires the stages together; every error a
// user can cause arrives here as a UserError and leaves as a located message
// and exit status 1. Nothing is printed before a command has fully succeeded.
#include "tools/commands.h"

#include "ir/error.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  using namespace netc;
  CLI::App app{"netc: a static compiler for neural networks"};
  app.require_subcommand(1);

  std::string check_model;
  auto* check = app.add_subcommand("check", "Parse and verify a model; print a summary");
  check->add_option("MODEL", check_model, "a .nn model file")->required();

  DumpOptions dump;
  auto* dump_cmd = app.add_subcommand("dump", "Print the IR after a pipeline stage");
  dump_cmd->add_option("MODEL", dump.model, "a .nn model file")->required();
  dump_cmd->add_option("--after", dump.after, "the stage to print after, or 'all'");
  dump_cmd->add_option("--format", dump.format, "text or dot")
      ->check(CLI::IsMember({"text", "dot"}));

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Run a model on the reference interpreter");
  run_cmd->add_option("MODEL", run.model, "a .nn model file")->required();
  run_cmd->add_option("ACTION", run.action, "forward")->required()->check(
      CLI::IsMember({"forward"}));
  run_cmd->add_flag("--random-init", run.random_init,
                    "initialize parameters with their initializers and draw random inputs");
  run_cmd->add_option("--batch", run.batch, "batch extent")->check(CLI::Range(1, 1 << 20));
  run_cmd->add_option("--seed", run.seed, "random seed");
  run_cmd->add_option("--mode", run.mode, "infer or train (dropout and batch statistics)")
      ->check(CLI::IsMember({"infer", "train"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? 0 : 2; // usage errors: 2, like most Unix tools
  }

  try {
    if (*check) return cmd_check(check_model);
    if (*dump_cmd) return cmd_dump(dump);
    if (*run_cmd) return cmd_run(run);
  } catch (const UserError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netc: %s\n", e.what());
    return 3;
  }
  return 0;
}
