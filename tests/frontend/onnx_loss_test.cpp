// The ONNX importer's losses (SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss)
// and the optimizers of ai.onnx.preview.training, run on the reference
// interpreter against numbers computed outside netc (numpy, from the ONNX
// operator definitions), and the PyTorch-exported classifier with its loss
// (tests/onnx/models/make_classifier_loss.py) against PyTorch's loss.
#include "onnx_test_helpers.h"

#include <fstream>
#include <nlohmann/json.hpp>

using namespace netc;
using namespace netc::onnx_test;

namespace {

const std::vector<float> kScores = {1, 2, 0.5f, -1, 0, 0, 1, 3, -2, 1, 1, 0}; // [3, 4]

// SCE of kScores against labels {2, 0, 1}, class weights {0.5, 1, 2, 1.5},
// ignore_index 1 (so row 2 counts for nothing), computed with numpy:
//   loss_r = -w[y_r] log_softmax(x_r)[y_r]
const std::vector<float> kRowLoss = {3.9903638f, 1.60549881f, 0.0f};
constexpr double kSum = 5.595862607790799, kMean = 2.2383450431163197; // mean: sum / (2 + 0.5)

ModelMaker sce_model(const std::string& reduction, int64_t ignore_index) {
  ModelMaker mm(13);
  mm.input("x", {3, 4});
  mm.input("y", {3}, onnx::TensorProto::INT64);
  mm.initializer("w", {4}, {0.5f, 1, 2, 1.5f});
  auto& n = mm.node("SoftmaxCrossEntropyLoss", {"x", "y", "w"}, {"loss", "log_prob"});
  attr(n, "reduction", reduction);
  attr(n, "ignore_index", ignore_index);
  mm.output("loss");
  mm.output("log_prob");
  return mm;
}

std::vector<float> log_softmax_rows(const std::vector<float>& x, int64_t C) {
  std::vector<float> out;
  for (size_t r = 0; r < x.size() / size_t(C); ++r) {
    double s = 0;
    for (int64_t j = 0; j < C; ++j) s += std::exp(double(x[r * size_t(C) + size_t(j)]));
    for (int64_t j = 0; j < C; ++j)
      out.push_back(float(x[r * size_t(C) + size_t(j)] - std::log(s)));
  }
  return out;
}

// Labels given at run time (one_hot) and bound at import time (a constant mask).
std::vector<Tensor<float>> run_sce(const ModelMaker& mm, bool bound_labels) {
  Tensor<float> labels = tensor({3}, {2, 0, 1});
  OnnxImportOptions o;
  std::map<std::string, Tensor<float>> inputs = {{"x", tensor({3, 4}, kScores)}};
  if (bound_labels) { // a constant mask [3, 4]: x must have its static shape too
    o.static_first_dim_is_batch = false;
    o.constant_inputs["y"] = tensor_cast<double>(labels);
  } else {
    inputs["y"] = labels;
  }
  ImportedModel m = mm.import(o);
  CHECK(count_ops(m.graph, OpKind::OneHot) == (bound_labels ? 0 : 1));
  return run(m, inputs, 3);
}

onnx::NodeProto& training_node(ModelMaker& mm, const std::string& op,
                               const std::vector<std::string>& inputs,
                               const std::vector<std::string>& outputs) {
  auto* o = mm.proto().add_opset_import();
  o->set_domain("ai.onnx.preview.training");
  o->set_version(1);
  auto& n = mm.node(op, inputs, outputs);
  n.set_domain("ai.onnx.preview.training");
  return n;
}

// A rank-0 graph input (a shape with no dimensions, not an absent shape).
void scalar_input(ModelMaker& mm, const std::string& name, int elem) {
  mm.input(name, {}, elem);
  mm.graph()
      .mutable_input(mm.graph().input_size() - 1)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape();
}

// A rank-0 initializer: R (float) or T (int64).
void scalar_initializer(ModelMaker& mm, const std::string& name, double v, bool integer) {
  auto* t = mm.graph().add_initializer();
  t->set_name(name);
  if (integer) {
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_int64_data(static_cast<int64_t>(v));
  } else {
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_float_data(static_cast<float>(v));
  }
}

} // namespace

TEST_CASE("onnx: SoftmaxCrossEntropyLoss with class weights and ignore_index") {
  for (bool bound : {false, true}) {
    CAPTURE(bound);
    auto none = run_sce(sce_model("none", 1), bound);
    check_close(none[0], {3}, kRowLoss, 1e-5);
    check_close(none[1], {3, 4}, log_softmax_rows(kScores, 4), 1e-5);
    check_close(run_sce(sce_model("sum", 1), bound)[0], {}, {float(kSum)}, 1e-5);
    check_close(run_sce(sce_model("mean", 1), bound)[0], {}, {float(kMean)}, 1e-5);
  }
}

TEST_CASE("onnx: NegativeLogLikelihoodLoss of [N, C, d] with a negative ignore_index") {
  // input [2, 3, 2]; target [2, 2] with -7 ignored; mean over the 3 others.
  ModelMaker mm(13);
  mm.input("lp", {2, 3, 2});
  mm.input("t", {2, 2}, onnx::TensorProto::INT64);
  auto& n = mm.node("NegativeLogLikelihoodLoss", {"lp", "t"}, {"loss"});
  attr(n, "ignore_index", int64_t{-7});
  mm.output("loss");
  OnnxImportOptions o;
  o.static_first_dim_is_batch = false;
  o.constant_inputs["t"] = tensor_cast<double>(tensor({2, 2}, {2, -7, 0, 1}));
  ImportedModel m = mm.import(o);
  std::vector<float> lp = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; // lp[n, c, d]
  // -(lp[0,2,0] + lp[1,0,0] + lp[1,1,1]) / 3 = -(5 + 7 + 10) / 3
  check_close(run(m, {{"lp", tensor({2, 3, 2}, lp)}})[0], {}, {-22.0f / 3}, 1e-6);
  // A label that is neither a class nor the ignore_index is refused by name.
  o.constant_inputs["t"] = tensor_cast<double>(tensor({2, 2}, {2, -7, 3, 1}));
  try {
    mm.import(o);
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("label 3 (element 2) is not a class index") !=
          std::string::npos);
  }
}

TEST_CASE("onnx: one Adam step of ai.onnx.preview.training matches hand-computed numbers") {
  // R 0.1, T 2, alpha 0.9, beta 0.99, epsilon 1e-3, norm_coefficient 0.01,
  // norm_coefficient_post 0.1; numpy from the operator spec's formulas.
  ModelMaker mm(13);
  for (const char* v : {"X", "G", "V", "H"}) mm.input(v, {2});
  scalar_initializer(mm, "R", 0.1, false);
  scalar_initializer(mm, "T", 2, true);
  auto& n = training_node(mm, "Adam", {"R", "T", "X", "G", "V", "H"}, {"X2", "V2", "H2"});
  attr(n, "alpha", 0.9);
  attr(n, "beta", 0.99);
  attr(n, "epsilon", 1e-3);
  attr(n, "norm_coefficient", 0.01);
  attr(n, "norm_coefficient_post", 0.1);
  for (const char* v : {"X2", "V2", "H2"}) mm.output(v);
  ImportedModel m = mm.import();
  auto out = run(m,
                 {{"X", tensor({2}, {1, -2})},
                  {"G", tensor({2}, {0.5f, 0.25f})},
                  {"V", tensor({2}, {0.1f, -0.2f})},
                  {"H", tensor({2}, {0.01f, 0.04f})}},
                 2);
  check_close(out[0], {2}, {0.8164791f, -1.74788973f}, 1e-5);
  check_close(out[1], {2}, {0.141f, -0.157f}, 1e-5);
  check_close(out[2], {2}, {0.012501f, 0.040129f}, 1e-5);
}

TEST_CASE("onnx: Momentum (nesterov) and Adagrad of two tensors, and what they refuse") {
  ModelMaker mm(13);
  for (const char* v : {"X1", "X2", "G1", "G2", "V1", "V2"}) mm.input(v, {1});
  scalar_input(mm, "R", onnx::TensorProto::FLOAT);
  scalar_initializer(mm, "T", 3, true);
  auto& n = training_node(mm, "Momentum", {"R", "T", "X1", "X2", "G1", "G2", "V1", "V2"},
                          {"X1n", "X2n", "V1n", "V2n"});
  attr(n, "alpha", 0.5);
  attr(n, "beta", 0.25);
  attr(n, "mode", std::string("nesterov"));
  attr(n, "norm_coefficient", 0.0);
  for (const char* v : {"X1n", "X2n", "V1n", "V2n"}) mm.output(v);
  ImportedModel m = mm.import();
  auto out = run(m, {{"R", tensor({}, {0.5f})},
                     {"X1", tensor({1}, {1})},
                     {"X2", tensor({1}, {2})},
                     {"G1", tensor({1}, {4})},
                     {"G2", tensor({1}, {-8})},
                     {"V1", tensor({1}, {2})},
                     {"V2", tensor({1}, {0})}});
  // V1' = 0.5 2 + 0.25 4 = 2; X1' = 1 - 0.5 (4 + 0.5 2) = -1.5
  // V2' = 0.25 (-8) = -2;     X2' = 2 - 0.5 (-8 + 0.5 (-2)) = 6.5
  check_close(out[0], {1}, {-1.5f});
  check_close(out[1], {1}, {6.5f});
  check_close(out[2], {1}, {2.0f});
  check_close(out[3], {1}, {-2.0f});

  // Adagrad at T = 1, decay 1: r = 0.1 / 2; H' = 5 + 2^2 = 9; X' = 1 - 0.05 2 / 3
  ModelMaker ma(13);
  for (const char* v : {"X", "G", "H"}) ma.input(v, {1});
  scalar_initializer(ma, "R", 0.1, false);
  scalar_initializer(ma, "T", 1, true);
  auto& a = training_node(ma, "Adagrad", {"R", "T", "X", "G", "H"}, {"Xn", "Hn"});
  attr(a, "decay_factor", 1.0);
  attr(a, "epsilon", 0.0);
  ma.output("Xn");
  ma.output("Hn");
  auto ad =
      run(ma.import(), {{"X", tensor({1}, {1})}, {"G", tensor({1}, {2})}, {"H", tensor({1}, {5})}});
  check_close(ad[0], {1}, {float(1 - 0.05 * 2 / 3)}, 1e-6);
  check_close(ad[1], {1}, {9.0f});

  // T known only at run time, and a training op outside its domain.
  ModelMaker mt(13);
  for (const char* v : {"X", "G", "H"}) mt.input(v, {1});
  scalar_input(mt, "T", onnx::TensorProto::INT64);
  scalar_initializer(mt, "R", 0.1, false);
  training_node(mt, "Adagrad", {"R", "T", "X", "G", "H"}, {"Xn", "Hn"});
  mt.node("Adam", {"R", "T", "X", "G", "H", "H"}, {"Y", "V", "W"});
  mt.output("Xn");
  mt.output("Y");
  try {
    mt.import();
    FAIL("no error");
  } catch (const UserError& e) {
    std::string what = e.what();
    CHECK(what.find("ai.onnx.preview.training.Adagrad, opset 1): the update count T (input 1) "
                    "must be a constant") != std::string::npos);
    CHECK(what.find("Adam, opset 13): the op is not supported") != std::string::npos);
  }
}

TEST_CASE("onnx: the PyTorch classifier with its CrossEntropyLoss gives PyTorch's loss") {
  std::string dir = std::string(NETC_SOURCE_DIR) + "/tests/onnx/models/";
  nlohmann::json j;
  std::ifstream(dir + "classifier_loss.json") >> j;
  std::vector<float> x, labels;
  for (const auto& row : j["x"])
    for (double v : row) x.push_back(float(v));
  for (int64_t v : j["labels"]) labels.push_back(float(v));
  int64_t n = int64_t(labels.size());
  double want = j["loss"];
  // The labels at run time: the fused softmax_cross_entropy (batch axis).
  ImportedModel m = import_onnx(dir + "classifier_loss.onnx");
  CHECK(count_ops(m.graph, OpKind::SoftmaxCrossEntropy) == 1);
  auto got = run(m, {{"x", tensor({n, 8}, x)}, {"labels", tensor({n}, labels)}}, n);
  CHECK(got[0][0] == doctest::Approx(want).epsilon(1e-5));
  // The labels bound at import time: the composed form.
  OnnxImportOptions o;
  o.static_first_dim_is_batch = false;
  o.constant_inputs["labels"] = tensor_cast<double>(tensor({n}, labels));
  ImportedModel bound = import_onnx(dir + "classifier_loss.onnx", o);
  CHECK(count_ops(bound.graph, OpKind::SoftmaxCrossEntropy) == 0);
  CHECK(run(bound, {{"x", tensor({n, 8}, x)}})[0][0] == doctest::Approx(want).epsilon(1e-5));
}

TEST_CASE("onnx: Gradient of ai.onnx.preview.training differentiates the graph by its xs") {
  // y = sum(x x w) + s: dy/dx = 2 x w, dy/dw = x^2, dy/dz = 0 (z unused),
  // with w an initializer and s a constant input the Gradient keeps unfolded.
  ModelMaker mm(13);
  mm.input("x", {3});
  mm.input("z", {2});
  mm.input("s", {1});
  mm.initializer("w", {3}, {1, -2, 0.5f});
  mm.node("Mul", {"x", "x"}, {"xx"});
  mm.node("Mul", {"xx", "w"}, {"xxw"});
  auto& r = mm.node("ReduceSum", {"xxw"}, {"sum"});
  attr(r, "keepdims", int64_t{0});
  mm.node("Add", {"sum", "s"}, {"y"});
  auto& g = training_node(mm, "Gradient", {"x", "w", "z", "s"}, {"dx", "dw", "dz", "ds"});
  auto* xs = g.add_attribute();
  xs->set_name("xs");
  xs->set_type(onnx::AttributeProto::STRINGS);
  for (const char* v : {"x", "w", "z", "s"}) xs->add_strings(v);
  attr(g, "y", std::string("y"));
  for (const char* v : {"y", "dx", "dw", "dz", "ds"}) mm.output(v);
  OnnxImportOptions o;
  o.static_first_dim_is_batch = false;
  o.constant_inputs["s"] = tensor_cast<double>(tensor({1}, {10}));
  ImportedModel m = mm.import(o);
  auto out = run(m, {{"x", tensor({3}, {1, 2, 3})}, {"z", tensor({2}, {5, 6})}});
  check_close(out[0], {1}, {1 - 8 + 4.5f + 10});
  check_close(out[1], {3}, {2, -8, 3});
  check_close(out[2], {3}, {1, 4, 9});
  check_close(out[3], {2}, {0, 0});
  check_close(out[4], {1}, {1});
  // A value computed from the xs is not an independent variable's input.
  ModelMaker bad(13);
  bad.input("x", {3});
  bad.node("Neg", {"x"}, {"y"});
  auto& gb = training_node(bad, "Gradient", {"y"}, {"dx"});
  auto* bx = gb.add_attribute();
  bx->set_name("xs");
  bx->set_type(onnx::AttributeProto::STRINGS);
  bx->add_strings("x");
  attr(gb, "y", std::string("y"));
  bad.output("dx");
  try {
    bad.import();
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("input 0 is 'y', not 'x'") != std::string::npos);
  }
}

TEST_CASE("onnx: malformed loss and Gradient nodes are reported, each by its node") {
  ModelMaker mm(11); // SoftmaxCrossEntropyLoss exists from opset 12
  mm.input("x", {3, 4});
  mm.input("y", {3}, onnx::TensorProto::INT64);
  mm.input("w", {5});
  mm.node("SoftmaxCrossEntropyLoss", {"x", "y"}, {"a"}, "sce11");
  ModelMaker m13(13);
  m13.input("x", {3, 4});
  m13.input("y", {3}, onnx::TensorProto::INT64);
  m13.initializer("w", {5}, {1, 1, 1, 1, 1});
  m13.node("SoftmaxCrossEntropyLoss", {"x", "y", "w"}, {"a"}, "weights5");
  auto& r = m13.node("NegativeLogLikelihoodLoss", {"x", "y"}, {"b"}, "nll_foo");
  attr(r, "reduction", std::string("foo"));
  auto& g = training_node(m13, "Gradient", {"x"}, {"dx"});
  auto* xs = g.add_attribute();
  xs->set_name("xs");
  xs->set_type(onnx::AttributeProto::STRINGS);
  xs->add_strings("x");
  attr(g, "y", std::string("nope"));
  mm.output("a");
  for (const char* v : {"a", "b", "dx"}) m13.output(v);
  auto text = [](const ModelMaker& m) {
    try {
      m.import();
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(text(mm).find("node 'sce11' (#0, SoftmaxCrossEntropyLoss, opset 11): the op exists from "
                      "opset 12") != std::string::npos);
  std::string e13 = text(m13);
  CHECK(e13.find("'weights5' (#0, SoftmaxCrossEntropyLoss, opset 13): the weights have shape [5]; "
                 "they need one per class (4)") != std::string::npos);
  CHECK(e13.find("'nll_foo' (#1, NegativeLogLikelihoodLoss, opset 13): reduction 'foo' is not "
                 "one of none, sum, mean") != std::string::npos);
  CHECK(e13.find("Gradient, opset 1): 'nope' is not a value of the graph before this node") !=
        std::string::npos);
}
