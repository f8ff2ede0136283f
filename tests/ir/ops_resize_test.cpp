// The resize family (upsample, upsample_backward): shapes and rejections,
// values computed by hand (PyTorch's nn.Upsample numbers), and adjointness
//   <dy, upsample(x)> = <upsample_backward(dy), x>
// for random tensors, an independent check of the backward formulas.
#include "op_test_helpers.h"

#include "ir/init.h"

using namespace netc;
using namespace netc::op_test;

namespace {

using Ints = std::vector<int64_t>;

Attrs up(Ints scale, const char* mode = "nearest") {
  return Attrs{{"scale", scale}, {"mode", std::string(mode)}};
}

} // namespace

TEST_CASE("upsample: shapes") {
  CHECK(out_type(OpKind::Upsample, {f32({B, 3, 4, 5})}, up({2, 2})) == f32({B, 3, 8, 10}));
  CHECK(out_type(OpKind::Upsample, {f64({2, 1, 3, 3})}, up({2, 3}, "bilinear")) ==
        f64({2, 1, 6, 9}));
  Attrs back = up({2, 3}, "bilinear");
  back.set("input_shape", Ints{-1, 1, 3, 3});
  CHECK(out_type(OpKind::UpsampleBackward, {f32({B, 1, 6, 9})}, back) == f32({B, 1, 3, 3}));
}

TEST_CASE("upsample: errors name the shapes") {
  std::string e = build_error(OpKind::Upsample, {f32({B, 10})}, up({2, 2}));
  CHECK(contains(e, "upsample"));
  CHECK(contains(e, "the input must be [N,C,H,W] with constant C, H, W, found [batch,10]"));
  e = build_error(OpKind::Upsample, {f32({B, 3, 4, 4})}, up({0, 2}));
  CHECK(contains(e, "attribute 'scale' must be in [1, 2^48], found [0,2]"));
  e = build_error(OpKind::Upsample, {f32({B, 3, 4, 4})}, up({2, 2}, "bicubic"));
  CHECK(contains(e, "attribute 'mode' must be nearest or bilinear, found 'bicubic'"));
  e = build_error(OpKind::Upsample, {f32({B, 3, 4, 4})}, Attrs{{"scale", Ints{2}}});
  CHECK(contains(e, "attribute 'scale' must have 2 values"));
  e = build_error(OpKind::Upsample, {i32({B, 3, 4, 4})}, up({2, 2}));
  CHECK(contains(e, "f32 or f64"));
  Attrs back = up({2, 2});
  back.set("input_shape", Ints{-1, 1, 3, 3});
  e = build_error(OpKind::UpsampleBackward, {f32({B, 1, 6, 7})}, back);
  CHECK(contains(e, "dy is f32[batch,1,6,7] but the forward upsample gives f32[batch,1,6,6]"));
}

TEST_CASE_TEMPLATE("upsample by hand", T, float, double) {
  Arg x{{1, 1, 2, 2}, {1, 2, 3, 4}};
  check_values(run<T>(OpKind::Upsample, {x}, up({2, 2})), {1, 1, 4, 4},
               {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // torch.nn.Upsample(scale_factor=2, mode='bilinear')(x) (align_corners=False)
  check_values(run<T>(OpKind::Upsample, {x}, up({2, 2}, "bilinear")), {1, 1, 4, 4},
               {1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, //
                2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0});
  // Scale 3 along a row [0 3]: sources (o + 0.5) / 3 - 0.5 = -1/3 (clamped to
  // 0), 0, 1/3, 2/3, 1, 4/3 (h1 clamped to the last column).
  check_values(run<T>(OpKind::Upsample, {{{1, 1, 1, 2}, {0, 3}}}, up({1, 3}, "bilinear")),
               {1, 1, 1, 6}, {0, 0, 1, 2, 3, 3});
  // The adjoint of nearest sums each 2x2 block.
  check_values(run<T>(OpKind::UpsampleBackward, {{{1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}}},
                      Attrs{{"scale", Ints{2, 2}}, {"input_shape", Ints{1, 1, 1, 2}}}),
               {1, 1, 1, 2}, {14, 22});
}

TEST_CASE("upsample_backward is adjoint to upsample") {
  for (const char* mode : {"nearest", "bilinear"})
    for (Ints scale : {Ints{2, 2}, Ints{3, 2}, Ints{1, 3}}) {
      CAPTURE(mode);
      Shape xs{B, 2, 3, 5};
      const int64_t batch = 2;
      std::vector<double> xv, dyv;
      for (int64_t i = 0; i < xs.elements(batch); ++i)
        xv.push_back(counter_normal(3, 1, static_cast<uint32_t>(i)));
      Shape ys{B, 2, 3 * scale[0], 5 * scale[1]};
      for (int64_t i = 0; i < ys.elements(batch); ++i)
        dyv.push_back(counter_normal(3, 2, static_cast<uint32_t>(i)));
      Tensor<double> y = run<double>(OpKind::Upsample, {{xs, xv}}, up(scale, mode), batch);
      Attrs back = up(scale, mode);
      back.set("input_shape", xs.dims);
      Tensor<double> dx = run<double>(OpKind::UpsampleBackward, {{ys, dyv}}, back, batch);
      double forward = 0, backward = 0;
      for (int64_t i = 0; i < y.size(); ++i) forward += dyv[size_t(i)] * y[i];
      for (int64_t i = 0; i < dx.size(); ++i) backward += xv[size_t(i)] * dx[i];
      CHECK(forward != 0);
      CHECK(backward == doctest::Approx(forward).epsilon(1e-12));
    }
}

TEST_CASE("upsample FLOPs") {
  CHECK(flops(OpKind::Upsample, {f32({B, 3, 4, 5})}, up({2, 2})) == 0);
  CHECK(flops(OpKind::Upsample, {f32({B, 3, 4, 5})}, up({2, 2}, "bilinear")) == 9 * 3 * 8 * 10);
}
