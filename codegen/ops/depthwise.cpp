#include "codegen/ops/depthwise.h"

#include <functional>

namespace netc::codegen {

namespace {

using Halide::Expr;

// The accumulator of depthwise.h, over an NCHW source.
struct DepthwiseSpec {
  Halide::Func src;       // NCHW, readable at any (h, w) (0 outside)
  Halide::Func weights;   // IR order (ky, kx, q, c): phase q's tap weights
  int64_t C, KH, KW;      // channels; the window's rows and columns
  Pair phases;            // a strided dx's phases per axis ({1, 1} otherwise)
  Shape pixels;           // [N, Y, X]: the accumulator's pixels
  int32_t oy, ox;         // input row y reads src row y - oy
  int32_t sy = 1, sx = 1; // acc row y reads input rows y sy + ky
};

// Builds nhwc_input (n, y, x, c), nhwc_acc (n, y, x, q, c) from spec.weights
// (nhwc_weights) and `value` (n, c, h, w) = acc(n, h / Ph, w / Pw, (h % Ph) Pw + w % Pw, c).
// The taps are summed with kx innermost, the reference's order.
void depthwise_acc(const LowerCtx& ctx, const DepthwiseSpec& s,
                   const std::function<Expr(Expr)>& init, Lowered& out) {
  Shape in_shape{kBatch, (s.pixels[1] - 1) * s.sy + s.KH, (s.pixels[2] - 1) * s.sx + s.KW, s.C};
  out.nhwc_input = pure_func(ctx.name("nhwc_in"), 4, [&](const Index& i) {
    return at(s.src, {i[0], i[3], i[1] - s.oy, i[2] - s.ox});
  });
  out.nhwc_weights = s.weights;
  std::vector<Halide::Var> v = ir_vars(5); // n, y, x, q, c
  Halide::RDom r(0, int32_t(s.KW), 0, int32_t(s.KH), ctx.name("r"));
  Halide::Func acc(ctx.name("nhwc"));
  define(acc, v, init(v[4]));
  define(acc, v,
         at(acc, as_index(v)) +
             at(s.weights, {r.y, r.x, v[3], v[4]}) *
                 at(out.nhwc_input, {v[0], v[1] * s.sy + r.y, v[2] * s.sx + r.x, v[4]}));
  int64_t Q = s.phases.h * s.phases.w;
  out.nhwc_acc = acc;
  out.nhwc_shape = Shape{s.pixels[0], s.pixels[1], s.pixels[2], Q, s.C};
  auto ph = int32_t(s.phases.h), pw = int32_t(s.phases.w);
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    return at(acc, {i[0], i[2] / ph, i[3] / pw, (i[2] % ph) * pw + i[3] % pw, i[1]});
  });
  out.stages.push_back({out.nhwc_weights, Shape{s.KH, s.KW, Q, s.C}});
  out.stages.push_back({out.nhwc_input, in_shape});
  out.stages.push_back({acc, out.nhwc_shape});
}

} // namespace

bool depthwise_ok(const Window& w, const Shape& weights, DType dtype) {
  return w.groups > 1 && weights[1] == 1 && weights[0] == w.groups && w.dilation.h == 1 &&
         w.dilation.w == 1 && dtype == DType::f32 && weights[0] >= 16;
}

bool depthwise_weight_grad_ok(const Window& w, const Shape& weights, DType dtype) {
  return depthwise_ok(w, weights, dtype) && weights[0] % 16 == 0;
}

// out[n, c, oh, ow] = b[c] + sum_{kh, kw} w[c, 0, kh, kw] x[n, c, oh sh - ph + kh, ow sw - pw + kw]
void lower_depthwise_conv(const LowerCtx& ctx, const Window& win, Lowered& out) {
  const Shape &xs = ctx.in_types[0].shape, &ws = ctx.in_types[1].shape, &os = ctx.out().shape;
  DepthwiseSpec s{padded_input(ctx.in[0], xs, constant(ctx.type(), 0), ctx.name("pad")),
                  pure_func(ctx.name("nhwc_w"), 4,
                            [&](const Index& i) {
                              return at(ctx.in[1], {i[3], Expr(0), i[0], i[1]});
                            }),
                  xs[1],
                  ws[2],
                  ws[3],
                  {1, 1},
                  Shape{os[0], os[2], os[3]},
                  int32_t(win.pad.h),
                  int32_t(win.pad.w),
                  int32_t(win.stride.h),
                  int32_t(win.stride.w)};
  bool bias = ctx.in.size() == 3;
  depthwise_acc(
      ctx, s, [&](Expr c) { return bias ? at(ctx.in[2], {c}) : constant(ctx.type(), 0); }, out);
}

// dx[n, c, ih, iw] = sum of w[c, 0, kh, kw] dy[n, c, oh, ow] over the taps
// with ih = oh sh - ph + kh (and the same along w): phase (qy, qx) of dx
// reads dy's shared window with the taps phase_tap gives it (0 where the
// phase has no tap), as strided_dx_nhwc does for dense layers.
void lower_depthwise_dx(const LowerCtx& ctx, const Window& win, Lowered& out) {
  const Shape &dys = ctx.in_types[0].shape, &ws = ctx.in_types[1].shape, &xs = ctx.out().shape;
  Phases ph = phases(win.stride.h, win.pad.h, ws[2]), pw = phases(win.stride.w, win.pad.w, ws[3]);
  Halide::Func weights = pure_func(ctx.name("nhwc_w"), 4, [&](const Index& i) {
    auto [kh, hit_h] = phase_tap(ph, i[2] / pw.s, i[0]);
    auto [kw, hit_w] = phase_tap(pw, i[2] % pw.s, i[1]);
    return Halide::select(hit_h && hit_w, at(ctx.in[1], {i[3], Expr(0), kh, kw}),
                          constant(ctx.type(), 0));
  });
  DepthwiseSpec s{padded_input(ctx.in[0], dys, constant(ctx.type(), 0), ctx.name("pad")),
                  weights,
                  xs[1],
                  ph.span,
                  pw.span,
                  {ph.s, pw.s},
                  Shape{xs[0], (xs[2] + ph.s - 1) / ph.s, (xs[3] + pw.s - 1) / pw.s},
                  -ph.base,
                  -pw.base};
  depthwise_acc(
      ctx, s, [&](Expr) { return constant(ctx.type(), 0); }, out);
}

} // namespace netc::codegen
