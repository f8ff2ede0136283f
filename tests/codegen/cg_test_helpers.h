// Differential testing of compiled kernels: build a graph, pick the kernel's
// nodes, compile it once, run it at several batch extents and compare every
// output with the reference interpreter (interpret<float> on the same graph
// and the same data) to a stated tolerance.
#pragma once

#include "codegen/jit.h"
#include "ir/interpreter.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

namespace netc::cg_test {

using codegen::KernelOptions;
using codegen::KernelSpec;
using codegen::StepScalars;

inline constexpr int64_t B = kBatch;
// Batch 1, sizes that are not multiples of the 8-row and 16-lane tiles, and a
// full training batch.
inline const std::vector<int64_t> kBatches = {1, 7, 37, 128};

inline TensorType f32(Shape s) { return {DType::f32, std::move(s)}; }
inline TensorType i32(Shape s) { return {DType::i32, std::move(s)}; }
inline TensorType u8(Shape s) { return {DType::u8, std::move(s)}; }
inline TensorType i8(Shape s) { return {DType::i8, std::move(s)}; }

// How a leaf is filled: uniform in [lo, hi), or integer labels in [0, classes),
// optionally with a NaN at every nan_every-th element.
struct Fill {
  double lo = -2, hi = 2;
  int64_t classes = 0;   // > 0: labels
  int64_t nan_every = 0; // > 0: NaNs at flat indices k * nan_every + nan_every / 2
  int64_t first = 0;     // labels: integers in [first, first + classes)
};
inline Fill uniform(double lo, double hi) { return {lo, hi, 0, 0}; }
inline Fill labels(int64_t classes) { return {0, 0, classes, 0}; }
inline Fill with_nans(int64_t every) { return {-2, 2, 0, every}; }
// Integers in [lo, hi] (quantized u8 and i8 values).
inline Fill integers(int64_t lo, int64_t hi) { return {0, 0, hi - lo + 1, 0, lo}; }

// |got - want| <= atol + rtol |want|, elementwise.
struct Tol {
  double atol = 1e-6;
  double rtol = 1e-6;
};

struct RunOptions {
  std::vector<int64_t> batches = kBatches;
  KernelOptions kernel = {};
  StepScalars scalars = {};
  // Values of hyper leaves by name (their defaults otherwise).
  std::map<std::string, double> hypers = {};
};

// Compiles `spec` once and compares its outputs with the reference at each
// batch extent. Named leaves get data from `fills` by name (uniform [-2, 2)
// otherwise); values produced outside the kernel come from the reference.
// Returns the compiled kernel's schedule notes.
std::string check_kernel(const Graph& g, const KernelSpec& spec,
                         const std::map<std::string, Fill>& fills, Tol tol,
                         const RunOptions& run = {});

// An operand of check_op: a leaf of the given type (an Input unless `leaf`
// says otherwise) named in0, in1, ...
struct Operand {
  TensorType type;
  Fill fill = {};
  OpKind leaf = OpKind::Input;
  double hyper_value = 0; // hyper leaves: the default value
};

// One op over leaves, as a single-op kernel.
std::string check_op(OpKind kind, const std::vector<Operand>& operands, const Attrs& attrs, Tol tol,
                     const RunOptions& run = {});

// Builds a graph with named Input leaves, for multi-op kernels.
struct Builder {
  Graph g;
  GraphBuilder b{g};
  ValueId input(const std::string& name, TensorType t) {
    return b.leaf(OpKind::Input, std::move(t), Attrs{{"name", name}});
  }
  ValueId param(const std::string& name, TensorType t) {
    return b.leaf(OpKind::Param, std::move(t), Attrs{{"name", name}});
  }
  ValueId op(OpKind k, std::vector<ValueId> in, Attrs a = {}) {
    return b.op(k, std::move(in), std::move(a));
  }
};

} // namespace netc::cg_test
