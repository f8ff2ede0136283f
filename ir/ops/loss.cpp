// Losses: each a scalar mean (type f32[] or f64[]) over the rows or elements of
// one step's batch. The means divide by the runtime extent, so the last,
// partial batch of an epoch is weighted per example like the others.
//
// Their gradients divide by the same count (element_count: the runtime batch
// extent when the batch is among the averaged dimensions). one_hot, the
// labels as float rows, lives here because softmax_cross_entropy's gradient
// is its only user.
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <optional>
#include <string>

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
    for (int64_t j = 0; j < C; ++j) m = max_nan(m, row[j]);
    T sum = 0;
    for (int64_t j = 0; j < C; ++j) sum += std::exp(row[j] - m);
    total += (m - row[static_cast<int64_t>(label)]) + std::log(sum);
  }
  out[0] = total / static_cast<T>(N);
}

// Per logit: max, subtract, exp, sum; per row: log, add, subtract, mean.
int64_t flops_softmax_cross_entropy(const Node&, std::span<const TensorType> in) {
  return 4 * in[0].shape.static_elements() + 4 * in[1].shape.static_elements();
}

// dJ/dx_rj = (softmax(x_r)_j - [j = y_r]) / N; the labels get none.
std::vector<ValueId> grad_softmax_cross_entropy(GradBuilder& gb, const Node& n, ValueId,
                                                ValueId dj) {
  ValueId x = n.inputs[0], labels = n.inputs[1];
  const TensorType xt = gb.type(x);
  ValueId p = gb.op(OpKind::Softmax, {x}, Attrs{{"axis", int64_t(-1)}});
  ValueId target =
      gb.op(OpKind::OneHot, {labels},
            Attrs{{"num_classes", xt.shape[1]}, {"dtype", std::string(dtype_name(xt.dtype))}});
  ValueId scale = gb.div(dj, element_count(gb, {xt.shape[0]}));
  return {gb.mul(gb.sub(p, target), scale), kNoGrad};
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

// With count = the number of elements, d/dx of max(x,0) - x t + log(1 + e^-|x|)
// is sigmoid(x) - t, and d/dt is -x (targets may be computed values):
// dx = (sigmoid(x) - t) dJ / count, dt = -x dJ / count
std::vector<ValueId> grad_sigmoid_cross_entropy(GradBuilder& gb, const Node& n, ValueId,
                                                ValueId dj) {
  ValueId x = n.inputs[0], t = n.inputs[1];
  ValueId scale = gb.div(dj, element_count(gb, gb.type(x).shape.dims));
  ValueId dx = gb.mul(gb.sub(gb.op(OpKind::Sigmoid, {x}), t), scale);
  return {dx, gb.mul(x, gb.neg(scale))};
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
  for (int64_t i = 0; i < p.size(); ++i) total += (p[i] - t[i]) * (p[i] - t[i]);
  out[0] = total / static_cast<T>(p.size());
}

// Per element: subtract, square, sum.
int64_t flops_mse(const Node&, std::span<const TensorType> in) {
  return 3 * in[0].shape.static_elements();
}

// dp = 2 (p - t) dJ / count, dt = -dp
std::vector<ValueId> grad_mse(GradBuilder& gb, const Node& n, ValueId, ValueId dj) {
  ValueId p = n.inputs[0], t = n.inputs[1];
  ValueId scale = gb.div(gb.mul(dj, gb.constant(2)), element_count(gb, gb.type(p).shape.dims));
  ValueId dp = gb.mul(gb.sub(p, t), scale);
  return {dp, gb.neg(dp)};
}

// ---- one_hot(labels) {num_classes, dtype = "f32"} ------------------------------
// y[..., j] = [j = label]: integer labels of any shape to float rows of
// num_classes. A label outside [0, num_classes) is a data error, as in
// softmax_cross_entropy. Its value does not depend on any float input:
// no_gradient.
TensorType shape_one_hot(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& y = in[0];
  if (y.dtype != DType::i32 && y.dtype != DType::i64)
    throw ShapeError(
        fmt::format("labels must be class indices (i32 or i64), found {}", to_string(y)));
  int64_t classes = attrs.get_int("num_classes");
  if (classes < 1) throw ShapeError(fmt::format("num_classes must be positive, found {}", classes));
  std::string name = attrs.get_str("dtype", "f32");
  std::optional<DType> dtype = dtype_from_name(name);
  if (!dtype || !is_float(*dtype))
    throw ShapeError(fmt::format("dtype must be f32 or f64, found '{}'", name));
  std::vector<int64_t> dims = y.shape.dims;
  dims.push_back(classes);
  return {*dtype, checked_shape(std::move(dims))};
}

template <class T>
void ref_one_hot(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& labels = *in[0];
  int64_t C = n.attrs.get_int("num_classes");
  for (int64_t r = 0; r < labels.size(); ++r) {
    T label = labels[r];
    if (!(label >= T(0) && label < T(C)))
      throw ShapeError(fmt::format("label {} out of range [0,{}) at row {}", label, C, r));
    if (label != std::floor(label))
      throw ShapeError(fmt::format("label {} at row {} is not a class index", label, r));
    out[r * C + static_cast<int64_t>(label)] = T(1);
  }
}

int64_t no_flops(const Node&, std::span<const TensorType>) { return 0; }

const OpDef kLossOps[] = {
    {OpKind::SoftmaxCrossEntropy, 2, 2, shape_softmax_cross_entropy,
     NETC_REF(ref_softmax_cross_entropy), flops_softmax_cross_entropy, grad_softmax_cross_entropy},
    {OpKind::SigmoidCrossEntropy, 2, 2, shape_sigmoid_cross_entropy,
     NETC_REF(ref_sigmoid_cross_entropy), flops_sigmoid_cross_entropy, grad_sigmoid_cross_entropy},
    {OpKind::Mse, 2, 2, shape_mse, NETC_REF(ref_mse), flops_mse, grad_mse},
    {OpKind::OneHot, 1, 1, shape_one_hot, NETC_REF(ref_one_hot), no_flops, no_gradient},
};

} // namespace

std::span<const OpDef> loss_op_defs() { return kLossOps; }

} // namespace netc
