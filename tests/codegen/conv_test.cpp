// conv2d and the pools against the reference: stride, padding, dilation,
// groups (depthwise included), windows that overlap and windows clipped by
// padding. conv sums Cg*KH*KW products in the reference's order (one
// accumulator per output), FMA-contracted: rtol 1e-5. Pools: max exact,
// averages to rounding.
#include "cg_test_helpers.h"

#include "codegen/kernel.h"

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
    // Padded planes per (image, channel block): 5 channels in blocks of 4,
    // the second shifted inwards.
    CHECK(conv({B, 5, 7, 9}, {5, 1, 3, 3}, Attrs{{"groups", int64_t(5)}, {"pad", Ints{1, 1}}})
              .find("padded planes per (image, channel block)") != std::string::npos);
  }
  SUBCASE("NHWC path: channel and pixel tiles that do not divide the image") {
    // (3x3 kernels with outputs >= 4x4 take the Winograd path below.)
    // 2 zmm x 7 pixels on a 14-wide row (the cnn's conv2 tile), 5x5 kernel.
    CHECK(conv({B, 16, 14, 14}, {32, 16, 5, 5}, Attrs{{"pad", Ints{2, 2}}}, true)
              .find("conv: NHWC") == 0);
    // 20 channels: one zmm block shifted inwards; 11 columns: 7-pixel tiles shifted inwards.
    CHECK(conv({B, 8, 9, 11}, {20, 8, 3, 5}, Attrs{{"pad", Ints{1, 2}}}, true).find("conv: NHWC") ==
          0);
    // A row narrower than the pixel tile (a 3x3 output), asymmetric padding, a 1x1 kernel.
    CHECK(conv({B, 8, 5, 3}, {16, 8, 3, 3}, Attrs{{"pad", Ints{0, 1}}}).find("conv: NHWC") == 0);
    conv({B, 12, 6, 6}, {40, 12, 1, 3}, Attrs{{"pad", Ints{0, 1}}}, true);
  }
  SUBCASE("NHWC path, strided (ResNet's downsampling convs and projections)") {
    // 3x3 stride 2 pad 1 on an odd image (13 -> 7), a 1x1 stride-2
    // projection (14 -> 7), unequal strides with a 7-wide row (11 -> 5 x 4).
    CHECK(conv({B, 16, 13, 13}, {32, 16, 3, 3}, Attrs{{"stride", Ints{2, 2}}, {"pad", Ints{1, 1}}})
              .find("conv: NHWC") == 0);
    CHECK(conv({B, 16, 14, 14}, {32, 16, 1, 1}, Attrs{{"stride", Ints{2, 2}}}).find("conv: NHWC") ==
          0);
    CHECK(conv({B, 8, 11, 10}, {20, 8, 3, 3}, Attrs{{"stride", Ints{2, 3}}, {"pad", Ints{1, 1}}},
               true)
              .find("conv: NHWC") == 0);
  }
  SUBCASE("NHWC path, NCHW output by register-transposed blocks (>= 16 channels, rows >= 16)") {
    // A 1x3 32 -> 64 at 28x28 (two row blocks, the second shifted
    // inwards); 24 channels and a 21-wide strided output (the channel and
    // row blocks both shift inwards); a bias in the epilogue.
    for (std::string notes :
         {conv({B, 32, 28, 28}, {64, 32, 1, 3}, Attrs{{"pad", Ints{0, 1}}}, true),
          conv({B, 8, 21, 41}, {24, 8, 3, 3}, Attrs{{"stride", Ints{1, 2}}, {"pad", Ints{1, 1}}},
               true)}) {
      CHECK(notes.find("conv: NHWC") == 0);
      CHECK(notes.find("register-transposed") != std::string::npos);
    }
    // Rows narrower than a vector (resnet's 14-wide projection) keep the
    // direct read-back.
    CHECK(conv({B, 16, 14, 14}, {32, 16, 1, 1}, Attrs{{"stride", Ints{2, 2}}})
              .find("register-transposed") == std::string::npos);
  }
  SUBCASE("1x1, stride 1, unpadded: over flattened pixels") {
    // Mobilenet's 32 -> 64 at 28x28 (784 pixels in blocks of 32) and 256
    // -> 256 at 7x7 (49: the second block shifted inwards); 136 channels
    // in halves of 68 (tiles of 8, the last shifted inwards) over 90
    // pixels; 3 output channels (halves of 2); 36 pixels; 20 pixels (one
    // vector, shifted inwards). Biases in the epilogue.
    for (std::string notes :
         {conv({B, 32, 28, 28}, {64, 32, 1, 1}, {}, true),
          conv({B, 256, 7, 7}, {256, 256, 1, 1}, {}),
          conv({B, 136, 9, 10}, {136, 136, 1, 1}, {}, true),
          conv({B, 9, 7, 7}, {3, 9, 1, 1}, {}, true), conv({B, 12, 6, 6}, {40, 12, 1, 1}, {}),
          conv({B, 8, 4, 5}, {20, 8, 1, 1}, {}, true)}) {
      CHECK(notes.find("conv: 1x1 over flattened pixels") == 0);
    }
  }
  SUBCASE("1x1 over a 3x3 image (fewer pixels than a vector)") {
    CHECK(conv({B, 6, 3, 3}, {4, 6, 1, 1}, {}).find("flattened") == std::string::npos);
  }
}

// Winograd F(2x2, 3x3) (3x3, stride 1, >= 8 -> >= 16 channels, output >=
// 4x4): odd output sizes (a tile row and column half outside), batches of 1
// and 3 (one image: the second task has fewer tile rows), channel counts
// that are not whole zmm vectors, padding 0 and asymmetric. The transforms
// reorder the sum (and scale U by 1/2, 1/4): same tolerance as the direct
// kernels, measured errors ~1e-6.
TEST_CASE("conv2d, Winograd path") {
  struct Case {
    int64_t c, o, h, w;
    Ints pad;
    bool bias;
  };
  for (Case c : {Case{32, 64, 14, 14, {1, 1}, true}, Case{8, 16, 13, 13, {1, 1}, true},
                 Case{16, 64, 11, 11, {1, 1}, false}, Case{32, 16, 5, 5, {1, 1}, true},
                 Case{20, 20, 9, 12, {1, 1}, true}, Case{12, 40, 8, 7, {0, 0}, false},
                 Case{16, 32, 10, 6, {0, 1}, true}, Case{16, 16, 28, 28, {1, 1}, false}}) {
    CAPTURE(c.c);
    CAPTURE(c.o);
    CAPTURE(c.h);
    CAPTURE(c.w);
    std::vector<Operand> ops{{f32({B, c.c, c.h, c.w}), uniform(-1, 1)},
                             {f32({c.o, c.c, 3, 3}), uniform(-1, 1)}};
    if (c.bias) ops.push_back({f32({c.o})});
    std::string notes =
        check_op(OpKind::Conv2d, ops, Attrs{{"pad", c.pad}}, kDot, {.batches = {1, 3, 8}});
    CHECK(notes.find("conv: Winograd") == 0);
    CHECK((notes.find("register-transposed") != std::string::npos) ==
          (c.o >= 16 && c.w + 2 * c.pad[1] - 2 >= 16));
  }
}

TEST_CASE("a Winograd conv in a kernel that its schedule does not fit") {
  // A transpose after the conv reads other tiles: the generic schedule
  // computes the Winograd stages at root.
  Builder m;
  ValueId x = m.input("x", f32({B, 8, 9, 7}));
  ValueId w = m.param("w", f32({16, 8, 3, 3}));
  ValueId conv = m.op(OpKind::Conv2d, {x, w}, Attrs{{"pad", Ints{1, 1}}});
  ValueId t = m.op(OpKind::Transpose, {conv}, Attrs{{"perm", Ints{0, 1, 3, 2}}});
  std::string notes =
      check_kernel(m.g, codegen::make_kernel_spec(m.g, {conv, t}),
                   {{"x", uniform(-1, 1)}, {"w", uniform(-1, 1)}}, kDot, {.batches = {1, 3}});
  CHECK(notes.find("generic") != std::string::npos);
}

TEST_CASE("a padded NCHW conv in a kernel that its schedule does not fit") {
  // A depthwise conv (the NCHW path, with its input's zero-bordered copy)
  // and a transpose after it: the generic schedule places the copy.
  Builder m;
  ValueId x = m.input("x", f32({B, 6, 9, 7}));
  ValueId w = m.param("w", f32({6, 1, 3, 3}));
  ValueId conv = m.op(OpKind::Conv2d, {x, w}, Attrs{{"pad", Ints{1, 1}}, {"groups", int64_t(6)}});
  ValueId t = m.op(OpKind::Transpose, {conv}, Attrs{{"perm", Ints{0, 1, 3, 2}}});
  std::string notes =
      check_kernel(m.g, codegen::make_kernel_spec(m.g, {conv, t}),
                   {{"x", uniform(-1, 1)}, {"w", uniform(-1, 1)}}, kDot, {.batches = {1, 3}});
  CHECK(notes.find("generic") != std::string::npos);
  CHECK(notes.find("zero-bordered") != std::string::npos);
}

TEST_CASE("conv2d_backward_input, Winograd path") {
  // dx of a stride-1 3x3 conv is a 3x3 conv of the padded dy (dy's channels
  // reduced, the flipped kernel): the cnn's conv2 dx (64 -> 32 channels), an
  // odd size, and padding 0 (dx reads dy with a 2-pixel border). With 64
  // channels a dx element sums 576 products (magnitude ~8); Winograd's
  // rounding (~1e-5 absolute against a double-precision sum, measured) plus
  // the reference's: atol 5e-5, as conv_backward_test.cpp allows the direct
  // dx kernels.
  struct Case {
    int64_t c, o, h, w;
    Ints pad;
  };
  for (Case c : {Case{32, 64, 14, 14, {1, 1}}, Case{16, 16, 13, 13, {1, 1}},
                 Case{16, 32, 7, 9, {0, 0}}, Case{20, 8, 11, 6, {1, 0}}}) {
    CAPTURE(c.c);
    CAPTURE(c.o);
    CAPTURE(c.h);
    CAPTURE(c.w);
    Builder m;
    Attrs attrs{{"pad", c.pad}};
    ValueId x = m.input("x", f32({B, c.c, c.h, c.w})), w = m.param("w", f32({c.o, c.c, 3, 3}));
    ValueId y = m.op(OpKind::Conv2d, {x, w}, attrs);
    ValueId dy = m.input("dy", m.g.node(y).type);
    attrs.set("input_shape", Ints{B, c.c, c.h, c.w});
    ValueId dx = m.op(OpKind::Conv2dBackwardInput, {dy, w}, attrs);
    std::string notes = check_kernel(m.g, codegen::single_op_kernel(m.g, dx),
                                     {{"dy", uniform(-1, 1)}, {"w", uniform(-1, 1)}}, {5e-5, 1e-5},
                                     {.batches = {1, 3, 8}});
    CHECK(notes.find("conv: Winograd") == 0);
  }
}

TEST_CASE("conv + bias + relu + pool in one kernel: Winograd, NHWC and 1x1 paths") {
  // As fusion forms them at inference (fused_test.cpp has the NCHW path);
  // odd conv outputs leave a row and a column outside every 2x2 window.
  struct Case {
    int64_t c, o, size, k;
    OpKind pool;
    const char* path;
  };
  for (Case c : {Case{32, 64, 14, 3, OpKind::MaxPool, "conv: Winograd"},
                 Case{8, 16, 13, 3, OpKind::MaxPool, "conv: Winograd"},
                 Case{16, 64, 11, 3, OpKind::AvgPool, "conv: Winograd"},
                 Case{32, 16, 5, 3, OpKind::MaxPool, "conv: Winograd"},
                 Case{16, 32, 11, 5, OpKind::MaxPool, "conv: NHWC"},
                 Case{16, 16, 14, 5, OpKind::AvgPool, "conv: NHWC"},
                 Case{16, 32, 14, 1, OpKind::MaxPool, "conv: 1x1 over flattened pixels"},
                 Case{8, 6, 7, 1, OpKind::AvgPool, "conv: 1x1 over flattened pixels"}}) {
    CAPTURE(c.c);
    CAPTURE(c.o);
    CAPTURE(c.size);
    CAPTURE(c.k);
    Builder m;
    ValueId x = m.input("x", f32({B, c.c, c.size, c.size}));
    ValueId w = m.param("w", f32({c.o, c.c, c.k, c.k})), b = m.param("b", f32({c.o}));
    ValueId conv = m.op(OpKind::Conv2d, {x, w, b}, Attrs{{"pad", Ints{c.k / 2, c.k / 2}}});
    ValueId relu = m.op(OpKind::Relu, {conv});
    ValueId pool = m.op(c.pool, {relu}, Attrs{{"kernel", Ints{2, 2}}});
    codegen::KernelSpec spec = codegen::make_kernel_spec(m.g, {conv, relu, pool});
    CHECK(spec.outputs == std::vector<ValueId>{pool});
    std::string notes = check_kernel(m.g, spec, {{"x", uniform(-1, 1)}, {"w", uniform(-0.3, 0.3)}},
                                     kDot, {.batches = {1, 3, 8}});
    CHECK(notes.find(c.path) == 0);
    CHECK((notes.find("pooled in NHWC") != std::string::npos) == (c.k > 1));
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
    // PyTorch's divisor, the kernel area.
    Attrs include_pad = a;
    include_pad.set("count_include_pad", int64_t{1});
    check_op(OpKind::AvgPool, {{f32({B, 3, 14, 13})}}, include_pad, {1e-6, 1e-5});
  }
  // Asymmetric padding on an odd image.
  check_op(OpKind::AvgPool, {{f32({B, 2, 9, 7})}},
           Attrs{{"kernel", Ints{3, 2}},
                 {"stride", Ints{2, 1}},
                 {"pad", Ints{1, 1}},
                 {"count_include_pad", int64_t{1}}},
           {1e-6, 1e-5});
  check_op(OpKind::GlobalAvgPool, {{f32({B, 5, 7, 7})}}, {}, {1e-6, 1e-5});
}
