// The ONNX exporter (codegen/onnx/): a model exported and imported back by
// our own importer computes what the model computes; batch norm and dropout
// leave no trace; unmapped ops and missing weights are located errors. The
// ONNX Runtime side is tests/onnx/export_ort_test.py.
#include "codegen/onnx/onnx_export.h"
#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/init.h"
#include "ir/interpreter.h"
#include "ir/text_parser.h"
#include "passes/pipeline.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace netc;

namespace {

const char* kModel = R"(model small
input x : f32[batch, 2, 6, 6]
h = conv2d(x, 4, kernel=3, pad=1, groups=2)
h = maxpool(relu(batchnorm(h)), 2)
h = dropout(flatten(h), keep=0.5)
h = relu(batchnorm(dense(h, 8)))
output probs = softmax(dense(h, 3))
output raw = h
)";

// Weights away from their initial values (running statistics included), so
// that a wrong fold or a swapped operand shows.
std::map<std::string, Tensor<float>> perturbed(const Graph& g) {
  auto values = initial_values<float>(g, 5);
  for (auto& [name, t] : values)
    for (int64_t i = 0; i < t.size(); ++i) {
      float r = static_cast<float>(std::sin(0.7 * double(i) + double(name.size())));
      t[i] = name.ends_with("running_var") ? 0.5f + r * r : t[i] + 0.3f * r;
    }
  return values;
}

std::vector<Tensor<double>> run(const Graph& g, const std::map<std::string, Tensor<float>>& w,
                                const Tensor<double>& x) {
  std::map<std::string, Tensor<double>> values;
  for (const auto& [name, t] : w) values[name] = tensor_cast<double>(t);
  values["x"] = x;
  RefContext<double> ctx;
  ctx.batch = x.dim(0);
  ctx.values = &values;
  std::vector<Tensor<double>> all = interpret(g, ctx), out;
  for (const NamedValue& o : g.outputs) out.push_back(all[static_cast<size_t>(o.value)]);
  return out;
}

int count(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == k;
  return n;
}

} // namespace

TEST_CASE("onnx export: the model imported back computes the same outputs") {
  Graph model = parse_model(kModel, "small.nn");
  Graph inference = inference_graph(model);
  auto weights = perturbed(inference);
  OnnxExport e = export_onnx(inference, weights);
  CHECK(e.inputs == std::vector<std::string>{"x"});
  CHECK(e.outputs == std::vector<std::string>{"probs", "raw"});

  ImportedModel back = import_onnx_bytes(e.bytes, "small.onnx");
  // Folded on export: the imported graph has no batch-norm arithmetic left
  // (no sqrt), no dropout, and convs and matmuls read folded initializers.
  CHECK(count(back.graph, OpKind::Sqrt) == 0);
  CHECK(count(back.graph, OpKind::Dropout) == 0);
  CHECK(count(back.graph, OpKind::Conv2d) == 1);
  CHECK(back.weights.count("conv1.W.folded") == 1);

  Tensor<double> x({3, 2, 6, 6});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.37 * double(i));
  // The reference: the model as parsed, batch norm on its running statistics.
  std::vector<Tensor<double>> want = run(model, weights, x);
  std::vector<Tensor<double>> got = run(back.graph, back.weights, x);
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    REQUIRE(got[k].shape == want[k].shape);
    for (int64_t i = 0; i < want[k].size(); ++i)
      CHECK(got[k][i] == doctest::Approx(want[k][i]).epsilon(1e-5));
  }
}

TEST_CASE("onnx export: an op without an ONNX mapping is an error naming it") {
  Graph g = parse_graph_text(R"(
%0 = input() {name="x"} : f32[batch,3] @2:1
%1 = input() {name="t"} : f32[batch,3] @3:1
%2 = mse(%0, %1) : f32[] @4:9
output err = %2
)",
                             "loss.ir");
  try {
    export_onnx(g, {});
    FAIL("no error");
  } catch (const UserError& e) {
    INFO(std::string(e.what()));
    CHECK(std::string(e.what()).find(":4:9: error: export: op 'mse' has no ONNX mapping") !=
          std::string::npos);
  }
}

TEST_CASE("onnx export: a missing weight is an error naming it") {
  Graph inference = inference_graph(parse_model(kModel, "small.nn"));
  auto weights = perturbed(inference);
  weights.erase("dense1.W");
  try {
    export_onnx(inference, weights);
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("export: no value for 'dense1.W'") != std::string::npos);
  }
  weights = perturbed(inference);
  weights["dense1.W"] = Tensor<float>(std::vector<int64_t>{2, 2});
  CHECK_THROWS_WITH_AS(export_onnx(inference, weights),
                       doctest::Contains("the value of 'dense1.W' is [2,2]"), UserError);
}
