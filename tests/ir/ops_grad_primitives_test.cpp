// The primitives that gradient rules need: step (elementwise), pad (shape)
// and one_hot (loss family). Their types, rejections, hand-computed values in
// float and double, and FLOPs.
#include "op_test_helpers.h"

#include <cmath>
#include <limits>

using namespace netc;
using namespace netc::op_test;

namespace {

Attrs pad(int64_t axis, int64_t before, int64_t after) {
  return Attrs{{"axis", axis}, {"before", before}, {"after", after}};
}

Attrs classes(int64_t c) { return Attrs{{"num_classes", c}}; }

} // namespace

// ---- step ---------------------------------------------------------------------------

TEST_CASE("step: keeps the float type / rejects integers") {
  CHECK(out_type(OpKind::Step, {f32({B, 3})}) == f32({B, 3}));
  CHECK(out_type(OpKind::Step, {f64({})}) == f64({}));
  CHECK(contains(build_error(OpKind::Step, {i32({B})}),
                 "step: input must be a float tensor (f32 or f64), found i32[batch]"));
  CHECK(flops(OpKind::Step, {f32({B, 3, 4})}) == 12);
}

TEST_CASE_TEMPLATE("step: 1 above 0, else 0 (0 itself and NaN give 0)", T, float, double) {
  double inf = std::numeric_limits<double>::infinity();
  double nan = std::numeric_limits<double>::quiet_NaN();
  check_values(run<T>(OpKind::Step, {{Shape{B}, {-2, -1e-30, 0, 1e-30, 3, inf, -inf, nan}}}, {}, 8),
               {8}, {0, 0, 0, 1, 1, 1, 0, 0});
}

// ---- pad ------------------------------------------------------------------------------

TEST_CASE("pad: shapes, negative axes, any dtype") {
  CHECK(out_type(OpKind::Pad, {f32({B, 3})}, pad(1, 2, 1)) == f32({B, 6}));
  CHECK(out_type(OpKind::Pad, {f64({B, 3, 2})}, pad(-2, 0, 4)) == f64({B, 7, 2}));
  CHECK(out_type(OpKind::Pad, {f32({2, B})}, pad(0, 1, 0)) == f32({3, B}));
  CHECK(out_type(OpKind::Pad, {i32({4})}, pad(0, 0, 0)) == i32({4}));
  CHECK(out_type(OpKind::Pad, {f32({4})}, Attrs{{"axis", int64_t(0)}}) == f32({4}));
  CHECK(flops(OpKind::Pad, {f32({B, 3})}, pad(1, 2, 1)) == 0);
}

TEST_CASE("pad: rejections") {
  CHECK(contains(build_error(OpKind::Pad, {f32({B, 3})}, pad(0, 1, 1)),
                 "pad: cannot pad the batch axis 0 of f32[batch,3]"));
  CHECK(contains(build_error(OpKind::Pad, {f32({B, 3})}, pad(1, -1, 0)),
                 "pad: padding must not be negative, found before=-1 after=0"));
  CHECK(contains(build_error(OpKind::Pad, {f32({B, 3})}, pad(2, 1, 1)),
                 "axis 2 is out of range for f32[batch,3] (expected -2..1)"));
  CHECK(contains(build_error(OpKind::Pad, {f32({3})}), "pad: missing attribute 'axis'"));
}

TEST_CASE_TEMPLATE("pad: zeros before and after, along inner and outer axes", T, float, double) {
  // [[1,2],[3,4]] (2 rows of a batch) padded along the columns: 1 before, 2 after.
  check_values(run<T>(OpKind::Pad, {{Shape{B, 2}, {1, 2, 3, 4}}}, pad(1, 1, 2), 2), {2, 5},
               {0, 1, 2, 0, 0, 0, 3, 4, 0, 0});
  // Along a leading static axis with the batch trailing: whole rows of zeros.
  check_values(run<T>(OpKind::Pad, {{Shape{2, B}, {1, 2, 3, 4}}}, pad(0, 1, 1), 2), {4, 2},
               {0, 0, 1, 2, 3, 4, 0, 0});
  // A middle axis: [1,2,2] -> [1,3,2] with one row after.
  check_values(run<T>(OpKind::Pad, {{Shape{1, 2, 2}, {1, 2, 3, 4}}}, pad(1, 0, 1)), {1, 3, 2},
               {1, 2, 3, 4, 0, 0});
}

// ---- one_hot ----------------------------------------------------------------------------

TEST_CASE("one_hot: integer labels to float rows of num_classes") {
  CHECK(out_type(OpKind::OneHot, {i32({B})}, classes(10)) == f32({B, 10}));
  CHECK(out_type(OpKind::OneHot, {TensorType{DType::i64, Shape{3, B}}}, classes(2)) ==
        f32({3, B, 2}));
  Attrs as_f64{{"num_classes", int64_t(4)}, {"dtype", std::string("f64")}};
  CHECK(out_type(OpKind::OneHot, {i32({B})}, as_f64) == f64({B, 4}));
  CHECK(flops(OpKind::OneHot, {i32({B})}, classes(10)) == 0);
}

TEST_CASE("one_hot: rejections") {
  CHECK(contains(build_error(OpKind::OneHot, {f32({B})}, classes(3)),
                 "one_hot: labels must be class indices (i32 or i64), found f32[batch]"));
  CHECK(contains(build_error(OpKind::OneHot, {i32({B})}, classes(0)),
                 "one_hot: num_classes must be positive, found 0"));
  CHECK(contains(build_error(OpKind::OneHot, {i32({B})}), "one_hot: missing attribute"));
  Attrs bad{{"num_classes", int64_t(3)}, {"dtype", std::string("i32")}};
  CHECK(contains(build_error(OpKind::OneHot, {i32({B})}, bad),
                 "one_hot: dtype must be f32 or f64, found 'i32'"));
}

TEST_CASE_TEMPLATE("one_hot with softmax_cross_entropy's options: target rows", T, float, double) {
  // (1 - s) w[y] [j = y] + (s / C) w[j] with C = 3, s = 0.3, w = {1, 2, 0.5}.
  Attrs a = classes(3);
  a.set("label_smoothing", 0.3);
  a.set("weights", std::vector<double>{1, 2, 0.5});
  check_values(run<T>(OpKind::OneHot, {{Shape{B}, {2, 0, 1}, DType::i32}}, a, 3), {3, 3},
               {0.1, 0.2, 0.05 + 0.35, 0.1 + 0.7, 0.2, 0.05, 0.1, 0.2 + 1.4, 0.05});
  // Weights alone scale the one-hot entry; smoothing alone spreads s/C.
  Attrs w = classes(3);
  w.set("weights", std::vector<double>{1, 2, 0.5});
  check_values(run<T>(OpKind::OneHot, {{Shape{B}, {2, 1}, DType::i32}}, w, 2), {2, 3},
               {0, 0, 0.5, 0, 2, 0});
  Attrs s = classes(4);
  s.set("label_smoothing", 0.2);
  check_values(run<T>(OpKind::OneHot, {{Shape{B}, {1}, DType::i32}}, s, 1), {1, 4},
               {0.05, 0.85, 0.05, 0.05});
  w.set("weights", std::vector<double>{1, 2});
  CHECK(contains(build_error(OpKind::OneHot, {i32({B})}, w),
                 "one_hot: attribute 'weights' has 2 values for 3 classes"));
}

TEST_CASE_TEMPLATE("one_hot: values, and labels out of range", T, float, double) {
  check_values(run<T>(OpKind::OneHot, {{Shape{B}, {2, 0, 1}, DType::i32}}, classes(3), 3), {3, 3},
               {0, 0, 1, 1, 0, 0, 0, 1, 0});
  check_values(run<T>(OpKind::OneHot, {{Shape{2, 1}, {1, 0}, DType::i32}}, classes(2)), {2, 1, 2},
               {0, 1, 1, 0});
  CHECK(contains(run_error<T>(OpKind::OneHot, {{Shape{B}, {0, 3}, DType::i32}}, classes(3), 2),
                 "one_hot: label 3 out of range [0,3) at row 1"));
  CHECK(contains(run_error<T>(OpKind::OneHot, {{Shape{B}, {-1}, DType::i32}}, classes(3)),
                 "label -1 out of range"));
}
