// Ahead-of-time compilation of a model's kernels (HALIDE-NOTES, "AOT"): every
// kernel of the plan becomes one function of a single static library, plus
// Halide's runtime as a separate object, so the executable that links them
// needs no Halide or LLVM at run time.
#pragma once

#include "passes/plan.h"

#include <string>

namespace netc::codegen {

struct AotOptions {
  bool no_asserts = false; // drop Halide's buffer checks (the runtime checks shapes itself)
  bool emit_stmt = false;  // also write each kernel's lowered statement as HTML
  bool emit_asm = false;   // also write the assembly
};

struct AotFiles {
  std::string static_library; // DIR/netc_kernels.a
  std::string header;         // DIR/netc_kernels.h
  std::string runtime_object; // DIR/halide_runtime.o
};

// Lowers, schedules and compiles every kernel of `bundle` into `dir`. The
// function of KernelCall `name` is `name` / `name_argv`, its arguments the
// call's inputs, the scalars batch, seed and step, then its outputs.
AotFiles compile_kernels_aot(const PlanBundle& bundle, const std::string& dir,
                             const AotOptions& options = {});

// The Halide target the kernels are compiled for, as a string (for caches).
std::string aot_target_string();

} // namespace netc::codegen
