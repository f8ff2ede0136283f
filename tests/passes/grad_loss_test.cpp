// Gradient rules of the losses against central differences in double
// (relative error < 1e-6): softmax cross-entropy (labels get no gradient,
// the mean divides by the runtime batch), sigmoid cross-entropy and mse with
// respect to both operands, on batch-leading, batch-trailing and static
// shapes, at batch 1 and 4. Also the hand-computed value of the softmax
// cross-entropy gradient at one point.
#include "grad_check.h"

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

const Shape kPairShapes[] = {Shape{B, 3}, Shape{3, B}, Shape{2, B, 3}, Shape{5}, Shape{}};

} // namespace

TEST_CASE("grad: softmax_cross_entropy wrt the logits / none for the labels") {
  for (int64_t batch : {1, 4}) {
    INFO("batch ", batch);
    CHECK(op_gradient_error(OpKind::SoftmaxCrossEntropy, {param({B, 5}), labels({B}, 5)}, {},
                            batch) < kTol);
    CHECK(op_gradient_error(OpKind::SoftmaxCrossEntropy, {param({B, 2}), labels({B}, 2)}, {},
                            batch) < kTol);
    // A static row count: the mean divides by the constant 4.
    CHECK(op_gradient_error(OpKind::SoftmaxCrossEntropy, {param({4, 3}), labels({4}, 3)}, {},
                            batch) < kTol);
  }
  // Large logits: the fused op and its gradient stay finite.
  Operand big = param({B, 4});
  big.offset = 300;
  CHECK(op_gradient_error(OpKind::SoftmaxCrossEntropy, {big, labels({B}, 4)}, {}, 3) < kTol);
}

TEST_CASE("grad: softmax_cross_entropy with label smoothing and class weights") {
  auto options = [](double smoothing, std::vector<double> weights) {
    Attrs a;
    if (smoothing > 0) a.set("label_smoothing", smoothing);
    if (!weights.empty()) a.set("weights", std::move(weights));
    return a;
  };
  const Attrs cases[] = {
      options(0.1, {}),
      options(1.0, {}),
      options(0, {0.5, 2, 1, 0.25, 3}),
      options(0.3, {0.5, 2, 1, 0.25, 3}),
      options(0.3, {0, 2, 1, 0, 3}), // zero weights: rows of those labels only smooth
  };
  for (const Attrs& a : cases)
    for (int64_t batch : {1, 4}) {
      INFO(a.get_float("label_smoothing", 0), " weights ", a.has("weights"), " batch ", batch);
      CHECK(op_gradient_error(OpKind::SoftmaxCrossEntropy, {param({B, 5}), labels({B}, 5)}, a,
                              batch, true, 11) < kTol);
      // Another draw of logits and labels.
      CHECK(op_gradient_error(OpKind::SoftmaxCrossEntropy, {param({B, 5}), labels({B}, 5)}, a,
                              batch, true, 23) < kTol);
      // Static rows.
      CHECK(op_gradient_error(OpKind::SoftmaxCrossEntropy, {param({3, 5}), labels({3}, 5)}, a,
                              batch) < kTol);
    }
  // Large logits stay finite with both options.
  Operand big = param({B, 5});
  big.offset = 300;
  CHECK(op_gradient_error(OpKind::SoftmaxCrossEntropy, {big, labels({B}, 5)},
                          options(0.2, {1, 2, 3, 4, 5}), 3) < kTol);
}

TEST_CASE("grad: weighted, smoothed softmax_cross_entropy = (Q p - q) / W at one point") {
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 2}}, Attrs{{"name", "x"}});
  ValueId y = b.leaf(OpKind::Input, {DType::i32, Shape{B}}, Attrs{{"name", "y"}});
  Attrs a{{"label_smoothing", 0.5}, {"weights", std::vector<double>{1, 3}}};
  g.loss = NamedValue{"loss", b.op(OpKind::SoftmaxCrossEntropy, {x, y}, a), {}};
  Differentiated d = differentiate(g);
  // Row 0: logits equal, label 1: p = (1/2, 1/2), q = (1/4, 3/4 + 3/2) and
  // Q = 1/4 + 3/4 + 3/2 = 5/2. Row 1: logits (ln 3, 0), label 0: p = (3/4, 1/4),
  // q = (1/4 + 1/2, 3/4), Q = 3/2. W = 3 + 1 = 4.
  Tensor<double> xv({2, 2}), yv({2});
  xv.data = {0, 0, std::log(3.0), 0};
  yv.data = {1, 0};
  std::map<std::string, Tensor<double>> values{{"x", xv}, {"y", yv}};
  RefContext<double> ctx;
  ctx.batch = 2;
  ctx.values = &values;
  std::vector<double> dx = interpret(d.graph, ctx)[size_t(d.grads[0].value)].data;
  std::vector<double> want = {(2.5 * 0.5 - 0.25) / 4, (2.5 * 0.5 - 2.25) / 4,
                              (1.5 * 0.75 - 0.75) / 4, (1.5 * 0.25 - 0.75) / 4};
  REQUIRE(dx.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(dx[i] == doctest::Approx(want[i]).epsilon(1e-14));
}

TEST_CASE("grad: softmax_cross_entropy = (softmax(x) - onehot(y)) / N at one point") {
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 2}}, Attrs{{"name", "x"}});
  ValueId y = b.leaf(OpKind::Input, {DType::i32, Shape{B}}, Attrs{{"name", "y"}});
  g.loss = NamedValue{"loss", b.op(OpKind::SoftmaxCrossEntropy, {x, y}), {}};
  Differentiated d = differentiate(g);
  // Row 0: logits equal, label 1: softmax (1/2, 1/2). Row 1: logits (ln 3, 0),
  // label 0: softmax (3/4, 1/4). N = 2.
  Tensor<double> xv({2, 2}), yv({2});
  xv.data = {0, 0, std::log(3.0), 0};
  yv.data = {1, 0};
  std::map<std::string, Tensor<double>> values{{"x", xv}, {"y", yv}};
  RefContext<double> ctx;
  ctx.batch = 2;
  ctx.values = &values;
  std::vector<double> dx = interpret(d.graph, ctx)[size_t(d.grads[0].value)].data;
  std::vector<double> want = {0.25, -0.25, -0.125, 0.125};
  REQUIRE(dx.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(dx[i] == doctest::Approx(want[i]).epsilon(1e-14));
}

TEST_CASE("grad: sigmoid_cross_entropy wrt logits and (computed) targets") {
  for (const Shape& s : kPairShapes)
    for (int64_t batch : {1, 4}) {
      INFO(to_string(s), " at batch ", batch);
      CHECK(op_gradient_error(OpKind::SigmoidCrossEntropy, {param(s), param(s)}, {}, batch) < kTol);
    }
  // Saturated logits of both signs.
  Operand high = param({B, 3}), low = param({B, 3});
  high.offset = 30;
  low.offset = -30;
  CHECK(op_gradient_error(OpKind::SigmoidCrossEntropy, {high, param({B, 3})}) < kTol);
  CHECK(op_gradient_error(OpKind::SigmoidCrossEntropy, {low, param({B, 3})}) < kTol);
  // Targets that are data: only the logits get a gradient.
  Operand targets{Operand::input, Shape{B, 3}};
  CHECK(op_gradient_error(OpKind::SigmoidCrossEntropy, {param({B, 3}), targets}) < kTol);
}

TEST_CASE("grad: mse wrt prediction and target") {
  for (const Shape& s : kPairShapes)
    for (int64_t batch : {1, 4}) {
      INFO(to_string(s), " at batch ", batch);
      CHECK(op_gradient_error(OpKind::Mse, {param(s), param(s)}, {}, batch) < kTol);
    }
  Operand targets{Operand::input, Shape{B, 2}};
  CHECK(op_gradient_error(OpKind::Mse, {param({B, 2}), targets}, {}, 3) < kTol);
}
