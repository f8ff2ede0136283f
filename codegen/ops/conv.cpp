// Convolution and pooling over NCHW values. conv2d is an update Func (a Stage)
// whose RDom walks (kw, kh, cg) innermost first, the order of the reference's
// sum; the pools unroll their window into one expression when it is small,
// so they stay pure and fuse. The backward ops live in conv_backward.cpp.
//
// Window geometry (ir/ops/conv.cpp): output row oh reads input row
//   ih = oh sh - ph + kh dh,   rows outside [0, H) being padding.
#include "codegen/ops/window.h"
#include "codegen/ops/winograd.h"
#include "ir/ops/packed_conv.h"

namespace netc::codegen {

namespace {

using Halide::Expr;

bool has_padding(const Window& win) { return win.pad.h > 0 || win.pad.w > 0; }

// ---- conv2d(x, w[, b]) {stride, pad, dilation, groups} -------------------------
//   out[n,o,oh,ow] = b[o] + sum_{cg,kh,kw} w[o,cg,kh,kw] x[n, g Cg + cg, ih, iw],  g = o / Og
Lowered lower_conv2d(const LowerCtx& ctx) {
  const Shape &xs = ctx.in_types[0].shape, &ws = ctx.in_types[1].shape;
  Window win = conv_window(ctx.node.attrs, ws);
  int64_t Cg = ws[1], Og = ws[0] / win.groups;
  Lowered out;
  // 3x3 stride-1 layers with >= 8 input and >= 16 output channels and an
  // output of >= 4x4 take Winograd F(2x2, 3x3) (winograd.h: 2.25x fewer
  // multiplies; measured 1.6-2.1x faster than the direct NHWC kernel on the
  // cnn's conv2 and 1.2-1.6x on 8..64-channel layers from 28x28 down to 5x5,
  // bench/RESULTS.md section 7); other NHWC-eligible layers (other kernel
  // sizes, strides, tiny outputs) keep the direct kernel.
  ConvBias bias;
  if (ctx.in.size() == 3) bias = [&](Expr co) { return at(ctx.in[2], {co}); };
  auto weight = [&](Expr co, Expr ci, Expr kh, Expr kw) { return at(ctx.in[1], {co, ci, kh, kw}); };
  if (pointwise_conv_ok(ctx, win, ws[2], ws[3])) {
    pointwise_conv(ctx, ctx.in[0], ws[1], weight, bias, out);
    return out;
  }
  std::optional<WeightLayout> layout =
      conv2d_kernel_layout(ctx.node.attrs, ctx.in_types[0], ws, ctx.out().shape);
  if (layout) {
    Halide::Func u;
    if (layout == WeightLayout::winograd)
      u = winograd_kernel_transform(ctx, weight, ctx.name("wino_u"));
    conv_on_layout(ctx, *layout, win, ws[1], ws[0], ws[2], ws[3], weight, u, bias, out);
    return out;
  }
  Halide::Func src = ctx.in[0];
  if (has_padding(win) && ctx.channels_last_kernel && Cg == 1) {
    // Computed across channels (schedule_direct_channels_last), each tap
    // reads a vector of channels at one pixel: the clamp and the select are
    // per pixel, and a copy is not needed.
    src = padded_input(ctx.in[0], xs, constant(ctx.type(), 0), ctx.name("pad"),
                       /*likely_inside=*/true);
  } else if (has_padding(win)) {
    // A zero-bordered copy (window.h): the clamped reads of padded_input are
    // non-affine, and the per-image copy that the schedule makes of it
    // gathered them one lane at a time.
    out.padded = padded_copy(ctx.in[0], xs, ctx.name("pad"));
    src = out.padded;
  }
  std::vector<Halide::Var> v = ir_vars(4); // n, o, oh, ow
  Halide::RDom r(0, int32_t(ws[3]), 0, int32_t(ws[2]), 0, int32_t(Cg), ctx.name("r"));
  Expr kw = r.x, kh = r.y, cg = r.z;
  Expr c = win.groups == 1 ? cg : (v[1] / int32_t(Og)) * int32_t(Cg) + cg;
  Expr ih = v[2] * int32_t(win.stride.h) - int32_t(win.pad.h) + kh * int32_t(win.dilation.h);
  Expr iw = v[3] * int32_t(win.stride.w) - int32_t(win.pad.w) + kw * int32_t(win.dilation.w);
  out.direct_weights =
      pure_func(ctx.name("w"), 4, [&](const Index& i) { return at(ctx.in[1], i); });
  Halide::Func acc(ctx.name());
  define(acc, v, ctx.in.size() == 3 ? at(ctx.in[2], {v[1]}) : constant(ctx.type(), 0));
  define(acc, v,
         at(acc, as_index(v)) +
             at(out.direct_weights, {v[1], cg, kh, kw}) * at(src, {v[0], c, ih, iw}));
  out.value = acc;
  out.stages.push_back({acc, ctx.out().shape});
  return out;
}

// ---- maxpool / avgpool {kernel, stride, pad} ------------------------------------
// Folds f over the window of output (n, c, oh, ow), reading `src` in row-major
// tap order, as the reference does. Small windows unroll into one expression;
// large ones become an RDom stage with the same fold.
template <class F>
Halide::Func fold_window(const LowerCtx& ctx, const Halide::Func& src, Expr init, F f,
                         std::vector<Stage>& stages) {
  Window win = pool_window(ctx.node.attrs);
  std::vector<Halide::Var> v = ir_vars(4);
  auto tap = [&](Expr kh, Expr kw) {
    Expr ih = v[2] * int32_t(win.stride.h) - int32_t(win.pad.h) + kh;
    Expr iw = v[3] * int32_t(win.stride.w) - int32_t(win.pad.w) + kw;
    return at(src, {v[0], v[1], ih, iw});
  };
  Halide::Func fold(ctx.name("fold"));
  if (win.kernel.h * win.kernel.w <= kMaxUnrolledTaps) {
    Expr e = init;
    for (int32_t kh = 0; kh < win.kernel.h; ++kh)
      for (int32_t kw = 0; kw < win.kernel.w; ++kw) e = f(e, tap(kh, kw));
    define(fold, v, e);
    return fold;
  }
  Halide::RDom r(0, int32_t(win.kernel.w), 0, int32_t(win.kernel.h), ctx.name("r"));
  define(fold, v, init);
  define(fold, v, f(at(fold, as_index(v)), tap(r.y, r.x)));
  stages.push_back({fold, ctx.out().shape});
  return fold;
}

// maxpool: the window's max (a NaN propagates, as in the reference). Padding
// reads the lowest finite value, which is never chosen because every window
// overlaps the image (pad < kernel).
Lowered lower_maxpool(const LowerCtx& ctx) {
  Halide::Type t = ctx.type();
  Halide::Func src = ctx.in[0];
  if (has_padding(pool_window(ctx.node.attrs)))
    src = padded_input(ctx.in[0], ctx.in_types[0].shape, t.min(), ctx.name("pad"));
  Lowered out;
  out.value = fold_window(
      ctx, src, t.min(), [](Expr a, Expr b) { return max_nan(a, b); }, out.stages);
  return out;
}

// avgpool: the window's sum over the elements inside x (padding is never
// read), divided by their count, or by the kernel area with count_include_pad.
Lowered lower_avgpool(const LowerCtx& ctx) {
  Halide::Type t = ctx.type();
  Window win = pool_window(ctx.node.attrs);
  const Shape& xs = ctx.in_types[0].shape;
  Halide::Func src = ctx.in[0];
  Lowered out;
  if (has_padding(win)) src = out.padded = padded_copy(ctx.in[0], xs, ctx.name("pad"));
  Halide::Func sum = fold_window(
      ctx, src, constant(t, 0), [](Expr a, Expr b) { return a + b; }, out.stages);
  // Rows [lo, hi) of window o inside [0, size): lo = max(o s - p, 0), hi = min(o s - p + k, size).
  auto inside = [](Expr o, Pair k, Pair s, Pair p, int64_t size, bool h) {
    Expr start = o * int32_t(h ? s.h : s.w) - int32_t(h ? p.h : p.w);
    Expr end = start + int32_t(h ? k.h : k.w);
    return Halide::min(end, int32_t(size)) - Halide::max(start, 0);
  };
  bool include_pad = count_include_pad(ctx.node.attrs);
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    Expr count = include_pad ? Expr(int32_t(win.kernel.h * win.kernel.w))
                             : inside(i[2], win.kernel, win.stride, win.pad, xs[2], true) *
                                   inside(i[3], win.kernel, win.stride, win.pad, xs[3], false);
    return at(sum, i) / Halide::cast(t, count);
  });
  return out;
}

// ---- global_avgpool: out[n,c] = (1/HW) sum_{h,w} x[n,c,h,w] -----------------------
// With a row of 4..16 lanes (or a multiple of one), each (image, channel)
// first folds its rows into `lanes` column partials, dense vectors along the
// row, and then the partials: the sum alone, a root stage vectorized across
// channels, gathers at a stride of H W and evaluates every band of a fused
// concat per lane (inception's pool over four branches: ~10 ms for 1 M
// elements).
Lowered lower_global_avgpool(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  std::vector<Halide::Var> v = ir_vars(2);
  Halide::Func sum(ctx.name("sum"));
  Lowered out;
  define(sum, v, constant(ctx.type(), 0));
  // (A channels-last input, passes/layout.h, is summed as channel vectors
  // pixel by pixel: the schedule vectorizes the sum across channels.)
  int32_t lanes = 0;
  for (int32_t l = 16; l >= 4 && lanes == 0 && !ctx.channels_last_kernel; --l)
    if (xs[3] % l == 0) lanes = l;
  if (lanes > 0) {
    std::vector<Halide::Var> pv = ir_vars(3); // n, c, lane
    Halide::RDom r(0, int32_t(xs[3]) / lanes, 0, int32_t(xs[2]), ctx.name("rrow"));
    Halide::Func rows(ctx.name("rows"));
    define(rows, pv, constant(ctx.type(), 0));
    define(rows, pv,
           at(rows, as_index(pv)) + at(ctx.in[0], {pv[0], pv[1], r.y, r.x * lanes + pv[2]}));
    Halide::RDom rl(0, lanes, ctx.name("rlane"));
    define(sum, v, at(sum, as_index(v)) + at(rows, {v[0], v[1], rl.x}));
    out.stages.push_back({rows, Shape{xs[0], xs[1], lanes}});
  } else {
    AxisRDom r = axis_rdom(xs, {2, 3}, ctx.batch(), ctx.name("r"));
    define(sum, v, at(sum, as_index(v)) + at(ctx.in[0], {v[0], v[1], r.vars[0], r.vars[1]}));
  }
  Expr hw = constant(ctx.type(), static_cast<double>(xs[2] * xs[3]));
  out.value = pure_func(ctx.name(), 2, [&](const Index& i) { return at(sum, i) / hw; });
  out.stages.push_back({sum, ctx.out().shape});
  return out;
}

const OpLowering kConvLowerings[] = {
    {OpKind::Conv2d, lower_conv2d},
    {OpKind::MaxPool, lower_maxpool},
    {OpKind::AvgPool, lower_avgpool},
    {OpKind::GlobalAvgPool, lower_global_avgpool},
};

} // namespace

void conv_on_layout(const LowerCtx& ctx, WeightLayout layout, const Window& win, int64_t C,
                    int64_t O, int64_t KH, int64_t KW, const ConvWeight& weight,
                    const Halide::Func& u, const ConvBias& bias, Lowered& out) {
  if (pointwise_conv_ok(ctx, win, KH, KW)) { // (conv2d_packed; conv2d took it above)
    pointwise_conv(ctx, ctx.in[0], C, weight, bias, out);
    return;
  }
  Halide::Func src =
      padded_input(ctx.in[0], ctx.in_types[0].shape, constant(ctx.type(), 0), ctx.name("pad"));
  auto oy = int32_t(win.pad.h), ox = int32_t(win.pad.w);
  if (layout == WeightLayout::winograd) {
    winograd_conv(ctx, {src, C, O, ctx.out().shape, oy, ox}, u, bias, out);
    return;
  }
  NhwcConvSpec spec{src, C, O, KH, KW, ctx.out().shape, oy, ox};
  spec.sy = int32_t(win.stride.h);
  spec.sx = int32_t(win.stride.w);
  nhwc_conv(
      ctx, spec, weight, [&](Halide::Expr co) { return bias ? bias(co) : constant(ctx.type(), 0); },
      out);
}

void pointwise_conv(const LowerCtx& ctx, const Halide::Func& src, int64_t C,
                    const ConvWeight& weight, const ConvBias& bias, Lowered& out) {
  const Shape& os = ctx.out().shape;
  auto W = int32_t(os[3]);
  std::vector<Halide::Var> v = ir_vars(3); // n, o, p
  Halide::RDom r(0, int32_t(C), ctx.name("r"));
  Halide::Func acc(ctx.name("flat"));
  define(acc, v, bias ? bias(v[1]) : constant(ctx.type(), 0));
  define(acc, v,
         at(acc, as_index(v)) + weight(v[1], r.x, 0, 0) * at(src, {v[0], r.x, v[2] / W, v[2] % W}));
  out.flat_acc = acc;
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    return at(acc, {i[0], i[1], i[2] * W + i[3]});
  });
  out.stages.push_back({acc, Shape{os[0], os[1], os[2] * os[3]}});
}

std::span<const OpLowering> conv_lowerings() { return kConvLowerings; }

} // namespace netc::codegen
