// Data movement: reshape, transpose, concat, slice, broadcast, pad. They move
// elements without arithmetic, so they accept any dtype (labels included) and
// cost 0 FLOPs. Their gradients move the gradient back: each op's rule is its
// adjoint (reshape back, the inverse permutation, slice <-> pad, broadcast <->
// sum).
#include "ir/gradient.h"
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

// dx = reshape(dy, shape of x)
std::vector<ValueId> grad_reshape(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  return {reshape_to(gb, dy, gb.type(n.inputs[0]).shape.dims)};
}

// ---- transpose {perm} -----------------------------------------------------------
// y[i_0..i_r-1] = x[j] with j[perm[d]] = i_d, i.e. y.dims[d] = x.dims[perm[d]];
// perm entries may be negative (counted from the end), see transpose_perm.
TensorType shape_transpose(const Attrs& attrs, std::span<const TensorType> in) {
  std::vector<int64_t> dims;
  for (int p : transpose_perm(attrs, in[0])) dims.push_back(in[0].shape[p]);
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

// dx = transpose(dy, perm^-1), perm^-1[perm[d]] = d: y's axis d is x's axis
// perm[d], so dy's axis d goes back to position perm[d].
std::vector<ValueId> grad_transpose(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  std::vector<int> perm = transpose_perm(n.attrs, gb.type(n.inputs[0]));
  std::vector<int64_t> inverse(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) inverse[size_t(perm[d])] = static_cast<int64_t>(d);
  return {gb.op(OpKind::Transpose, {dy}, Attrs{{"perm", inverse}})};
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

// dx_i = dy[..., o_i : o_i + extent_i, ...] along the axis, o_i = the extents
// of x_0..x_{i-1}: each input gets its band back.
std::vector<ValueId> grad_concat(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  int axis = normalize_axis(n.attrs.get_int("axis"), n.type);
  std::vector<ValueId> grads;
  int64_t offset = 0;
  for (ValueId x : n.inputs) {
    int64_t extent = gb.type(x).shape[axis];
    grads.push_back(
        gb.op(OpKind::Slice, {dy},
              Attrs{{"axis", int64_t(axis)}, {"start", offset}, {"end", offset + extent}}));
    offset += extent;
  }
  return grads;
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

// dx = dy padded with zeros back to x's extent: start zeros before, extent - end after.
std::vector<ValueId> grad_slice(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  const TensorType& x = gb.type(n.inputs[0]);
  SliceBounds b = slice_bounds(n.attrs, x);
  Attrs pad{{"axis", int64_t(b.axis)}, {"before", b.start}, {"after", x.shape[b.axis] - b.end}};
  return {gb.op(OpKind::Pad, {dy}, std::move(pad))};
}

// ---- broadcast {shape} ----------------------------------------------------------
// y = x stretched to `shape` by numpy's rules (-1 marks the batch dimension):
// the adjoint of summing over the stretched axes, so reduction gradients use it.
TensorType shape_broadcast(const Attrs& attrs, std::span<const TensorType> in) {
  TensorType to{in[0].dtype, checked_shape(attrs.get_ints("shape"))};
  Shape s = broadcast_shape(in[0], to);
  if (s != to.shape)
    throw ShapeError(fmt::format("cannot broadcast {} to {}", to_string(in[0]), to_string(to)));
  return to;
}

template <class T>
void ref_broadcast(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  std::vector<int64_t> from = broadcast_offsets(in[0]->shape, out.shape);
  for (int64_t i = 0; i < out.size(); ++i) out[i] = (*in[0])[from[size_t(i)]];
}

// dx = dy summed over the stretched axes
std::vector<ValueId> grad_broadcast(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  return {gb.unbroadcast(dy, gb.type(n.inputs[0]))};
}

// ---- pad {axis, before = 0, after = 0} ------------------------------------------
// y = [0 (before times), x, 0 (after times)] along `axis`: the adjoint of
// slice. The batch axis cannot be padded: its extent would not be the batch.
struct PadAmounts {
  int axis;
  int64_t before, after;
};

PadAmounts pad_amounts(const Attrs& attrs, const TensorType& x) {
  PadAmounts p{normalize_axis(attrs.get_int("axis"), x), attrs.get_int("before", 0),
               attrs.get_int("after", 0)};
  if (p.before < 0 || p.after < 0)
    throw ShapeError(
        fmt::format("padding must not be negative, found before={} after={}", p.before, p.after));
  if (x.shape[p.axis] == kBatch)
    throw ShapeError(fmt::format("cannot pad the batch axis {} of {}", p.axis, to_string(x)));
  return p;
}

TensorType shape_pad(const Attrs& attrs, std::span<const TensorType> in) {
  PadAmounts p = pad_amounts(attrs, in[0]);
  std::vector<int64_t> dims = in[0].shape.dims;
  dims[size_t(p.axis)] += p.before + p.after;
  return {in[0].dtype, checked_shape(std::move(dims))};
}

// `out` arrives zero-filled; each outer row of x lands after `before` rows.
template <class T>
void ref_pad(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& x = *in[0];
  PadAmounts p = pad_amounts(n.attrs, TensorType{n.type.dtype, Shape(x.shape)});
  AxisSplit s = split_at_axis(x.shape, p.axis);
  int64_t width = s.extent * s.inner, out_width = (s.extent + p.before + p.after) * s.inner;
  for (int64_t a = 0; a < s.outer; ++a)
    for (int64_t j = 0; j < width; ++j)
      out[a * out_width + p.before * s.inner + j] = x[a * width + j];
}

// dx = dy[..., before : before + extent, ...]
std::vector<ValueId> grad_pad(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  const TensorType& x = gb.type(n.inputs[0]);
  PadAmounts p = pad_amounts(n.attrs, x);
  Attrs band{{"axis", int64_t(p.axis)}, {"start", p.before}, {"end", p.before + x.shape[p.axis]}};
  return {gb.op(OpKind::Slice, {dy}, std::move(band))};
}

const OpDef kShapeOps[] = {
    {OpKind::Reshape, 1, 1, shape_reshape, NETC_REF(ref_reshape), no_flops, grad_reshape},
    {OpKind::Transpose, 1, 1, shape_transpose, NETC_REF(ref_transpose), no_flops, grad_transpose},
    {OpKind::Concat, 1, -1, shape_concat, NETC_REF(ref_concat), no_flops, grad_concat},
    {OpKind::Slice, 1, 1, shape_slice, NETC_REF(ref_slice), no_flops, grad_slice},
    {OpKind::Broadcast, 1, 1, shape_broadcast, NETC_REF(ref_broadcast), no_flops, grad_broadcast},
    {OpKind::Pad, 1, 1, shape_pad, NETC_REF(ref_pad), no_flops, grad_pad},
};

} // namespace

std::span<const OpDef> shape_op_defs() { return kShapeOps; }

} // namespace netc
