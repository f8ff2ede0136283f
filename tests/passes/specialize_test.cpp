// Train/infer specialization: what each mode turns dropout and batch norm
// into, where folding must and must not fire, and that the specialized graphs
// compute what the mode-dependent ops computed.
#include "frontend/frontend.h"
#include "ir/interpreter.h"
#include "ir/text_parser.h"
#include "ir/verifier.h"
#include "passes/cleanup.h"
#include "passes/pipeline.h"
#include "passes/specialize.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace netc;

namespace {

int count(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == k;
  return n;
}

// Ops on batch-sized tensors: folding batch norm leaves none but the layers'.
int batch_sized(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == k && node.type.shape.has_batch();
  return n;
}

// Params and state with random (not initial) values, so that running
// statistics and biases matter; variances stay positive.
std::map<std::string, Tensor<double>> random_state(const Graph& g, int64_t batch) {
  auto values = initial_values<double>(g, 3, batch);
  for (auto& [name, t] : values) {
    for (int64_t i = 0; i < t.size(); ++i) {
      double r = std::sin(1.0 + 7.0 * double(i) + double(name.size()));
      t[i] = name.ends_with("running_var") ? 0.5 + r * r : t[i] + 0.3 * r;
    }
  }
  for (ValueId v : g.leaves(OpKind::Input)) {
    const Node& n = g.node(v);
    Tensor<double> t(n.type.shape.concrete(batch));
    int64_t classes = n.attrs.get_int("num_classes", 0);
    for (int64_t i = 0; i < t.size(); ++i)
      t[i] = classes ? double(i % classes) : std::cos(0.37 * double(i));
    values[n.attrs.get_str("name")] = std::move(t);
  }
  return values;
}

const char* kDenseBn = R"(
%0 = input() {name="x"} : f32[batch,3]
%1 = param() {name="W"} : f32[3,4]
%2 = matmul(%0, %1) : f32[batch,4]
%3 = param() {name="b"} : f32[4]
%4 = add(%2, %3) : f32[batch,4]
%5 = param() {name="gamma"} : f32[4]
%6 = param() {name="beta"} : f32[4]
%7 = state() {name="mean"} : f32[4]
%8 = state() {name="var", init="ones"} : f32[4]
%9 = batchnorm(%4, %5, %6, %7, %8) {axis=1, eps=1e-05, momentum=0.9} : f32[batch,4]
%10 = hyper() {name="keep", value=0.5} : f32[]
%11 = dropout(%9, %10) {stream=1} : f32[batch,4]
output y = %11
)";

} // namespace

TEST_CASE("inference: dropout disappears and batch norm folds into the dense layer") {
  Graph g = parse_graph_text(kDenseBn, "dense_bn.ir");
  Graph infer = clean_up(specialize_for_inference(g).graph).graph;
  CHECK(verify(infer).empty());
  CHECK(count(infer, OpKind::Dropout) == 0);
  CHECK(count(infer, OpKind::BatchNorm) == 0);
  CHECK(count(infer, OpKind::MatMul) == 1);
  CHECK(batch_sized(infer, OpKind::Mul) == 0); // the scale went into W
  CHECK(batch_sized(infer, OpKind::Add) == 1); // only the (folded) bias
}

TEST_CASE("folding must not fire when the pre-normalization value is used elsewhere") {
  std::string text = kDenseBn;
  text += "output pre = %4\n";
  Graph infer = clean_up(specialize_for_inference(parse_graph_text(text, "reused.ir")).graph).graph;
  CHECK(count(infer, OpKind::MatMul) == 1);
  CHECK(batch_sized(infer, OpKind::Mul) == 1); // batch norm applied as x * s + shift
}

TEST_CASE("training: dropout becomes a recomputable mask, batch norm its batch statistics") {
  Graph g = parse_graph_text(kDenseBn, "dense_bn.ir");
  Graph train = specialize_for_training(g).graph;
  CHECK(verify(train).empty());
  CHECK(count(train, OpKind::Dropout) == 0);
  CHECK(count(train, OpKind::DropoutMask) == 1);
  CHECK(count(train, OpKind::BatchNorm) == 0);
  REQUIRE(train.updates.size() == 2);
  CHECK(train.updates[0].name == "mean");
  CHECK(train.updates[1].name == "var");

  // The running statistics move 10% of the way to the batch's (unbiased) ones.
  int64_t batch = 5;
  auto values = random_state(g, batch);
  RefContext<double> ctx;
  ctx.batch = batch;
  ctx.training = true;
  ctx.values = &values;
  auto result = interpret(train, ctx);
  const Tensor<double>& x = values["x"];
  const Tensor<double>& W = values["W"];
  const Tensor<double>& b = values["b"];
  for (int c = 0; c < 4; ++c) {
    std::vector<double> z;
    for (int64_t n = 0; n < batch; ++n) {
      double s = b[c];
      for (int k = 0; k < 3; ++k) s += x[n * 3 + k] * W[k * 4 + c];
      z.push_back(s);
    }
    double mean = 0, var = 0;
    for (double v : z) mean += v / double(batch);
    for (double v : z) var += (v - mean) * (v - mean) / double(batch - 1);
    CHECK(result[size_t(train.updates[0].value)][c] ==
          doctest::Approx(0.9 * values["mean"][c] + 0.1 * mean).epsilon(1e-12));
    CHECK(result[size_t(train.updates[1].value)][c] ==
          doctest::Approx(0.9 * values["var"][c] + 0.1 * var).epsilon(1e-12));
  }
}

TEST_CASE("every example: the specialized graphs compute what the mode-dependent ops did") {
  for (const char* name :
       {"fmnist_mlp", "fmnist_cnn", "multilabel", "siamese", "transfer", "multitask"}) {
    CAPTURE(name);
    Graph parsed = load_model(std::string(NETC_SOURCE_DIR) + "/examples/" + name + ".nn");
    for (bool training : {false, true}) {
      CAPTURE(training);
      Graph special = training ? specialize_for_training(parsed).graph : inference_graph(parsed);
      int64_t batch = 3;
      auto values = random_state(parsed, batch);
      RefContext<double> ctx;
      ctx.batch = batch;
      ctx.training = training;
      ctx.seed = 17;
      ctx.step = 4;
      ctx.values = &values;
      auto want = interpret(parsed, ctx);
      ctx.training = false; // the specialized graph must not depend on the flag
      auto got = interpret(special, ctx);
      auto same = [&](ValueId a, ValueId b) {
        const auto& ta = want[size_t(a)];
        const auto& tb = got[size_t(b)];
        REQUIRE(ta.shape == tb.shape);
        for (int64_t i = 0; i < ta.size(); ++i)
          CHECK(tb[i] == doctest::Approx(ta[i]).epsilon(1e-9).scale(1.0));
      };
      for (size_t o = 0; o < parsed.outputs.size(); ++o)
        same(parsed.outputs[o].value, special.outputs[o].value);
      if (parsed.loss) same(parsed.loss->value, special.loss->value);
    }
  }
}
