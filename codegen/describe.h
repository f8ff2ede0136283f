// `netc dump --after lower`: each kernel's Halide pipeline as Halide lowers
// it (loops, vectorization, parallelism, storage), with the schedule's notes.
#pragma once

#include "passes/plan.h"

#include <string>

namespace netc::codegen {

std::string describe_lowered_kernels(const CompiledProgram& program);

} // namespace netc::codegen
