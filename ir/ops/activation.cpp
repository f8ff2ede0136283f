// Normalized exponentials along one axis {axis = -1}. Both subtract the max
// along the axis first: softmax(x) = softmax(x - c) for any c, and with
// c = max x every exponent is <= 0, so nothing overflows.
//
// Both gradients read the output y, not x: softmax' is a function of y, and
// exp(y) recovers softmax from log_softmax without a second normalization.
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <cmath>
#include <limits>

namespace netc {

namespace {

// y has x's type; the axis must exist.
TensorType shape_along_axis(const Attrs& attrs, std::span<const TensorType> in) {
  require_float(in[0]);
  normalize_axis(attrs.get_int("axis", -1), in[0]);
  return in[0];
}

// Calls f(x, y, stride, extent) once per 1-D line along the axis: x[j * stride]
// for j in [0, extent) are the line's elements, y[j * stride] their outputs.
template <class T, class F>
void for_each_line(const Node& n, RefInputs<T> in, Tensor<T>& out, F f) {
  const Tensor<T>& x = *in[0];
  int axis = normalize_axis(n.attrs.get_int("axis", -1), n.type);
  AxisSplit s = split_at_axis(x.shape, axis);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t k = 0; k < s.inner; ++k) {
      int64_t base = o * s.extent * s.inner + k;
      f(&x[base], &out[base], s.inner, s.extent);
    }
}

// The max of a line, and sum_j e^(x_j - max).
template <class T>
std::pair<T, T> max_and_sum_exp(const T* x, int64_t stride, int64_t extent) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < extent; ++j) m = max_nan(m, x[j * stride]);
  T sum = 0;
  for (int64_t j = 0; j < extent; ++j) sum += std::exp(x[j * stride] - m);
  return {m, sum};
}

// softmax: y_j = e^(x_j - m) / sum_i e^(x_i - m), m = max_i x_i.
// FLOPs per element: max, subtract, exp, sum, divide.
template <class T>
void ref_softmax(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  for_each_line(n, in, out, [](const T* x, T* y, int64_t stride, int64_t extent) {
    auto [m, sum] = max_and_sum_exp(x, stride, extent);
    for (int64_t j = 0; j < extent; ++j) y[j * stride] = std::exp(x[j * stride] - m) / sum;
  });
}

int64_t flops_softmax(const Node& n, std::span<const TensorType>) {
  return 5 * n.type.shape.static_elements();
}

// sum_j v_j along the op's axis, kept with extent 1 so it broadcasts back.
ValueId sum_along_axis(GradBuilder& gb, const Node& n, ValueId v) {
  int64_t axis = normalize_axis(n.attrs.get_int("axis", -1), n.type);
  return gb.op(OpKind::ReduceSum, {v},
               Attrs{{"axes", std::vector<int64_t>{axis}}, {"keepdims", int64_t(1)}});
}

// dy_j/dx_i = y_j ([i = j] - y_i), so dx_i = sum_j dy_j y_j ([i = j] - y_i)
//   = y_i (dy_i - sum_j dy_j y_j)
std::vector<ValueId> grad_softmax(GradBuilder& gb, const Node& n, ValueId y, ValueId dy) {
  return {gb.mul(y, gb.sub(dy, sum_along_axis(gb, n, gb.mul(dy, y))))};
}

// log_softmax: y_j = x_j - m - log sum_i e^(x_i - m), m = max_i x_i.
// FLOPs per element: max, subtract, exp, sum, subtract (the log is per line).
template <class T>
void ref_log_softmax(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  for_each_line(n, in, out, [](const T* x, T* y, int64_t stride, int64_t extent) {
    auto [m, sum] = max_and_sum_exp(x, stride, extent);
    // (x_j - m) - log(sum) rather than x_j - (m + log(sum)): x_j - m is small
    // and exact near the max, where m + log(sum) would round at m's scale.
    T log_sum = std::log(sum);
    for (int64_t j = 0; j < extent; ++j) y[j * stride] = (x[j * stride] - m) - log_sum;
  });
}

int64_t flops_log_softmax(const Node& n, std::span<const TensorType>) {
  return 5 * n.type.shape.static_elements();
}

// dy_j/dx_i = [i = j] - softmax(x)_i, softmax(x) = e^y, so
// dx_i = dy_i - e^(y_i) sum_j dy_j
std::vector<ValueId> grad_log_softmax(GradBuilder& gb, const Node& n, ValueId y, ValueId dy) {
  ValueId softmax = gb.op(OpKind::Exp, {y});
  return {gb.sub(dy, gb.mul(softmax, sum_along_axis(gb, n, dy)))};
}

const OpDef kActivationOps[] = {
    {OpKind::Softmax, 1, 1, shape_along_axis, NETC_REF(ref_softmax), flops_softmax, grad_softmax},
    {OpKind::LogSoftmax, 1, 1, shape_along_axis, NETC_REF(ref_log_softmax), flops_log_softmax,
     grad_log_softmax},
};

} // namespace

std::span<const OpDef> activation_op_defs() { return kActivationOps; }

} // namespace netc
