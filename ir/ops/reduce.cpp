// Reductions over a set of axes {axes: ints (absent or empty = all), keepdims:
// 0/1}. All four share the shape rule: the reduced axes are dropped, or kept
// with extent 1. Reducing the batch axis is allowed; the result is then static
// and reduce_mean divides by the runtime extent.
//
// Gradients put the reduced axes back: dy, reshaped to the keepdims shape,
// broadcasts over them (expand_reduced when it must be materialized).
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <algorithm>
#include <limits>

namespace netc {

namespace {

// ---- Shared rules -----------------------------------------------------------

// f32[batch,3,4] reduced over axes [1] is f32[batch,4], or f32[batch,1,4]
// with keepdims = 1.
TensorType shape_reduce(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& x = in[0];
  require_float(x);
  std::vector<int> axes = reduce_axes(attrs, x);
  bool keepdims = flag_attr(attrs, "keepdims");
  std::vector<int64_t> dims;
  for (int i = 0; i < x.shape.rank(); ++i) {
    bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!reduced)
      dims.push_back(x.shape[i]);
    else if (keepdims)
      dims.push_back(1);
  }
  return {x.dtype, checked_shape(std::move(dims))};
}

// One FLOP per input element of one example.
int64_t flops_per_input(const Node&, std::span<const TensorType> in) {
  return in[0].shape.static_elements();
}

// out[o] = fold of x[i] over every input element i that reduces onto o.
// The output with the reduced axes kept as 1 has the same row-major layout as
// the output without them, so the element of x at i lands at the offset that
// the keepdims shape "broadcasts" onto i.
template <class T, class F>
void fold(const Node& n, RefInputs<T> in, Tensor<T>& out, T init, F f) {
  const Tensor<T>& x = *in[0];
  std::vector<int64_t> kept = x.shape;
  for (int a : reduce_axes(n.attrs, TensorType{n.type.dtype, Shape(x.shape)})) kept[size_t(a)] = 1;
  std::vector<int64_t> dst = broadcast_offsets(kept, x.shape);
  for (auto& v : out.data) v = init;
  for (int64_t i = 0; i < x.size(); ++i) out[dst[size_t(i)]] = f(out[dst[size_t(i)]], x[i]);
}

// ---- The reductions -------------------------------------------------------------

// reduce_sum: y = sum_i x_i
template <class T>
void ref_reduce_sum(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  fold(n, in, out, T(0), [](T acc, T x) { return acc + x; });
}

// dx_i = dy: each input element gets its output's gradient.
std::vector<ValueId> grad_reduce_sum(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  const TensorType& x = gb.type(n.inputs[0]);
  return {gb.expand_reduced(dy, reduce_axes(n.attrs, x), x)};
}

// reduce_mean: y = (1/count) sum_i x_i, count = the input elements per output
// element at the runtime batch extent.
template <class T>
void ref_reduce_mean(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  fold(n, in, out, T(0), [](T acc, T x) { return acc + x; });
  T count = static_cast<T>(in[0]->size() / out.size());
  for (auto& v : out.data) v /= count;
}

// dx_i = dy / count, count = the product of the reduced extents (the runtime
// batch extent among them when the batch axis is reduced). Dividing before
// expanding touches each output element once.
std::vector<ValueId> grad_reduce_mean(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  const TensorType& x = gb.type(n.inputs[0]);
  std::vector<int> axes = reduce_axes(n.attrs, x);
  std::vector<int64_t> reduced;
  for (int a : axes) reduced.push_back(x.shape[a]);
  return {gb.expand_reduced(gb.div(dy, element_count(gb, reduced)), axes, x)};
}

// reduce_max and reduce_min: dx_i = dy [x_i = y] / #{j : x_j = y}. The
// extremum gets the whole gradient; tied extrema share it evenly (a valid
// subgradient, where giving each of them dy would count it twice). For the
// max, x_i <= y, so [x_i = y] = 1 - step(y - x_i); for the min, 1 - step(x_i - y).
std::vector<ValueId> grad_extremum(GradBuilder& gb, const Node& n, ValueId y, ValueId dy,
                                   bool is_max) {
  ValueId x = n.inputs[0];
  const TensorType& xt = gb.type(x);
  std::vector<int> axes = reduce_axes(n.attrs, xt);
  std::vector<int64_t> kept = kept_dims(xt, axes);
  ValueId yk = reshape_to(gb, y, kept);
  ValueId gap = is_max ? gb.sub(yk, x) : gb.sub(x, yk); // >= 0, 0 at the extremum
  ValueId mask = gb.sub(gb.constant(1), gb.op(OpKind::Step, {gap}));
  std::vector<int64_t> axes64(axes.begin(), axes.end());
  ValueId ties =
      gb.op(OpKind::ReduceSum, {mask}, Attrs{{"axes", axes64}, {"keepdims", int64_t(1)}});
  return {gb.mul(mask, gb.div(reshape_to(gb, dy, kept), ties))};
}

// reduce_max: y = max_i x_i (NaN if any x_i is NaN)
template <class T>
void ref_reduce_max(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  fold(n, in, out, -std::numeric_limits<T>::infinity(), [](T acc, T x) { return max_nan(acc, x); });
}

std::vector<ValueId> grad_reduce_max(GradBuilder& gb, const Node& n, ValueId y, ValueId dy) {
  return grad_extremum(gb, n, y, dy, true);
}

// reduce_min: y = min_i x_i (NaN if any x_i is NaN)
template <class T>
void ref_reduce_min(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  fold(n, in, out, std::numeric_limits<T>::infinity(), [](T acc, T x) { return min_nan(acc, x); });
}

std::vector<ValueId> grad_reduce_min(GradBuilder& gb, const Node& n, ValueId y, ValueId dy) {
  return grad_extremum(gb, n, y, dy, false);
}

const OpDef kReduceOps[] = {
    {OpKind::ReduceSum, 1, 1, shape_reduce, NETC_REF(ref_reduce_sum), flops_per_input,
     grad_reduce_sum},
    {OpKind::ReduceMean, 1, 1, shape_reduce, NETC_REF(ref_reduce_mean), flops_per_input,
     grad_reduce_mean},
    {OpKind::ReduceMax, 1, 1, shape_reduce, NETC_REF(ref_reduce_max), flops_per_input,
     grad_reduce_max},
    {OpKind::ReduceMin, 1, 1, shape_reduce, NETC_REF(ref_reduce_min), flops_per_input,
     grad_reduce_min},
};

} // namespace

std::span<const OpDef> reduce_op_defs() { return kReduceOps; }

} // namespace netc
