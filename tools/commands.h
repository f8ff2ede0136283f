// The subcommands of `netc`. Each returns the process exit status; user errors
// propagate as netc::UserError and are reported by main().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace netc {

struct DumpOptions {
  std::string model;
  std::string after = "parse"; // a stage name or "all"
  std::string format = "text"; // text | dot
  std::string mode = "train";  // train | infer
};

struct RunOptions {
  std::string model;
  std::string action; // forward | train
  bool random_init = false;
  int64_t batch = 2;
  uint64_t seed = 1;
  std::string mode = "infer";   // forward: infer | train
  int64_t steps = 10;           // train
  std::vector<std::string> set; // NAME=VALUE runtime scalar overrides (lr, dense1.keep...)
  std::string export_dir;       // train: write initial weights, batches, gradients, final weights
};

struct GradcheckOptions {
  std::string model;
  double eps = 1e-7;
  double tol = 1e-7;
  uint64_t seed = 1;
  int64_t after_steps = 0;
  int64_t batch = 4;
  int64_t samples = 24; // entries checked per parameter (all of them if fewer)
};

int cmd_check(const std::string& model);
int cmd_dump(const DumpOptions& o);
struct CompileOptions {
  std::string model;
  std::string output;
  // Post-training int8 quantization of the inference program
  // (docs/quantization.md): "int8" or empty, the calibration data spec, how
  // many of its examples, and the checkpoint whose weights are calibrated.
  std::string quantize;
  std::string calibrate;
  int64_t calibrate_count = 512;
  std::string weights;
  std::string emit = "exe"; // exe | stmt | asm (exe plus the kernels' listings)
  int64_t max_batch = 0;    // 0: the model's batch or 256, whichever is larger
  bool debug = false;       // keep Halide's buffer checks in the kernels
  bool mpi = false;         // data-parallel training over Open MPI (docs/mpi.md)
};

struct BenchOptions {
  std::string model;
  int64_t batch = 0; // 0: the model's batch
  int64_t iters = 30;
  bool json = false;
};

int cmd_run(const RunOptions& o);
int cmd_compile(const CompileOptions& o);
// Compiles (or finds in the cache) the model's executable and runs its bench.
int cmd_bench(const BenchOptions& o);
// Compiles the model (cached) and replaces this process by its executable
// running `ACTION ARGS...`; returns only on failure.
int run_compiled(const std::string& model, const std::vector<std::string>& args);
// The executable of a model in the compile cache, compiling it if needed.
std::string cached_executable(const CompileOptions& o, bool quiet);
int cmd_gradcheck(const GradcheckOptions& o);

// The tolerance of ONNX's backend test runner: |got - want| <= atol + rtol |want|.
struct OnnxConformanceTolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

struct OnnxTestOptions {
  std::vector<std::string> cases; // folders with model.onnx and test_data_set_N/
  OnnxConformanceTolerance tolerance;
  bool batch_axis = false;     // import the inputs' first dimension as the batch
  bool reference_only = false; // skip the compiled kernels
  // Integer inputs fed at run time, by ONNX name, instead of bound as
  // constants (class labels: the form a deployed model gets them in).
  std::vector<std::string> feed;
};

// `netc onnx-test`: runs ONNX backend test cases; exit 1 when any failed.
int cmd_onnx_test(const OnnxTestOptions& o);

struct ExportOptions {
  std::string model;
  std::string output;              // the .onnx file to write
  std::string weights;             // a checkpoint written by the compiled model's `train --save`
  bool random_init = false;        // or weights drawn by the params' initializers
  uint64_t seed = 1;               // of --random-init and of the test data's inputs
  std::string test_data;           // a folder for input_K.pb / output_K.pb (and .npy twins)
  int64_t batch = 2;               // of the test data
  std::vector<std::string> inputs; // .npy files for the test data instead of random inputs
};

// `netc export`: the inference graph as ONNX (codegen/onnx/onnx_export.h).
int cmd_export(const ExportOptions& o);

// Parses NAME=VALUE runtime scalar overrides; a malformed one is a UserError.
std::map<std::string, double> parse_overrides(const std::vector<std::string>& set);

} // namespace netc
