// The ONNX importer's comparison, logic, selection and normalization ops
// (onnx_ops_logic.cpp, onnx_ops_select.cpp, onnx_ops_norm.cpp) and the
// batched MatMul, against numbers computed here from ONNX's definitions, with
// broadcasting and negative axes and indices. The reference interpreter runs
// them; the conformance runner checks the compiled kernels on ONNX's cases.
#include "onnx_test_helpers.h"

#include <cmath>
#include <functional>

using namespace netc;
using namespace netc::onnx_test;

namespace {

const std::vector<float> kY = {0.25f, -0.5f, 4.0f}; // broadcast along the rows of kX

} // namespace

TEST_CASE("onnx ops: comparisons give 0/1 and broadcast numpy-style") {
  struct Case {
    std::string op;
    std::function<bool(float, float)> f;
  };
  std::vector<Case> cases = {
      {"Equal", [](float a, float b) { return a == b; }},
      {"Less", [](float a, float b) { return a < b; }},
      {"Greater", [](float a, float b) { return a > b; }},
      {"LessOrEqual", [](float a, float b) { return a <= b; }},
      {"GreaterOrEqual", [](float a, float b) { return a >= b; }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.op);
    ModelMaker mm(16);
    mm.input("x", {2, 3});
    mm.initializer("y", {3}, kY);
    mm.node(c.op, {"x", "y"}, {"z"});
    mm.output("z");
    ImportedModel m = mm.import();
    std::vector<float> want;
    for (size_t i = 0; i < kX.size(); ++i) want.push_back(c.f(kX[i], kY[i % 3]) ? 1.0f : 0.0f);
    check_close(run(m, {{"x", tensor({2, 3}, kX)}}, 2)[0], {2, 3}, want);
  }
}

TEST_CASE("onnx ops: And, Or, Xor, Not on bool inputs and bool constants") {
  ModelMaker mm(13);
  mm.input("a", {2, 2}, onnx::TensorProto::BOOL);
  bools(mm, "b", {2}, {1, 0}); // broadcast over the rows of a
  mm.node("And", {"a", "b"}, {"and"});
  mm.node("Or", {"a", "b"}, {"or"});
  mm.node("Xor", {"a", "b"}, {"xor"});
  mm.node("Not", {"a"}, {"not"});
  for (const char* o : {"and", "or", "xor", "not"}) mm.output(o);
  ImportedModel m = import_static(mm);
  // A bool graph input is an f32 input of 0/1.
  CHECK(m.graph.node(m.graph.leaves(OpKind::Input)[0]).type.dtype == DType::f32);
  auto out = run(m, {{"a", tensor({2, 2}, {0, 1, 1, 1})}});
  check_close(out[0], {2, 2}, {0, 0, 1, 0});
  check_close(out[1], {2, 2}, {1, 1, 1, 1});
  check_close(out[2], {2, 2}, {1, 1, 0, 1});
  check_close(out[3], {2, 2}, {1, 0, 0, 0});
}

TEST_CASE("onnx ops: Where picks by a runtime or a folded condition") {
  ModelMaker mm(16);
  mm.input("x", {2, 3});
  mm.initializer("y", {3}, kY);
  mm.node("Less", {"x", "y"}, {"c"});
  mm.initializer("zero", {}, {0.0f});
  mm.node("Where", {"c", "x", "zero"}, {"runtime"}); // x where x < y, else 0
  // Conditions known at import time: Equal of integer constants folds.
  mm.ints("i", {1, 2, 3});
  mm.ints("j", {1, 0, 3});
  mm.node("Equal", {"i", "j"}, {"mixed"});
  mm.node("Where", {"mixed", "x", "y"}, {"folded"});
  mm.node("Equal", {"i", "i"}, {"all"});
  mm.node("Where", {"all", "y", "x"}, {"picked"}); // all true: y broadcast to [2,3]
  for (const char* o : {"runtime", "folded", "picked"}) mm.output(o);
  ImportedModel m = mm.import();
  auto out = run(m, {{"x", tensor({2, 3}, kX)}}, 2);
  std::vector<float> want_runtime, want_folded, want_picked;
  for (size_t i = 0; i < kX.size(); ++i) {
    want_runtime.push_back(kX[i] < kY[i % 3] ? kX[i] : 0.0f);
    want_folded.push_back(i % 3 == 1 ? kY[i % 3] : kX[i]);
    want_picked.push_back(kY[i % 3]);
  }
  check_close(out[0], {2, 3}, want_runtime);
  check_close(out[1], {2, 3}, want_folded);
  check_close(out[2], {2, 3}, want_picked);
}

TEST_CASE("onnx ops: Erf") {
  ModelMaker mm;
  mm.input("x", {2, 3});
  mm.node("Erf", {"x"}, {"y"});
  mm.output("y");
  std::vector<float> want;
  for (float x : kX) want.push_back(float(std::erf(double(x))));
  check_close(run(import_static(mm), {{"x", tensor({2, 3}, kX)}})[0], {2, 3}, want, 1e-6);
}

TEST_CASE("onnx ops: LayerNormalization over axis..last, with Mean and InvStdDev") {
  // x [2, 2, 3] normalized over axes 1, 2 (axis = -2): one row of 6 per example.
  std::vector<float> x = {1, 2, 3, 4, 5, 6, -1, 0, 2, 7, -3, 1};
  std::vector<float> scale = {1, 2, 0.5f, -1, 1, 3}, bias = {0, 0.5f, 1, -1, 2, 0};
  ModelMaker mm(17);
  mm.input("x", {2, 2, 3});
  mm.initializer("scale", {2, 3}, scale);
  mm.initializer("bias", {2, 3}, bias);
  auto& n = mm.node("LayerNormalization", {"x", "scale", "bias"}, {"y", "mean", "inv_std"});
  attr(n, "axis", int64_t{-2});
  attr(n, "epsilon", 0.01);
  for (const char* o : {"y", "mean", "inv_std"}) mm.output(o);
  ImportedModel m = import_static(mm);
  CHECK(count_ops(m.graph, OpKind::LayerNorm) == 1);
  auto out = run(m, {{"x", tensor({2, 2, 3}, x)}});
  std::vector<float> want_y, want_mean, want_inv;
  for (int r = 0; r < 2; ++r) {
    double mean = 0, var = 0;
    for (int j = 0; j < 6; ++j) mean += x[size_t(r * 6 + j)] / 6.0;
    for (int j = 0; j < 6; ++j) var += std::pow(x[size_t(r * 6 + j)] - mean, 2) / 6.0;
    double inv = 1 / std::sqrt(var + float(0.01));
    for (int j = 0; j < 6; ++j)
      want_y.push_back(
          float((x[size_t(r * 6 + j)] - mean) * inv * scale[size_t(j)] + bias[size_t(j)]));
    want_mean.push_back(float(mean));
    want_inv.push_back(float(inv));
  }
  check_close(out[0], {2, 2, 3}, want_y);
  check_close(out[1], {2, 1, 1}, want_mean);
  check_close(out[2], {2, 1, 1}, want_inv);
}

TEST_CASE("onnx ops: Gather with constant indices, negative ones, any axis") {
  // x [2, 3]: gather along axis -1 with 2-D indices [[2, -3], [-1, 1]].
  ModelMaker mm;
  mm.input("x", {2, 3});
  auto& idx = mm.ints("idx", {2, -3, -1, 1});
  idx.clear_dims();
  idx.add_dims(2);
  idx.add_dims(2);
  attr(mm.node("Gather", {"x", "idx"}, {"y"}), "axis", int64_t{-1});
  // Many scattered indices (more than 16 runs): the one-hot matmul form.
  std::vector<int64_t> many;
  for (int i = 0; i < 40; ++i) many.push_back(i % 3 == 0 ? -2 : i % 3 == 1 ? 1 : 0);
  mm.ints("many", many);
  attr(mm.node("Gather", {"x", "many"}, {"z"}), "axis", int64_t{0});
  mm.output("y");
  mm.output("z");
  ImportedModel m = import_static(mm);
  CHECK(count_ops(m.graph, OpKind::MatMul) == 1);
  auto out = run(m, {{"x", tensor({2, 3}, kX)}});
  // y[r, i, j] = x[r, idx[i, j]]
  check_close(out[0], {2, 2, 2}, {kX[2], kX[0], kX[2], kX[1], kX[5], kX[3], kX[5], kX[4]});
  std::vector<float> want;
  for (int64_t k : many) {
    int64_t row = k < 0 ? k + 2 : k;
    for (int j = 0; j < 3; ++j) want.push_back(kX[size_t(row * 3 + j)]);
  }
  check_close(out[1], {40, 3}, want);
}

TEST_CASE("onnx ops: Gather with runtime ids is the IR's row lookup") {
  ModelMaker mm;
  mm.input("ids", {2, 2}, onnx::TensorProto::INT64);
  mm.initializer("table", {3, 2}, {1, 2, 3, 4, 5, 6});
  mm.node("Gather", {"table", "ids"}, {"y"});
  mm.output("y");
  ImportedModel m = import_static(mm);
  CHECK(count_ops(m.graph, OpKind::Gather) == 1);
  check_close(run(m, {{"ids", tensor({2, 2}, {2, 0, 1, 1})}})[0], {2, 2, 2},
              {5, 6, 1, 2, 3, 4, 3, 4});
}

TEST_CASE("onnx ops: GatherElements with negative indices along a negative axis") {
  ModelMaker mm;
  mm.input("x", {2, 3});
  auto& idx = mm.ints("idx", {0, -1, 1, 2});
  idx.clear_dims();
  idx.add_dims(2);
  idx.add_dims(2); // covers the first two columns of each row
  attr(mm.node("GatherElements", {"x", "idx"}, {"y"}), "axis", int64_t{-1});
  mm.output("y");
  // y[r, k] = x[r, idx[r, k]]
  check_close(run(import_static(mm), {{"x", tensor({2, 3}, kX)}})[0], {2, 2},
              {kX[0], kX[2], kX[4], kX[5]});
}

TEST_CASE("onnx ops: Pad in constant (nonzero), reflect and edge modes, both forms") {
  for (std::string mode : {"constant", "reflect", "edge"}) {
    for (int64_t opset : {2, 13}) {
      CAPTURE(mode);
      CAPTURE(opset);
      // x [2, 3]: pads [0, 2, 1, 1] = rows (0 before, 1 after), columns (2 before, 1 after).
      ModelMaker mm(opset);
      mm.input("x", {2, 3});
      std::vector<int64_t> pads = {0, 2, 1, 1};
      onnx::NodeProto* n;
      if (opset < 11) {
        n = &mm.node("Pad", {"x"}, {"y"});
        attr(*n, "pads", pads);
        attr(*n, "value", 1.5);
      } else {
        mm.ints("pads", pads);
        mm.initializer("value", {}, {1.5f});
        n = &mm.node("Pad", {"x", "pads", "value"}, {"y"});
      }
      attr(*n, "mode", mode);
      mm.output("y");
      auto out = run(import_static(mm), {{"x", tensor({2, 3}, kX)}});
      // The source column of each output column, -1 for the constant.
      std::vector<int> cols = mode == "constant"  ? std::vector<int>{-1, -1, 0, 1, 2, -1}
                              : mode == "reflect" ? std::vector<int>{2, 1, 0, 1, 2, 1}
                                                  : std::vector<int>{0, 0, 0, 1, 2, 2};
      std::vector<int> rows = mode == "constant"  ? std::vector<int>{0, 1, -1}
                              : mode == "reflect" ? std::vector<int>{0, 1, 0}
                                                  : std::vector<int>{0, 1, 1};
      std::vector<float> want;
      for (int r : rows)
        for (int c : cols) want.push_back(r < 0 || c < 0 ? 1.5f : kX[size_t(r * 3 + c)]);
      check_close(out[0], {3, 6}, want);
    }
  }
}

TEST_CASE("onnx ops: MatMul of stacks broadcasts the leading axes, vectors promote") {
  // a [2, 1, 2, 3] x b [3, 3, 2] -> [2, 3, 2, 2]; v [3] x b -> [3, 2].
  std::vector<float> a(12), b(18), v = {1, -1, 2};
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i) * 0.5f - 2;
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(i % 5) - 1.5f;
  ModelMaker mm;
  mm.input("a", {2, 1, 2, 3});
  mm.initializer("b", {3, 3, 2}, b);
  mm.initializer("v", {3}, v);
  mm.node("MatMul", {"a", "b"}, {"y"});
  mm.node("MatMul", {"v", "b"}, {"z"});
  mm.output("y");
  mm.output("z");
  auto out = run(import_static(mm), {{"a", tensor({2, 1, 2, 3}, a)}});
  std::vector<float> want_y, want_z;
  for (int s = 0; s < 2; ++s)
    for (int t = 0; t < 3; ++t)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
          float acc = 0;
          for (int k = 0; k < 3; ++k)
            acc += a[size_t(s * 6 + i * 3 + k)] * b[size_t(t * 6 + k * 2 + j)];
          want_y.push_back(acc);
        }
  for (int t = 0; t < 3; ++t)
    for (int j = 0; j < 2; ++j) {
      float acc = 0;
      for (int k = 0; k < 3; ++k) acc += v[size_t(k)] * b[size_t(t * 6 + k * 2 + j)];
      want_z.push_back(acc);
    }
  check_close(out[0], {2, 3, 2, 2}, want_y);
  check_close(out[1], {3, 2}, want_z);
}

TEST_CASE("onnx ops: BatchNormalization with training_mode=1 updates the running statistics") {
  // x [2, 2, 1, 2]: channel 0 holds {1, 2, 5, 6}, channel 1 {0, 4, -2, 2}.
  std::vector<float> x = {1, 2, 0, 4, 5, 6, -2, 2};
  ModelMaker mm(15);
  mm.input("x", {2, 2, 1, 2});
  mm.initializer("scale", {2}, {2, 0.5f});
  mm.initializer("bias", {2}, {1, -1});
  mm.initializer("mean", {2}, {0.5f, -0.5f});
  mm.initializer("var", {2}, {1, 2});
  auto& n = mm.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"},
                    {"y", "running_mean", "running_var"});
  attr(n, "training_mode", int64_t{1});
  attr(n, "momentum", 0.8);
  attr(n, "epsilon", 0.0);
  for (const char* o : {"y", "running_mean", "running_var"}) mm.output(o);
  auto out = run(import_static(mm), {{"x", tensor({2, 2, 1, 2}, x)}});
  // Channel 0: mean 3.5, biased var (6.25 + 2.25 + 2.25 + 6.25) / 4 = 4.25.
  // Channel 1: mean 1, var (1 + 9 + 9 + 1) / 4 = 5.
  double m0 = 3.5, v0 = 4.25, m1 = 1, v1 = 5;
  auto y0 = [&](double v) { return float((v - m0) / std::sqrt(v0) * 2 + 1); };
  auto y1 = [&](double v) { return float((v - m1) / std::sqrt(v1) * 0.5 - 1); };
  check_close(out[0], {2, 2, 1, 2}, {y0(1), y0(2), y1(0), y1(4), y0(5), y0(6), y1(-2), y1(2)});
  float mo = 0.8f; // momentum as the attribute stores it
  check_close(out[1], {2}, {float(0.5 * mo + m0 * (1 - mo)), float(-0.5 * mo + m1 * (1 - mo))});
  check_close(out[2], {2}, {float(1 * mo + v0 * (1 - mo)), float(2 * mo + v1 * (1 - mo))});
}

TEST_CASE("onnx ops: MaxPool and AveragePool with ceil_mode by explicit padding") {
  // x [1, 1, 4, 4], kernel 3, stride 2, ceil_mode: 2x2 outputs whose last
  // windows hang over the end (rows/columns 2..4 of 0..3).
  std::vector<float> x(16);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 5) % 7) - 3;
  ModelMaker mm(12);
  mm.input("x", {1, 1, 4, 4});
  for (std::string op : {"MaxPool", "AveragePool"}) {
    auto& n = mm.node(op, {"x"}, {op});
    attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
    attr(n, "strides", std::vector<int64_t>{2, 2});
    attr(n, "ceil_mode", int64_t{1});
    mm.output(op);
  }
  auto out = run(import_static(mm), {{"x", tensor({1, 1, 4, 4}, x)}});
  std::vector<float> want_max, want_avg;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      float mx = -1e30f, sum = 0;
      int count = 0;
      for (int r = 2 * i; r < std::min(2 * i + 3, 4); ++r)
        for (int c = 2 * j; c < std::min(2 * j + 3, 4); ++c) {
          mx = std::max(mx, x[size_t(r * 4 + c)]);
          sum += x[size_t(r * 4 + c)];
          ++count;
        }
      want_max.push_back(mx);
      want_avg.push_back(sum / float(count));
    }
  check_close(out[0], {1, 1, 2, 2}, want_max);
  check_close(out[1], {1, 1, 2, 2}, want_avg);
}

TEST_CASE(
    "onnx ops: Dropout's mask output is all true, and training with ratio 0 is the identity") {
  ModelMaker mm(13);
  mm.input("x", {2, 3});
  mm.initializer("ratio", {}, {0.0f});
  bools(mm, "training", {}, {1});
  mm.node("Dropout", {"x", "ratio", "training"}, {"y", "mask"});
  mm.output("y");
  mm.output("mask");
  auto out = run(import_static(mm), {{"x", tensor({2, 3}, kX)}});
  check_close(out[0], {2, 3}, kX);
  check_close(out[1], {2, 3}, {1, 1, 1, 1, 1, 1});

  ModelMaker random(13);
  random.input("x", {2, 3});
  random.initializer("ratio", {}, {0.5f});
  bools(random, "training", {}, {1});
  random.node("Dropout", {"x", "ratio", "training"}, {"y"});
  random.output("y");
  try {
    import_static(random);
    FAIL("training-mode dropout with a nonzero ratio was imported");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("draws a random mask") != std::string::npos);
  }
}

TEST_CASE("onnx ops: training-mode Dropout with a seed draws numpy's mask when run") {
  // The reference's numbers, from /usr/bin/python3 (numpy's legacy generator):
  //   np.random.seed(0); m = np.random.uniform(0, 1.0, (2, 4)) >= np.float32(0.6)
  //   -> [0 1 1 0 0 1 0 1]; y = m * x * (1 / (1 - np.float32(0.6))) with the x below
  //   -> [0, -1.2500001, 0.62500006, 0, 0, 7.500001, 0, 3.7500005]
  // and with seed 7 -> [0 1 0 1 1 0 0 0].
  const std::vector<float> x = {-2.0f, -0.5f, 0.25f, 0.5f, 2.0f, 3.0f, -1.0f, 1.5f};
  auto model = [](int64_t seed) {
    ModelMaker mm(13);
    mm.input("x", {2, 4});
    mm.initializer("ratio", {}, {0.6f});
    bools(mm, "training", {}, {1});
    auto& node = mm.node("Dropout", {"x", "ratio", "training"}, {"y", "mask"});
    if (seed >= 0) attr(node, "seed", seed); // -1: no seed attribute
    mm.output("y");
    mm.output("mask");
    return mm;
  };
  OnnxImportOptions o;
  o.static_first_dim_is_batch = false;
  o.reference_dropout_masks = true;
  auto out = run(model(0).import(o), {{"x", tensor({2, 4}, x)}});
  check_close(out[1], {2, 4}, {0, 1, 1, 0, 0, 1, 0, 1});
  check_close(out[0], {2, 4}, {0, -1.2500001f, 0.62500006f, 0, 0, 7.500001f, 0, 3.7500005f});
  out = run(model(7).import(o), {{"x", tensor({2, 4}, x)}});
  check_close(out[1], {2, 4}, {0, 1, 0, 1, 1, 0, 0, 0});

  // Imported to be trained (`import` in a .nn model), the fixed mask is refused.
  try {
    import_static(model(0));
    FAIL("a seeded training-mode dropout was imported for training");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("not one it imports to train") != std::string::npos);
  }
  // Without a seed there is no reference mask to reproduce.
  try {
    model(-1).import(o);
    FAIL("a training-mode dropout without a seed was imported");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("no seed") != std::string::npos);
  }
}

TEST_CASE("onnx ops: dilated MaxPool is the maximum of strided views") {
  // x [1, 1, 5, 5], kernel 2, dilations 2, strides 2, pads 1 at the end:
  // out[r, q] = max of x[2r + 2i, 2q + 2j], i, j in {0, 1}, inside the input.
  std::vector<float> x(25);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7) % 11) - 5;
  ModelMaker mm(12);
  mm.input("x", {1, 1, 5, 5});
  auto& n = mm.node("MaxPool", {"x"}, {"y"});
  attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
  attr(n, "dilations", std::vector<int64_t>{2, 2});
  attr(n, "strides", std::vector<int64_t>{2, 2});
  attr(n, "pads", std::vector<int64_t>{0, 0, 1, 1});
  mm.output("y");
  auto out = run(import_static(mm), {{"x", tensor({1, 1, 5, 5}, x)}});
  std::vector<float> want; // extent floor((5 + 1 - 3) / 2) + 1 = 2
  for (int r = 0; r < 2; ++r)
    for (int q = 0; q < 2; ++q) {
      float mx = -1e30f;
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
          int row = 2 * r + 2 * i, col = 2 * q + 2 * j;
          if (row < 5 && col < 5) mx = std::max(mx, x[size_t(row * 5 + col)]);
        }
      want.push_back(mx);
    }
  check_close(out[0], {1, 1, 2, 2}, want);
}

TEST_CASE("onnx ops: InstanceNormalization, MeanVarianceNormalization and Tile") {
  // x [1, 2, 3]: channel 0 {-2, -0.5, 0.25}, channel 1 {0.5, 2, 3}.
  ModelMaker mm(13);
  mm.input("x", {1, 2, 3});
  mm.initializer("scale", {2}, {2, -1});
  mm.initializer("bias", {2}, {0.5f, 1});
  attr(mm.node("InstanceNormalization", {"x", "scale", "bias"}, {"in"}), "epsilon", 0.01);
  attr(mm.node("MeanVarianceNormalization", {"x"}, {"mvn"}), "axes", std::vector<int64_t>{2});
  mm.ints("repeats", {2, 1, 2});
  mm.node("Tile", {"x", "repeats"}, {"tile"});
  for (const char* o : {"in", "mvn", "tile"}) mm.output(o);
  auto out = run(import_static(mm), {{"x", tensor({1, 2, 3}, kX)}});
  std::vector<float> want_in, want_mvn, want_tile;
  for (int ch = 0; ch < 2; ++ch) {
    double mean = 0, var = 0;
    for (int j = 0; j < 3; ++j) mean += kX[size_t(ch * 3 + j)] / 3.0;
    for (int j = 0; j < 3; ++j) var += std::pow(kX[size_t(ch * 3 + j)] - mean, 2) / 3.0;
    for (int j = 0; j < 3; ++j) {
      double centered = kX[size_t(ch * 3 + j)] - mean;
      double s = ch == 0 ? 2 : -1, b = ch == 0 ? 0.5 : 1;
      want_in.push_back(float(centered / std::sqrt(var + float(0.01)) * s + b));
      want_mvn.push_back(float(centered / (std::sqrt(var) + 1e-9)));
    }
  }
  for (int copy = 0; copy < 2; ++copy)
    for (int ch = 0; ch < 2; ++ch)
      for (int rep = 0; rep < 2; ++rep)
        for (int j = 0; j < 3; ++j) want_tile.push_back(kX[size_t(ch * 3 + j)]);
  check_close(out[0], {1, 2, 3}, want_in);
  check_close(out[1], {1, 2, 3}, want_mvn);
  check_close(out[2], {2, 2, 6}, want_tile);
}
