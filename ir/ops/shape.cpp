// Data movement: reshape, transpose, concat, slice. They move elements without
// arithmetic, so they accept any dtype (labels included) and cost 0 FLOPs.
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc {

namespace {

int64_t no_flops(const Node&, std::span<const TensorType>) { return 0; }

int count_batch(const std::vector<int64_t>& dims) {
  return static_cast<int>(std::count(dims.begin(), dims.end(), kBatch));
}

// ---- reshape {shape} ------------------------------------------------------------
// y = x with the same row-major elements under a new shape. In `shape`, -1
// (== kBatch) marks the batch dimension, not "infer this extent": the input and
// the target have the same number of batch dimensions and the same static
// element count, so they agree at every runtime batch extent.
TensorType shape_reshape(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& x = in[0];
  const std::vector<int64_t>& target = attrs.get_ints("shape");
  for (int64_t d : target)
    if (d != kBatch && d <= 0)
      throw ShapeError(fmt::format("target shape {} has dimension {}; dimensions must be "
                                   "positive, or -1 for the batch",
                                   list_string(target), d));
  Shape to = checked_shape(target);
  std::string what = fmt::format("cannot reshape {} to {}", to_string(x), to_string(to));
  int nx = count_batch(x.shape.dims), nt = count_batch(target);
  if (nx != nt)
    throw ShapeError(fmt::format("{}: the input has {} batch dimension{}, the target has {}", what,
                                 nx, nx == 1 ? "" : "s", nt));
  if (x.shape.static_elements() != to.static_elements())
    throw ShapeError(fmt::format("{}: {} elements per example vs {}", what,
                                 x.shape.static_elements(), to.static_elements()));
  return {x.dtype, to};
}

template <class T>
void ref_reshape(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  out.data = in[0]->data;
}

// ---- transpose {perm} -----------------------------------------------------------
// y[i_0..i_r-1] = x[j] with j[perm[d]] = i_d, i.e. y.dims[d] = x.dims[perm[d]].
// perm entries may be negative (counted from the end).
std::vector<int> transpose_perm(const Attrs& attrs, const TensorType& x) {
  const std::vector<int64_t>& given = attrs.get_ints("perm");
  if (static_cast<int>(given.size()) != x.shape.rank())
    throw ShapeError(fmt::format("perm {} has {} entries, but {} has rank {}", list_string(given),
                                 given.size(), to_string(x), x.shape.rank()));
  std::vector<int> perm;
  for (int64_t a : given) {
    int p = normalize_axis(a, x, "perm entry");
    if (std::find(perm.begin(), perm.end(), p) != perm.end())
      throw ShapeError(fmt::format("perm {} is not a permutation of the axes of {}: axis {} "
                                   "appears twice",
                                   list_string(given), to_string(x), p));
    perm.push_back(p);
  }
  return perm;
}

TensorType shape_transpose(const Attrs& attrs, std::span<const TensorType> in) {
  std::vector<int64_t> dims;
  for (int p : transpose_perm(attrs, in[0]))
    dims.push_back(in[0].shape[p]);
  return {in[0].dtype, checked_shape(std::move(dims))};
}

template <class T>
void ref_transpose(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& x = *in[0];
  std::vector<int> perm = transpose_perm(n.attrs, TensorType{n.type.dtype, Shape(x.shape)});
  std::vector<int64_t> xs = x.strides(), os = out.strides();
  for (int64_t i = 0; i < out.size(); ++i) {
    // Unravel i over out's shape; output axis d walks input axis perm[d].
    int64_t src = 0, rest = i;
    for (int d = 0; d < out.rank(); ++d) {
      src += (rest / os[size_t(d)]) * xs[size_t(perm[size_t(d)])];
      rest %= os[size_t(d)];
    }
    out[i] = x[src];
  }
}

// ---- concat {axis} (variadic) ---------------------------------------------------
// y = [x_0, x_1, ...] along `axis`; every other dimension must agree. The batch
// axis cannot be concatenated: its extent would not be the batch any more.
TensorType shape_concat(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& x0 = in[0];
  int axis = normalize_axis(attrs.get_int("axis"), x0);
  std::vector<int64_t> dims = x0.shape.dims;
  dims[size_t(axis)] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const TensorType& xi = in[i];
    if (xi.dtype != x0.dtype)
      throw ShapeError(fmt::format("input {} is {} but input 0 is {}: dtypes differ", i,
                                   to_string(xi), to_string(x0)));
    if (xi.shape.rank() != x0.shape.rank())
      throw ShapeError(fmt::format("input {} is {} but input 0 is {}: ranks differ", i,
                                   to_string(xi), to_string(x0)));
    for (int d = 0; d < x0.shape.rank(); ++d)
      if (d != axis && xi.shape[d] != x0.shape[d])
        throw ShapeError(fmt::format("input {} is {} but input 0 is {}: all dimensions except "
                                     "axis {} must agree",
                                     i, to_string(xi), to_string(x0), axis));
    if (xi.shape[axis] == kBatch)
      throw ShapeError(
          fmt::format("cannot concatenate along the batch axis {} of {}", axis, to_string(xi)));
    dims[size_t(axis)] += xi.shape[axis];
  }
  return {x0.dtype, checked_shape(std::move(dims))};
}

// Each input fills its own band of the output: row o of input i is copied to
// row o of the output, starting after the bands of inputs 0..i-1.
template <class T>
void ref_concat(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  int axis = normalize_axis(n.attrs.get_int("axis"), n.type);
  AxisSplit o = split_at_axis(out.shape, axis);
  int64_t offset = 0; // along the axis
  for (const Tensor<T>* x : in) {
    AxisSplit s = split_at_axis(x->shape, axis);
    for (int64_t a = 0; a < s.outer; ++a)
      for (int64_t j = 0; j < s.extent * s.inner; ++j)
        out[(a * o.extent + offset) * o.inner + j] = (*x)[a * s.extent * s.inner + j];
    offset += s.extent;
  }
}

// ---- slice {axis, start = 0, end = extent} ------------------------------------
// y = x[..., start:end, ...] along `axis`, step 1, end exclusive; negative
// bounds count from the end and both clamp, as in Python. The batch axis
// cannot be sliced and an empty result is an error.
TensorType shape_slice(const Attrs& attrs, std::span<const TensorType> in) {
  SliceBounds b = slice_bounds(attrs, in[0]);
  std::vector<int64_t> dims = in[0].shape.dims;
  dims[size_t(b.axis)] = b.end - b.start;
  return {in[0].dtype, checked_shape(std::move(dims))};
}

template <class T>
void ref_slice(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& x = *in[0];
  SliceBounds b = slice_bounds(n.attrs, TensorType{n.type.dtype, Shape(x.shape)});
  AxisSplit s = split_at_axis(x.shape, b.axis);
  int64_t width = (b.end - b.start) * s.inner; // contiguous run per outer index
  for (int64_t a = 0; a < s.outer; ++a)
    for (int64_t j = 0; j < width; ++j)
      out[a * width + j] = x[(a * s.extent + b.start) * s.inner + j];
}

const OpDef kShapeOps[] = {
    {OpKind::Reshape, 1, 1, shape_reshape, NETC_REF(ref_reshape), no_flops},
    {OpKind::Transpose, 1, 1, shape_transpose, NETC_REF(ref_transpose), no_flops},
    {OpKind::Concat, 1, -1, shape_concat, NETC_REF(ref_concat), no_flops},
    {OpKind::Slice, 1, 1, shape_slice, NETC_REF(ref_slice), no_flops},
};

} // namespace

std::span<const OpDef> shape_op_defs() { return kShapeOps; }

} // namespace netc
