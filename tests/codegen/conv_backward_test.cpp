// The backward ops of conv2d and the pools against the reference. The kernels
// gather what the reference scatters, so the same terms are summed in another
// order: rtol 1e-5 (1e-6 absolute for sums near 0).
#include "cg_test_helpers.h"

#include "codegen/kernel.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kSum{1e-5, 1e-5};
using Ints = std::vector<int64_t>;
// dx over >= 16 output channels sums >= 144 products of magnitude up to 1
// (partial sums ~5) in another order than the reference's scatter: the
// rounding differences reach ~1.5e-5 absolute (measured), hence atol 5e-5.
const Tol kWideSum{5e-5, 1e-5};
const std::vector<int64_t> kConvBatches = {1, 7, 16};

Attrs with(Attrs a, const std::string& name, AttrValue v) {
  a.set(name, std::move(v));
  return a;
}

// dx and dW of conv2d(x [B,C,H,W], w) with the forward attributes `attrs`;
// dx's schedule notes start with `dx_notes`.
void conv_backward(const Shape& x, const Shape& w, const Attrs& attrs, Tol dx_tol = kSum,
                   const std::string& dx_notes = "conv:") {
  Builder m;
  ValueId xv = m.input("x", f32(x)), wv = m.param("w", f32(w));
  ValueId y = m.op(OpKind::Conv2d, {xv, wv}, attrs);
  ValueId dy = m.input("dy", m.g.node(y).type);
  ValueId dx = m.op(OpKind::Conv2dBackwardInput, {dy, wv}, with(attrs, "input_shape", x.dims));
  ValueId dw = m.op(OpKind::Conv2dBackwardWeight, {xv, dy}, with(attrs, "weight_shape", w.dims));
  std::string notes =
      check_kernel(m.g, codegen::single_op_kernel(m.g, dx), {}, dx_tol, {.batches = kConvBatches});
  CHECK(notes.find(dx_notes) == 0);
  check_kernel(m.g, codegen::single_op_kernel(m.g, dw), {}, {1e-4, 1e-5},
               {.batches = kConvBatches});
}

void pool_backward(const Shape& x, const Attrs& attrs) {
  Builder m;
  ValueId xv = m.input("x", f32(x));
  ValueId mp = m.op(OpKind::MaxPool, {xv}, attrs);
  ValueId dy = m.input("dy", m.g.node(mp).type);
  ValueId dmax = m.op(OpKind::MaxPoolBackward, {xv, dy}, attrs);
  ValueId davg = m.op(OpKind::AvgPoolBackward, {dy}, with(attrs, "input_shape", x.dims));
  // PyTorch's divisor (the kernel area) as well: maxpool has no such option.
  ValueId davg_inc =
      m.op(OpKind::AvgPoolBackward, {dy},
           with(with(attrs, "input_shape", x.dims), "count_include_pad", int64_t{1}));
  for (ValueId v : {dmax, davg, davg_inc})
    check_kernel(m.g, codegen::single_op_kernel(m.g, v), {}, kSum, {.batches = kConvBatches});
}

} // namespace

TEST_CASE("conv2d_backward_input and conv2d_backward_weight") {
  SUBCASE("3x3, pad 1") { conv_backward({B, 3, 8, 8}, {5, 3, 3, 3}, Attrs{{"pad", Ints{1, 1}}}); }
  SUBCASE("stride 2, dilation, groups") {
    conv_backward({B, 4, 11, 9}, {6, 2, 3, 2},
                  Attrs{{"stride", Ints{2, 2}},
                        {"pad", Ints{1, 2}},
                        {"dilation", Ints{2, 1}},
                        {"groups", int64_t(2)}});
  }
  SUBCASE("rows wider than a vector") {
    conv_backward({B, 2, 5, 21}, {3, 2, 3, 3}, Attrs{{"pad", Ints{1, 1}}}); // 3 x 7 lanes
    conv_backward({B, 1, 4, 19}, {2, 1, 3, 3}, Attrs{{"pad", Ints{1, 1}}}); // a guarded tail
  }
  SUBCASE("1x1 dx over flattened pixels (any channel counts)") {
    // Inception's 14x14 and 7x7 layers: 196 pixels in blocks of 32 (the
    // last shifted inwards), 49, and fewer output channels than a vector;
    // a 4x5 image is one vector of 16 pixels, shifted inwards once.
    const std::string flat = "conv: 1x1 over flattened pixels";
    conv_backward({B, 64, 14, 14}, {32, 64, 1, 1}, {}, kSum, flat);
    conv_backward({B, 128, 7, 7}, {12, 128, 1, 1}, {}, kSum, flat);
    conv_backward({B, 12, 7, 7}, {24, 12, 1, 1}, {}, kSum, flat);
    conv_backward({B, 5, 4, 5}, {3, 5, 1, 1}, {}, kSum, flat);
  }
  SUBCASE("NHWC path (dx >= 16 channels, dW channels in zmm blocks)") {
    conv_backward({B, 16, 9, 11}, {32, 16, 3, 3}, Attrs{{"pad", Ints{1, 1}}},
                  kWideSum); // 2 zmm x 4 ci
    conv_backward({B, 12, 6, 5}, {48, 12, 3, 3}, Attrs{{"pad", Ints{1, 0}}},
                  kWideSum); // 3 zmm x 4 ci
    conv_backward({B, 8, 7, 5}, {16, 8, 3, 3}, Attrs{{"pad", Ints{0, 1}}}, kWideSum); // dx 1 zmm
    // One input channel (conv1): dW holds all 9 taps in the tile; dx stays NCHW.
    conv_backward({B, 1, 10, 13}, {16, 1, 3, 3}, Attrs{{"pad", Ints{1, 1}}});
    // 6 input channels x 9 taps: dW falls back to the NCHW schedule.
    conv_backward({B, 6, 5, 7}, {16, 6, 3, 3}, Attrs{{"pad", Ints{1, 1}}});
  }
  SUBCASE("depthwise, no padding") {
    conv_backward({B, 3, 7, 6}, {3, 1, 3, 3}, Attrs{{"groups", int64_t(3)}}, kSum,
                  "dx: depthwise by phases (1x1)");
  }
}

// dW on the NHWC path sums its images in kWeightGradChunks (8) chunks of
// ceil(batch / 8) images, in parallel: batches of 1 (seven empty chunks), 9
// (chunks of 2, the last ones empty or partial) and 20; odd image sizes,
// asymmetric padding, 1 to 4 zmm of output channels, times as many input
// channels as make 16 accumulators (the largest divisor of C up to that, at
// least 4). Few taps (one input channel) keep the tile of all taps, parallel
// over channel blocks.
TEST_CASE("conv2d_backward_weight, NHWC path: chunks of images") {
  struct Case {
    Shape x, w;
    Ints pad;
    const char* notes;
  };
  for (const Case& c : {Case{{B, 32, 7, 9}, {64, 32, 3, 3}, {1, 1}, "4 zmm x 4 ci tile"},
                        Case{{B, 4, 5, 3}, {16, 4, 3, 3}, {0, 1}, "1 zmm x 4 ci tile"},
                        Case{{B, 8, 6, 11}, {48, 8, 1, 3}, {0, 1}, "3 zmm x 4 ci tile"},
                        Case{{B, 12, 7, 7}, {16, 12, 3, 3}, {1, 1}, "1 zmm x 12 ci tile"},
                        Case{{B, 24, 5, 6}, {32, 24, 3, 3}, {1, 1}, "2 zmm x 8 ci tile"},
                        Case{{B, 1, 9, 13}, {32, 1, 3, 3}, {1, 1}, "all taps"}}) {
    CAPTURE(c.w[0]);
    CAPTURE(c.w[1]);
    Builder m;
    ValueId xv = m.input("x", f32(c.x));
    Attrs attrs{{"pad", c.pad}, {"weight_shape", c.w.dims}};
    Shape ys{B, c.w[0], c.x[2] + 2 * c.pad[0] - c.w[2] + 1, c.x[3] + 2 * c.pad[1] - c.w[3] + 1};
    ValueId dy = m.input("dy", f32(ys));
    ValueId dw = m.op(OpKind::Conv2dBackwardWeight, {xv, dy}, attrs);
    std::string notes = check_kernel(m.g, codegen::single_op_kernel(m.g, dw), {}, {1e-4, 1e-5},
                                     {.batches = {1, 9, 20}});
    CHECK(notes.find("dW: NHWC two-level") == 0);
    CHECK(notes.find(c.notes) != std::string::npos);
  }
}

// Strided convolutions on the NHWC path: dx by phases (conv_backward.cpp:
// strided_dx_nhwc), dW reading the input at y s + ky. ResNet's shapes (3x3
// stride 2 pad 1, 1x1 stride 2 projections, 16 -> 32 and 32 -> 64 channels)
// at odd sizes, and unequal strides (stride 3 with a 2-wide kernel leaves a
// phase that no tap reaches; a 5x3 kernel at stride 3 gives phases of 1 and
// 2 taps). A 1x1 dW keeps the tile of all taps only with input channels
// that are not in blocks of 4.
TEST_CASE("conv2d_backward_input and conv2d_backward_weight, strided, NHWC path") {
  struct Case {
    Shape x, w;
    Attrs attrs;
    const char* dw_notes;
  };
  Attrs s2p1{{"stride", Ints{2, 2}}, {"pad", Ints{1, 1}}}, s2{{"stride", Ints{2, 2}}};
  for (const Case& c : {Case{{B, 16, 13, 13}, {32, 16, 3, 3}, s2p1, "2 zmm x 8 ci tile"},
                        Case{{B, 32, 14, 14}, {64, 32, 3, 3}, s2p1, "4 zmm x 4 ci tile"},
                        Case{{B, 16, 14, 14}, {32, 16, 1, 1}, s2, "2 zmm x 8 ci tile"},
                        Case{{B, 2, 11, 9}, {16, 2, 1, 1}, s2, "all taps"},
                        Case{{B, 32, 9, 7}, {64, 32, 1, 1}, s2, "4 zmm x 4 ci tile"},
                        Case{{B, 16, 10, 11},
                             {16, 16, 3, 2},
                             Attrs{{"stride", Ints{2, 3}}, {"pad", Ints{1, 0}}},
                             "1 zmm x 16 ci tile"},
                        Case{{B, 16, 12, 9},
                             {16, 16, 5, 3},
                             Attrs{{"stride", Ints{3, 2}}, {"pad", Ints{2, 1}}},
                             "1 zmm x 16 ci tile"}}) {
    CAPTURE(c.x[2]);
    CAPTURE(c.w[0]);
    CAPTURE(c.w[1]);
    Builder m;
    ValueId xv = m.input("x", f32(c.x)), wv = m.param("w", f32(c.w));
    ValueId y = m.op(OpKind::Conv2d, {xv, wv}, c.attrs);
    ValueId dy = m.input("dy", m.g.node(y).type);
    ValueId dx =
        m.op(OpKind::Conv2dBackwardInput, {dy, wv}, with(c.attrs, "input_shape", c.x.dims));
    ValueId dw =
        m.op(OpKind::Conv2dBackwardWeight, {xv, dy}, with(c.attrs, "weight_shape", c.w.dims));
    std::string dx_notes = check_kernel(m.g, codegen::single_op_kernel(m.g, dx), {}, kWideSum,
                                        {.batches = kConvBatches});
    // (dx's output channels are x's: fewer than 16 keep the NCHW schedule.)
    CHECK((dx_notes.find("conv: NHWC") == 0) == (c.x[1] >= 16));
    std::string dw_notes = check_kernel(m.g, codegen::single_op_kernel(m.g, dw), {}, {1e-4, 1e-5},
                                        {.batches = {1, 9, 20}});
    CHECK(dw_notes.find("dW: NHWC two-level") == 0);
    CHECK(dw_notes.find(c.dw_notes) != std::string::npos);
  }
}

TEST_CASE("a strided NHWC dx in a kernel that the conv schedule does not fit") {
  // A transpose after dx reads other tiles: the generic schedule computes
  // the phase accumulator (more channels than dx, half the rows) as a stage.
  Builder m;
  Attrs attrs{{"stride", Ints{2, 2}}, {"pad", Ints{1, 1}}};
  Shape xs{B, 16, 9, 11};
  ValueId xv = m.input("x", f32(xs)), wv = m.param("w", f32({32, 16, 3, 3}));
  ValueId y = m.op(OpKind::Conv2d, {xv, wv}, attrs);
  ValueId dy = m.input("dy", m.g.node(y).type);
  ValueId dx = m.op(OpKind::Conv2dBackwardInput, {dy, wv}, with(attrs, "input_shape", xs.dims));
  ValueId t = m.op(OpKind::Transpose, {dx}, Attrs{{"perm", Ints{0, 1, 3, 2}}});
  std::string notes =
      check_kernel(m.g, codegen::make_kernel_spec(m.g, {dx, t}), {}, kWideSum, {.batches = {1, 3}});
  CHECK(notes.find("generic") != std::string::npos);
}

TEST_CASE("maxpool_backward and avgpool_backward") {
  pool_backward({B, 3, 8, 8}, Attrs{{"kernel", Ints{2, 2}}});
  // Non-overlapping windows that leave a row and a column out (the direct
  // one-window path) and a 3x2 window.
  pool_backward({B, 3, 9, 11}, Attrs{{"kernel", Ints{2, 2}}});
  pool_backward({B, 2, 7, 8}, Attrs{{"kernel", Ints{3, 2}}});
  pool_backward({B, 2, 9, 7},
                Attrs{{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"pad", Ints{1, 1}}});
  pool_backward({B, 2, 6, 6}, Attrs{{"kernel", Ints{3, 2}}, {"stride", Ints{1, 1}}});   // overlaps
  pool_backward({B, 1, 12, 12}, Attrs{{"kernel", Ints{9, 9}}, {"stride", Ints{3, 3}}}); // 81 taps
  // Padded windows, where count_include_pad changes the divisor: odd sizes,
  // non-square, and a large window (an RDom stage).
  pool_backward({B, 2, 7, 9},
                Attrs{{"kernel", Ints{3, 2}}, {"stride", Ints{2, 1}}, {"pad", Ints{1, 1}}});
  pool_backward({B, 1, 13, 11},
                Attrs{{"kernel", Ints{9, 9}}, {"stride", Ints{2, 3}}, {"pad", Ints{4, 2}}});
}

// conv2d_backward_input as conv2d_transpose's forward op (a [B,C_in,H,W],
// w [C_in,F,KH,KW]), with output_padding, and the two ops of its gradient:
// conv2d(dy, w) (sliced by the graph when output_padding reaches the
// stride) and conv2d_backward_weight(dy, a) with the output_padding.
void conv_transpose(const Shape& a, const Shape& w, Ints stride, Ints pad, Ints dilation,
                    Ints output_padding, Tol tol = kSum) {
  Ints out{B, w[1], 0, 0};
  for (int i = 0; i < 2; ++i)
    out[size_t(2 + i)] = (a[2 + i] - 1) * stride[size_t(i)] - 2 * pad[size_t(i)] +
                         dilation[size_t(i)] * (w[2 + i] - 1) + output_padding[size_t(i)] + 1;
  Attrs conv{{"stride", stride}, {"pad", pad}, {"dilation", dilation}};
  Attrs attrs = with(with(conv, "input_shape", out), "output_padding", output_padding);
  Builder m;
  ValueId av = m.input("a", f32(a)), wv = m.param("w", f32(w));
  ValueId y = m.op(OpKind::Conv2dBackwardInput, {av, wv}, attrs);
  ValueId dy = m.input("dy", m.g.node(y).type);
  ValueId da = m.op(OpKind::Conv2d, {dy, wv}, conv);
  ValueId dw = m.op(OpKind::Conv2dBackwardWeight, {dy, av},
                    with(with(conv, "weight_shape", w.dims), "output_padding", output_padding));
  std::string notes =
      check_kernel(m.g, codegen::single_op_kernel(m.g, y), {}, tol, {.batches = kConvBatches});
  CHECK(notes.find("conv:") == 0);
  check_kernel(m.g, codegen::single_op_kernel(m.g, da), {}, tol, {.batches = kConvBatches});
  check_kernel(m.g, codegen::single_op_kernel(m.g, dw), {}, {1e-4, 1e-5},
               {.batches = kConvBatches});
}

TEST_CASE("conv2d_transpose: conv2d_backward_input with output_padding, and its gradient") {
  SUBCASE("stride 2, pad 1, output_padding 1") {
    conv_transpose({B, 3, 5, 7}, {3, 4, 3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1});
  }
  SUBCASE("stride 3, output_padding 2, 2x3 kernel") {
    conv_transpose({B, 2, 4, 3}, {2, 3, 2, 3}, {3, 3}, {0, 0}, {1, 1}, {2, 2});
  }
  SUBCASE("dilation 2 at stride 1, output_padding 1 (rows no tap reaches)") {
    conv_transpose({B, 2, 6, 5}, {2, 3, 3, 3}, {1, 1}, {1, 1}, {2, 2}, {1, 1});
  }
  SUBCASE("a decoder's width: 32 -> 16 channels, stride 2") {
    conv_transpose({B, 32, 7, 9}, {32, 16, 3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, kWideSum);
  }
}
