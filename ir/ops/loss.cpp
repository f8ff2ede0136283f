// Losses: each a scalar mean (type f32[] or f64[]) over the rows or elements of
// one step's batch. The means divide by the runtime extent, so the last,
// partial batch of an epoch is weighted per example like the others.
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace netc {

namespace {

// Two float operands of one dtype and one shape (no broadcasting: a loss
// compares a prediction with its target element by element).
TensorType scalar_of_pair(std::span<const TensorType> in, const char* first, const char* second) {
  const TensorType &a = in[0], &b = in[1];
  require_float(a, first);
  require_float(b, second);
  if (a.dtype != b.dtype)
    throw ShapeError(fmt::format("{} and {} must have the same dtype, found {} and {}", first,
                                 second, to_string(a), to_string(b)));
  if (a.shape != b.shape)
    throw ShapeError(fmt::format("{} and {} must have the same shape, found {} and {}", first,
                                 second, to_string(a), to_string(b)));
  return {a.dtype, Shape{}};
}

// ---- softmax_cross_entropy(logits [N,C], labels [N]) --------------------------
// J = (1/N) sum_r -log softmax(x_r)[y_r] = (1/N) sum_r (lse(x_r) - x_r[y_r]),
// lse(x) = m + log sum_j e^(x_j - m), m = max_j x_j: one fused op, stable for
// any logits, and its gradient is the simple (softmax(x) - onehot(y)) / N.
TensorType shape_softmax_cross_entropy(const Attrs&, std::span<const TensorType> in) {
  const TensorType &x = in[0], &y = in[1];
  require_float(x, "logits");
  if (y.dtype != DType::i32 && y.dtype != DType::i64)
    throw ShapeError(
        fmt::format("labels must be class indices (i32 or i64), found {}", to_string(y)));
  if (x.shape.rank() != 2 || y.shape.rank() != 1 || y.shape[0] != x.shape[0])
    throw ShapeError(fmt::format("expected logits [N,C] and labels [N], found {} and {}",
                                 to_string(x), to_string(y)));
  return {x.dtype, Shape{}};
}

// Labels arrive as exact integers held in T; anything else is a data error.
template <class T>
void ref_softmax_cross_entropy(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& x = *in[0];
  const Tensor<T>& labels = *in[1];
  int64_t N = x.dim(0), C = x.dim(1);
  T total = 0;
  for (int64_t r = 0; r < N; ++r) {
    T label = labels[r];
    if (!(label >= T(0) && label < T(C)))
      throw ShapeError(fmt::format("label {} out of range [0,{}) at row {}", label, C, r));
    if (label != std::floor(label))
      throw ShapeError(fmt::format("label {} at row {} is not a class index", label, r));
    const T* row = &x[r * C];
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < C; ++j)
      m = max_nan(m, row[j]);
    T sum = 0;
    for (int64_t j = 0; j < C; ++j)
      sum += std::exp(row[j] - m);
    total += (m - row[static_cast<int64_t>(label)]) + std::log(sum);
  }
  out[0] = total / static_cast<T>(N);
}

// Per logit: max, subtract, exp, sum; per row: log, add, subtract, mean.
int64_t flops_softmax_cross_entropy(const Node&, std::span<const TensorType> in) {
  return 4 * in[0].shape.static_elements() + 4 * in[1].shape.static_elements();
}

// ---- sigmoid_cross_entropy(logits, targets) -----------------------------------
// Multi-label: J = mean over all elements of -t log s(x) - (1-t) log(1-s(x)),
// s = sigmoid, rewritten as max(x,0) - x t + log(1 + e^-|x|), whose exponent
// is never positive (no overflow) and whose log never sees 0.
TensorType shape_sigmoid_cross_entropy(const Attrs&, std::span<const TensorType> in) {
  return scalar_of_pair(in, "logits", "targets");
}

template <class T>
void ref_sigmoid_cross_entropy(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& x = *in[0];
  const Tensor<T>& t = *in[1];
  T total = 0;
  for (int64_t i = 0; i < x.size(); ++i)
    total += std::max(x[i], T(0)) - x[i] * t[i] + std::log1p(std::exp(-std::abs(x[i])));
  out[0] = total / static_cast<T>(x.size());
}

// Per element: max, multiply, subtract, abs, exp, log1p, add, sum.
int64_t flops_sigmoid_cross_entropy(const Node&, std::span<const TensorType> in) {
  return 8 * in[0].shape.static_elements();
}

// ---- mse(pred, target) ------------------------------------------------------------
// J = mean over all elements of (p - t)^2.
TensorType shape_mse(const Attrs&, std::span<const TensorType> in) {
  return scalar_of_pair(in, "pred", "target");
}

template <class T>
void ref_mse(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& p = *in[0];
  const Tensor<T>& t = *in[1];
  T total = 0;
  for (int64_t i = 0; i < p.size(); ++i)
    total += (p[i] - t[i]) * (p[i] - t[i]);
  out[0] = total / static_cast<T>(p.size());
}

// Per element: subtract, square, sum.
int64_t flops_mse(const Node&, std::span<const TensorType> in) {
  return 3 * in[0].shape.static_elements();
}

const OpDef kLossOps[] = {
    {OpKind::SoftmaxCrossEntropy, 2, 2, shape_softmax_cross_entropy,
     NETC_REF(ref_softmax_cross_entropy), flops_softmax_cross_entropy},
    {OpKind::SigmoidCrossEntropy, 2, 2, shape_sigmoid_cross_entropy,
     NETC_REF(ref_sigmoid_cross_entropy), flops_sigmoid_cross_entropy},
    {OpKind::Mse, 2, 2, shape_mse, NETC_REF(ref_mse), flops_mse},
};

} // namespace

std::span<const OpDef> loss_op_defs() { return kLossOps; }

} // namespace netc
