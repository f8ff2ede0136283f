// What the passes, the backend and the frontend know about an op besides its
// rules, read from the op table's columns (ir/ops.def): how fusion treats it,
// the kind of kernel it starts, and the .nn function that maps onto it. The
// passes and codegen read these instead of keeping switches of their own, so
// that a new op is one row of ops.def plus its family files.
#pragma once

#include "ir/op.h"

#include <string_view>

namespace netc {

// What an op is to the fusion policy (passes/fusion.h).
enum class FusionRole {
  named_leaf,  // input, param, state, hyper: read from a buffer
  inline_leaf, // constant, batch_size: an Expr computed inside each kernel
  pointwise,   // each output element from a fixed set of input elements
  anchor,      // loops over a reduction or a window; sets its kernel's schedule
};

// The kind of a kernel: fusion gives each kernel the kind of its anchor
// (elementwise without one), and the scheduler picks the schedule by it
// (codegen/schedule.cpp).
enum class KernelKind {
  elementwise, // pure maps, broadcasts, data movement
  reduction,   // reductions, softmax, losses, batch norm
  window,      // pooling windows and their gradients
  matmul,      // one matmul and its epilogue
  conv,        // one conv2d (or its dx or dW) and its epilogue
};

// "elementwise", "reduction", ...: the kernel names and the dumps use them.
std::string_view kernel_kind_name(KernelKind k);

struct OpTraits {
  FusionRole role;
  KernelKind kernel; // the kind of kernel the op starts (elementwise unless an anchor)
  // The parameter names of the .nn function of the op's name that takes its
  // inputs in order ("x", "a, b"); empty when the surface has no such plain
  // function (the frontend builds the op itself, or never).
  std::string_view surface;
};

const OpTraits& op_traits(OpKind op);

} // namespace netc
