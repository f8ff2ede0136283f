// The window geometry of conv2d, the pools and their backward ops (the IR's),
// the padded views of an NCHW input, and the NHWC convolution.
#pragma once

#include "codegen/lowering.h"
#include "ir/ops/window.h"

#include <functional>

namespace netc::codegen {

// The IR's window geometry and its decoding (ir/ops/window.h; the shape
// rules have validated the attributes already).
using conv_geometry::conv_window;
using conv_geometry::count_include_pad;
using conv_geometry::Pair;
using conv_geometry::pool_window;
using conv_geometry::Window;

// value[n, c, h, w] over the extents xs [N,C,H,W], inside a border of zeros:
// an update that writes the interior over a zero fill, so that the copy
// reads its source with dense vectors and the window taps then read the copy
// without clamps or selects. (Clamped taps of padded_input are
// non-affine loads that Halide scalarizes: inception's 3x3 stride-1 avgpool
// ran at ~2 GFLOP/s.) avgpool and avgpool_backward hand it to the schedule,
// which must place it, as Lowered::padded.
Halide::Func padded_copy(const Halide::Func& value, const Shape& xs, const std::string& name);

// x [N,C,H,W] read at any (h, w): `fill` outside [0,H) x [0,W). The inner read
// is clamped so that bounds inference never asks x for rows it lacks.
// likely_inside: the select's condition is marked likely, so that Halide
// partitions the loops that reach the border into a steady state without it.
Halide::Func padded_input(const Halide::Func& x, const Shape& xs, const Halide::Expr& fill,
                          const std::string& name, bool likely_inside = false);

// weight(co, ci, kh, kw): a convolution's taps; bias(co): added to every
// output (no bias when empty).
using ConvWeight =
    std::function<Halide::Expr(Halide::Expr co, Halide::Expr ci, Halide::Expr kh, Halide::Expr kw)>;
using ConvBias = std::function<Halide::Expr(Halide::Expr co)>;

// Whether a convolution takes the NHWC path below: ir/ops/window.h (shared
// with the prepack pass).
using conv_geometry::nhwc_conv_ok;

// A dilation-1, ungrouped convolution computed channels-innermost
// (HALIDE-NOTES' NHWC recipe) over an NCHW interface:
//   input(c, x, y, n)    = src[n, c, y - oy, x - ox]     (src reads 0 outside)
//   weights(co, ci, kx, ky) = weight(co, ci, ky, kx)
//   acc(co, x, y, n)     = init(co) + sum_{ci, ky, kx} weights * input(ci, x sx + kx, y sy + ky, n)
// summed with kx innermost and ci outermost, the reference's order. `value`
// is acc read back in NCHW. Every Func is listed in `out.stages` and in the
// nhwc_* fields of `out`.
struct NhwcConvSpec {
  Halide::Func src;       // NCHW, readable at any (h, w)
  int64_t C, O, KH, KW;   // input/output channels, kernel
  Shape out;              // [N, O, OH, OW]
  int32_t oy, ox;         // input row y reads src row y - oy
  int32_t sy = 1, sx = 1; // stride: output row y reads input rows y sy + ky
};
template <class Weight, class Init>
void nhwc_conv(const LowerCtx& ctx, const NhwcConvSpec& s, Weight weight, Init init, Lowered& out);

// A 1x1, stride-1, unpadded, ungrouped convolution (or dx) whose input and
// output are both stored NCHW is a matmul per image over the flattened
// pixels: W[O, C] X[C, H W], X's rows contiguous. Computed that way
// (pointwise_conv; codegen/schedule_pointwise.cpp vectorizes the pixels),
// it needs no transposes; the NHWC kernel transposed its input in and its
// output back, one gathered lane at a time when a row is narrower than a
// vector (inception's 14x14 and 7x7 layers ran at 10-35 GFLOP/s).
// Channels-last kernels (passes/layout.h) keep the NHWC kernel, which
// reads and writes channel vectors directly; images of fewer pixels than
// a vector (HW < 16) too.
inline bool pointwise_conv_ok(const LowerCtx& ctx, const Window& w, int64_t KH, int64_t KW) {
  const Shape& os = ctx.out().shape;
  return w.groups == 1 && KH == 1 && KW == 1 && w.stride.h == 1 && w.stride.w == 1 &&
         w.pad.h == 0 && w.pad.w == 0 && w.dilation.h == 1 && w.dilation.w == 1 &&
         ctx.out().dtype == DType::f32 && !ctx.channels_last_kernel && os.rank() == 4 &&
         os[2] * os[3] >= 16;
}

// Builds the pointwise conv over src [N, C, H, W] (read at its own pixels):
//   flat_acc(n, o, p) = bias(o) + sum_c weight(o, c, 0, 0) src[n, c, p / W, p % W]
// summed over c in order (0 without a bias), and value(n, o, y, x) =
// flat_acc(n, o, y W + x).
void pointwise_conv(const LowerCtx& ctx, const Halide::Func& src, int64_t C,
                    const ConvWeight& weight, const ConvBias& bias, Lowered& out);

// Whether a conv2d_backward_input takes the depthwise phase path
// (conv_backward.cpp: depthwise_dx, schedule_depthwise.cpp): one input
// channel and one filter per group, dilation 1, any stride (stride 1 is one
// phase). Its value is pure (no reduction stage) and reads Lowered::padded,
// dy's padded view.
inline bool depthwise_dx_ok(const Window& w, const Shape& weights) {
  return w.groups > 1 && weights[1] == 1 && weights[0] == w.groups && w.dilation.h == 1 &&
         w.dilation.w == 1;
}

// conv2d_backward_weight on the NHWC path sums its images in this many
// chunks, computed in parallel (lower_weight_grad_nhwc).
inline constexpr int64_t kWeightGradChunks = 8;

// Window taps up to this many are unrolled into one expression (a pure Func
// that vectorizes and fuses); larger windows use an RDom stage.
inline constexpr int64_t kMaxUnrolledTaps = 64;

template <class Weight, class Init>
void nhwc_conv(const LowerCtx& ctx, const NhwcConvSpec& s, Weight weight, Init init, Lowered& out) {
  using Halide::Expr;
  Shape in_shape{kBatch, (s.out[2] - 1) * s.sy + s.KH, (s.out[3] - 1) * s.sx + s.KW, s.C};
  // IR-order indices: input/acc (n, y, x, c), weights (ky, kx, ci, co).
  out.nhwc_input = pure_func(ctx.name("nhwc_in"), 4, [&](const Index& i) {
    return at(s.src, {i[0], i[3], i[1] - s.oy, i[2] - s.ox});
  });
  // (An identity Func, inlined unless the schedule transposes the weights
  // through it in blocks.)
  out.nhwc_weight_src = pure_func(ctx.name("nhwc_wsrc"), 4,
                                  [&](const Index& i) { return weight(i[0], i[1], i[2], i[3]); });
  out.nhwc_weights = pure_func(ctx.name("nhwc_w"), 4, [&](const Index& i) {
    return at(out.nhwc_weight_src, {i[3], i[2], i[0], i[1]});
  });
  std::vector<Halide::Var> v = ir_vars(4); // n, y, x, co
  Halide::RDom r(0, int32_t(s.KW), 0, int32_t(s.KH), 0, int32_t(s.C), ctx.name("r"));
  Halide::Func acc(ctx.name("nhwc"));
  define(acc, v, init(Expr(v[3])));
  define(acc, v,
         at(acc, as_index(v)) +
             at(out.nhwc_weights, {r.y, r.x, r.z, v[3]}) *
                 at(out.nhwc_input, {v[0], v[1] * s.sy + r.y, v[2] * s.sx + r.x, r.z}));
  out.nhwc_acc = acc;
  out.nhwc_shape = Shape{s.out[0], s.out[2], s.out[3], s.O};
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    return at(acc, {i[0], i[2], i[3], i[1]});
  });
  if (!out.weights_prepacked) out.stages.push_back({out.nhwc_weights, Shape{s.KH, s.KW, s.C, s.O}});
  out.stages.push_back({out.nhwc_input, in_shape});
  out.stages.push_back({acc, Shape{s.out[0], s.out[2], s.out[3], s.O}});
}

} // namespace netc::codegen
