// The losses: scalar types, rejections that name both operands, values in
// float and double (means divide by the runtime batch), numerical stability,
// run-time label errors, and FLOPs.
#include "op_test_helpers.h"

#include <cmath>
#include <limits>
#include <optional>

using namespace netc;
using namespace netc::op_test;

namespace {

Arg labels(Shape s, std::vector<double> v) { return Arg{std::move(s), std::move(v), DType::i32}; }

// -log softmax(x)[y], the textbook way (safe for these small values).
double nll(const std::vector<double>& x, int y) {
  double sum = 0;
  for (double v : x) sum += std::exp(v);
  return std::log(sum) - x[size_t(y)];
}

// max(x,0) - x t + log(1 + e^-|x|) == -t log s(x) - (1-t) log(1 - s(x)).
double bce(double x, double t) {
  double s = 1 / (1 + std::exp(-x));
  return -t * std::log(s) - (1 - t) * std::log(1 - s);
}

} // namespace

TEST_CASE("softmax_cross_entropy: types") {
  CHECK(out_type(OpKind::SoftmaxCrossEntropy, {f32({B, 10}), i32({B})}) == f32({}));
  CHECK(out_type(OpKind::SoftmaxCrossEntropy, {f64({4, 3}), TensorType{DType::i64, Shape{4}}}) ==
        f64({}));
  std::string e = build_error(OpKind::SoftmaxCrossEntropy, {f32({B, 10}), f32({B})});
  CHECK(contains(e, "softmax_cross_entropy: labels must be class indices (i32 or i64), found "
                    "f32[batch]"));
  e = build_error(OpKind::SoftmaxCrossEntropy, {i32({B, 10}), i32({B})});
  CHECK(contains(e, "logits must be a float tensor (f32 or f64), found i32[batch,10]"));
  e = build_error(OpKind::SoftmaxCrossEntropy, {f32({B, 10}), i32({5})});
  CHECK(contains(e, "expected logits [N,C] and labels [N], found f32[batch,10] and i32[5]"));
  e = build_error(OpKind::SoftmaxCrossEntropy, {f32({B, 2, 5}), i32({B})});
  CHECK(contains(e, "expected logits [N,C] and labels [N], found f32[batch,2,5] and i32[batch]"));
  e = build_error(OpKind::SoftmaxCrossEntropy, {f32({B, 10}), i32({B, 1})});
  CHECK(contains(e, "found f32[batch,10] and i32[batch,1]"));
}

TEST_CASE_TEMPLATE("softmax_cross_entropy: the mean of -log softmax[label]", T, float, double) {
  Arg x{Shape{B, 3}, {1, 2, 3, 1, 1, 1}};
  check_values(run<T>(OpKind::SoftmaxCrossEntropy, {x, labels({B}, {2, 0})}, {}, 2), {},
               {(nll({1, 2, 3}, 2) + nll({1, 1, 1}, 0)) / 2});
  // Batch 1.
  check_values(
      run<T>(OpKind::SoftmaxCrossEntropy, {Arg{Shape{B, 3}, {1, 2, 3}}, labels({B}, {0})}, {}, 1),
      {}, {nll({1, 2, 3}, 0)});
  // Large logits: log-sum-exp keeps them finite.
  Arg big{Shape{2, 2}, {1000, 0, -1000, 1000}};
  check_values(run<T>(OpKind::SoftmaxCrossEntropy, {big, labels({2}, {0, 0})}), {},
               {(0 + 2000) / 2.0});
}

TEST_CASE_TEMPLATE("softmax_cross_entropy: bad labels are run-time errors", T, float, double) {
  std::vector<double> logits(4 * 10, 0.0);
  std::string e = run_error<T>(OpKind::SoftmaxCrossEntropy,
                               {Arg{Shape{B, 10}, logits}, labels({B}, {0, 1, 9, 12})}, {}, 4);
  CHECK(contains(e, "softmax_cross_entropy: label 12 out of range [0,10) at row 3"));
  e = run_error<T>(OpKind::SoftmaxCrossEntropy,
                   {Arg{Shape{B, 10}, logits}, labels({B}, {-1, 0, 0, 0})}, {}, 4);
  CHECK(contains(e, "label -1 out of range [0,10) at row 0"));
  e = run_error<T>(OpKind::SoftmaxCrossEntropy,
                   {Arg{Shape{B, 10}, logits}, labels({B}, {0, 2.5, 0, 0})}, {}, 4);
  CHECK(contains(e, "label 2.5 at row 1 is not a class index"));
}

// ---- softmax_cross_entropy {label_smoothing, weights} ------------------------------

namespace {

// PyTorch's CrossEntropyLoss(weight=w, label_smoothing=s), mean reduction, as
// its implementation computes it: (1 - s) nll + (s/C) smooth with both terms
// normalized by sum_r w[y_r].
double torch_ce(const std::vector<std::vector<double>>& x, const std::vector<int>& y,
                const std::vector<double>& w, double s) {
  double nll = 0, smooth = 0, norm = 0;
  auto C = static_cast<int>(w.size());
  for (size_t r = 0; r < x.size(); ++r) {
    nll += w[size_t(y[r])] * ::nll(x[r], y[r]);
    for (int c = 0; c < C; ++c) smooth += w[size_t(c)] * ::nll(x[r], c);
    norm += w[size_t(y[r])];
  }
  return (1 - s) * nll / norm + s / C * smooth / norm;
}

Attrs ce_options(std::optional<double> smoothing, std::vector<double> weights) {
  Attrs a;
  if (smoothing) a.set("label_smoothing", *smoothing);
  if (!weights.empty()) a.set("weights", std::move(weights));
  return a;
}

} // namespace

TEST_CASE_TEMPLATE("softmax_cross_entropy: label smoothing and class weights as in PyTorch", T,
                   float, double) {
  std::vector<std::vector<double>> rows = {{1, -2, 0.5, 3}, {0, 0, 0, 0}, {-1, 2, 2, -3}};
  std::vector<int> y = {3, 0, 2};
  Arg x{Shape{B, 4}, {1, -2, 0.5, 3, 0, 0, 0, 0, -1, 2, 2, -3}};
  Arg labels_arg = labels({B}, {3, 0, 2});
  std::vector<double> w = {0.5, 2, 1.5, 0.25}, ones = {1, 1, 1, 1};
  auto loss = [&](const Attrs& a) {
    return run<T>(OpKind::SoftmaxCrossEntropy, {x, labels_arg}, a, 3);
  };
  // Smoothing alone: the denominator stays N.
  check_values(loss(ce_options(0.1, {})), {}, {torch_ce(rows, y, ones, 0.1)});
  // Weights alone: a weighted mean over sum_r w[y_r] = 0.25 + 0.5 + 1.5.
  double weighted = (0.25 * nll(rows[0], 3) + 0.5 * nll(rows[1], 0) + 1.5 * nll(rows[2], 2)) / 2.25;
  CHECK(torch_ce(rows, y, w, 0) == doctest::Approx(weighted).epsilon(1e-14));
  check_values(loss(ce_options(std::nullopt, w)), {}, {weighted});
  // Both, and the extremes s = 1 (the uniform target) and s = 0 (no smoothing).
  for (double s : {0.0, 0.3, 1.0}) {
    INFO("label_smoothing ", s);
    check_values(loss(ce_options(s, w)), {}, {torch_ce(rows, y, w, s)});
  }
  // Weights of 1 and s = 0 are the plain loss.
  check_values(loss(ce_options(0.0, ones)), {}, {torch_ce(rows, y, ones, 0)});
  // By hand: zero logits make every -log softmax log C. C = 2, labels
  // {0, 1, 1}, w = {1, 3}, s = 0.5: sum_r w[y_r] = 7, and the loss is
  // (0.5 * 7 log 2 + (0.5 / 2) * 3 rows * (1 + 3) log 2) / 7 = 6.5 log 2 / 7.
  check_values(run<T>(OpKind::SoftmaxCrossEntropy,
                      {Arg{Shape{B, 2}, std::vector<double>(6, 0.0)}, labels({B}, {0, 1, 1})},
                      ce_options(0.5, {1, 3}), 3),
               {}, {6.5 * std::log(2.0) / 7});
  // A zero weight drops its rows from both the sum and the denominator.
  check_values(run<T>(OpKind::SoftmaxCrossEntropy, {x, labels({B}, {3, 0, 2})},
                      ce_options(std::nullopt, {0, 1, 1, 0}), 3),
               {}, {nll(rows[2], 2)});
}

TEST_CASE("softmax_cross_entropy: option rejections") {
  std::vector<TensorType> in = {f32({B, 3}), i32({B})};
  CHECK(
      contains(build_error(OpKind::SoftmaxCrossEntropy, in, ce_options(1.5, {})),
               "softmax_cross_entropy: attribute 'label_smoothing' must be in [0, 1], found 1.5"));
  CHECK(contains(build_error(OpKind::SoftmaxCrossEntropy, in, ce_options(-0.1, {})),
                 "'label_smoothing' must be in [0, 1], found -0.1"));
  CHECK(contains(build_error(OpKind::SoftmaxCrossEntropy, in, ce_options(std::nullopt, {1, 2})),
                 "attribute 'weights' has 2 values for 3 classes"));
  CHECK(contains(build_error(OpKind::SoftmaxCrossEntropy, in, ce_options(std::nullopt, {1, -2, 1})),
                 "class weights must be finite and >= 0, found -2"));
  double inf = std::numeric_limits<double>::infinity();
  CHECK(
      contains(build_error(OpKind::SoftmaxCrossEntropy, in, ce_options(std::nullopt, {1, inf, 1})),
               "class weights must be finite and >= 0, found inf"));
  CHECK(contains(build_error(OpKind::SoftmaxCrossEntropy, in, ce_options(std::nullopt, {0, 0, 0})),
                 "at least one class weight must be positive"));
  CHECK(contains(
      build_error(OpKind::SoftmaxCrossEntropy, in, Attrs{{"weights", std::string("heavy")}}),
      "attribute 'weights' must be a list of numbers"));
  // An integer list is a list of numbers.
  CHECK(out_type(OpKind::SoftmaxCrossEntropy, in,
                 Attrs{{"weights", std::vector<int64_t>{1, 2, 3}}}) == f32({}));
  CHECK(contains(
      build_error(OpKind::SoftmaxCrossEntropy, {f32({4, B}), i32({4})}, ce_options(0.1, {})),
      "class weights and label smoothing need a constant number of classes"));
}

TEST_CASE("sigmoid_cross_entropy, mse: types") {
  for (OpKind k : {OpKind::SigmoidCrossEntropy, OpKind::Mse}) {
    INFO(op_name(k));
    CHECK(out_type(k, {f32({B, 5}), f32({B, 5})}) == f32({}));
    CHECK(out_type(k, {f64({3}), f64({3})}) == f64({}));
  }
  std::string e = build_error(OpKind::SigmoidCrossEntropy, {f32({B, 3}), f32({B, 4})});
  CHECK(contains(e, "sigmoid_cross_entropy: logits and targets must have the same shape, found "
                    "f32[batch,3] and f32[batch,4]"));
  // No broadcasting in losses.
  e = build_error(OpKind::Mse, {f32({B, 3}), f32({3})});
  CHECK(contains(e, "mse: pred and target must have the same shape, found f32[batch,3] and "
                    "f32[3]"));
  e = build_error(OpKind::Mse, {f32({B, 3}), f64({B, 3})});
  CHECK(contains(e, "pred and target must have the same dtype, found f32[batch,3] and "
                    "f64[batch,3]"));
  e = build_error(OpKind::SigmoidCrossEntropy, {f32({B}), i32({B})});
  CHECK(contains(e, "targets must be a float tensor (f32 or f64), found i32[batch]"));
}

TEST_CASE_TEMPLATE("sigmoid_cross_entropy: the mean over all elements", T, float, double) {
  std::vector<double> x = {0, 2, -3, 0.5}, t = {1, 0, 1, 0.25};
  double want = (bce(0, 1) + bce(2, 0) + bce(-3, 1) + bce(0.5, 0.25)) / 4;
  CHECK(bce(0, 1) == doctest::Approx(std::log(2.0)));
  check_values(
      run<T>(OpKind::SigmoidCrossEntropy, {Arg{Shape{B, 2}, x}, Arg{Shape{B, 2}, t}}, {}, 2), {},
      {want});
  // Batch 1.
  check_values(run<T>(OpKind::SigmoidCrossEntropy,
                      {Arg{Shape{B, 2}, {2, -3}}, Arg{Shape{B, 2}, {0, 1}}}, {}, 1),
               {}, {(bce(2, 0) + bce(-3, 1)) / 2});
  // Saturated logits: right answers cost ~0, wrong ones ~|x|, never inf or NaN.
  check_values(run<T>(OpKind::SigmoidCrossEntropy,
                      {Arg{Shape{4}, {1000, -1000, 1000, -1000}}, Arg{Shape{4}, {1, 0, 0, 1}}}),
               {}, {(0 + 0 + 1000 + 1000) / 4.0});
}

TEST_CASE_TEMPLATE("mse: the mean of squared differences", T, float, double) {
  // (1-0)^2 + (2-4)^2 + (-1-1)^2 + (3-3)^2 + (0.5-0)^2 + (2-1)^2 = 1+4+4+0+0.25+1.
  Arg p{Shape{B, 3}, {1, 2, -1, 3, 0.5, 2}};
  Arg t{Shape{B, 3}, {0, 4, 1, 3, 0, 1}};
  check_values(run<T>(OpKind::Mse, {p, t}, {}, 2), {}, {10.25 / 6});
  check_values(
      run<T>(OpKind::Mse, {Arg{Shape{B, 3}, {1, 2, -1}}, Arg{Shape{B, 3}, {0, 4, 1}}}, {}, 1), {},
      {9.0 / 3});
  check_values(run<T>(OpKind::Mse, {Arg{Shape{}, {3}}, Arg{Shape{}, {1}}}), {}, {4});
}

TEST_CASE("losses: FLOPs for one example") {
  CHECK(flops(OpKind::SoftmaxCrossEntropy, {f32({B, 10}), i32({B})}) == 4 * 10 + 4);
  CHECK(flops(OpKind::SoftmaxCrossEntropy, {f32({B, 10}), i32({B})}, ce_options(0.1, {})) ==
        8 * 10 + 6);
  CHECK(flops(OpKind::SoftmaxCrossEntropy, {f32({B, 2}), i32({B})}, ce_options(0.1, {1, 2})) ==
        8 * 2 + 8);
  CHECK(flops(OpKind::SigmoidCrossEntropy, {f32({B, 5}), f32({B, 5})}) == 8 * 5);
  CHECK(flops(OpKind::Mse, {f32({B, 5}), f32({B, 5})}) == 3 * 5);
}
