// Kernel lowering: the nodes of a KernelSpec become one Halide Pipeline. Every
// external input is an ImageParam whose static extents and dense row-major
// strides are declared (HALIDE-NOTES rule 1: constant shapes let the schedule
// drop bounds checks and pick tiles), with batch dimensions bound to the
// runtime `batch` scalar; every output is a fresh pure Func over its value, so
// the value's producers can be computed at the output's tiles.
#pragma once

#include "codegen/kernel_spec.h"
#include "codegen/lowering.h"

#include <Halide.h>

#include <string>
#include <vector>

namespace netc::codegen {

struct LoweredKernel {
  KernelSpec spec;
  KernelKind kind = KernelKind::elementwise; // spec.kind
  Schedule schedule = Schedule::none;        // what the scheduler made of it
  std::string schedule_notes;                // the schedule's choices, for dumps
  KernelScalars scalars;                     // batch, seed, step
  std::vector<Halide::ImageParam> inputs;    // one per spec.inputs
  std::vector<Halide::Func> outputs;         // one per spec.outputs
  Halide::Pipeline pipeline;
  Halide::Target target;
};

// Lowers and (unless options.schedule is false) schedules the kernel. The
// graph is assumed verified: a malformed spec or an op without a lowering is
// an internal error.
LoweredKernel lower_kernel(const Graph& g, const KernelSpec& spec,
                           const KernelOptions& options = {});

// The host target (AVX-512 here, HALIDE-NOTES), with no_asserts when asked.
Halide::Target kernel_target(const KernelOptions& options);

} // namespace netc::codegen
