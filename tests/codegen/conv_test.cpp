// conv2d and the pools against the reference: stride, padding, dilation,
// groups (depthwise included), windows that overlap and windows clipped by
// padding. conv sums Cg*KH*KW products in the reference's order (one
// accumulator per output), FMA-contracted: rtol 1e-5. Pools: max exact,
// averages to rounding.
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kDot{1e-5, 1e-5};
using Ints = std::vector<int64_t>;
const std::vector<int64_t> kConvBatches = {1, 7, 16};

std::string conv(const Shape& x, const Shape& w, const Attrs& attrs, bool bias = false) {
  std::vector<Operand> ops{{f32(x), uniform(-1, 1)}, {f32(w), uniform(-1, 1)}};
  if (bias) ops.push_back({f32({w[0]})});
  return check_op(OpKind::Conv2d, ops, attrs, kDot, {.batches = kConvBatches});
}

} // namespace

TEST_CASE("conv2d") {
  SUBCASE("3x3, no padding, bias") {
    CHECK(conv({B, 3, 9, 9}, {8, 3, 3, 3}, {}, true).find("conv:") == 0);
  }
  SUBCASE("3x3, pad 1 (the padded image per batch element)") {
    conv({B, 4, 14, 14}, {6, 4, 3, 3}, Attrs{{"pad", Ints{1, 1}}}, true);
  }
  SUBCASE("stride 2, asymmetric pad, 5x3 kernel") {
    conv({B, 2, 11, 13}, {5, 2, 5, 3}, Attrs{{"stride", Ints{2, 2}}, {"pad", Ints{2, 1}}});
  }
  SUBCASE("dilation 2") {
    conv({B, 3, 12, 10}, {4, 3, 3, 3}, Attrs{{"dilation", Ints{2, 2}}, {"pad", Ints{1, 0}}});
  }
  SUBCASE("groups 2") {
    conv({B, 4, 8, 8}, {6, 2, 3, 3}, Attrs{{"groups", int64_t(2)}, {"pad", Ints{1, 1}}}, true);
  }
  SUBCASE("depthwise") {
    conv({B, 5, 7, 9}, {5, 1, 3, 3}, Attrs{{"groups", int64_t(5)}, {"pad", Ints{1, 1}}});
  }
  SUBCASE("NHWC path: channel and pixel tiles that do not divide the image") {
    // 2 zmm x 7 pixels on a 14-wide row (the cnn's conv2 tile).
    CHECK(conv({B, 16, 14, 14}, {32, 16, 3, 3}, Attrs{{"pad", Ints{1, 1}}}, true)
              .find("conv: NHWC") == 0);
    // 20 channels: one zmm block shifted inwards; 11 columns: 7-pixel tiles shifted inwards.
    CHECK(conv({B, 8, 9, 11}, {20, 8, 3, 3}, Attrs{{"pad", Ints{1, 1}}}, true).find("conv: NHWC") ==
          0);
    // A row narrower than the pixel tile, asymmetric padding, a 1x1 kernel.
    conv({B, 8, 5, 3}, {16, 8, 3, 3}, Attrs{{"pad", Ints{1, 0}}});
    conv({B, 12, 6, 6}, {40, 12, 1, 1}, {}, true);
  }
  SUBCASE("1x1 over a 3-wide image (narrower than a vector)") {
    conv({B, 6, 3, 3}, {4, 6, 1, 1}, {});
  }
}

TEST_CASE("pools") {
  Attrs k2{{"kernel", Ints{2, 2}}};
  Attrs k3s2p1{{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"pad", Ints{1, 1}}};
  Attrs k3s1{{"kernel", Ints{3, 3}}, {"stride", Ints{1, 1}}};
  Attrs big{
      {"kernel", Ints{9, 9}}, {"pad", Ints{2, 2}}, {"stride", Ints{3, 3}}}; // 81 taps: a stage
  for (const Attrs& a : {k2, k3s2p1, k3s1, big}) {
    check_op(OpKind::MaxPool, {{f32({B, 3, 14, 13})}}, a, {0, 0});
    check_op(OpKind::AvgPool, {{f32({B, 3, 14, 13})}}, a, {1e-6, 1e-5});
  }
  check_op(OpKind::GlobalAvgPool, {{f32({B, 5, 7, 7})}}, {}, {1e-6, 1e-5});
}
