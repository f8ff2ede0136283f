// Losses: each a scalar mean (type f32[] or f64[]) over the rows or elements of
// one step's batch. The means divide by the runtime extent, so the last,
// partial batch of an epoch is weighted per example like the others; with
// class weights, softmax_cross_entropy's mean is weighted instead and divides
// by the rows' weights (ir/ops/cross_entropy.h).
//
// Their gradients divide by the same count (element_count: the runtime batch
// extent when the batch is among the averaged dimensions, or the weights' sum).
// one_hot, the labels as float rows (or as the smoothed, weighted targets),
// lives here because softmax_cross_entropy's gradient is its only user.
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/common.h"
#include "ir/ops/cross_entropy.h"

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

// ---- softmax_cross_entropy(logits [N,C], labels [N]) {label_smoothing, weights} --
// J = (1/N) sum_r -log softmax(x_r)[y_r] = (1/N) sum_r (lse(x_r) - x_r[y_r]),
// lse(x) = m + log sum_j e^(x_j - m), m = max_j x_j: one fused op, stable for
// any logits, and its gradient is the simple (softmax(x) - onehot(y)) / N.
// With class weights w and label smoothing s (ir/ops/cross_entropy.h), each
// row's loss is sum_c q_{y_r}[c] (lse(x_r) - x_r[c]), q_y = (1 - s) w[y] onehot(y)
// + (s / C) w, and the mean divides by sum_r w[y_r]: PyTorch's
// CrossEntropyLoss(weight=w, label_smoothing=s).
TensorType shape_softmax_cross_entropy(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &x = in[0], &y = in[1];
  require_float(x, "logits");
  if (y.dtype != DType::i32 && y.dtype != DType::i64)
    throw ShapeError(
        fmt::format("labels must be class indices (i32 or i64), found {}", to_string(y)));
  if (x.shape.rank() != 2 || y.shape.rank() != 1 || y.shape[0] != x.shape[0])
    throw ShapeError(fmt::format("expected logits [N,C] and labels [N], found {} and {}",
                                 to_string(x), to_string(y)));
  if ((attrs.has("weights") || attrs.has("label_smoothing")) && x.shape[1] == kBatch)
    throw ShapeError(fmt::format("class weights and label smoothing need a constant number of "
                                 "classes, found logits {}",
                                 to_string(x)));
  cross_entropy_options(attrs, x.shape[1]); // validates them
  return {x.dtype, Shape{}};
}

// A label held in T must be an exact class index in [0, C); anything else is
// a data error.
template <class T>
int64_t class_index(T label, int64_t classes, int64_t row) {
  if (!(label >= T(0) && label < T(classes)))
    throw ShapeError(fmt::format("label {} out of range [0,{}) at row {}", label, classes, row));
  if (label != std::floor(label))
    throw ShapeError(fmt::format("label {} at row {} is not a class index", label, row));
  return static_cast<int64_t>(label);
}

// Labels arrive as exact integers held in T. Without options this is the
// plain mean of the rows' lse - x[y] (weights of 1 multiply exactly).
template <class T>
void ref_softmax_cross_entropy(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& x = *in[0];
  const Tensor<T>& labels = *in[1];
  int64_t N = x.dim(0), C = x.dim(1);
  CrossEntropyOptions opt = cross_entropy_options(n.attrs, C);
  T keep = T(1) - T(opt.smoothing), spread = T(opt.smoothing) / T(C);
  T total = 0, total_weight = 0;
  for (int64_t r = 0; r < N; ++r) {
    int64_t y = class_index(labels[r], C, r);
    const T* row = &x[r * C];
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < C; ++j) m = max_nan(m, row[j]);
    T sum = 0;
    for (int64_t j = 0; j < C; ++j) sum += std::exp(row[j] - m);
    // -log softmax(x_r)[j], a sum of two non-negative terms.
    auto nll = [&](int64_t j) { return (m - row[j]) + std::log(sum); };
    T wy = T(opt.weight(y));
    T loss = wy * nll(y);
    if (opt.smoothing > 0) {
      T smooth = 0;
      for (int64_t j = 0; j < C; ++j) smooth += T(opt.weight(j)) * nll(j);
      loss = keep * loss + spread * smooth;
    }
    total += loss;
    total_weight += wy;
  }
  out[0] = total / (opt.weighted() ? total_weight : static_cast<T>(N));
}

// Per logit: max, subtract, exp, sum; per row: log, add, subtract, mean.
// Smoothing adds a weighted sum of every logit's -log softmax (4 per logit),
// weights a multiply and an add per row.
int64_t flops_softmax_cross_entropy(const Node& n, std::span<const TensorType> in) {
  int64_t logits = in[0].shape.static_elements(), rows = in[1].shape.static_elements();
  int64_t flops = 4 * logits + 4 * rows;
  if (n.attrs.get_float("label_smoothing", 0.0) > 0) flops += 4 * logits + 2 * rows;
  if (n.attrs.has("weights")) flops += 2 * rows;
  return flops;
}

// The rows' target distributions q_{y_r} (one_hot with the loss's options),
// so that J = sum_r (Q_r lse(x_r) - q_r . x_r) / W with Q_r = sum_c q_r[c] and
// W = sum_r w[y_r]. As lse' = softmax,
//   dJ/dx_r = (Q_r softmax(x_r) - q_r) / W
// Without weights Q_r = (1 - s) + (s / C) C = 1 and W = N: the plain
// (softmax(x) - q) / N. The labels get none.
std::vector<ValueId> grad_softmax_cross_entropy(GradBuilder& gb, const Node& n, ValueId,
                                                ValueId dj) {
  ValueId x = n.inputs[0], labels = n.inputs[1];
  const TensorType xt = gb.type(x);
  ValueId p = gb.op(OpKind::Softmax, {x}, Attrs{{"axis", int64_t(-1)}});
  Attrs one_hot{{"num_classes", xt.shape[1]}, {"dtype", std::string(dtype_name(xt.dtype))}};
  Attrs target_attrs = one_hot;
  for (const char* option : {"label_smoothing", "weights"})
    if (const AttrValue* v = n.attrs.find(option)) target_attrs.set(option, *v);
  ValueId target = gb.op(OpKind::OneHot, {labels}, target_attrs);
  if (!n.attrs.has("weights")) {
    ValueId scale = gb.div(dj, element_count(gb, {xt.shape[0]}));
    return {gb.mul(gb.sub(p, target), scale), kNoGrad};
  }
  // w[y_r] as a column [N,1]: the row sums of the weighted, unsmoothed one-hot rows.
  Attrs row_sum{{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(1)}};
  one_hot.set("weights", *n.attrs.find("weights"));
  ValueId row_weight =
      gb.op(OpKind::ReduceSum, {gb.op(OpKind::OneHot, {labels}, one_hot)}, row_sum);
  ValueId total_weight =
      gb.op(OpKind::ReduceSum, {row_weight},
            Attrs{{"axes", std::vector<int64_t>{0, 1}}, {"keepdims", int64_t(0)}});
  ValueId mass =
      n.attrs.has("label_smoothing") ? gb.op(OpKind::ReduceSum, {target}, row_sum) : row_weight;
  ValueId dx = gb.mul(gb.sub(gb.mul(p, mass), target), gb.div(dj, total_weight));
  return {dx, kNoGrad};
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

// ---- one_hot(labels) {num_classes, dtype = "f32", label_smoothing, weights} ------
// y[..., j] = [j = label]: integer labels of any shape to float rows of
// num_classes. With softmax_cross_entropy's options (ir/ops/cross_entropy.h)
// the rows are the loss's target distributions instead:
//   y[..., j] = (1 - s) w[label] [j = label] + (s / C) w[j]
// A label outside [0, num_classes) is a data error, as in
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
  cross_entropy_options(attrs, classes); // validates them
  std::vector<int64_t> dims = y.shape.dims;
  dims.push_back(classes);
  return {*dtype, checked_shape(std::move(dims))};
}

// Without options: 0 + 1 * 1 = 1 at the label, exactly the one-hot row.
template <class T>
void ref_one_hot(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& labels = *in[0];
  int64_t C = n.attrs.get_int("num_classes");
  CrossEntropyOptions opt = cross_entropy_options(n.attrs, C);
  T keep = T(1) - T(opt.smoothing), spread = T(opt.smoothing) / T(C);
  for (int64_t r = 0; r < labels.size(); ++r) {
    int64_t y = class_index(labels[r], C, r);
    if (opt.smoothing > 0)
      for (int64_t j = 0; j < C; ++j) out[r * C + j] = spread * T(opt.weight(j));
    out[r * C + y] += keep * T(opt.weight(y));
  }
}

int64_t no_flops(const Node&, std::span<const TensorType>) { return 0; }

const OpDef kLossOps[] = {
    {OpKind::SoftmaxCrossEntropy, 2, 2, shape_softmax_cross_entropy,
     NETC_REF(ref_softmax_cross_entropy), flops_softmax_cross_entropy, grad_softmax_cross_entropy},
    {OpKind::SigmoidCrossEntropy, 2, 2, shape_sigmoid_cross_entropy,
     NETC_REF(ref_sigmoid_cross_entropy), flops_sigmoid_cross_entropy, grad_sigmoid_cross_entropy},
    {OpKind::Mse, 2, 2, shape_mse, NETC_REF(ref_mse), flops_mse, grad_mse},
    {OpKind::OneHot, 1, 1, shape_one_hot, NETC_REF(ref_one_hot), no_flops, no_gradient,
     "its value depends on no float input: its input is integer labels"},
};

} // namespace

std::span<const OpDef> loss_op_defs() { return kLossOps; }

} // namespace netc
