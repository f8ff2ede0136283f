// Schedules, one place per kernel kind:
//   schedule.cpp         the dispatcher, and the generic schedule that serves
//                        elementwise and reduction kernels and every fallback
//   schedule_matmul.cpp  HALIDE-NOTES' register-blocked matmul recipe
//   schedule_conv.cpp    conv2d, its dx and dW (NHWC register-blocked
//                        kernels where the lowering chose them, else NCHW)
//   schedule_winograd.cpp  the Winograd F(2x2,3x3) conv kernels
// A specific schedule checks that the kernel fits its pattern and otherwise
// says why not, in the notes, and leaves the kernel to the generic schedule.
#pragma once

#include "codegen/kernel.h"

#include <map>
#include <string>

namespace netc::codegen {

// What a schedule sees: the lowered ops and the kernel's output Funcs.
struct KernelFuncs {
  const Graph& g;
  const KernelSpec& spec;
  const std::map<ValueId, Lowered>& ops; // every node of spec.nodes
  const std::vector<Halide::Func>& outputs;
  const KernelScalars& scalars;
};

// Applies the schedule of the kernel's kind (k.spec.kind, fusion's) and
// returns which one it got, with its choices (or a recipe's refusal) in notes.
Schedule schedule_kernel(const KernelFuncs& k, std::string& notes);

// Each returns false, with the reason appended to notes, when the kernel does
// not fit its pattern (and then has changed nothing).
bool schedule_matmul(const KernelFuncs& k, std::string& notes);
bool schedule_conv(const KernelFuncs& k, std::string& notes);
// matmul_i8 and its epilogue (codegen/schedule_quant.cpp).
bool schedule_matmul_i8(const KernelFuncs& k, std::string& notes);
// conv2d_i8 and its epilogue (codegen/schedule_quant_conv.cpp).
bool schedule_conv_i8(const KernelFuncs& k, std::string& notes);
bool schedule_conv_weight_grad(const KernelFuncs& k, std::string& notes);
// Always applies: outputs vectorized and parallel, stages placed.
void schedule_generic(const KernelFuncs& k, std::string& notes);

// ---- Shared helpers -------------------------------------------------------------

// Lanes of one zmm register for type t (16 for f32; HALIDE-NOTES rule 2).
int zmm_lanes(const Halide::Type& t);
// The widest of zmm_lanes(t), 8 or 4 that fits a static extent (1 if none).
int vector_width(int64_t extent, const Halide::Type& t);

// The single node of kind `op` among the kernel's nodes, if there is exactly one.
std::optional<ValueId> only_node(const KernelFuncs& k, OpKind op);
// True when the kernel is its main op plus pure producers of its operands and
// an elementwise epilogue, with one output of the main op's shape.
bool is_epilogue_kernel(const KernelFuncs& k, ValueId main, const Shape& shape,
                        std::string& why_not);
// The pool (max or average, unrolled into a pure Func) that ends a conv
// kernel after the epilogue and is its single output (or, in an int8 conv's
// kernel, the input of the quantize that is), if any: fusion puts small
// pools there at inference.
std::optional<ValueId> final_pool(const KernelFuncs& k);

// Vectorizes and parallelizes a pure output (or root) Func over IR shape s;
// `in_place`: the output is written over an input, so no element may be
// computed twice. Returns the parallel loop's Var when the outer dimension
// was split into parallel chunks (stages may be computed there), else nothing.
std::optional<Halide::Var> schedule_pure(Halide::Func f, const Shape& s, bool in_place,
                                         std::string& notes);

} // namespace netc::codegen
