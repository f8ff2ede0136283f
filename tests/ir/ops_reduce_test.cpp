// The reduce family: output shapes (axes, negative axes, keepdims, the batch
// axis), rejections, reference values in float and double (reduce_mean over
// the batch divides by the runtime extent), and FLOPs.
#include "op_test_helpers.h"

#include <cmath>
#include <limits>

using namespace netc;
using namespace netc::op_test;

namespace {

const OpKind kReduce[] = {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                          OpKind::ReduceMin};

Attrs axes(std::vector<int64_t> a, int64_t keepdims = 0) {
  return Attrs{{"axes", std::move(a)}, {"keepdims", keepdims}};
}

// x : [batch,2,3] at batch 2, x[b,i,j] = 10 b + 3 i + j with a sign flip on
// odd j, so that max and min differ from first and last.
const Arg kX{Shape{B, 2, 3}, {0, -1, 2, 3, -4, 5, 10, -11, 12, 13, -14, 15}};

} // namespace

TEST_CASE("reduce: output shapes") {
  TensorType x = f32({B, 3, 4});
  for (OpKind k : kReduce) {
    INFO(op_name(k));
    CHECK(out_type(k, {x}, axes({1})) == f32({B, 4}));
    CHECK(out_type(k, {x}, axes({1}, 1)) == f32({B, 1, 4}));
    CHECK(out_type(k, {x}, axes({-1})) == f32({B, 3}));
    CHECK(out_type(k, {x}, axes({2, -2})) == f32({B}));
    // Absent or empty axes reduce everything.
    CHECK(out_type(k, {x}) == f32({}));
    CHECK(out_type(k, {x}, axes({})) == f32({}));
    CHECK(out_type(k, {x}, axes({}, 1)) == f32({1, 1, 1}));
    // Over the batch axis the result is static.
    CHECK(out_type(k, {x}, axes({0})) == f32({3, 4}));
    CHECK(out_type(k, {x}, axes({0}, 1)) == f32({1, 3, 4}));
    CHECK(out_type(k, {f64({})}) == f64({}));
  }
}

TEST_CASE("reduce: rejections") {
  TensorType x = f32({B, 3, 4});
  std::string e = build_error(OpKind::ReduceSum, {x}, axes({3}));
  CHECK(contains(e, "reduce_sum: axis 3 is out of range for f32[batch,3,4] (expected -3..2)"));
  e = build_error(OpKind::ReduceMax, {x}, axes({-4}));
  CHECK(contains(e, "axis -4 is out of range for f32[batch,3,4]"));
  e = build_error(OpKind::ReduceMean, {x}, axes({1, -2}));
  CHECK(contains(e, "reduce_mean: axis 1 appears twice in axes [1,-2] for f32[batch,3,4]"));
  e = build_error(OpKind::ReduceMin, {x}, axes({1}, 2));
  CHECK(contains(e, "attribute 'keepdims' must be 0 or 1, found 2"));
  e = build_error(OpKind::ReduceSum, {x}, Attrs{{"axes", int64_t(1)}});
  CHECK(contains(e, "attribute 'axes' must be a list of integers"));
  e = build_error(OpKind::ReduceSum, {i32({B})});
  CHECK(contains(e, "input must be a float tensor (f32 or f64), found i32[batch]"));
  e = build_error(OpKind::ReduceSum, {f32({})}, axes({0}));
  CHECK(contains(e, "axis 0 is out of range for the scalar f32[]"));
}

TEST_CASE_TEMPLATE("reduce: sums and means", T, float, double) {
  // Over axis 2 (the rows of 3): [batch,2].
  check_values(run<T>(OpKind::ReduceSum, {kX}, axes({2}), 2), {2, 2}, {1, 4, 11, 14});
  check_values(run<T>(OpKind::ReduceMean, {kX}, axes({-1}), 2), {2, 2},
               {1.0 / 3, 4.0 / 3, 11.0 / 3, 14.0 / 3});
  // Over axis 1, kept: [batch,1,3].
  check_values(run<T>(OpKind::ReduceSum, {kX}, axes({1}, 1), 2), {2, 1, 3},
               {3, -5, 7, 23, -25, 27});
  // Over the batch: [2,3]; the mean divides by the runtime extent 2.
  check_values(run<T>(OpKind::ReduceSum, {kX}, axes({0}), 2), {2, 3}, {10, -12, 14, 16, -18, 20});
  check_values(run<T>(OpKind::ReduceMean, {kX}, axes({0}), 2), {2, 3}, {5, -6, 7, 8, -9, 10});
  // Everything.
  check_values(run<T>(OpKind::ReduceSum, {kX}, {}, 2), {}, {30});
  check_values(run<T>(OpKind::ReduceMean, {kX}, {}, 2), {}, {2.5});
  check_values(run<T>(OpKind::ReduceMean, {kX}, axes({}, 1), 2), {1, 1, 1}, {2.5});
}

TEST_CASE_TEMPLATE("reduce: the mean over the batch at batch 1 and 3", T, float, double) {
  Arg x1{Shape{B, 2}, {1, 2}};
  check_values(run<T>(OpKind::ReduceMean, {x1}, axes({0}), 1), {2}, {1, 2});
  check_values(run<T>(OpKind::ReduceSum, {x1}, {}, 1), {}, {3});
  Arg x3{Shape{B, 2}, {1, 2, 3, 4, 5, 9}};
  check_values(run<T>(OpKind::ReduceMean, {x3}, axes({0}), 3), {2}, {3, 5});
  check_values(run<T>(OpKind::ReduceMean, {x3}, {}, 3), {}, {4});
}

TEST_CASE_TEMPLATE("reduce: max and min", T, float, double) {
  check_values(run<T>(OpKind::ReduceMax, {kX}, axes({2}), 2), {2, 2}, {2, 5, 12, 15});
  check_values(run<T>(OpKind::ReduceMin, {kX}, axes({2}), 2), {2, 2}, {-1, -4, -11, -14});
  check_values(run<T>(OpKind::ReduceMax, {kX}, axes({0, 1}, 1), 2), {1, 1, 3}, {13, -1, 15});
  check_values(run<T>(OpKind::ReduceMin, {kX}, axes({0, 1}), 2), {3}, {0, -14, 2});
  check_values(run<T>(OpKind::ReduceMax, {kX}, {}, 2), {}, {15});
  check_values(run<T>(OpKind::ReduceMin, {kX}, {}, 2), {}, {-14});
  // All negative: the max is not the initial 0 of a zero-filled output.
  check_values(run<T>(OpKind::ReduceMax, {Arg{Shape{3}, {-5, -2, -7}}}), {}, {-2});
}

TEST_CASE_TEMPLATE("reduce: a NaN shows in max, min and sum", T, float, double) {
  double nan = std::numeric_limits<double>::quiet_NaN();
  for (OpKind k : kReduce) {
    INFO(op_name(k));
    CHECK(std::isnan(run<T>(k, {Arg{Shape{3}, {1, nan, 2}}})[0]));
    CHECK(std::isnan(run<T>(k, {Arg{Shape{3}, {nan, 1, 2}}})[0]));
    CHECK(std::isnan(run<T>(k, {Arg{Shape{3}, {1, 2, nan}}})[0]));
  }
}

TEST_CASE("reduce: one FLOP per input element of one example") {
  for (OpKind k : kReduce) {
    CHECK(flops(k, {f32({B, 3, 4})}, axes({1})) == 12);
    CHECK(flops(k, {f32({B, 3, 4})}, axes({0})) == 12);
    CHECK(flops(k, {f32({5})}) == 5);
  }
}
