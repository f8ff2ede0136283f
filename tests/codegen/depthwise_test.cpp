// Depthwise convolutions (groups = channels): the forward pass, dx and dW
// kernels against the reference at MobileNet's shapes and odd ones (batch 1
// and odd batches, 13x13 and 14x14 images, stride 1 and 2, channel counts
// that are not whole zmm vectors, other kernels, strides and paddings). dW
// takes the NHWC two-level path (conv_backward.cpp: depthwise_weight_grad_ok,
// schedule_depthwise.cpp) when the channels are whole zmm vectors; dx takes
// the phase path (depthwise_dx_ok; stride 1 is one phase) at any channel
// count; the forward pass and the convolutions that are not depthwise keep
// the generic grouped path. The forward pass and dx sum KH KW products per
// output: 1e-5; dW sums batch x pixels products in chunks of images: atol
// 1e-4, rtol 1e-5 (rtol 1e-4 at batch 128).
#include "cg_test_helpers.h"

#include "codegen/kernel.h"

#include <fmt/format.h>

using namespace netc;
using namespace netc::cg_test;

namespace {

using Ints = std::vector<int64_t>;
const Tol kTaps{1e-5, 1e-5};
const Tol kImageSum{1e-4, 1e-5};
const std::vector<int64_t> kOddBatches = {1, 3, 9};

Attrs with(Attrs a, const std::string& name, AttrValue v) {
  a.set(name, std::move(v));
  return a;
}

struct Notes {
  std::string fwd, dx, dw;
};

// conv2d(x, w[, b]) with groups = x's channels and its dx and dW, each as a
// single-op kernel checked against the reference; returns their schedule notes.
Notes depthwise(const Shape& x, Ints kernel, Attrs attrs, bool bias = false,
                const std::vector<int64_t>& batches = kOddBatches, Tol dw_tol = kImageSum) {
  int64_t C = x[1];
  Shape w{C, 1, kernel[0], kernel[1]};
  attrs.set("groups", C);
  Builder m;
  ValueId xv = m.input("x", f32(x)), wv = m.param("w", f32(w));
  std::vector<ValueId> ins{xv, wv};
  if (bias) ins.push_back(m.param("b", f32({C})));
  ValueId y = m.op(OpKind::Conv2d, ins, attrs);
  ValueId dy = m.input("dy", m.g.node(y).type);
  ValueId dx = m.op(OpKind::Conv2dBackwardInput, {dy, wv}, with(attrs, "input_shape", x.dims));
  ValueId dw = m.op(OpKind::Conv2dBackwardWeight, {xv, dy}, with(attrs, "weight_shape", w.dims));
  Notes n;
  RunOptions run{.batches = batches};
  n.fwd = check_kernel(m.g, codegen::single_op_kernel(m.g, y), {}, kTaps, run);
  n.dx = check_kernel(m.g, codegen::single_op_kernel(m.g, dx), {}, kTaps, run);
  n.dw = check_kernel(m.g, codegen::single_op_kernel(m.g, dw), {}, dw_tol, run);
  return n;
}

bool starts(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// dx alone (the phase path's cases), checked against the reference; returns its notes.
std::string depthwise_dx(const Shape& x, Ints kernel, Attrs attrs) {
  int64_t C = x[1];
  attrs.set("groups", C);
  Builder m;
  ValueId wv = m.param("w", f32({C, 1, kernel[0], kernel[1]}));
  ValueId y = m.op(OpKind::Conv2d, {m.input("x", f32(x)), wv}, attrs);
  ValueId dy = m.input("dy", m.g.node(y).type);
  ValueId dx = m.op(OpKind::Conv2dBackwardInput, {dy, wv}, with(attrs, "input_shape", x.dims));
  return check_kernel(m.g, codegen::single_op_kernel(m.g, dx), {}, kTaps, {.batches = {1, 3}});
}

Attrs strided(int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  return Attrs{{"stride", Ints{sh, sw}}, {"pad", Ints{ph, pw}}};
}

const Attrs kS1P1{{"pad", Ints{1, 1}}};
const Attrs kS2P1{{"stride", Ints{2, 2}}, {"pad", Ints{1, 1}}};

} // namespace

TEST_CASE("depthwise conv2d, dx and dW: MobileNet's 3x3 layers, stride 1 and 2") {
  struct Case {
    Shape x;
    Attrs attrs;
    const char* tile; // dW's tile: zmm of channels x taps
  };
  for (const Case& c :
       {Case{{B, 32, 14, 14}, kS1P1, "2 zmm x 9 taps"}, Case{{B, 64, 13, 13}, kS1P1, "2 zmm x 9"},
        Case{{B, 32, 14, 14}, kS2P1, "2 zmm x 9"}, Case{{B, 48, 13, 13}, kS2P1, "1 zmm x 9"},
        Case{{B, 16, 7, 7}, kS1P1, "1 zmm x 9"}}) {
    CAPTURE(c.x[1]);
    CAPTURE(c.x[2]);
    Notes n = depthwise(c.x, {3, 3}, c.attrs);
    CHECK(n.fwd.find("depthwise") == std::string::npos);
    CHECK(n.fwd.find("padded planes per (image, channel block)") != std::string::npos);
    // (A strided dx sums only each phase's taps; a stride-1 dx has one phase.)
    CHECK(starts(n.dx, c.attrs.has("stride") ? "dx: depthwise by phases (2x2)"
                                             : "dx: depthwise by phases (1x1)"));
    CHECK(starts(n.dw, std::string("dW: depthwise NHWC two-level, ") + c.tile));
  }
}

// (At batch 128 dW sums 6272 products per weight, the reference in float
// too, in another order: measured differences up to 2.7e-5 relative.)
TEST_CASE("depthwise conv2d at a full batch, with a bias") {
  Notes n = depthwise({B, 32, 14, 14}, {3, 3}, kS2P1, true, {128}, {1e-4, 1e-4});
  CHECK(starts(n.dw, "dW: depthwise NHWC"));
}

TEST_CASE("depthwise conv2d: channels not in whole zmm vectors, other windows") {
  // 20 and 40 channels: dW needs whole blocks and keeps the generic path.
  for (const Shape& x : {Shape{B, 20, 9, 11}, Shape{B, 40, 6, 5}}) {
    Notes n = depthwise(x, {3, 3}, kS2P1);
    CHECK(n.dw.find("depthwise") == std::string::npos);
    CHECK(starts(n.dx, "dx: depthwise by phases (2x2)"));
  }
  // No padding; asymmetric padding with a 5x3 kernel at strides (3, 2); a
  // 2-wide kernel at stride 3 (some input columns no tap reaches: their dx
  // is 0); a 1x1 kernel at stride 2.
  Notes n = depthwise({B, 16, 7, 6}, {3, 3}, {});
  CHECK(starts(n.dw, "dW: depthwise NHWC two-level, 1 zmm x 9 taps"));
  CHECK(starts(n.dx, "dx: depthwise by phases (1x1)"));
  n = depthwise({B, 32, 12, 9}, {5, 3}, Attrs{{"stride", Ints{3, 2}}, {"pad", Ints{2, 1}}});
  CHECK(starts(n.dw, "dW: depthwise NHWC two-level, 1 zmm x 15 taps"));
  CHECK(starts(n.dx, "dx: depthwise by phases (3x2)"));
  n = depthwise({B, 16, 10, 11}, {3, 2}, Attrs{{"stride", Ints{2, 3}}, {"pad", Ints{1, 0}}});
  CHECK(starts(n.dw, "dW: depthwise NHWC two-level, 1 zmm x 6 taps"));
  CHECK(starts(n.dx, "dx: depthwise by phases (2x3)"));
  n = depthwise({B, 32, 9, 8}, {1, 1}, Attrs{{"stride", Ints{2, 2}}});
  CHECK(starts(n.dw, "dW: depthwise NHWC two-level, 2 zmm x 1 taps"));
  CHECK(starts(n.dx, "dx: depthwise by phases (2x2)"));
}

// The phase path over strides 1-3 and paddings 0-2, on odd and even
// image sizes (a last phase row or column that is partial, or that no tap
// reaches) and channel counts that are not whole zmm vectors (the tasks'
// quarters of the channels are partial too).
TEST_CASE("depthwise dx by phases: strides 1-3, paddings 0-2, odd sizes and channels") {
  for (int64_t s : {1, 2, 3})
    for (int64_t p : {0, 1, 2})
      for (const Shape& x : {Shape{B, 5, 13, 11}, Shape{B, 24, 12, 17}, Shape{B, 18, 7, 33}}) {
        CAPTURE(s);
        CAPTURE(p);
        CAPTURE(x[1]);
        std::string notes = depthwise_dx(x, {3, 3}, strided(s, s, p, p));
        CHECK(starts(notes, fmt::format("dx: depthwise by phases ({}x{})", s, s)));
      }
  // Mixed strides (one axis stride 1: a single phase there).
  CHECK(starts(depthwise_dx({B, 7, 10, 9}, {3, 3}, strided(1, 2, 1, 1)),
               "dx: depthwise by phases (1x2)"));
  CHECK(starts(depthwise_dx({B, 7, 9, 10}, {3, 5}, strided(3, 1, 0, 2)),
               "dx: depthwise by phases (3x1)"));
}

TEST_CASE("grouped convolutions that are not depthwise keep the generic path") {
  struct Case {
    Shape x, w;
    int64_t groups;
    Attrs attrs;
    bool dx_phases = false; // depthwise after all: dx takes the phase path
  };
  // Two channels per group; a channel multiplier of 2 (O = 2 groups); 8
  // channels (less than a zmm: the forward pass and dW); dilation 2; the
  // last two strided.
  for (const Case& c :
       {Case{{B, 32, 7, 7}, {32, 2, 3, 3}, 16, kS1P1},
        Case{{B, 16, 7, 7}, {32, 1, 3, 3}, 16, kS1P1},
        Case{{B, 8, 7, 7}, {8, 1, 3, 3}, 8, kS1P1, true},
        Case{{B, 16, 9, 9}, {16, 1, 3, 3}, 16, Attrs{{"dilation", Ints{2, 2}}}},
        // Strided (the phase path takes one filter per channel only).
        Case{{B, 16, 9, 9}, {32, 1, 3, 3}, 16, kS2P1},
        Case{{B, 16, 9, 9}, {16, 1, 3, 3}, 16, with(kS2P1, "dilation", Ints{2, 2})}}) {
    CAPTURE(c.w[0]);
    CAPTURE(c.w[1]);
    Attrs attrs = with(c.attrs, "groups", c.groups);
    Builder m;
    ValueId xv = m.input("x", f32(c.x)), wv = m.param("w", f32(c.w));
    ValueId y = m.op(OpKind::Conv2d, {xv, wv}, attrs);
    ValueId dy = m.input("dy", m.g.node(y).type);
    ValueId dx = m.op(OpKind::Conv2dBackwardInput, {dy, wv}, with(attrs, "input_shape", c.x.dims));
    ValueId dw =
        m.op(OpKind::Conv2dBackwardWeight, {xv, dy}, with(attrs, "weight_shape", c.w.dims));
    for (ValueId v : {y, dx, dw}) {
      std::string notes = check_kernel(m.g, codegen::single_op_kernel(m.g, v), {},
                                       v == dw ? kImageSum : kTaps, {.batches = {1, 3}});
      if (v == dx && c.dx_phases)
        CHECK(starts(notes, "dx: depthwise by phases (1x1)"));
      else
        CHECK(notes.find("depthwise") == std::string::npos);
    }
  }
}
