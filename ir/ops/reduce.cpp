// Reductions over a set of axes {axes: ints (absent or empty = all), keepdims:
// 0/1}. All four share the shape rule: the reduced axes are dropped, or kept
// with extent 1. Reducing the batch axis is allowed; the result is then static
// and reduce_mean divides by the runtime extent.
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
  for (int a : reduce_axes(n.attrs, TensorType{n.type.dtype, Shape(x.shape)}))
    kept[size_t(a)] = 1;
  std::vector<int64_t> dst = broadcast_offsets(kept, x.shape);
  for (auto& v : out.data)
    v = init;
  for (int64_t i = 0; i < x.size(); ++i)
    out[dst[size_t(i)]] = f(out[dst[size_t(i)]], x[i]);
}

// ---- The reductions -------------------------------------------------------------

// reduce_sum: y = sum_i x_i
template <class T>
void ref_reduce_sum(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  fold(n, in, out, T(0), [](T acc, T x) { return acc + x; });
}

// reduce_mean: y = (1/count) sum_i x_i, count = the input elements per output
// element at the runtime batch extent.
template <class T>
void ref_reduce_mean(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  fold(n, in, out, T(0), [](T acc, T x) { return acc + x; });
  T count = static_cast<T>(in[0]->size() / out.size());
  for (auto& v : out.data)
    v /= count;
}

// reduce_max: y = max_i x_i (NaN if any x_i is NaN)
template <class T>
void ref_reduce_max(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  fold(n, in, out, -std::numeric_limits<T>::infinity(), [](T acc, T x) { return max_nan(acc, x); });
}

// reduce_min: y = min_i x_i (NaN if any x_i is NaN)
template <class T>
void ref_reduce_min(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  fold(n, in, out, std::numeric_limits<T>::infinity(), [](T acc, T x) { return min_nan(acc, x); });
}

const OpDef kReduceOps[] = {
    {OpKind::ReduceSum, 1, 1, shape_reduce, NETC_REF(ref_reduce_sum), flops_per_input},
    {OpKind::ReduceMean, 1, 1, shape_reduce, NETC_REF(ref_reduce_mean), flops_per_input},
    {OpKind::ReduceMax, 1, 1, shape_reduce, NETC_REF(ref_reduce_max), flops_per_input},
    {OpKind::ReduceMin, 1, 1, shape_reduce, NETC_REF(ref_reduce_min), flops_per_input},
};

} // namespace

std::span<const OpDef> reduce_op_defs() { return kReduceOps; }

} // namespace netc
