// Compiles a kernel once for the host and runs it on host tensors. Halide
// stays behind a pimpl: including this header does not pull in Halide.h.
//
// Calls are cheap: bind() builds Halide::Buffer views over the caller's
// tensors once (and points the ImageParams at them); run() then only sets
// the runtime scalars and realizes into the bound output buffers (~0.1 us of
// overhead, HALIDE-NOTES). Integer inputs (class labels, held as exact
// integers in Tensor<float> like the reference interpreter holds them) are
// converted into a staging buffer allocated at bind time.
//
// Threads: Halide's pool reads HL_NUM_THREADS when the first kernel runs.
#pragma once

#include "codegen/kernel_spec.h"
#include "ir/tensor.h"

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace netc::codegen {

// The per-call runtime scalars besides the batch extent.
struct StepScalars {
  uint64_t seed = 0; // dropout masks
  int64_t step = 0;
};

class JitKernel {
public:
  // Lowers, schedules and JIT-compiles. The graph need not outlive the kernel.
  JitKernel(const Graph& g, const KernelSpec& spec, const KernelOptions& options = {});
  ~JitKernel();
  JitKernel(JitKernel&&) noexcept;
  JitKernel& operator=(JitKernel&&) noexcept;

  const KernelSpec& spec() const;
  KernelKind kind() const;
  const std::string& schedule_notes() const;
  double compile_seconds() const; // lowering + scheduling + JIT

  // Views over the tensors, in spec order, at the given batch extent. The
  // tensors must keep their storage (no resize) until the next bind. A shape
  // that does not match is the caller's bug: an internal_error (ir/error.h).
  void bind(int64_t batch, std::span<const Tensor<float>* const> inputs,
            std::span<Tensor<float>* const> outputs);
  // Runs on the bound tensors.
  void run(const StepScalars& scalars = {});
  // Allocating convenience for tests: binds, runs, returns the outputs.
  std::vector<Tensor<float>> run(int64_t batch, std::span<const Tensor<float>* const> inputs,
                                 const StepScalars& scalars = {});

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Timing for `netc bench`: `samples` samples of the bound kernel, each the
// mean of enough consecutive calls to last at least `min_sample_s` (one call
// when 0), after a warm-up call.
struct KernelTiming {
  double median_s = 0;
  double min_s = 0;
  int samples = 0;
  int calls_per_sample = 0;
};
KernelTiming time_kernel(JitKernel& kernel, int samples, double min_sample_s = 0,
                         const StepScalars& scalars = {});

} // namespace netc::codegen
