// netc: the command line. It only wires the stages together; every error a
// user can cause arrives here as a UserError and leaves as a located message
// and exit status 1. Nothing is printed before a command has fully succeeded.
#include "tools/commands.h"

#include "ir/error.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>

// `netc run MODEL ACTION ARGS...` without --random-init behaves exactly like
// the compiled binary's `OUT ACTION ARGS...` (SPEC section 3): the model is
// compiled (or found in the cache) and its executable takes over.
static bool runs_compiled(int argc, char** argv) {
  if (argc < 4 || std::string(argv[1]) != "run" || std::string(argv[2]).starts_with("-"))
    return false;
  // An ONNX model runs on the reference interpreter with its own weights.
  if (std::string(argv[2]).ends_with(".onnx")) return false;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--random-init") return false;
  return true;
}

// Runs a command: a UserError is the user's (its located message, status
// 1), anything else a failure of netc (status 3).
template <class Command>
static int exit_status(Command&& command) {
  try {
    return command();
  } catch (const netc::UserError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) { // its what() is the bare "std::bad_alloc"
    std::fprintf(stderr, "netc: out of memory: the model, its batch or its data needs more "
                         "memory than this machine has\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netc: %s\n", e.what());
    return 3;
  }
}

int main(int argc, char** argv) {
  using namespace netc;
  if (runs_compiled(argc, argv))
    return exit_status(
        [&] { return run_compiled(argv[2], std::vector<std::string>(argv + 3, argv + argc)); });
  CLI::App app{"netc: a static compiler for neural networks"};
  app.require_subcommand(1);

  std::string check_model;
  auto* check = app.add_subcommand("check", "Parse and verify a model; print a summary");
  check->add_option("MODEL", check_model, "a .nn or .onnx model file")->required();

  DumpOptions dump;
  auto* dump_cmd = app.add_subcommand("dump", "Print the IR after a pipeline stage");
  dump_cmd->add_option("MODEL", dump.model, "a .nn or .onnx model file")->required();
  dump_cmd->add_option("--after", dump.after, "the stage to print after, or 'all'");
  dump_cmd->add_option("--format", dump.format, "text or dot")
      ->check(CLI::IsMember({"text", "dot"}));
  dump_cmd->add_option("--mode", dump.mode, "train (the training step) or infer")
      ->check(CLI::IsMember({"train", "infer"}));

  RunOptions run;
  auto* run_cmd = app.add_subcommand(
      "run", "With --random-init: run a model on the reference interpreter. Without it: "
             "`netc run MODEL ACTION ARGS` compiles the model (cached) and runs its executable's "
             "ACTION (train, eval, predict, forward, bench, info, tune) with the same ARGS");
  run_cmd->add_option("MODEL", run.model, "a .nn or .onnx model file")->required();
  run_cmd->add_option("ACTION", run.action, "forward or train")
      ->required()
      ->check(CLI::IsMember({"forward", "train"}));
  run_cmd->add_flag("--random-init", run.random_init,
                    "initialize parameters with their initializers and draw random inputs");
  run_cmd->add_option("--batch", run.batch, "batch extent")->check(CLI::Range(1, 1 << 20));
  run_cmd->add_option("--seed", run.seed, "random seed");
  run_cmd->add_option("--mode", run.mode, "forward: infer or train (dropout and batch statistics)")
      ->check(CLI::IsMember({"infer", "train"}));
  run_cmd->add_option("--steps", run.steps, "train: the number of steps")
      ->check(CLI::Range(1, 1 << 30));
  run_cmd->add_option("--set", run.set,
                      "NAME=VALUE: override a runtime scalar (lr, dense1.keep...)");
  run_cmd->add_option("--export", run.export_dir,
                      "train: write initial weights, batches, gradients and final weights as .npy");

  CompileOptions comp;
  auto* compile_cmd = app.add_subcommand("compile", "Compile a model into a standalone executable");
  compile_cmd->add_option("MODEL", comp.model, "a .nn or .onnx model file")->required();
  compile_cmd->add_option("-o,--output", comp.output, "the executable to write")->required();
  compile_cmd
      ->add_option("--emit", comp.emit,
                   "exe; lib (a static library, and its C header as OUT.h); or stmt/asm to "
                   "also keep the kernels' Halide statements or assembly in OUT.kernels/")
      ->check(CLI::IsMember({"exe", "lib", "stmt", "asm"}));
  compile_cmd->add_option("--max-batch", comp.max_batch, "the largest batch the binary accepts")
      ->check(CLI::Range(1, 1 << 20));
  compile_cmd->add_flag("--debug", comp.debug, "keep Halide's buffer checks in the kernels");
  compile_cmd->add_option("--quantize", comp.quantize,
                          "int8: post-training static quantization of the inference program "
                          "(docs/quantization.md; needs --calibrate and --weights)");
  compile_cmd->add_option("--calibrate", comp.calibrate,
                          "--quantize: the data spec whose examples calibrate the activations' "
                          "ranges (fashion-mnist, npy:X,Y, idx:IMAGES,LABELS, csv:PATH)");
  compile_cmd
      ->add_option("--calibrate-count", comp.calibrate_count,
                   "--quantize: how many calibration examples (spread over the data)")
      ->capture_default_str();
  compile_cmd->add_option("--weights", comp.weights,
                          "--quantize: the checkpoint (`train --save`) the binary will run with");
  compile_cmd->add_flag("--mpi", comp.mpi,
                        "train data-parallel under mpirun: the gradients are summed over the "
                        "ranks (docs/mpi.md; links Open MPI's libmpi)");

  BenchOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "Compile (or reuse) a model and time its kernels");
  bench_cmd->add_option("MODEL", bench.model, "a .nn or .onnx model file")->required();
  bench_cmd->add_option("--batch", bench.batch, "batch extent")->check(CLI::Range(1, 1 << 20));
  bench_cmd->add_option("--iters", bench.iters, "timed steps")->check(CLI::Range(1, 1 << 20));
  bench_cmd->add_flag("--json", bench.json, "end with one JSON line (step_ms, images_per_second)");

  GradcheckOptions gc;
  auto* gc_cmd = app.add_subcommand("gradcheck", "Compare symbolic and numeric gradients");
  gc_cmd->add_option("MODEL", gc.model, "a .nn or .onnx model file")->required();
  gc_cmd->add_option("--eps", gc.eps, "the step of the two-sided differences")
      ->check(CLI::PositiveNumber);
  gc_cmd->add_option("--tol", gc.tol, "the largest relative error that passes")
      ->check(CLI::PositiveNumber);
  gc_cmd->add_option("--seed", gc.seed, "random seed");
  gc_cmd->add_option("--after-steps", gc.after_steps, "train this many steps first")
      ->check(CLI::Range(0, 1 << 20));
  gc_cmd->add_option("--batch", gc.batch, "batch extent")->check(CLI::Range(1, 1 << 16));
  gc_cmd->add_option("--samples", gc.samples, "entries checked per parameter")
      ->check(CLI::Range(1, 1 << 30));

  OnnxTestOptions onnx_test;
  auto* onnx_test_cmd = app.add_subcommand(
      "onnx-test",
      "Run ONNX backend test cases (model.onnx, test_data_set_N/) through the importer, "
      "the reference interpreter and the compiled kernels; one JSON line per case");
  onnx_test_cmd->add_option("CASE_DIR", onnx_test.cases, "a test case folder")->required();
  onnx_test_cmd->add_option("--rtol", onnx_test.tolerance.rtol, "relative tolerance");
  onnx_test_cmd->add_option("--atol", onnx_test.tolerance.atol, "absolute tolerance");
  onnx_test_cmd->add_flag("--batch-axis", onnx_test.batch_axis,
                          "import the inputs' first dimension as the batch dimension");
  onnx_test_cmd->add_option("--feed", onnx_test.feed,
                            "an integer input fed at run time instead of bound as a constant");
  onnx_test_cmd->add_flag("--reference-only", onnx_test.reference_only,
                          "compare the reference interpreter only, not the compiled kernels");

  ExportOptions exp;
  auto* export_cmd = app.add_subcommand(
      "export", "Write the inference graph as ONNX (opset 17), with a checkpoint's weights");
  export_cmd->add_option("MODEL", exp.model, "a .nn or .onnx model file")->required();
  export_cmd->add_option("-o,--output", exp.output, "the .onnx file to write")->required();
  auto* weights_opt = export_cmd->add_option(
      "--weights", exp.weights, "a checkpoint written by the compiled model's `train --save`");
  export_cmd
      ->add_flag("--random-init", exp.random_init,
                 "weights drawn by the params' initializers instead")
      ->excludes(weights_opt);
  export_cmd->add_option("--seed", exp.seed, "seed of --random-init and of the test inputs");
  export_cmd->add_option("--test-data", exp.test_data,
                         "also write random inputs and the reference outputs to this folder "
                         "(input_K.pb/.npy, output_K.pb/.npy: an ONNX test_data_set)");
  export_cmd->add_option("--batch", exp.batch, "batch extent of the test data")
      ->check(CLI::Range(1, 1 << 16));
  export_cmd
      ->add_option("--inputs", exp.inputs,
                   "the test data's inputs as .npy files (raw, before normalization), one per "
                   "model input, instead of random ones")
      ->delimiter(',');

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? 0 : 2; // usage errors: 2, like most Unix tools
  }

  return exit_status([&] {
    if (*check) return cmd_check(check_model);
    if (*dump_cmd) return cmd_dump(dump);
    if (*run_cmd) return cmd_run(run);
    if (*gc_cmd) return cmd_gradcheck(gc);
    if (*compile_cmd) return cmd_compile(comp);
    if (*bench_cmd) return cmd_bench(bench);
    if (*onnx_test_cmd) return cmd_onnx_test(onnx_test);
    if (*export_cmd) return cmd_export(exp);
    return 0;
  });
}
