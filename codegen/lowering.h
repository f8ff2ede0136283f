// Halide lowerings of the IR ops. Each op family has a file
// codegen/ops/<family>.cpp (mirroring ir/ops/) that defines one lowering rule
// per op and exposes them as a table of {OpKind, rule}; find_lowering()
// gathers the tables like ir/op_registry.cpp does.
//
// Conventions:
// - A value of IR shape [d0, ..., dn-1] (row-major) is a Halide Func whose
//   arguments run innermost first: f(x_{n-1}, ..., x_0). The helpers below
//   take indices in IR order and reverse them, so rules read like the IR.
// - The batch extent is the runtime scalar `batch`; every other extent is a
//   compile-time constant.
// - A rule builds pure Funcs where it can (the schedule inlines them into
//   their consumers, which is how elementwise chains fuse) and lists every
//   Func that must not be inlined (reductions, per-channel statistics) in
//   Lowered::stages, for the schedule to place.
#pragma once

#include "ir/graph.h"

#include <Halide.h>

#include <span>
#include <string>
#include <vector>

namespace netc::codegen {

// Compile-time options of a lowering.
struct LowerOptions {
  bool training = false; // dropout masks, batch norm on batch statistics
};

// The runtime scalars a kernel may read besides its buffers.
struct KernelScalars {
  Halide::Param<int32_t> batch{"batch"}; // the batch extent
  Halide::Param<uint64_t> seed{"seed"};  // dropout: the run's seed
  Halide::Param<uint32_t> step{"step"};  // dropout: the training step
};

// What a rule sees.
struct LowerCtx {
  ValueId id;
  const Node& node;
  std::vector<Halide::Func> in;     // the operands' values, in node.inputs order
  std::vector<TensorType> in_types; // their IR types
  const LowerOptions& options;
  const KernelScalars& scalars;
  const Halide::ImageParam* param = nullptr; // input/param/state/hyper: the kernel's buffer
  // The kernel reads or writes a channels-last value (passes/layout.h): its
  // schedule computes across channels, so a rule may prefer per-pixel
  // selects to a padded copy along rows.
  bool channels_last_kernel = false;

  const TensorType& out() const { return node.type; }
  Halide::Type type() const; // the Halide type of the output
  Halide::Expr batch() const { return scalars.batch; }
  // A Func name unique within the kernel: "matmul_12", "matmul_12_acc".
  std::string name(const std::string& part = "") const;
};

// A Func that the schedule must place (compute_at or compute_root) instead
// of inlining, with the IR-order extents of its pure dimensions.
struct Stage {
  Halide::Func f;
  Shape shape;
};

// What a rule builds.
struct Lowered {
  Halide::Func value;        // the op's value over its IR shape
  std::vector<Stage> stages; // producers first; may include `value` itself
  Halide::Func padded;       // conv2d: the zero-padded input, if padding > 0
  Halide::Func packed_b;     // matmul with transpose_b: b^T, for panel packing
  Halide::Func b_source;     // matmul with transpose_b: the b that packed_b reads
  // conv2d, conv2d_backward_input and conv2d_backward_weight on the NHWC
  // path (HALIDE-NOTES: channels innermost map onto whole zmm registers).
  // All of them are also in `stages`, so the generic schedule stays correct.
  Halide::Func nhwc_input;      // (c, x, y, n): the padded input, channels innermost
  Halide::Func nhwc_weights;    // conv/dx: (co, ci, kx, ky), the weights reordered
  Halide::Func nhwc_weight_src; // conv/dx: (kw, kh, ci, co), what nhwc_weights reorders
  Halide::Func nhwc_acc;        // conv/dx: (co, x, y, n); dW: (co, ci, kx, ky)
  Shape nhwc_shape;             // conv/dx: nhwc_acc's IR shape [N, Y, X, C] (a strided dx: phases)
  Halide::Func nhwc_dy;         // dW: (co, x, y, n), dy channels innermost
  Halide::Func nhwc_part;       // dW: (co, ci, kx, ky, n), one image's sums
  Halide::Func nhwc_partial;    // dW: (co, ci, kx, ky, chunk), a chunk's sums (not with few taps)
  // conv2d_packed: nhwc_weights or wino_u read the op's weights buffer, which
  // passes/prepack.h filled in that layout once: inlined, not in `stages`.
  bool weights_prepacked = false;
  // conv2d on the NCHW path: w itself (an identity, inlined), which the
  // channels-last schedule of a depthwise conv stores channels innermost.
  Halide::Func direct_weights;
  // conv2d and its dx when 1x1, stride 1 and unpadded between NCHW values
  // (pointwise_conv, codegen/ops/window.h): (p, o, n), p = y W + x the
  // flattened pixel; `value` reads it back at y W + x.
  Halide::Func flat_acc;
  Halide::Func i8_taps; // conv2d_i8: (l, rep, group..., n), a group's 4 u8 taps x16
  // conv2d on the Winograd F(2x2, 3x3) path (codegen/ops/winograd.h), in
  // Halide order (innermost first); all of them are also in `stages`.
  Halide::Func wino_input; // (c, x, y, n): the padded input, channels innermost
  Halide::Func wino_u;     // (o, c, nu, xi): the transformed kernel G g G^T
  Halide::Func wino_bias;  // (o): the bias, if any
  Halide::Func wino_v;     // (c, tx, ty, xi, nu, n): the transformed patches B^T d B
  Halide::Func wino_m;     // (o, tx, ty, xi, nu, n): sum_c U V, an update over c
  Halide::Func wino_y;     // (o, dx, dy, tx, ty, n): bias + A^T M A, the 2x2 outputs
};

using LowerRule = Lowered (*)(const LowerCtx& ctx);

struct OpLowering {
  OpKind kind;
  LowerRule lower;
};

// The rule of an op, or nullptr when ops.def has an op that has no lowering yet.
LowerRule find_lowering(OpKind kind);

// The family tables, one per codegen/ops/<family>.cpp.
std::span<const OpLowering> leaf_lowerings();
std::span<const OpLowering> elementwise_lowerings();
std::span<const OpLowering> reduce_lowerings();
std::span<const OpLowering> shape_lowerings();
std::span<const OpLowering> matmul_lowerings();
std::span<const OpLowering> conv_lowerings();
std::span<const OpLowering> conv_backward_lowerings(); // the conv family's backward ops
std::span<const OpLowering> resize_lowerings();
std::span<const OpLowering> gather_lowerings();
std::span<const OpLowering> norm_lowerings();
std::span<const OpLowering> activation_lowerings();
std::span<const OpLowering> loss_lowerings();
std::span<const OpLowering> quant_lowerings();
std::span<const OpLowering> packed_conv_lowerings();

// ---- Helpers shared by the rules and the schedules ---------------------------

// An index in IR order: idx[a] is the coordinate along IR axis a.
using Index = std::vector<Halide::Expr>;

Halide::Type halide_type(DType t);

// The pure Vars of a rank-r value in IR order, named "x0".."x{r-1}" (axis 0
// first). No name ends in 'i' or 'o' after another Var's name, so splits made
// by an autoscheduler cannot collide with them (HALIDE-NOTES pitfall 1).
std::vector<Halide::Var> ir_vars(int rank);
Index as_index(const std::vector<Halide::Var>& vars);

// f at an IR-order index: f(idx[n-1], ..., idx[0]).
Halide::Expr at(const Halide::Func& f, const Index& idx);
// Defines f over IR-order vars: f(vars[n-1], ..., vars[0]) = e.
void define(Halide::Func& f, const std::vector<Halide::Var>& vars, const Halide::Expr& e);
// A pure Func named `name` over `rank` IR-order vars, defined by body(index).
template <class Body>
Halide::Func pure_func(const std::string& name, int rank, Body body) {
  Halide::Func f(name);
  std::vector<Halide::Var> v = ir_vars(rank);
  define(f, v, body(as_index(v)));
  return f;
}

// The extent of IR axis a: a constant, or the runtime batch.
Halide::Expr extent(const Shape& s, int a, const Halide::Expr& batch);
// The product of all extents, or of those in [from, to).
Halide::Expr elements(const Shape& s, const Halide::Expr& batch);
Halide::Expr elements(const Shape& s, int from, int to, const Halide::Expr& batch);

// The index of an operand of shape `in` that numpy-broadcasts onto the output
// index `idx` (right-aligned; a 1 reads coordinate 0).
Index broadcast_index(const Shape& in, const Shape& out, const Index& idx);

// The value v as a constant of type t.
Halide::Expr constant(Halide::Type t, double v);

// max and min that propagate a NaN from either side, like ir/ops/common.h's
// max_nan/min_nan, so a NaN stays visible to a training step's non-finite
// checks. Halide's own max/min drop NaNs, and its fast-math flags let LLVM
// assume a running max is never NaN (a reduce_max lost its NaN), so these
// are evaluated in strict_float mode.
Halide::Expr max_nan(const Halide::Expr& a, const Halide::Expr& b);
Halide::Expr min_nan(const Halide::Expr& a, const Halide::Expr& b);

// exp, log and pow with libm's special values. Halide's own polynomial
// versions (measured) give exp(NaN) = 0, log(NaN) = 89.1, pow(NaN, 1) = -inf,
// pow(1, NaN) = 0 and pow(0, -1) = 0, where the reference (std::exp, ...)
// gives NaN, NaN, NaN, 1 and inf. ieee_exp on f32 is codegen/vector_math's
// exp_f32, which vectorizes (Halide's f32 exp calls libm once per lane).
Halide::Expr ieee_exp(const Halide::Expr& x);
Halide::Expr ieee_log(const Halide::Expr& x);
Halide::Expr ieee_pow(const Halide::Expr& x, const Halide::Expr& y);

// An RDom over the given IR axes of shape s, innermost (last) axis first, so
// r[0] walks the most contiguous axis. Returns the RDom and, for each axis in
// `axes` (IR order), the RVar that walks it.
struct AxisRDom {
  Halide::RDom r;
  std::vector<Halide::Expr> vars; // vars[i] walks axes[i]
};
AxisRDom axis_rdom(const Shape& s, const std::vector<int>& axes, const Halide::Expr& batch,
                   const std::string& name);

} // namespace netc::codegen
