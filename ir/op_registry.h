// The op registry: for every OpKind, the rules that define it. An op family
// file (ir/ops/<family>.cpp) defines its ops' rules side by side and exposes
// them as a span of OpDef; the registry gathers them and checks that every op
// of ops.def is defined exactly once.
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

namespace netc {

// What a reference implementation may read besides its inputs: the mode, the
// runtime batch extent, the values of leaves, and the dropout generator state.
template <class T>
struct RefContext {
  bool training = false; // dropout active, batch norm on batch statistics
  int64_t batch = 1;     // the runtime batch extent
  uint64_t seed = 0;     // dropout masks are a function of (seed, step, stream, element)
  int64_t step = 0;
  // Inputs, params and state by name. Leaves look their values up here.
  const std::map<std::string, Tensor<T>>* values = nullptr;
  // Runtime scalars by name; a Hyper leaf absent here uses its default `value`.
  std::map<std::string, double> hypers;
};

// Input tensors of an op, in order.
template <class T>
using RefInputs = std::span<const Tensor<T>* const>;

// A reference implementation: plain loops, the oracle for every compiled
// kernel. `out` arrives with its concrete shape and zero-filled; the function
// fills it. User-facing failures (a missing input) throw ShapeError.
template <class T>
using RefFn = void (*)(const Node& node, RefInputs<T> in, Tensor<T>& out, RefContext<T>& ctx);

// The output type from the input types and attributes; throws ShapeError with
// a message that names the shapes involved.
using ShapeRule = TensorType (*)(const Attrs& attrs, std::span<const TensorType> inputs);

// Floating-point operations for one example (batch extent 1).
using FlopsRule = int64_t (*)(const Node& node, std::span<const TensorType> inputs);

class GradBuilder; // ir/gradient.h

// The gradient rule (reverse mode), written in IR so that the backward graph
// is optimized and compiled like the forward one. Given the forward node `n`
// (its inputs are n.inputs), its value `y` and the gradient `dy` of the loss
// with respect to y, it returns one entry per input: the gradient with
// respect to that input, or kNoGrad (integer inputs, indices, masks).
inline constexpr ValueId kNoGrad = -1;
using GradRule = std::vector<ValueId> (*)(GradBuilder& gb, const Node& n, ValueId y, ValueId dy);

struct OpDef {
  OpKind kind;
  int min_inputs;  // leaves: 0
  int max_inputs;  // -1: variadic
  ShapeRule shape; // nullptr only for leaves, whose type is declared
  RefFn<float> ref_f32;
  RefFn<double> ref_f64;
  RefFn<long double> ref_f80; // gradient checking: differences of losses need the extra digits
  FlopsRule flops;
  // nullptr: no rule, a compile error when a gradient must flow through the
  // op. Ops that are explicitly not differentiable use no_gradient.
  GradRule grad = nullptr;
  // Why the op is not differentiable, when it is not: with grad = no_gradient
  // (its inputs get no gradient) or grad = nullptr (none may flow through it).
  // The op table's completeness test requires a reason for both.
  std::string_view not_differentiable = {};
};

// The instantiations of a templated reference implementation, for OpDef tables.
#define NETC_REF(fn) &fn<float>, &fn<double>, &fn<long double>

const OpDef& op_def(OpKind kind);
bool op_is_defined(OpKind kind);

template <class T>
RefFn<T> reference_of(OpKind kind);
template <>
inline RefFn<float> reference_of<float>(OpKind kind) {
  return op_def(kind).ref_f32;
}
template <>
inline RefFn<double> reference_of<double>(OpKind kind) {
  return op_def(kind).ref_f64;
}
template <>
inline RefFn<long double> reference_of<long double>(OpKind kind) {
  return op_def(kind).ref_f80;
}

// The family tables, one per ir/ops/<family>.cpp.
std::span<const OpDef> leaf_op_defs();
std::span<const OpDef> elementwise_op_defs();
std::span<const OpDef> reduce_op_defs();
std::span<const OpDef> shape_op_defs();
std::span<const OpDef> matmul_op_defs();
std::span<const OpDef> conv_op_defs();
std::span<const OpDef> conv_backward_op_defs(); // the conv family's backward ops
std::span<const OpDef> resize_op_defs();
std::span<const OpDef> gather_op_defs();
std::span<const OpDef> norm_op_defs();
std::span<const OpDef> activation_op_defs();
std::span<const OpDef> loss_op_defs();
std::span<const OpDef> quant_op_defs();
std::span<const OpDef> packed_conv_op_defs();

} // namespace netc
