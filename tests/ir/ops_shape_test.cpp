// The shape family (reshape, transpose, concat, slice): output shapes with the
// batch dimension and negative axes, rejections that name the shapes, element
// order in float and double, and zero FLOPs.
#include "op_test_helpers.h"

using namespace netc;
using namespace netc::op_test;

namespace {

Attrs reshape_to(std::vector<int64_t> s) { return Attrs{{"shape", std::move(s)}}; }
Attrs perm(std::vector<int64_t> p) { return Attrs{{"perm", std::move(p)}}; }
Attrs on_axis(int64_t a) { return Attrs{{"axis", a}}; }
Attrs slice(int64_t axis, int64_t start, int64_t end) {
  return Attrs{{"axis", axis}, {"start", start}, {"end", end}};
}

std::vector<double> iota(int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

} // namespace

// ---- reshape --------------------------------------------------------------------

TEST_CASE("reshape: shapes") {
  CHECK(out_type(OpKind::Reshape, {f32({B, 1, 28, 28})}, reshape_to({-1, 784})) == f32({B, 784}));
  CHECK(out_type(OpKind::Reshape, {f32({B, 6})}, reshape_to({2, B, 3})) == f32({2, B, 3}));
  CHECK(out_type(OpKind::Reshape, {f32({2, 6})}, reshape_to({3, 4})) == f32({3, 4}));
  CHECK(out_type(OpKind::Reshape, {f32({1})}, reshape_to({})) == f32({}));
  // Data movement accepts labels too.
  CHECK(out_type(OpKind::Reshape, {i32({B, 1})}, reshape_to({-1})) == i32({B}));
}

TEST_CASE("reshape: rejections name both shapes") {
  std::string e = build_error(OpKind::Reshape, {f32({B, 784})}, reshape_to({-1, 10}));
  CHECK(contains(
      e, "reshape: cannot reshape f32[batch,784] to [batch,10]: 784 elements per example vs 10"));
  e = build_error(OpKind::Reshape, {f32({B, 4})}, reshape_to({4}));
  CHECK(contains(e, "cannot reshape f32[batch,4] to [4]: the input has 1 batch dimension, the "
                    "target has 0"));
  e = build_error(OpKind::Reshape, {f32({2, 2})}, reshape_to({-1, 4}));
  CHECK(contains(e, "cannot reshape f32[2,2] to [batch,4]: the input has 0 batch dimensions, "
                    "the target has 1"));
  e = build_error(OpKind::Reshape, {f32({B, 4})}, reshape_to({-1, -1, 4}));
  CHECK(contains(e, "the input has 1 batch dimension, the target has 2"));
  e = build_error(OpKind::Reshape, {f32({B, 4})}, reshape_to({-1, 0}));
  CHECK(contains(e, "target shape [-1,0] has dimension 0; dimensions must be positive, or -1"));
  e = build_error(OpKind::Reshape, {f32({B, 4})});
  CHECK(contains(e, "reshape: missing attribute 'shape'"));
}

TEST_CASE_TEMPLATE("reshape: keeps the row-major order", T, float, double) {
  check_values(run<T>(OpKind::Reshape, {{Shape{B, 2, 3}, iota(12)}}, reshape_to({-1, 6}), 2),
               {2, 6}, iota(12));
  check_values(run<T>(OpKind::Reshape, {{Shape{B, 6}, iota(6)}}, reshape_to({-1, 3, 2}), 1),
               {1, 3, 2}, iota(6));
}

// ---- transpose ------------------------------------------------------------------

TEST_CASE("transpose: shapes") {
  CHECK(out_type(OpKind::Transpose, {f32({B, 3})}, perm({1, 0})) == f32({3, B}));
  CHECK(out_type(OpKind::Transpose, {f32({B, 3, 4})}, perm({0, 2, 1})) == f32({B, 4, 3}));
  CHECK(out_type(OpKind::Transpose, {f64({B, 3, 4})}, perm({-1, 0, 1})) == f64({4, B, 3}));
  CHECK(out_type(OpKind::Transpose, {f32({})}, perm({})) == f32({}));
}

TEST_CASE("transpose: rejections") {
  std::string e = build_error(OpKind::Transpose, {f32({B, 3})}, perm({1, 0, 2}));
  CHECK(contains(e, "transpose: perm [1,0,2] has 3 entries, but f32[batch,3] has rank 2"));
  e = build_error(OpKind::Transpose, {f32({B, 3})}, perm({1, -1}));
  CHECK(contains(
      e, "perm [1,-1] is not a permutation of the axes of f32[batch,3]: axis 1 appears twice"));
  e = build_error(OpKind::Transpose, {f32({B, 3})}, perm({0, 2}));
  CHECK(contains(e, "perm entry 2 is out of range for f32[batch,3] (expected -2..1)"));
}

TEST_CASE_TEMPLATE("transpose: moves elements", T, float, double) {
  // [batch,3] at batch 2: [[0,1,2],[3,4,5]] -> [[0,3],[1,4],[2,5]].
  check_values(run<T>(OpKind::Transpose, {{Shape{B, 3}, iota(6)}}, perm({1, 0}), 2), {3, 2},
               {0, 3, 1, 4, 2, 5});
  // [2,3,2] with perm [2,0,1]: y[k,i,j] = x[i,j,k] = 6i + 2j + k.
  std::vector<double> want;
  for (int k = 0; k < 2; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) want.push_back(6 * i + 2 * j + k);
  check_values(run<T>(OpKind::Transpose, {{Shape{2, 3, 2}, iota(12)}}, perm({2, 0, 1})), {2, 2, 3},
               want);
  // Batch 1.
  check_values(run<T>(OpKind::Transpose, {{Shape{B, 3}, {7, 8, 9}}}, perm({-1, -2}), 1), {3, 1},
               {7, 8, 9});
}

// ---- concat ---------------------------------------------------------------------

TEST_CASE("concat: shapes") {
  CHECK(out_type(OpKind::Concat, {f32({B, 2}), f32({B, 3})}, on_axis(1)) == f32({B, 5}));
  CHECK(out_type(OpKind::Concat, {f32({B, 2}), f32({B, 3}), f32({B, 1})}, on_axis(-1)) ==
        f32({B, 6}));
  CHECK(out_type(OpKind::Concat, {f32({B, 2})}, on_axis(1)) == f32({B, 2}));
  CHECK(out_type(OpKind::Concat, {f64({2, B}), f64({3, B})}, on_axis(0)) == f64({5, B}));
}

TEST_CASE("concat: rejections name the shapes") {
  std::string e = build_error(OpKind::Concat, {f32({B, 2}), f32({B, 2})}, on_axis(0));
  CHECK(contains(e, "concat: cannot concatenate along the batch axis 0 of f32[batch,2]"));
  e = build_error(OpKind::Concat, {f32({B, 2, 3}), f32({B, 4, 4})}, on_axis(1));
  CHECK(contains(e, "input 1 is f32[batch,4,4] but input 0 is f32[batch,2,3]: all dimensions "
                    "except axis 1 must agree"));
  e = build_error(OpKind::Concat, {f32({B, 2}), f32({2})}, on_axis(-1));
  CHECK(contains(e, "input 1 is f32[2] but input 0 is f32[batch,2]: ranks differ"));
  e = build_error(OpKind::Concat, {f32({B, 2}), f64({B, 2})}, on_axis(1));
  CHECK(contains(e, "input 1 is f64[batch,2] but input 0 is f32[batch,2]: dtypes differ"));
  e = build_error(OpKind::Concat, {f32({B, 2}), f32({B, 2})}, on_axis(2));
  CHECK(contains(e, "axis 2 is out of range for f32[batch,2] (expected -2..1)"));
  e = build_error(OpKind::Concat, {});
  CHECK(contains(e, "'concat' expects at least 1 input"));
}

TEST_CASE_TEMPLATE("concat: interleaves along the axis", T, float, double) {
  Arg a{Shape{B, 2}, {1, 2, 3, 4}};
  Arg b{Shape{B, 1}, {10, 20}};
  check_values(run<T>(OpKind::Concat, {a, b, a}, on_axis(1), 2), {2, 5},
               {1, 2, 10, 1, 2, 3, 4, 20, 3, 4});
  // Along the leading static axis of [k,batch]: the blocks follow each other.
  Arg c{Shape{1, B}, {5, 6}};
  check_values(run<T>(OpKind::Concat, {c, Arg{Shape{2, B}, {7, 8, 9, 0}}}, on_axis(0), 2), {3, 2},
               {5, 6, 7, 8, 9, 0});
  // A middle axis, batch 1.
  check_values(run<T>(OpKind::Concat,
                      {Arg{Shape{B, 1, 2}, {1, 2}}, Arg{Shape{B, 2, 2}, {3, 4, 5, 6}}}, on_axis(1),
                      1),
               {1, 3, 2}, {1, 2, 3, 4, 5, 6});
}

// ---- slice ----------------------------------------------------------------------

TEST_CASE("slice: shapes follow Python's x[start:end]") {
  TensorType x = f32({B, 10});
  CHECK(out_type(OpKind::Slice, {x}, slice(1, 2, 5)) == f32({B, 3}));
  CHECK(out_type(OpKind::Slice, {x}, slice(-1, -3, 10)) == f32({B, 3}));
  CHECK(out_type(OpKind::Slice, {x}, slice(1, 0, -1)) == f32({B, 9}));
  CHECK(out_type(OpKind::Slice, {x}, slice(1, -100, 100)) == f32({B, 10})); // clamped
  CHECK(out_type(OpKind::Slice, {x}, Attrs{{"axis", int64_t(1)}, {"start", int64_t(7)}}) ==
        f32({B, 3}));
  CHECK(out_type(OpKind::Slice, {i32({4, B})}, slice(0, 1, 2)) == i32({1, B}));
}

TEST_CASE("slice: rejections") {
  std::string e = build_error(OpKind::Slice, {f32({B, 10})}, slice(0, 0, 1));
  CHECK(contains(e, "slice: cannot slice the batch axis 0 of f32[batch,10]"));
  e = build_error(OpKind::Slice, {f32({B, 4})}, slice(1, 3, 3));
  CHECK(contains(e, "slice [3:3] of axis 1 of f32[batch,4] is empty"));
  e = build_error(OpKind::Slice, {f32({B, 4})}, slice(-1, 5, 10));
  CHECK(contains(e, "slice [5:10] of axis 1 of f32[batch,4] is empty"));
  e = build_error(OpKind::Slice, {f32({B, 4})}, slice(2, 0, 1));
  CHECK(contains(e, "axis 2 is out of range for f32[batch,4]"));
}

TEST_CASE_TEMPLATE("slice: copies the window", T, float, double) {
  // [batch,4] at batch 2: [[0,1,2,3],[4,5,6,7]].
  Arg x{Shape{B, 4}, iota(8)};
  check_values(run<T>(OpKind::Slice, {x}, slice(1, 1, 3), 2), {2, 2}, {1, 2, 5, 6});
  check_values(run<T>(OpKind::Slice, {x}, slice(-1, -1, 100), 2), {2, 1}, {3, 7});
  check_values(run<T>(OpKind::Slice, {Arg{Shape{B, 4}, iota(4)}}, slice(1, 0, 1), 1), {1, 1}, {0});
  // A middle axis of [2,3,2]: x[:, 1:3, :].
  check_values(run<T>(OpKind::Slice, {{Shape{2, 3, 2}, iota(12)}}, slice(1, 1, 3)), {2, 2, 2},
               {2, 3, 4, 5, 8, 9, 10, 11});
}

TEST_CASE("shape ops cost no FLOPs") {
  CHECK(flops(OpKind::Reshape, {f32({B, 6})}, reshape_to({-1, 2, 3})) == 0);
  CHECK(flops(OpKind::Transpose, {f32({B, 6})}, perm({1, 0})) == 0);
  CHECK(flops(OpKind::Concat, {f32({B, 6}), f32({B, 6})}, on_axis(1)) == 0);
  CHECK(flops(OpKind::Slice, {f32({B, 6})}, slice(1, 0, 2)) == 0);
}
