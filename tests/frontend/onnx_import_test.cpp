// The ONNX importer (frontend/onnx): each mapped op against numbers computed
// here from ONNX's definitions, the folding of PyTorch's flatten subgraph,
// the report of every unsupported node at once, and bad files.
#include "onnx_test_helpers.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

using namespace netc;
using namespace netc::onnx_test;

TEST_CASE("onnx: unary ops compute ONNX's formulas") {
  struct Case {
    std::string op;
    std::function<double(double)> f;
    std::function<void(onnx::NodeProto&)> attrs = [](onnx::NodeProto&) {};
  };
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  auto softplus = [](double x) { return std::log(std::exp(x) + 1); };
  std::vector<Case> cases = {
      {"Relu", [](double x) { return std::max(x, 0.0); }},
      {"Sigmoid", sigmoid},
      {"Tanh", [](double x) { return std::tanh(x); }},
      {"Exp", [](double x) { return std::exp(x); }},
      {"Abs", [](double x) { return std::abs(x); }},
      {"Neg", [](double x) { return -x; }},
      {"Reciprocal", [](double x) { return 1 / x; }},
      {"LeakyRelu", [](double x) { return x > 0 ? x : 0.1 * x; },
       [](onnx::NodeProto& n) { attr(n, "alpha", 0.1); }},
      {"Elu", [](double x) { return x > 0 ? x : 0.5 * (std::exp(x) - 1); },
       [](onnx::NodeProto& n) { attr(n, "alpha", 0.5); }},
      {"Selu",
       [](double x) {
         return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1));
       }},
      {"Celu", [](double x) { return std::max(0.0, x) + std::min(0.0, 2 * (std::exp(x / 2) - 1)); },
       [](onnx::NodeProto& n) { attr(n, "alpha", 2.0); }},
      {"HardSigmoid", [](double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); }},
      {"HardSwish", [](double x) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); }},
      {"Softplus", softplus},
      {"Softsign", [](double x) { return x / (1 + std::abs(x)); }},
      {"Mish", [&](double x) { return x * std::tanh(softplus(x)); }},
      {"ThresholdedRelu", [](double x) { return x > 0.4 ? x : 0.0; },
       [](onnx::NodeProto& n) { attr(n, "alpha", 0.4); }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.op);
    ModelMaker mm;
    mm.input("x", {2, 3});
    c.attrs(mm.node(c.op, {"x"}, {"y"}));
    mm.output("y");
    ImportedModel m = mm.import();
    std::vector<float> want;
    for (float x : kX) want.push_back(static_cast<float>(c.f(x)));
    check_close(run(m, {{"x", tensor({2, 3}, kX)}}, 2)[0], {2, 3}, want, 1e-5);
  }
}

TEST_CASE("onnx: binary and variadic ops broadcast numpy-style") {
  const std::vector<float> y = {1.0f, 2.0f, 4.0f};
  struct Case {
    std::string op;
    std::function<double(double, double)> f;
  };
  std::vector<Case> cases = {
      {"Add", [](double a, double b) { return a + b; }},
      {"Sub", [](double a, double b) { return a - b; }},
      {"Mul", [](double a, double b) { return a * b; }},
      {"Div", [](double a, double b) { return a / b; }},
      {"Max", [](double a, double b) { return std::max(a, b); }},
      {"Min", [](double a, double b) { return std::min(a, b); }},
      {"Sum", [](double a, double b) { return a + b; }},
      {"Mean", [](double a, double b) { return (a + b) / 2; }},
      {"Pow", [](double a, double b) { return std::pow(std::abs(a), b); }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.op);
    ModelMaker mm;
    mm.input("x", {2, 3});
    mm.initializer("y", {3}, y);
    std::string x = "x";
    if (c.op == "Pow") {
      mm.node("Abs", {"x"}, {"ax"});
      x = "ax";
    }
    mm.node(c.op, {x, "y"}, {"z"});
    mm.output("z");
    ImportedModel m = mm.import();
    std::vector<float> want;
    for (size_t i = 0; i < kX.size(); ++i) want.push_back(float(c.f(kX[i], y[i % 3])));
    check_close(run(m, {{"x", tensor({2, 3}, kX)}}, 2)[0], {2, 3}, want, 1e-5);
    // The initializer is a trainable param holding its value.
    REQUIRE(m.weights.count("y"));
    CHECK(m.weights.at("y").data == y);
    CHECK(count_ops(m.graph, OpKind::Param) == 1);
  }
}

TEST_CASE("onnx: Gemm with transB, alpha and beta, and MatMul of a vector") {
  ModelMaker mm;
  mm.input("a", {-1, 3});
  mm.initializer("b", {2, 3}, {1, 2, 3, 4, 5, 6}); // transB: B^T is [3,2]
  mm.initializer("c", {2}, {10, 20});
  auto& g = mm.node("Gemm", {"a", "b", "c"}, {"y"});
  attr(g, "transB", int64_t{1});
  attr(g, "alpha", 2.0);
  attr(g, "beta", 0.5);
  mm.initializer("v", {2}, {1, -1});
  mm.node("MatMul", {"y", "v"}, {"z"});
  mm.output("y");
  mm.output("z");
  ImportedModel m = mm.import();
  CHECK(m.graph.node(m.graph.outputs[0].value).type.shape == Shape{kBatch, 2});
  auto out = run(m, {{"a", tensor({2, 3}, {1, 0, 0, 0, 1, 1})}}, 2);
  // row 0: 2 [1, 4] + [5, 10]; row 1: 2 [2+3, 5+6] + [5, 10]
  check_close(out[0], {2, 2}, {7, 18, 15, 32});
  check_close(out[1], {2}, {7 - 18, 15 - 32});
}

TEST_CASE("onnx: softmax before and after opset 13") {
  const std::vector<float> x = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int64_t opset : {11, 13}) {
    CAPTURE(opset);
    ModelMaker mm(opset);
    mm.input("x", {2, 2, 2});
    attr(mm.node("Softmax", {"x"}, {"y"}), "axis", int64_t{1});
    mm.output("y");
    ImportedModel m = mm.import({.static_first_dim_is_batch = false});
    std::vector<float> want(8);
    if (opset == 11) { // rows of 4 (the input flattened to [2, 4] at axis 1)
      for (int r = 0; r < 2; ++r) {
        double s = 0;
        for (int i = 0; i < 4; ++i) s += std::exp(x[size_t(r * 4 + i)]);
        for (int i = 0; i < 4; ++i)
          want[size_t(r * 4 + i)] = float(std::exp(x[size_t(r * 4 + i)]) / s);
      }
    } else { // along axis 1: pairs (n, 0, k), (n, 1, k)
      for (int n = 0; n < 2; ++n)
        for (int k = 0; k < 2; ++k) {
          double a = std::exp(x[size_t(n * 4 + k)]), b = std::exp(x[size_t(n * 4 + 2 + k)]);
          want[size_t(n * 4 + k)] = float(a / (a + b));
          want[size_t(n * 4 + 2 + k)] = float(b / (a + b));
        }
    }
    check_close(run(m, {{"x", tensor({2, 2, 2}, x)}})[0], {2, 2, 2}, want);
  }
}

TEST_CASE("onnx: conv with asymmetric pads, pools with SAME padding, global average") {
  ModelMaker mm;
  mm.input("x", {1, 1, 3, 3});
  mm.initializer("w", {1, 1, 2, 2}, {1, 1, 1, 1});
  mm.initializer("b", {1}, {0.5});
  attr(mm.node("Conv", {"x", "w", "b"}, {"conv"}), "pads", std::vector<int64_t>{0, 0, 1, 1});
  auto& mp = mm.node("MaxPool", {"x"}, {"max"});
  attr(mp, "kernel_shape", std::vector<int64_t>{2, 2});
  attr(mp, "auto_pad", std::string("SAME_LOWER"));
  auto& ap = mm.node("AveragePool", {"x"}, {"avg"});
  attr(ap, "kernel_shape", std::vector<int64_t>{3, 3});
  attr(ap, "pads", std::vector<int64_t>{1, 1, 1, 1});
  mm.node("GlobalAveragePool", {"x"}, {"gap"});
  for (const char* o : {"conv", "max", "avg", "gap"}) mm.output(o);
  ImportedModel m = mm.import();
  CHECK(count_ops(m.graph, OpKind::Pad) == 2); // the conv's end padding, made explicit
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto at = [&](int i, int j) {
    return i < 0 || j < 0 || i > 2 || j > 2 ? 0.0f : x[size_t(i * 3 + j)];
  };
  std::vector<float> conv, mx, avg;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      conv.push_back(at(i, j) + at(i + 1, j) + at(i, j + 1) + at(i + 1, j + 1) + 0.5f);
      // SAME_LOWER: the odd padding row and column come first.
      float best = -1e9f;
      for (int a = i - 1; a <= i; ++a)
        for (int b = j - 1; b <= j; ++b)
          if (a >= 0 && b >= 0) best = std::max(best, at(a, b));
      mx.push_back(best);
      float sum = 0;
      int n = 0;
      for (int a = i - 1; a <= i + 1; ++a)
        for (int b = j - 1; b <= j + 1; ++b)
          if (a >= 0 && b >= 0 && a < 3 && b < 3) sum += at(a, b), ++n;
      avg.push_back(sum / float(n)); // count_include_pad=0
    }
  auto out = run(m, {{"x", tensor({1, 1, 3, 3}, x)}});
  check_close(out[0], {1, 1, 3, 3}, conv);
  check_close(out[1], {1, 1, 3, 3}, mx);
  check_close(out[2], {1, 1, 3, 3}, avg);
  check_close(out[3], {1, 1, 1, 1}, {5});
}

TEST_CASE("onnx: batch normalization keeps its statistics as state, dropout is the identity") {
  ModelMaker mm;
  mm.input("x", {-1, 2});
  mm.initializer("scale", {2}, {2, 3});
  mm.initializer("bias", {2}, {1, -1});
  mm.initializer("mean", {2}, {0.5, -0.5});
  mm.initializer("var", {2}, {4, 0.25});
  attr(mm.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"bn"}), "epsilon",
       0.0);
  mm.node("Dropout", {"bn"}, {"y"});
  mm.output("y");
  ImportedModel m = mm.import();
  CHECK(count_ops(m.graph, OpKind::State) == 2);
  CHECK(count_ops(m.graph, OpKind::Param) == 2);
  CHECK(count_ops(m.graph, OpKind::Dropout) == 1);
  auto out = run(m, {{"x", tensor({2, 2}, {2.5, 0, -1.5, -1})}}, 2);
  // 2 (x - 0.5) / 2 + 1 and 3 (x + 0.5) / 0.5 - 1
  check_close(out[0], {2, 2}, {3, 2, -1, -4});
}

TEST_CASE("onnx: PyTorch's flatten subgraph folds into one reshape with the batch") {
  // Shape(x) -> Gather(0) -> Unsqueeze -> Concat(.., [-1]) -> Reshape(x, ..)
  ModelMaker mm;
  mm.input("x", {-1, 3, 4});
  mm.node("Shape", {"x"}, {"s"});
  auto& zero = mm.node("Constant", {}, {"zero"});
  auto* t = zero.add_attribute();
  t->set_name("value");
  t->set_type(onnx::AttributeProto::TENSOR);
  t->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  t->mutable_t()->add_int64_data(0);
  attr(mm.node("Gather", {"s", "zero"}, {"n"}), "axis", int64_t{0});
  mm.ints("axes0", {0});
  mm.node("Unsqueeze", {"n", "axes0"}, {"n1"});
  mm.ints("minus1", {-1});
  attr(mm.node("Concat", {"n1", "minus1"}, {"shape"}), "axis", int64_t{0});
  mm.node("Reshape", {"x", "shape"}, {"y"});
  mm.output("y");
  ImportedModel m = mm.import();
  // Nothing but the input and one reshape: the shape arithmetic folded away.
  REQUIRE(m.graph.size() == 2);
  CHECK(m.graph.nodes[1].op == OpKind::Reshape);
  CHECK(m.graph.nodes[1].type.shape == Shape{kBatch, 12});
  std::vector<float> x(24);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i);
  check_close(run(m, {{"x", tensor({2, 3, 4}, x)}}, 2)[0], {2, 12}, x);
}

TEST_CASE("onnx: reductions, data movement and clip") {
  ModelMaker mm;
  mm.input("x", {2, 3});
  mm.ints("axes1", {1});
  mm.node("ReduceSum", {"x", "axes1"}, {"sum"}); // keepdims 1: [2,1]
  auto& mean = mm.node("ReduceMean", {"x"}, {"mean"});
  attr(mean, "axes", std::vector<int64_t>{0});
  attr(mean, "keepdims", int64_t{0});
  mm.node("ReduceL2", {"x"}, {"l2"});
  mm.node("Transpose", {"x"}, {"xt"});
  attr(mm.node("Concat", {"x", "x"}, {"cat"}), "axis", int64_t{1});
  mm.ints("starts", {1});
  mm.ints("ends", {100});
  mm.node("Slice", {"x", "starts", "ends", "axes1"}, {"sl"});
  mm.ints("split", {1, 2});
  attr(mm.node("Split", {"x", "split"}, {"p0", "p1"}), "axis", int64_t{1});
  mm.ints("pads", {0, 1, 0, 0});
  mm.node("Pad", {"x", "pads"}, {"padded"});
  mm.initializer("lo", {}, {-0.4f});
  mm.initializer("hi", {}, {1.0f});
  mm.node("Clip", {"x", "lo", "hi"}, {"clip"});
  mm.node("Flatten", {"x"}, {"flat"});
  mm.ints("axes2", {2});
  mm.node("Unsqueeze", {"x", "axes2"}, {"unsq"});
  mm.node("Squeeze", {"unsq", "axes2"}, {"sq"});
  mm.ints("shape3", {3, 2, 3});
  mm.node("Expand", {"x", "shape3"}, {"ex"});
  for (const char* o :
       {"sum", "mean", "l2", "xt", "cat", "sl", "p0", "p1", "padded", "clip", "flat", "sq", "ex"})
    mm.output(o);
  ImportedModel m = mm.import({.static_first_dim_is_batch = false});
  auto out = run(m, {{"x", tensor({2, 3}, kX)}});
  check_close(out[0], {2, 1}, {-2.25, 5.5});
  check_close(out[1], {3}, {-0.75, 0.75, 1.625});
  double ss = 0;
  for (float v : kX) ss += double(v) * v;
  check_close(out[2], {1, 1}, {float(std::sqrt(ss))});
  check_close(out[3], {3, 2}, {-2, 0.5, -0.5, 2, 0.25, 3});
  check_close(out[4], {2, 6}, {-2, -0.5, 0.25, -2, -0.5, 0.25, 0.5, 2, 3, 0.5, 2, 3});
  check_close(out[5], {2, 2}, {-0.5, 0.25, 2, 3});
  check_close(out[6], {2, 1}, {-2, 0.5});
  check_close(out[7], {2, 2}, {-0.5, 0.25, 2, 3});
  check_close(out[8], {2, 4}, {0, -2, -0.5, 0.25, 0, 0.5, 2, 3});
  check_close(out[9], {2, 3}, {-0.4f, -0.4f, 0.25, 0.5, 1, 1});
  check_close(out[10], {2, 3}, kX);
  check_close(out[11], {2, 3}, kX);
  std::vector<float> ex;
  for (int r = 0; r < 3; ++r) ex.insert(ex.end(), kX.begin(), kX.end());
  check_close(out[12], {3, 2, 3}, ex);
}

TEST_CASE("onnx: every unsupported node is reported at once, with its name, index and opset") {
  ModelMaker mm(12);
  mm.input("x", {-1, 4});
  mm.node("Foo", {"x"}, {"a"}, "n_foo");
  attr(mm.node("Relu", {"a"}, {"b"}, "n_relu"), "bogus", int64_t{1});
  mm.ints("idx", {0});
  mm.node("Gather", {"x", "idx"}, {"c"}, "n_gather");
  mm.node("Relu", {"x"}, {"d"}, "n_fine");
  for (const char* o : {"b", "c", "d"}) mm.output(o);
  std::string text = error_of([&] { mm.import(); });
  CHECK(text.find("test.onnx: error: node 'n_foo' (#0, Foo, opset 12): the op is not supported") !=
        std::string::npos);
  CHECK(text.find("node 'n_relu' (#1, Relu, opset 12): attribute 'bogus' is not supported") !=
        std::string::npos);
  CHECK(text.find("node 'n_gather' (#2, Gather, opset 12): gathering along the batch "
                  "dimension") != std::string::npos);
  CHECK(text.find("n_fine") == std::string::npos);
}

TEST_CASE("onnx: bad files and bad models are clear errors") {
  ModelMaker good;
  good.input("x", {-1, 4});
  good.node("Relu", {"x"}, {"y"});
  good.output("y");
  std::string bytes = good.proto().SerializeAsString();
  auto path = std::filesystem::temp_directory_path() / "netc_onnx_truncated.onnx";
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  CHECK(error_of([&] { import_onnx(path.string()); }) ==
        path.string() + ": error: not a valid ONNX model: the protobuf is malformed or truncated");
  std::filesystem::remove(path);
  CHECK(error_of([&] { import_onnx("/nonexistent/m.onnx"); }) ==
        "/nonexistent/m.onnx: error: cannot open the ONNX model: no such file");

  ModelMaker missing;
  missing.input("x", {-1, 4});
  missing.node("Add", {"x", "w"}, {"y"}, "add");
  missing.output("y");
  CHECK(error_of([&] { missing.import(); })
            .find("node 'add' (#0, Add, opset 13): input 'w' is not a graph input, an initializer "
                  "or the output of an earlier node") != std::string::npos);

  ModelMaker future(18);
  future.input("x", {-1, 4});
  future.node("Relu", {"x"}, {"y"});
  future.output("y");
  CHECK(error_of([&] { future.import(); }) ==
        "test.onnx: error: the model uses ONNX opset 18; netc imports opsets 1 to 17");

  ModelMaker external;
  external.input("x", {-1, 4});
  auto& w = external.initializer("w", {4}, {});
  w.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = w.add_external_data();
  kv->set_key("location");
  kv->set_value("weights.bin");
  external.node("Add", {"x", "w"}, {"y"});
  external.output("y");
  CHECK(error_of([&] { external.import(); }).find("keeps its data in an external file") !=
        std::string::npos);

  ModelMaker huge;
  huge.input("x", {-1, 4});
  huge.initializer("w", {1 << 20, 1 << 20, 1 << 20}, {1});
  huge.node("Add", {"x", "w"}, {"y"});
  huge.output("y");
  CHECK(error_of([&] { huge.import(); }).find("claims more than 2^48 elements") !=
        std::string::npos);

  ModelMaker short_data;
  short_data.input("x", {-1, 4});
  short_data.initializer("w", {4}, {1, 2});
  short_data.node("Add", {"x", "w"}, {"y"});
  short_data.output("y");
  CHECK(error_of([&] { short_data.import(); }).find("has dims [4] (4 elements) but 2 values") !=
        std::string::npos);

  // A cycle: ONNX requires nodes in topological order, so the first node of
  // a cycle reads a value no earlier node made, and the error names it.
  ModelMaker cycle;
  cycle.input("x", {-1, 4});
  cycle.node("Add", {"x", "b"}, {"a"}, "first");
  cycle.node("Relu", {"a"}, {"b"}, "second");
  cycle.output("b");
  std::string cycle_error = error_of([&] { cycle.import(); });
  CHECK(cycle_error.find("node 'first' (#0, Add, opset 13): input 'b' is not a graph input, an "
                         "initializer or the output of an earlier node (a missing initializer, "
                         "or a cycle)") != std::string::npos);
}

TEST_CASE("onnx: the first dimension becomes the batch unless told otherwise") {
  ModelMaker mm;
  mm.input("x", {5, 4});
  mm.node("Relu", {"x"}, {"y"});
  mm.output("y");
  CHECK(mm.import().graph.nodes[0].type.shape == Shape{kBatch, 4});
  CHECK(mm.import({.static_first_dim_is_batch = false}).graph.nodes[0].type.shape == Shape{5, 4});
  ModelMaker symbolic;
  symbolic.input("x", {4, -1});
  symbolic.node("Relu", {"x"}, {"y"});
  symbolic.output("y");
  CHECK(error_of([&] { symbolic.import(); })
            .find("graph input 'x': dimension 1 is symbolic ('N'); only the first (batch) "
                  "dimension may be") != std::string::npos);
}

TEST_CASE("onnx: batch-norm statistics from Constant nodes stay state, uniform or not") {
  // torch.onnx.export writes default running statistics (zeros, ones) as
  // Constant nodes; a training step must still find them as state to update.
  ModelMaker mm;
  mm.input("x", {-1, 2});
  mm.initializer("scale", {2}, {1, 1});
  mm.initializer("bias", {2}, {0, 0});
  for (const char* name : {"mean", "var"}) {
    auto& c = mm.node("Constant", {}, {name});
    auto* a = c.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    a->mutable_t()->add_dims(2);
    for (int i = 0; i < 2; ++i) a->mutable_t()->add_float_data(name[0] == 'm' ? 0.0f : 1.0f);
  }
  mm.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"});
  mm.output("y");
  ImportedModel m = mm.import();
  CHECK(count_ops(m.graph, OpKind::State) == 2);
  CHECK(m.weights.at("var").data == std::vector<float>{1, 1});
}

// Found by fuzzing (tests/fuzz/corpus/onnx/regress-reshape-without-shape.onnx):
// a node whose inputs are all constants is folded at import, and the folding
// read inputs the node did not have (a null dereference).
TEST_CASE("onnx: a constant node missing an input, or concatenating ranks that differ, is "
          "reported") {
  ModelMaker reshape;
  reshape.ints("s", {2, 3});
  reshape.node("Reshape", {"s"}, {"r"}, "n_reshape");
  reshape.output("r");
  std::string e = error_of([&] { reshape.import(); });
  CHECK(e.find("node 'n_reshape' (#0, Reshape, opset 13): an input (input 1) is required") !=
        std::string::npos);

  ModelMaker concat;
  concat.initializer("a", {2}, {1, 2});
  concat.initializer("b", {1, 2}, {1, 2});
  attr(concat.node("Concat", {"a", "b"}, {"c"}, "n_concat"), "axis", int64_t{0});
  concat.output("c");
  CHECK(error_of([&] { concat.import(); }).find("input 1 has rank 2, input 0 rank 1") !=
        std::string::npos);
}

// Found by fuzzing (corpus/onnx/regress-nan-shape.onnx): a float constant
// used as Reshape's shape held NaN, and its cast to an integer was undefined.
TEST_CASE("onnx: a shape entry that is NaN or a fraction is reported") {
  ModelMaker nan_shape;
  nan_shape.input("x", {2, 3});
  nan_shape.initializer("s", {2}, {std::numeric_limits<float>::quiet_NaN(), 3});
  nan_shape.node("Reshape", {"x", "s"}, {"y"}, "n_reshape");
  nan_shape.output("y");
  std::string e = error_of([&] { nan_shape.import(); });
  CHECK(e.find("nan is not an integer a shape, axis or index can hold") != std::string::npos);

  ModelMaker half;
  half.input("x", {2, 3});
  half.initializer("s", {2}, {2.5, 3});
  half.node("Reshape", {"x", "s"}, {"y"}, "n_reshape");
  half.output("y");
  CHECK(error_of([&] { half.import(); }).find("2.5 is not an integer") != std::string::npos);
}

// Found by fuzzing (corpus/onnx/regress-conv-weight-rank.onnx): Conv read the
// kernel's extents from a weight of any rank (a heap overflow).
TEST_CASE("onnx: a Conv weight of the wrong rank is reported") {
  ModelMaker mm;
  mm.input("x", {1, 1, 4, 4});
  mm.initializer("w", {2, 1}, {1, 1});
  mm.node("Conv", {"x", "w"}, {"y"}, "n_conv");
  mm.output("y");
  std::string e = error_of([&] { mm.import(); });
  CHECK(e.find("node 'n_conv' (#0, Conv, opset 13): the weight has rank 2; a 2-D conv needs "
               "rank 4") != std::string::npos);
}

// Found by fuzzing (corpus/onnx/regress-dropout-empty-ratio.onnx): an empty
// constant as Dropout's ratio made `.data.at(0)` throw std::out_of_range.
TEST_CASE("onnx: an empty constant where one value is expected is reported") {
  ModelMaker mm;
  mm.input("x", {2, 3});
  mm.initializer("r", {0}, {});
  mm.node("Dropout", {"x", "r"}, {"y"}, "n_dropout");
  mm.output("y");
  std::string e = error_of([&] { mm.import(); });
  CHECK(e.find("node 'n_dropout' (#0, Dropout, opset 13): the ratio (input 1) must hold one "
               "value, not 0") != std::string::npos);
}
