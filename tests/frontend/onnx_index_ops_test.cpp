// The ONNX importer's index and reordering ops (onnx_ops_select.cpp,
// onnx_ops_scatter.cpp: Slice, DepthToSpace, GatherND, the Scatters, OneHot,
// Hardmax, ArgMax, ReduceProd, MaxUnpool, Compress, folded EyeLike and Range)
// and a few elementwise neighbours (Sign, Shrink, LRN), against numbers
// computed here from ONNX's definitions, with negative axes and indices. The
// reference interpreter runs them; the conformance runner checks the compiled
// kernels on ONNX's cases.
#include "onnx_test_helpers.h"

#include <cmath>

using namespace netc;
using namespace netc::onnx_test;

TEST_CASE("onnx ops: Slice with steps other than 1, negative and clamped bounds") {
  // x [2, 3]: columns from the last down to the first by -2 (2, 0), rows by 2 (0).
  ModelMaker mm;
  mm.input("x", {2, 3});
  mm.ints("starts", {-1, 0});
  mm.ints("ends", {-100, 7}); // clamped to -1 (step < 0) and 2 (step > 0)
  mm.ints("axes", {-1, 0});
  mm.ints("steps", {-2, 2});
  mm.node("Slice", {"x", "starts", "ends", "axes", "steps"}, {"y"});
  mm.output("y");
  check_close(run(import_static(mm), {{"x", tensor({2, 3}, kX)}})[0], {1, 2}, {kX[2], kX[0]});
}

TEST_CASE("onnx ops: Sign, Shrink, DepthToSpace in both modes and SpaceToDepth") {
  ModelMaker mm(13);
  mm.input("x", {2, 3});
  mm.node("Sign", {"x"}, {"sign"});
  auto& shrink = mm.node("Shrink", {"x"}, {"shrink"});
  attr(shrink, "lambd", 0.5);
  attr(shrink, "bias", 0.25);
  mm.input("d", {1, 8, 1, 1});
  for (std::string mode : {"DCR", "CRD"}) {
    auto& n = mm.node("DepthToSpace", {"d"}, {mode});
    attr(n, "blocksize", int64_t{2});
    attr(n, "mode", mode);
  }
  attr(mm.node("SpaceToDepth", {"DCR"}, {"back"}), "blocksize", int64_t{2});
  for (const char* o : {"sign", "shrink", "DCR", "CRD", "back"}) mm.output(o);
  std::vector<float> d = {0, 1, 2, 3, 4, 5, 6, 7};
  auto out = run(import_static(mm), {{"x", tensor({2, 3}, kX)}, {"d", tensor({1, 8, 1, 1}, d)}});
  std::vector<float> want_sign, want_shrink;
  for (float x : kX) {
    want_sign.push_back(x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f);
    want_shrink.push_back(x < -0.5f ? x + 0.25f : x > 0.5f ? x - 0.25f : 0.0f);
  }
  check_close(out[0], {2, 3}, want_sign);
  check_close(out[1], {2, 3}, want_shrink);
  // DCR: out[c', i, j] = d[(2 i + j) 2 + c'];  CRD: out[c', i, j] = d[4 c' + 2 i + j].
  check_close(out[2], {1, 2, 2, 2}, {0, 2, 4, 6, 1, 3, 5, 7});
  check_close(out[3], {1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  check_close(out[4], {1, 8, 1, 1}, d); // SpaceToDepth undoes DCR
}

TEST_CASE("onnx ops: GatherND with constant index tuples, and LRN across channels") {
  ModelMaker mm(13);
  mm.input("x", {2, 3});
  mm.input("v", {1, 3, 2}); // N, C, D1 for LRN
  // GatherND: tuples (1, -1) and (0, 0) of x -> x[1, 2], x[0, 0]; a 1-tuple (1) -> row 1.
  auto& pairs = mm.ints("pairs", {1, -1, 0, 0});
  pairs.clear_dims();
  pairs.add_dims(2);
  pairs.add_dims(2);
  auto& single = mm.ints("single", {1});
  single.clear_dims();
  single.add_dims(1);
  single.add_dims(1);
  mm.node("GatherND", {"x", "pairs"}, {"elements"});
  mm.node("GatherND", {"x", "single"}, {"rows"});
  auto& lrn = mm.node("LRN", {"v"}, {"lrn"});
  attr(lrn, "size", int64_t{2});
  attr(lrn, "alpha", 0.5);
  attr(lrn, "beta", 0.75);
  attr(lrn, "bias", 2.0);
  for (const char* o : {"elements", "rows", "lrn"}) mm.output(o);
  auto out = run(import_static(mm), {{"x", tensor({2, 3}, kX)}, {"v", tensor({1, 3, 2}, kX)}});
  check_close(out[0], {2}, {kX[5], kX[0]});
  check_close(out[1], {1, 3}, {kX[3], kX[4], kX[5]});
  // size 2: the window of channel c is c .. c + 1 (floor(1/2) = 0 before, 1 after).
  std::vector<float> want;
  for (int ch = 0; ch < 3; ++ch)
    for (int j = 0; j < 2; ++j) {
      double sq = 0;
      for (int k = ch; k <= std::min(ch + 1, 2); ++k) sq += std::pow(kX[size_t(k * 2 + j)], 2);
      want.push_back(float(kX[size_t(ch * 2 + j)] / std::pow(2 + float(0.5) / 2 * sq, 0.75)));
    }
  check_close(out[2], {1, 3, 2}, want);
}

TEST_CASE("onnx ops: ScatterElements and ScatterND with repeated positions and reductions") {
  // data x [2, 3]; updates u [1, 3] written along axis 1 of row 0 at columns
  // (2, -1, 0): column 2 is written twice.
  ModelMaker mm(16);
  mm.input("x", {2, 3});
  mm.initializer("u", {1, 3}, {10, 20, 30});
  auto& idx = mm.ints("idx", {2, -1, 0});
  idx.clear_dims();
  idx.add_dims(1);
  idx.add_dims(3);
  for (std::string reduction : {"none", "add", "mul"}) {
    auto& n = mm.node("ScatterElements", {"x", "idx", "u"}, {"elements_" + reduction});
    attr(n, "axis", int64_t{-1});
    attr(n, "reduction", reduction);
    mm.output("elements_" + reduction);
  }
  // ScatterND: rows (1) and (1) again of x, each replaced by a row of v.
  mm.initializer("v", {2, 3}, {1, 2, 3, 4, 5, 6});
  auto& rows = mm.ints("rows", {1, 1});
  rows.clear_dims();
  rows.add_dims(2);
  rows.add_dims(1);
  attr(mm.node("ScatterND", {"x", "rows", "v"}, {"nd_mul"}), "reduction", std::string("mul"));
  mm.node("ScatterND", {"x", "rows", "v"}, {"nd_none"});
  mm.output("nd_mul");
  mm.output("nd_none");
  auto out = run(import_static(mm), {{"x", tensor({2, 3}, kX)}});
  check_close(out[0], {2, 3}, {30, kX[1], 20, kX[3], kX[4], kX[5]});
  check_close(out[1], {2, 3}, {kX[0] + 30, kX[1], kX[2] + 10 + 20, kX[3], kX[4], kX[5]});
  check_close(out[2], {2, 3}, {kX[0] * 30, kX[1], kX[2] * 10 * 20, kX[3], kX[4], kX[5]});
  check_close(out[3], {2, 3}, {kX[0], kX[1], kX[2], kX[3] * 4, kX[4] * 10, kX[5] * 18});
  check_close(out[4], {2, 3}, {kX[0], kX[1], kX[2], 4, 5, 6});
}

TEST_CASE("onnx ops: OneHot along an inner axis with negative indices, ReverseSequence") {
  ModelMaker mm(11);
  mm.input("i", {3});
  mm.initializer("depth", {}, {4});
  mm.initializer("values", {2}, {-1, 5});
  attr(mm.node("OneHot", {"i", "depth", "values"}, {"hot"}), "axis", int64_t{0});
  mm.input("x", {2, 3});
  mm.ints("lens", {3, 2});
  auto& rs = mm.node("ReverseSequence", {"x", "lens"}, {"rev"});
  attr(rs, "batch_axis", int64_t{0});
  attr(rs, "time_axis", int64_t{1});
  mm.output("hot");
  mm.output("rev");
  auto out = run(import_static(mm), {{"i", tensor({3}, {1, -1, 0})}, {"x", tensor({2, 3}, kX)}});
  // hot[k, j] = 5 if index j (wrapped: -1 -> 3) is k, else -1; the axis is first.
  check_close(out[0], {4, 3}, {-1, -1, 5, 5, -1, -1, -1, -1, -1, -1, 5, -1});
  // Row 0 reversed whole, row 1 in its first 2 elements.
  check_close(out[1], {2, 3}, {kX[2], kX[1], kX[0], kX[4], kX[3], kX[5]});
}

TEST_CASE("onnx ops: Hardmax marks the first maximum along the axis") {
  ModelMaker mm(13);
  mm.input("x", {2, 3});
  attr(mm.node("Hardmax", {"x"}, {"rows"}), "axis", int64_t{-1});
  attr(mm.node("Hardmax", {"x"}, {"columns"}), "axis", int64_t{0});
  mm.output("rows");
  mm.output("columns");
  // Ties: row 0 has its maximum 3 twice, column 1 its maximum 3 twice.
  auto out = run(import_static(mm), {{"x", tensor({2, 3}, {1, 3, 3, 2, 3, 0})}});
  check_close(out[0], {2, 3}, {0, 1, 0, 0, 1, 0});
  check_close(out[1], {2, 3}, {0, 1, 1, 1, 0, 0});
}

TEST_CASE("onnx ops: ArgMax and ArgMin give f32 indices, first or last of ties") {
  ModelMaker mm(13);
  mm.input("x", {2, 3});
  auto& first = mm.node("ArgMax", {"x"}, {"first"});
  attr(first, "axis", int64_t{-1});
  auto& last = mm.node("ArgMax", {"x"}, {"last"});
  attr(last, "axis", int64_t{1});
  attr(last, "select_last_index", int64_t{1});
  attr(last, "keepdims", int64_t{0});
  mm.node("ArgMin", {"x"}, {"min"}); // axis 0, keepdims
  for (const char* o : {"first", "last", "min"}) mm.output(o);
  ImportedModel m = import_static(mm);
  CHECK(m.graph.node(m.graph.outputs[0].value).type.dtype == DType::f32);
  auto out = run(m, {{"x", tensor({2, 3}, {1, 3, 3, 2, 3, 0})}});
  check_close(out[0], {2, 1}, {1, 1});
  check_close(out[1], {2}, {2, 1});
  check_close(out[2], {1, 3}, {0, 0, 1});
}

TEST_CASE("onnx ops: ReduceProd over a negative axis and over all axes") {
  ModelMaker mm(13);
  mm.input("x", {2, 3});
  auto& rows = mm.node("ReduceProd", {"x"}, {"rows"});
  attr(rows, "axes", std::vector<int64_t>{-1});
  attr(rows, "keepdims", int64_t{0});
  mm.node("ReduceProd", {"x"}, {"all"});
  mm.output("rows");
  mm.output("all");
  auto out = run(import_static(mm), {{"x", tensor({2, 3}, kX)}});
  float r0 = kX[0] * kX[1] * kX[2], r1 = kX[3] * kX[4] * kX[5];
  check_close(out[0], {2}, {r0, r1});
  check_close(out[1], {1, 1}, {r0 * r1});
}

TEST_CASE("onnx ops: MaxUnpool writes at constant flat positions, padded to output_shape") {
  ModelMaker mm(11);
  mm.input("x", {1, 1, 2, 2});
  auto& idx = mm.ints("idx", {0, 3, 9, 14}); // positions in the default 4x4 output
  idx.clear_dims();
  for (int64_t d : {1, 1, 2, 2}) idx.add_dims(d);
  mm.ints("shape", {1, 1, 4, 5});
  for (std::string out : {"plain", "shaped"}) {
    std::vector<std::string> in{"x", "idx"};
    if (out == "shaped") in.push_back("shape");
    auto& n = mm.node("MaxUnpool", in, {out});
    attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
    attr(n, "strides", std::vector<int64_t>{2, 2});
    mm.output(out);
  }
  auto out = run(import_static(mm), {{"x", tensor({1, 1, 2, 2}, {1, 2, 3, 4})}});
  std::vector<float> plain(16, 0), shaped(20, 0);
  std::vector<int> at = {0, 3, 9, 14};
  for (int i = 0; i < 4; ++i) {
    plain[size_t(at[size_t(i)])] = float(i + 1);
    shaped[size_t(at[size_t(i)] / 4 * 5 + at[size_t(i)] % 4)] = float(i + 1);
  }
  check_close(out[0], {1, 1, 4, 4}, plain);
  check_close(out[1], {1, 1, 4, 5}, shaped);
}

TEST_CASE("onnx ops: EyeLike and Range fold to constants") {
  ModelMaker mm(11);
  mm.input("x", {2, 3});
  attr(mm.node("EyeLike", {"x"}, {"eye"}), "k", int64_t{1});
  mm.initializer("start", {}, {1});
  mm.initializer("limit", {}, {2.2f});
  mm.initializer("delta", {}, {0.5f});
  mm.node("Range", {"start", "limit", "delta"}, {"range"});
  mm.output("eye");
  mm.output("range");
  auto out = run(import_static(mm), {{"x", tensor({2, 3}, kX)}});
  check_close(out[0], {2, 3}, {0, 1, 0, 0, 0, 1});
  check_close(out[1], {3}, {1, 1.5f, 2});
}

TEST_CASE("onnx ops: Compress by a constant condition, along an axis and flattened") {
  ModelMaker mm(11);
  mm.input("x", {2, 3});
  bools(mm, "columns", {2}, {0, 1}); // shorter than the axis: column 2 is dropped
  bools(mm, "flat", {5}, {1, 0, 0, 1, 1});
  attr(mm.node("Compress", {"x", "columns"}, {"along"}), "axis", int64_t{-1});
  mm.node("Compress", {"x", "flat"}, {"flattened"});
  mm.output("along");
  mm.output("flattened");
  auto out = run(import_static(mm), {{"x", tensor({2, 3}, kX)}});
  check_close(out[0], {2, 1}, {kX[1], kX[4]});
  check_close(out[1], {3}, {kX[0], kX[3], kX[4]});
}
