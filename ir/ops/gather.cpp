// Lookup tables: gather (the embedding layer's forward op) and its adjoint,
// the scatter-add gather_backward. Each op's shape rule, reference
// implementation, FLOPs rule and gradient rule sit together; the Halide
// lowerings are in codegen/ops/gather.cpp.
//
// Ids are integer tensors (i32, as `input ids : class(V)[batch, T]`
// declares them), held by the reference in T as exact integers like class
// labels (ir/tensor.h). An id outside 0..V-1 is a data error: the reference
// throws naming the value and its position, the compiled kernel stops with
// a Halide error that says the same (codegen/ops/gather.cpp).
#include "ir/gradient.h"
#include "ir/op_registry.h"

#include <cmath>
#include <fmt/format.h>

namespace netc {

namespace {

void check_ids(const TensorType& ids) {
  if (ids.dtype != DType::i32 && ids.dtype != DType::i64)
    throw ShapeError(fmt::format("ids must be integer indices (i32 or i64), found {}; declare "
                                 "them as `input ids : class(V)[batch, T]`",
                                 to_string(ids)));
  // A scalar id is a [1] of ids; the compiled scatter walks the ids' axes.
  if (ids.shape.rank() == 0)
    throw ShapeError(fmt::format("ids must have at least one axis, found {}", to_string(ids)));
}

// "[3,7]": the position of flat element p of a row-major tensor of `shape`.
std::string position(int64_t p, const std::vector<int64_t>& shape) {
  std::vector<int64_t> at(shape.size());
  for (size_t a = shape.size(); a-- > 0;) {
    at[a] = shape[a] ? p % shape[a] : 0;
    p = shape[a] ? p / shape[a] : 0;
  }
  return fmt::format("[{}]", fmt::join(at, ","));
}

// An id held in T must be an exact row index in [0, V); anything else is a
// data error that names the value and where it is.
template <class T>
int64_t row_index(const Tensor<T>& ids, int64_t p, int64_t rows) {
  T id = ids[p];
  if (!(id >= T(0) && id < T(rows) && id == std::floor(id)))
    throw ShapeError(fmt::format("id {} at position {} of the ids {} is outside the table's "
                                 "rows 0..{}",
                                 static_cast<double>(id), position(p, ids.shape),
                                 fmt::format("[{}]", fmt::join(ids.shape, ",")), rows - 1));
  return static_cast<int64_t>(id);
}

// ---- gather(table, ids) --------------------------------------------------------
//   y[s..., d] = table[ids[s...], d]        table [V, D], ids S, y [S..., D]
// torch.nn.functional.embedding(ids, table).
TensorType shape_gather(const Attrs&, std::span<const TensorType> in) {
  const TensorType& table = in[0];
  if (!is_float(table.dtype))
    throw ShapeError(fmt::format("the table must be f32 or f64, found {}", to_string(table)));
  if (table.shape.rank() != 2 || table.shape[0] == kBatch || table.shape[1] == kBatch)
    throw ShapeError(fmt::format("the table must be [V, D] with constant V and D, found {}",
                                 to_string(table.shape)));
  check_ids(in[1]);
  std::vector<int64_t> dims = in[1].shape.dims;
  dims.push_back(table.shape[1]);
  return {table.dtype, checked_shape(std::move(dims))};
}

template <class T>
void ref_gather(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& table = *in[0];
  const Tensor<T>& ids = *in[1];
  int64_t V = table.dim(0), D = table.dim(1);
  for (int64_t p = 0; p < ids.size(); ++p) {
    int64_t row = row_index(ids, p, V);
    for (int64_t d = 0; d < D; ++d) out[p * D + d] = table[row * D + d];
  }
}

// Data movement only.
int64_t flops_gather(const Node&, std::span<const TensorType>) { return 0; }

// y is linear in the table: y[s, d] = sum_v [ids[s] = v] table[v, d], so
//   dtable[v, d] = sum_{s: ids[s] = v} dy[s, d]      (gather_backward)
// and the ids, integers, get none.
std::vector<ValueId> grad_gather(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  int64_t vocab = gb.type(n.inputs[0]).shape[0];
  return {gb.op(OpKind::GatherBackward, {dy, n.inputs[1]}, Attrs{{"vocab", vocab}}), kNoGrad};
}

// ---- gather_backward(dy, ids) {vocab} -------------------------------------------
//   dtable[v, d] = sum_{s: ids[s] = v} dy[s, d]             dy [S..., D] -> [vocab, D]
// A repeated id accumulates every position's row.
TensorType shape_gather_backward(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& dy = in[0];
  const TensorType& ids = in[1];
  if (!is_float(dy.dtype))
    throw ShapeError(fmt::format("dy must be f32 or f64, found {}", to_string(dy)));
  check_ids(ids);
  int64_t vocab = attrs.get_int("vocab");
  if (vocab < 1) throw ShapeError(fmt::format("vocab must be positive, found {}", vocab));
  bool ok = dy.shape.rank() == ids.shape.rank() + 1 && dy.shape.dims.back() != kBatch;
  for (int a = 0; ok && a < ids.shape.rank(); ++a) ok = dy.shape[a] == ids.shape[a];
  if (!ok)
    throw ShapeError(fmt::format("dy must be the ids' shape {} plus a constant row width, "
                                 "found {}",
                                 to_string(ids.shape), to_string(dy.shape)));
  return {dy.dtype, checked_shape({vocab, dy.shape.dims.back()})};
}

template <class T>
void ref_gather_backward(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& dy = *in[0];
  const Tensor<T>& ids = *in[1];
  int64_t V = out.dim(0), D = out.dim(1);
  for (int64_t p = 0; p < ids.size(); ++p) {
    int64_t row = row_index(ids, p, V);
    for (int64_t d = 0; d < D; ++d) out[row * D + d] += dy[p * D + d];
  }
}

// One add per dy element.
int64_t flops_gather_backward(const Node&, std::span<const TensorType> in) {
  return in[0].shape.static_elements();
}

// dtable is linear in dy, and its adjoint is the gather again:
//   d(dy)[s, d] = g[ids[s], d]            for the gradient g of dtable
std::vector<ValueId> grad_gather_backward(GradBuilder& gb, const Node& n, ValueId, ValueId g) {
  return {gb.op(OpKind::Gather, {g, n.inputs[1]}), kNoGrad};
}

const OpDef kGatherOps[] = {
    {OpKind::Gather, 2, 2, shape_gather, NETC_REF(ref_gather), flops_gather, grad_gather},
    {OpKind::GatherBackward, 2, 2, shape_gather_backward, NETC_REF(ref_gather_backward),
     flops_gather_backward, grad_gather_backward},
};

} // namespace

std::span<const OpDef> gather_op_defs() { return kGatherOps; }

} // namespace netc
