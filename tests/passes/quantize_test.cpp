// The int8 quantization pass (passes/quantize.h): which matmuls and convs it takes and
// which it leaves (with a reason), the rewritten structure (weights-only ops
// first, so they become prepare kernels), that the quantized graph computes
// nearly what the f32 one does, and that a graph with nothing to quantize is
// returned unchanged.
#include "frontend/frontend.h"
#include "ir/interpreter.h"
#include "ir/verifier.h"
#include "passes/pipeline.h"
#include "passes/quantize.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace netc;

namespace {

int count(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == k;
  return n;
}

constexpr const char* kMlp = R"(model q
input x : f32[batch, 20]
label y : class(5)[batch]
h = relu(batchnorm(dense(x, 32)))
h = relu(dense(h, 16))
logits = dense(h, 5)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
)";

std::map<std::string, Tensor<float>> inputs(int64_t n, double phase) {
  Tensor<float> x({n, 20});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(0.37 * double(i) + phase) * 2.0);
  return {{"x", x}};
}

// A small cnn: conv2d with 1 input channel (the packed groups span pixels),
// with a bias and batch norm, stride 2 with 6 channels (groups across
// pixels and channels), a 1x1 conv, padding everywhere (borders read the
// zero point, which is nonzero where the input has negative values).
constexpr const char* kCnn = R"(model c
input x : f32[batch, 1, 10, 10]
label y : class(5)[batch]
h = relu(batchnorm(conv2d(x, 6, kernel=3, pad=1)))
h = relu(conv2d(h, 16, kernel=3, stride=2, pad=1, bias=false))
h = conv2d(h, 8, kernel=1)
h = maxpool(h, 2)
logits = dense(flatten(h), 5)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
)";

std::map<std::string, Tensor<float>> images(int64_t n, double phase) {
  Tensor<float> x({n, 1, 10, 10});
  for (int64_t i = 0; i < x.size(); ++i)
    x[i] = float(std::sin(0.37 * double(i) + phase) * 2.0 + std::cos(0.011 * double(i)));
  return {{"x", x}};
}

std::map<std::string, Tensor<float>> weights(const Graph& g) {
  auto w = initial_values<float>(g, 7);
  for (auto& [name, t] : w)
    if (name.ends_with("running_var"))
      for (auto& v : t.data) v = 1.5f;
  return w;
}

std::vector<Tensor<float>> run(const Graph& g, std::map<std::string, Tensor<float>> values,
                               int64_t batch) {
  RefContext<float> ctx;
  ctx.batch = batch;
  ctx.values = &values;
  return interpret(g, ctx);
}

// The first output (5-class probabilities) of the f32 graph g and of its
// quantized form q on the same values: the largest difference, and on how
// many of the n examples the predicted classes agree.
std::pair<double, int64_t> compare_outputs(const Graph& g, const Graph& q,
                                           const std::map<std::string, Tensor<float>>& values,
                                           int64_t n) {
  std::vector<Tensor<float>> f = run(g, values, n), qv = run(q, values, n);
  const Tensor<float>&pf = f[size_t(g.outputs[0].value)], &pq = qv[size_t(q.outputs[0].value)];
  double worst = 0;
  int64_t agree = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t af = 0, aq = 0;
    for (int64_t j = 0; j < 5; ++j) {
      worst = std::max(worst, double(std::abs(pf[i * 5 + j] - pq[i * 5 + j])));
      if (pf[i * 5 + j] > pf[i * 5 + af]) af = j;
      if (pq[i * 5 + j] > pq[i * 5 + aq]) aq = j;
    }
    agree += af == aq;
  }
  return {worst, agree};
}

} // namespace

TEST_CASE("quantize_int8: every dense layer of an mlp becomes an int8 matmul") {
  Graph g = inference_graph(parse_model(kMlp, "q.nn"));
  QuantizableOps q = find_quantizable(g);
  CHECK(q.matmuls.size() == 3);
  CHECK(q.refused.empty());
  auto w = weights(g);
  Calibration c = calibrate(g, w, inputs(200, 0.0), 64);
  CHECK(c.examples == 200);
  CHECK(c.ranges.size() == 3);
  PassResult r = quantize_int8(g, c);
  REQUIRE(r.changed);
  verify_or_throw(r.graph, "quantize");
  CHECK(count(r.graph, OpKind::MatMul) == 0);
  CHECK(count(r.graph, OpKind::MatMulI8) == 3);
  CHECK(count(r.graph, OpKind::Quantize) == 3);
  CHECK(count(r.graph, OpKind::Dequantize) == 3);
  // The weight ops come before every data-dependent node.
  int first_data = -1, last_weight = -1;
  for (ValueId v = 0; v < r.graph.size(); ++v) {
    OpKind op = r.graph.node(v).op;
    if (op == OpKind::Input && first_data < 0) first_data = v;
    if (op == OpKind::QuantizeWeight || op == OpKind::WeightColsum) last_weight = v;
  }
  CHECK(last_weight < first_data);

  // On other data than the calibration's, the probabilities stay close and
  // the predicted classes agree.
  int64_t n = 300;
  auto data = inputs(n, 1.3);
  auto values = w;
  values.insert(data.begin(), data.end());
  values["y"] = Tensor<float>({n}); // the loss's labels: not part of the comparison
  auto [worst, agree] = compare_outputs(g, r.graph, values, n);
  INFO("worst probability difference ", worst, ", agreement ", agree, "/", n);
  CHECK(worst < 0.05);
  CHECK(agree >= n * 97 / 100);
}

TEST_CASE("quant_params: the range includes 0, which is exact") {
  QuantParams relu = quant_params({0.0f, 5.1f});
  CHECK(relu.zero_point == 0);
  CHECK(relu.scale == doctest::Approx(0.02));
  QuantParams sym = quant_params({-1.0f, 1.0f});
  CHECK(sym.zero_point == 128);
  QuantParams pos = quant_params({2.0f, 3.0f}); // widened to [0, 3]
  CHECK(pos.zero_point == 0);
  CHECK(pos.scale == doctest::Approx(3.0 / 255));
  CHECK(quant_params({0.0f, 0.0f}).scale == 1.0);
}

TEST_CASE("quantize_int8 does not fire on matmuls of two data operands or depthwise convs") {
  constexpr const char* kNone = R"(model n
input a : f32[batch, 4, 6]
input b : f32[batch, 6, 3]
input x : f32[batch, 4, 8, 8]
output c = matmul(a, b)
output d = conv2d(x, 4, kernel=3, groups=4)
output e = conv2d(x, 2, kernel=3, dilation=2)
)";
  Graph g = inference_graph(parse_model(kNone, "n.nn"));
  QuantizableOps q = find_quantizable(g);
  CHECK(q.matmuls.empty());
  CHECK(q.convs.empty());
  REQUIRE(q.refused.size() == 3);
  CHECK(q.refused[0].find("batched") != std::string::npos);
  CHECK(q.refused[1].find("line 6: conv2d: a grouped (depthwise) convolution: no int8 kernel "
                          "(stays f32)") != std::string::npos);
  CHECK(q.refused[2].find("line 7: conv2d: a dilated convolution") != std::string::npos);
  PassResult r = quantize_int8(g, Calibration{});
  CHECK_FALSE(r.changed);
  CHECK(r.graph == g);
}

TEST_CASE("quantize_int8: the convolutions of a cnn become int8 convs") {
  Graph g = inference_graph(parse_model(kCnn, "c.nn"));
  QuantizableOps q = find_quantizable(g);
  CHECK(q.convs.size() == 3);
  CHECK(q.matmuls.size() == 1);
  CHECK(q.refused.empty());
  auto w = weights(g);
  Calibration c = calibrate(g, w, images(100, 0.0), 64);
  CHECK(c.ranges.size() == 4);
  // The first conv's input has negative values: a nonzero zero point, which
  // its padding must read.
  CHECK(quant_params(c.ranges.at(g.node(q.convs[0]).inputs[0])).zero_point > 0);
  PassResult r = quantize_int8(g, c);
  REQUIRE(r.changed);
  verify_or_throw(r.graph, "quantize");
  CHECK(count(r.graph, OpKind::Conv2d) == 0);
  CHECK(count(r.graph, OpKind::Conv2dI8) == 3);
  CHECK(count(r.graph, OpKind::MatMulI8) == 1);
  CHECK(count(r.graph, OpKind::Dequantize) == 4);
  for (const Node& n : r.graph.nodes)
    if (n.op == OpKind::Dequantize && n.type.shape.rank() == 4) CHECK(n.attrs.get_int("axis") == 1);

  int64_t n = 200;
  auto data = images(n, 0.7);
  auto values = w;
  values.insert(data.begin(), data.end());
  values["y"] = Tensor<float>({n});
  auto [worst, agree] = compare_outputs(g, r.graph, values, n);
  INFO("worst probability difference ", worst, ", agreement ", agree, "/", n);
  CHECK(worst < 0.05);
  CHECK(agree >= n * 95 / 100);
}
