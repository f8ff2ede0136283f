#include "runtime/exe_cli.h"

#include "runtime/eval.h"
#include "runtime/exe_commands.h"
#include "runtime/halide_hooks.h"
#include "runtime/train/train.h"
#include "runtime/tune.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <new>
#include <ostream>
#include <thread>
#include <unistd.h>

namespace netc::rt {

namespace {

// Argument errors that only the plan can reveal (a batch above the compiled
// maximum, a model without a learning rate) are usage errors too: exit 2.
struct UsageError {
  std::string message;
};

void check_batch(const Plan& plan, int64_t batch) {
  if (batch > plan.max_batch)
    throw UsageError{
        fmt::format("--batch {} exceeds the compiled maximum of {}", batch, plan.max_batch)};
}

// CLI::PositiveNumber prints its range as a 300-digit number.
const CLI::Validator positive(
    [](std::string& text) {
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      return end != text.c_str() && *end == '\0' && v > 0 && std::isfinite(v)
                 ? std::string()
                 : fmt::format("expects a positive number, found '{}'", text);
    },
    "POSITIVE");

int effective_threads(int requested) {
  if (requested > 0) return requested;
  if (int n = threads_from_env()) return n;
  return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

} // namespace

int exe_main(int argc, const char* const* argv, const char* plan_json, const KernelEntry* kernels,
             std::ostream& out, std::ostream& err, Collective* ranks, const float* initial_values,
             int64_t initial_values_count) {
  std::string program = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "model";
  CLI::App app{"A neural network compiled by netc: train, run and benchmark it", program};
  // At most one subcommand, checked by hand below, so that an unknown word is
  // reported as such ("not expected: fly") rather than as a missing subcommand.
  app.require_subcommand(0, 1);

  auto* info = app.add_subcommand("info", "Parameters, FLOPs, memory and kernels of the model");

  BenchOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "Time the training step and inference");
  bench_cmd->add_option("--batch", bench.batch, "batch extent (default: the model's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  bench_cmd->add_option("--iters", bench.iters, "timed iterations per program")
      ->check(CLI::Range(1, 1 << 20));
  bench_cmd->add_flag("--json", bench.json, "end with one line of JSON");
  bench_cmd->add_flag("--mpi", bench.mpi,
                      "time the data-parallel step over the job's ranks (mpirun; a binary "
                      "compiled with --mpi)");
  bench_cmd->add_option("--threads", bench.threads, "threads (default: NETC_THREADS or all cores)")
      ->check(CLI::Range(1, 4096));

  RunOptions forward;
  auto* forward_cmd = app.add_subcommand("forward", "Run inference on random inputs");
  forward_cmd->add_option("--batch", forward.batch, "batch extent (default: 2)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  forward_cmd->add_option("--seed", forward.seed, "seed of the parameters and the inputs");

  RunOptions train;
  TrainOptions fit;
  double lr = 0;
  bool random_data = false;
  auto* train_cmd = app.add_subcommand("train", "Train the model on its data (or on random data)");
  auto* data_opt =
      train_cmd->add_option("--data", fit.data, "data spec (default: the model's train block)");
  auto* data_dir_opt =
      train_cmd->add_option("--data-dir", fit.data_dir, "where fashion-mnist's IDX files are");
  auto* epochs_opt = train_cmd->add_option("--epochs", fit.epochs, "epochs")
                         ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  train_cmd->add_option("--batch", train.batch, "batch extent (default: the model's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  train_cmd->add_option("--seed", train.seed, "seed of the parameters, data order and dropout");
  auto* lr_opt =
      train_cmd->add_option("--lr", lr, "learning rate (default: the model's)")->check(positive);
  auto* log_opt = train_cmd->add_option("--log", fit.log, "write one JSON line per epoch to FILE");
  train_cmd->add_option("--save", fit.save,
                        "save a checkpoint after every epoch (--random-data: after the steps)");
  train_cmd->add_option("--resume", fit.resume, "continue the run of a checkpoint");
  auto* bayes_opt =
      train_cmd->add_option("--bayes-error", fit.bayes_error, "Bayes/human-level error estimate")
          ->check(CLI::Range(0.0, 1.0));
  auto* report_opt =
      train_cmd->add_option("--report", fit.report, "write an HTML report to DIR/report.html");
  auto* random_flag = train_cmd->add_flag("--random-data", random_data,
                                          "train on random batches (tests, benchmarks)");
  auto* steps_opt =
      train_cmd->add_option("--steps", train.steps, "--random-data: training steps in all")
          ->check(CLI::Range(1, 1 << 30));
  steps_opt->needs(random_flag);
  // Options about real data would be ignored by a random-data run: refuse them.
  for (CLI::Option* real : {data_opt, data_dir_opt, epochs_opt, log_opt, bayes_opt, report_opt})
    random_flag->excludes(real);

  EvalOptions evaluation;
  auto* eval_cmd = app.add_subcommand("eval", "Loss, accuracy and error analysis of a checkpoint");
  eval_cmd->add_option("--weights", evaluation.weights, "checkpoint written by train")->required();
  eval_cmd->add_option("--data", evaluation.data,
                       "data spec (default: the checkpoint's test split)");
  eval_cmd->add_option("--data-dir", evaluation.data_dir, "where fashion-mnist's IDX files are");
  eval_cmd->add_option("--errors", evaluation.errors, "misclassified examples to list")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  eval_cmd->add_option("--report", evaluation.report, "write an HTML report to DIR/report.html");

  TuneOptions tuning;
  uint64_t tune_seed = 0;
  auto* tune_cmd =
      app.add_subcommand("tune", "Random search over the learning rate, betas, lambda and keep");
  tune_cmd->add_option("--trials", tuning.trials, "trials")
      ->required()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  tune_cmd->add_option("--epochs", tuning.epochs, "epochs per trial (default: 1)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  auto* tune_seed_opt =
      tune_cmd->add_option("--seed", tune_seed, "seed of the sampler and the initialization");
  tune_cmd->add_option("--save-config", tuning.save_config, "save the best configuration as JSON");
  tune_cmd->add_option("--data", tuning.data, "data spec (default: the model's train block)");
  tune_cmd->add_option("--data-dir", tuning.data_dir, "where fashion-mnist's IDX files are");
  tune_cmd->add_option("--batch", tuning.batch, "batch extent (default: the model's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));

  PredictOptions prediction;
  auto* predict_cmd = app.add_subcommand("predict", "One prediction per input row or image");
  predict_cmd->add_option("--weights", prediction.weights, "checkpoint written by train")
      ->required();
  predict_cmd->add_option("--input", prediction.input, "inputs: .npy, .csv or IDX")->required();

  // Off by default: it scans every kernel's output after the kernel.
  bool check_numerics = false;
  for (CLI::App* cmd : {train_cmd, eval_cmd, predict_cmd, forward_cmd})
    cmd->add_flag("--check-numerics", check_numerics,
                  "stop at the first NaN/Inf any kernel writes; name the kernel, model line and "
                  "step");

  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) throw CLI::RequiredError("A subcommand");
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e, out, err);
    return status == 0 ? 0 : 2;
  }
  if (*lr_opt) train.lr = fit.lr = lr;
  if (train.batch > 0) fit.batch = train.batch;
  if (train_cmd->count("--seed")) fit.seed = train.seed;
  train.seed_given = train_cmd->count("--seed") > 0;
  train.save = fit.save;
  train.resume = fit.resume;
  if (*tune_seed_opt) tuning.seed = tune_seed;
  train.ranks = fit.ranks = bench.ranks = ranks;
  // The progress bar redraws a line in place: only where a person watches.
  fit.progress = &out == &std::cout && ::isatty(STDOUT_FILENO);

  try {
    Executor ex(plan_with_values(plan_json, initial_values, initial_values_count), kernels);
    const Plan& plan = ex.plan();
    ex.set_check_numerics(check_numerics);
    if (*info) return exe_info(ex, out);
    if (*bench_cmd) {
      check_batch(plan, bench.batch);
      if (bench.mpi && !ranks)
        throw UsageError{"bench --mpi: this binary was compiled without --mpi (netc compile "
                         "MODEL --mpi -o OUT, then mpirun -np N OUT bench --mpi)"};
      if (bench.threads > 0) set_halide_threads(bench.threads);
      return exe_bench(ex, bench, effective_threads(bench.threads), out);
    }
    if (*forward_cmd) {
      check_batch(plan, forward.batch);
      return exe_forward(ex, forward, out);
    }
    if (*eval_cmd) return exe_eval(ex, evaluation, out);
    if (*predict_cmd) return exe_predict(ex, prediction, out);
    if (*tune_cmd) {
      if (tuning.batch) check_batch(plan, *tuning.batch);
      return exe_tune(ex, tuning, out);
    }
    if (*train_cmd) {
      check_batch(plan, train.batch);
      if (train.lr && std::none_of(plan.hypers.begin(), plan.hypers.end(),
                                   [](const Hyper& h) { return h.name == "lr"; }))
        throw UsageError{"--lr: the model has no runtime learning rate 'lr'"};
      if (random_data) return exe_train(ex, train, out);
      return exe_train_data(ex, fit, out);
    }
  } catch (const UsageError& e) {
    err << program << ": " << e.message << "\nRun with --help for more information.\n";
    return 2;
  } catch (const std::bad_alloc&) { // its what() is the bare "std::bad_alloc"
    out.flush();
    err << program
        << ": out of memory: the model, its batch or its data needs more memory than "
           "this machine has\n";
    return 1;
  } catch (const std::exception& e) {
    out.flush();
    err << program << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace netc::rt
