// The backward ops of conv2d and the pools, as gathers: each element of the
// result sums the contributions that reach it, so every kernel is data
// parallel (no scatter) and vectorizes along the image row.
//
// A window tap k of output row o reads input row i = o s - p + k d, so the
// outputs that read input row i through tap k are o = (i + p - k d) / s when
// the division is exact; reading dy through a zero-padded view handles the o
// outside [0, OH). Sums run over the taps in an order that may differ from
// the reference's scatter, so the same terms add up in another order.
#include "codegen/ops/window.h"
#include "codegen/ops/winograd.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace netc::codegen {

namespace {

using Halide::Expr;

std::vector<int64_t> shape_attr(const Attrs& a, const std::string& name) {
  return a.get_ints(name);
}

// The output row that tap k reaches from input row i, and whether one does:
// t = i + p - k d must be a multiple of s (dy's padded view zeroes the rest).
struct Source {
  Expr row, valid;
};
Source tap_source(Expr i, Expr k, int64_t stride, int64_t pad, int64_t dilation) {
  Expr t = i + int32_t(pad) - k * int32_t(dilation);
  if (stride == 1) return {t, Halide::Internal::const_true()};
  return {t / int32_t(stride), t % int32_t(stride) == 0};
}

// The phases of a strided dx along one axis. dx row ih = s Y + q (phase q)
// is reached by the taps k = k0 + s j (k0 = (q + p) mod s, k < K) from dy
// rows Y + A - j, A = floor((q + p) / s). Over all phases these rows are
// Y + base + u for u in [0, span): one window that every phase shares, each
// phase using some of its taps (the others weigh 0).
struct Phases {
  int32_t s, p, k, base, span;
};
Phases phases(int64_t stride, int64_t pad, int64_t kernel) {
  auto s = int32_t(stride), p = int32_t(pad), k = int32_t(kernel);
  int32_t lo = INT32_MAX, hi = INT32_MIN;
  for (int32_t q = 0; q < s; ++q) {
    int32_t k0 = (q + p) % s, a = (q + p) / s;
    if (k0 >= k) continue; // no tap reaches this phase: its dx is 0
    int32_t taps = (k - k0 + s - 1) / s;
    lo = std::min(lo, a - taps + 1);
    hi = std::max(hi, a);
  }
  return {s, p, k, lo, hi - lo + 1};
}
// The tap of phase q at window offset u, and whether there is one.
std::pair<Expr, Expr> phase_tap(const Phases& ph, Expr q, Expr u) {
  Expr j = (q + ph.p) / ph.s - ph.base - u;
  Expr k = (q + ph.p) % ph.s + ph.s * j;
  return {Halide::clamp(k, 0, ph.k - 1), j >= 0 && k < ph.k};
}

// dx of a strided convolution on the NHWC path, by phases (sub-pixel
// convolution): the s_h s_w phases of dx are the output channels of one
// stride-1 convolution of the padded dy over the shared window (Phases),
// with acc channel (qy s_w + qx) C + c holding dx[n, c, s_h Y + qy, s_w X + qx].
// So the NHWC kernel and its schedule run unchanged on a
// [N, s_h s_w C, ceil(H / s_h), ceil(W / s_w)] accumulator. Only the taps
// missing from a phase are multiplied by 0: for 3x3 stride 2 pad 1, 16
// products per 9 useful, where dy with zeros inserted would take 36.
void strided_dx_nhwc(const LowerCtx& ctx, const Window& win, const Halide::Func& dy, Lowered& out) {
  const Shape &ws = ctx.in_types[1].shape, &xs = ctx.out().shape;
  int64_t C = ws[1];
  Phases ph = phases(win.stride.h, win.pad.h, ws[2]), pw = phases(win.stride.w, win.pad.w, ws[3]);
  int32_t sx = pw.s;
  auto Ci = int32_t(C);
  auto weight = [&](Expr co, Expr o, Expr u, Expr v) {
    Expr q = co / Ci, c = co % Ci;
    auto [kh, hit_h] = phase_tap(ph, q / sx, u);
    auto [kw, hit_w] = phase_tap(pw, q % sx, v);
    return Halide::select(hit_h && hit_w, at(ctx.in[1], {o, c, kh, kw}), constant(ctx.type(), 0));
  };
  Shape acc{xs[0], ph.s * pw.s * C, (xs[2] + ph.s - 1) / ph.s, (xs[3] + pw.s - 1) / pw.s};
  NhwcConvSpec spec{dy, ws[0], acc[1], ph.span, pw.span, acc, -ph.base, -pw.base};
  nhwc_conv(
      ctx, spec, weight, [&](Expr) { return constant(ctx.type(), 0); }, out);
  Halide::Func a = out.nhwc_acc;
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    Expr q = (i[2] % ph.s) * sx + i[3] % sx;
    return at(a, {i[0], i[2] / ph.s, i[3] / sx, q * Ci + i[1]});
  });
}

// dx of a depthwise convolution (one input channel per group), by phases
// along both axes: dx row ih = s Y + q is reached by the taps
// k = (q + p) mod s + s j < K from dy rows Y + (q + p) / s - j, so each phase
// sums only its own taps (3x3 stride 2 pad 1: 1, 2, 2 and 4 of them, 9 in
// all per 4 outputs), where the generic grouped path evaluated all 9 taps
// per output and masked the misses. At stride 1 (one phase, all the taps)
// the same direct sum, vectorized along the row without the generic
// path's register tiles, measured 0.76-0.84x the time of those tiles on
// mobilenet's three stride-1 layers (memory-bound: dx, dy and the epilogue's
// relu mask stream once). The value selects the phase by
// ih mod s and iw mod s; the schedule (schedule_depthwise_dx) splits both
// axes by the stride and unrolls the phases, so the selects fold away and
// each phase reads dy with dense vectors along X.
void depthwise_dx(const LowerCtx& ctx, const Window& win, Lowered& out) {
  const Shape& ws = ctx.in_types[1].shape;
  auto sh = int32_t(win.stride.h), sw = int32_t(win.stride.w);
  auto ph = int32_t(win.pad.h), pw = int32_t(win.pad.w);
  auto KH = int32_t(ws[2]), KW = int32_t(ws[3]);
  Halide::Type t = ctx.type();
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    Expr n = i[0], c = i[1], Y = i[2] / sh, X = i[3] / sw;
    // The sum of phase (qy, qx): its taps only, 0 when none reaches it,
    // taken in the reference's order (its scatter visits dy rows ascending,
    // so the taps descending). Summed ascending, mobilenet's 8-step training
    // agreement with the reference (zoo_test) drifted to 2e-3 relative.
    auto phase = [&](int32_t qy, int32_t qx) {
      Expr sum;
      int32_t th = std::max(0, (KH - (qy + ph) % sh + sh - 1) / sh);
      int32_t tw = std::max(0, (KW - (qx + pw) % sw + sw - 1) / sw);
      for (int32_t jh = th - 1; jh >= 0; --jh)
        for (int32_t jw = tw - 1; jw >= 0; --jw) {
          int32_t kh = (qy + ph) % sh + sh * jh, kw = (qx + pw) % sw + sw * jw;
          Expr dy = at(out.padded, {n, c, Y + ((qy + ph) / sh - jh), X + ((qx + pw) / sw - jw)});
          Expr term = at(ctx.in[1], {c, Expr(0), Expr(kh), Expr(kw)}) * dy;
          sum = sum.defined() ? sum + term : term;
        }
      return sum.defined() ? sum : constant(t, 0);
    };
    Expr qy = i[2] % sh, qx = i[3] % sw, value;
    for (int32_t y = sh - 1; y >= 0; --y) {
      Expr row;
      for (int32_t x = sw - 1; x >= 0; --x)
        row = row.defined() ? Halide::select(qx == x, phase(y, x), row) : phase(y, x);
      value = value.defined() ? Halide::select(qy == y, row, value) : row;
    }
    return value;
  });
}

// ---- conv2d_backward_input(dy, w) {stride, pad, dilation, groups, input_shape} ----
//   dx[n,c,ih,iw] = sum_{og, kh, kw} w[g Og + og, cg, kh, kw] dy[n, g Og + og, oh, ow]
// with g = c / Cg, cg = c % Cg and (oh, ow) the tap sources. Ungrouped, it
// is a convolution of the padded dy with the flipped kernel (when strided,
// one per phase of dx: strided_dx_nhwc), which the conv schedule runs like
// the forward pass. A depthwise dx sums each phase's own taps
// (depthwise_dx); other grouped ones take the generic gather below.
Lowered lower_conv2d_backward_input(const LowerCtx& ctx) {
  const Shape &dys = ctx.in_types[0].shape, &ws = ctx.in_types[1].shape;
  Window win = conv_window(ctx.node.attrs, ws);
  int64_t Cg = ws[1], Og = ws[0] / win.groups;
  Halide::Type t = ctx.type();
  Lowered out;
  if (pointwise_conv_ok(ctx, win, ws[2], ws[3])) {
    // dx[n, c, p] = sum_o w[o, c] dy[n, o, p]: a pointwise conv of dy.
    auto transposed = [&](Expr c, Expr o, Expr, Expr) { return at(ctx.in[1], {o, c, 0, 0}); };
    pointwise_conv(ctx, ctx.in[0], ws[0], transposed, {}, out);
    return out;
  }
  out.padded = padded_input(ctx.in[0], dys, constant(t, 0), ctx.name("pad"));
  // The same choice as the forward conv (conv.cpp): Winograd F(2x2, 3x3)
  // for 3x3 stride-1 layers with enough channels, else the direct NHWC
  // kernel. Either way a convolution of dy with the flipped kernel: dx row
  // ih reads dy row ih + ph - kh = ih - (KH - 1 - ph) + kh', kh' = KH - 1 - kh.
  bool winograd = winograd_conv_ok(win, ws[0], ws[1], ctx.out().shape, ctx.in_types[0].dtype);
  if (winograd || (nhwc_conv_ok(win, ws[0], ws[1]) && ctx.in_types[0].dtype == DType::f32)) {
    auto KH = int32_t(ws[2]), KW = int32_t(ws[3]);
    int32_t oy = KH - 1 - int32_t(win.pad.h), ox = KW - 1 - int32_t(win.pad.w);
    auto flipped = [&](Expr c, Expr o, Expr kh, Expr kw) {
      return at(ctx.in[1], {o, c, (KH - 1) - kh, (KW - 1) - kw});
    };
    Halide::Func dy = out.padded;
    out.padded = Halide::Func();
    if (win.stride.h > 1 || win.stride.w > 1) {
      strided_dx_nhwc(ctx, win, dy, out);
      return out;
    }
    if (winograd) {
      winograd_conv(ctx, {dy, ws[0], ws[1], ctx.out().shape, oy, ox},
                    winograd_kernel_transform(ctx, flipped, ctx.name("wino_u")), {}, out);
    } else {
      NhwcConvSpec spec{dy, ws[0], ws[1], ws[2], ws[3], ctx.out().shape, oy, ox};
      nhwc_conv(
          ctx, spec, flipped, [&](Expr) { return constant(t, 0); }, out);
    }
    return out;
  }
  if (depthwise_dx_ok(win, ws)) {
    depthwise_dx(ctx, win, out);
    return out;
  }
  std::vector<Halide::Var> v = ir_vars(4); // n, c, ih, iw
  Halide::RDom r(0, int32_t(ws[3]), 0, int32_t(ws[2]), 0, int32_t(Og), ctx.name("r"));
  Expr kw = r.x, kh = r.y, og = r.z;
  Expr g = win.groups == 1 ? Expr(0) : v[1] / int32_t(Cg);
  Expr cg = win.groups == 1 ? Expr(v[1]) : v[1] % int32_t(Cg);
  Expr o = g * int32_t(Og) + og;
  Source sh = tap_source(v[2], kh, win.stride.h, win.pad.h, win.dilation.h);
  Source sw = tap_source(v[3], kw, win.stride.w, win.pad.w, win.dilation.w);
  Expr term = at(ctx.in[1], {o, cg, kh, kw}) * at(out.padded, {v[0], o, sh.row, sw.row});
  if (win.stride.h > 1 || win.stride.w > 1)
    term = Halide::select(sh.valid && sw.valid, term, constant(t, 0));
  Halide::Func dx(ctx.name());
  define(dx, v, constant(t, 0));
  define(dx, v, at(dx, as_index(v)) + term);
  out.value = dx;
  out.stages.push_back({dx, ctx.out().shape});
  return out;
}

// dW on the NHWC path (HALIDE-NOTES' two-level recipe): one image's sums
//   part(co, ci, kx, ky, n) = sum_{y, x} dy(co, x, y, n) in(ci, x sx + kx, y sy + ky, n)
// over channels-innermost copies of dy and of the padded x, then
//   dW(co, ci, kx, ky) = sum_n part(co, ci, kx, ky, n),
// which groups the reference's (n, oh, ow) sum per image. Needs whole
// vectors of output channels (16, 8 or 4 lanes: inception's 8-, 12- and
// 24-channel layers took a 7-22 GFLOP/s fallback), and input channels in
// blocks of 4 (or few enough taps C KH KW <= 16 to hold them all in one
// register tile: conv1).
bool nhwc_weight_grad_ok(const Window& w, int64_t c_in, int64_t c_out, int64_t kh, int64_t kw) {
  return w.groups == 1 && w.dilation.h == 1 && w.dilation.w == 1 && c_out % 4 == 0 &&
         (c_in % 4 == 0 || c_in * kh * kw <= 16);
}

// A depthwise dW (groups = C = O, one input channel per filter: MobileNet's
// 3x3 layers) takes the same path with ci of extent 1 and output channel co
// reading input channel co, in whole zmm blocks of channels (the partial
// sums are an update, whose channel split cannot shift inwards: HALIDE-NOTES
// pitfall 2). On the generic grouped path these ran at 5-20 GFLOP/s (2.2-8.6
// ms each at batch 256); here 1.5-3x faster (bench/RESULTS.md section 14).
// (Depthwise forward and dx tiles on the same layout measured slower than
// the generic path: wip/README.md.)
bool depthwise_weight_grad_ok(const Window& w, const Shape& weights, DType dtype) {
  return w.groups > 1 && weights[1] == 1 && weights[0] == w.groups && w.dilation.h == 1 &&
         w.dilation.w == 1 && dtype == DType::f32 && weights[0] % 16 == 0;
}

void lower_weight_grad_nhwc(const LowerCtx& ctx, const Window& win, Lowered& out) {
  const Shape &xs = ctx.in_types[0].shape, &dys = ctx.in_types[1].shape;
  const Shape& ws = ctx.out().shape;
  Halide::Type t = ctx.type();
  int64_t O = ws[0], C = ws[1], KH = ws[2], KW = ws[3], OH = dys[2], OW = dys[3];
  auto sy = int32_t(win.stride.h), sx = int32_t(win.stride.w);
  bool depthwise = win.groups > 1; // part's ci has extent 1; co reads input channel co
  Halide::Func src = padded_input(ctx.in[0], xs, constant(t, 0), ctx.name("pad"));
  // IR-order indices: (n, y, x, c) for the images, (n, ky, kx, ci, co) for part.
  out.nhwc_dy = pure_func(ctx.name("nhwc_dy"), 4, [&](const Index& i) {
    return at(ctx.in[1], {i[0], i[3], i[1], i[2]});
  });
  out.nhwc_input = pure_func(ctx.name("nhwc_in"), 4, [&](const Index& i) {
    return at(src, {i[0], i[3], i[1] - int32_t(win.pad.h), i[2] - int32_t(win.pad.w)});
  });
  std::vector<Halide::Var> p = ir_vars(5); // n, ky, kx, ci, co
  Halide::RDom r(0, int32_t(OW), 0, int32_t(OH), ctx.name("rp"));
  Halide::Func part(ctx.name("part"));
  define(part, p, constant(t, 0));
  define(part, p,
         at(part, as_index(p)) + at(out.nhwc_dy, {p[0], r.y, r.x, p[4]}) *
                                     at(out.nhwc_input, {p[0], r.y * sy + p[1], r.x * sx + p[2],
                                                         depthwise ? Halide::Expr(p[4]) : p[3]}));
  std::vector<Halide::Var> v = ir_vars(4); // ky, kx, ci, co
  Halide::Func dw(ctx.name("nhwc"));
  define(dw, v, constant(t, 0));
  out.nhwc_part = part;
  out.nhwc_acc = dw;
  auto value = [&] {
    return pure_func(ctx.name(), 4, [&](const Index& i) {
      return at(dw, {i[2], i[3], i[1], i[0]});
    });
  };
  out.stages.push_back({out.nhwc_dy, Shape{kBatch, OH, OW, O}});
  out.stages.push_back(
      {out.nhwc_input, Shape{kBatch, (OH - 1) * sy + KH, (OW - 1) * sx + KW, xs[1]}});
  out.stages.push_back({part, Shape{kBatch, KH, KW, C, O}});
  if (!depthwise && C * KH * KW <= 16 && C % 4 != 0) {
    // Few taps (conv1): dW sums the images' parts directly, parallel over
    // output channel blocks (schedule_weight_grad_nhwc). Input channels in
    // blocks of 4 take the chunks below even when few: ResNet's 1x1 stride-2
    // projection 16 -> 32 measured ~0.8 ms there against ~3.5 ms here
    // (only 2 channel blocks to run in parallel, alternated runs at load ~5).
    Halide::RDom rn(0, ctx.batch(), ctx.name("rn"));
    define(dw, v, at(dw, as_index(v)) + at(part, {rn, v[0], v[1], v[2], v[3]}));
    out.stages.push_back({dw, Shape{KH, KW, C, O}});
    out.value = value();
    return;
  }
  // The images in kWeightGradChunks chunks of ceil(batch / chunks):
  //   partial(co, ci, kx, ky, chunk) = sum of part over the chunk's images,
  // which the schedule computes in parallel over the chunks, each image's
  // channels-innermost copies made once and used by every tile; then dW
  // sums the partials.
  auto chunks = int32_t(kWeightGradChunks);
  Halide::Expr per = (ctx.batch() + (chunks - 1)) / chunks;
  Halide::RDom rj(0, per, ctx.name("rj"));
  rj.where(p[0] * per + rj.x < ctx.batch());
  Halide::Func partial(ctx.name("partial"));
  define(partial, p, constant(t, 0));
  // (The clamp keeps the images that the predicate skips inside the batch
  // for bounds inference.)
  Halide::Expr image = Halide::min(p[0] * per + rj.x, ctx.batch() - 1);
  define(partial, p, at(partial, as_index(p)) + at(part, {image, p[1], p[2], p[3], p[4]}));
  Halide::RDom rc(0, chunks, ctx.name("rc"));
  define(dw, v, at(dw, as_index(v)) + at(partial, {rc, v[0], v[1], v[2], v[3]}));
  out.nhwc_partial = partial;
  out.stages.push_back({partial, Shape{kWeightGradChunks, KH, KW, C, O}});
  out.stages.push_back({dw, Shape{KH, KW, C, O}});
  out.value = value();
}

// ---- conv2d_backward_weight(x, dy) {stride, pad, dilation, groups, weight_shape} ---
//   dw[o,cg,kh,kw] = sum_{n,oh,ow} dy[n,o,oh,ow] x[n, g Cg + cg, oh sh - ph + kh dh, ...]
// over a zero-padded x, summed in the reference's order (n, oh, ow).
Lowered lower_conv2d_backward_weight(const LowerCtx& ctx) {
  const Shape &xs = ctx.in_types[0].shape, &dys = ctx.in_types[1].shape;
  const Shape& ws = ctx.out().shape;
  Window win = conv_window(ctx.node.attrs, ws);
  int64_t Cg = ws[1], Og = ws[0] / win.groups;
  Halide::Type t = ctx.type();
  Lowered out;
  if ((nhwc_weight_grad_ok(win, Cg, ws[0], ws[2], ws[3]) && ctx.in_types[0].dtype == DType::f32) ||
      depthwise_weight_grad_ok(win, ws, ctx.in_types[0].dtype)) {
    lower_weight_grad_nhwc(ctx, win, out);
    return out;
  }
  Halide::Func src = ctx.in[0];
  if (win.pad.h > 0 || win.pad.w > 0) {
    out.padded = padded_input(ctx.in[0], xs, constant(t, 0), ctx.name("pad"));
    src = out.padded;
  }
  std::vector<Halide::Var> v = ir_vars(4); // o, cg, kh, kw
  AxisRDom r = axis_rdom(dys, {0, 2, 3}, ctx.batch(), ctx.name("r"));
  Expr n = r.vars[0], oh = r.vars[1], ow = r.vars[2];
  Expr c = win.groups == 1 ? Expr(v[1]) : (v[0] / int32_t(Og)) * int32_t(Cg) + v[1];
  Expr ih = oh * int32_t(win.stride.h) - int32_t(win.pad.h) + v[2] * int32_t(win.dilation.h);
  Expr iw = ow * int32_t(win.stride.w) - int32_t(win.pad.w) + v[3] * int32_t(win.dilation.w);
  Halide::Func dw(ctx.name());
  define(dw, v, constant(t, 0));
  define(dw, v, at(dw, as_index(v)) + at(ctx.in[1], {n, v[0], oh, ow}) * at(src, {n, c, ih, iw}));
  out.value = dw;
  out.stages.push_back({dw, ws});
  return out;
}

// Sums tap(kh, kw) over a pool window's taps: unrolled into one expression
// for small windows, else an RDom stage.
template <class F>
Halide::Func sum_taps(const LowerCtx& ctx, const Window& win, F tap, std::vector<Stage>& stages) {
  std::vector<Halide::Var> v = ir_vars(4);
  Halide::Func sum(ctx.name());
  Halide::Type t = ctx.type();
  if (win.kernel.h * win.kernel.w <= kMaxUnrolledTaps) {
    Expr e = constant(t, 0);
    for (int32_t kh = 0; kh < win.kernel.h; ++kh)
      for (int32_t kw = 0; kw < win.kernel.w; ++kw) e = e + tap(v, Expr(kh), Expr(kw));
    define(sum, v, e);
    return sum;
  }
  Halide::RDom r(0, int32_t(win.kernel.w), 0, int32_t(win.kernel.h), ctx.name("r"));
  define(sum, v, constant(t, 0));
  define(sum, v, at(sum, as_index(v)) + tap(v, r.y, r.x));
  stages.push_back({sum, ctx.out().shape});
  return sum;
}

// Window rows [lo, hi) of output row o inside [0, size), as in avgpool.
Expr inside_count(Expr o, int64_t k, int64_t s, int64_t p, int64_t size) {
  Expr start = o * int32_t(s) - int32_t(p);
  return Halide::min(start + int32_t(k), int32_t(size)) - Halide::max(start, 0);
}

// ---- maxpool_backward(x, dy) {kernel, stride, pad} --------------------------------
//   dx[i] = sum of dy[o] over the windows o whose arg max is i
// The arg max of each window (a stage over dy's shape, as the flat index ih W + iw)
// is its first maximum in row-major order, starting from its first element
// inside x, exactly as the reference scans it.
Lowered lower_maxpool_backward(const LowerCtx& ctx) {
  const Shape &xs = ctx.in_types[0].shape, &dys = ctx.in_types[1].shape;
  Window win = pool_window(ctx.node.attrs);
  auto H = int32_t(xs[2]), W = int32_t(xs[3]);
  Halide::Type t = ctx.type();
  std::vector<Halide::Var> v = ir_vars(4); // n, c, oh, ow
  Expr h0 = v[2] * int32_t(win.stride.h) - int32_t(win.pad.h);
  Expr w0 = v[3] * int32_t(win.stride.w) - int32_t(win.pad.w);
  // Non-overlapping windows without padding (2x2 stride 2): every tap lies
  // inside x and every element of x in at most one window, so the taps need
  // no clamps and dx reads its one window directly (clamped indices made
  // the loads gathers: 1.5 ms on the CNN's first layer at batch 128).
  bool tiled = win.pad.h == 0 && win.pad.w == 0 && win.stride.h == win.kernel.h &&
               win.stride.w == win.kernel.w;
  auto x_at = [&](Expr h, Expr w) {
    if (tiled) return at(ctx.in[0], {v[0], v[1], h, w});
    return at(ctx.in[0], {v[0], v[1], Halide::clamp(h, 0, H - 1), Halide::clamp(w, 0, W - 1)});
  };
  // Unrolled, the arg max is one int expression; with an RDom it is a
  // (value, index) Tuple update.
  Halide::Func argmax(ctx.name("argmax"));
  Expr first_h = Halide::max(h0, 0), first_w = Halide::max(w0, 0);
  Expr best_v = x_at(first_h, first_w), best_i = first_h * W + first_w;
  // Whether the best so far is a NaN, tracked as its own state: is_nan() of
  // a value that went through fast-math selects was folded away (measured),
  // while is_nan() of a loaded value is reliable.
  Expr best_nan = Halide::is_nan(best_v);
  // As the reference scans: a greater value, or the first NaN; after a NaN
  // nothing else is taken.
  auto visit = [&](Expr h, Expr w) {
    Expr x = x_at(h, w);
    Expr inside = tiled ? Halide::Internal::const_true() : h >= 0 && h < H && w >= 0 && w < W;
    Expr take = inside && !best_nan && (Halide::is_nan(x) || x > best_v);
    best_i = Halide::select(take, h * W + w, best_i);
    best_v = Halide::select(take, x, best_v);
    best_nan = best_nan || (inside && Halide::is_nan(x));
  };
  bool unrolled = win.kernel.h * win.kernel.w <= kMaxUnrolledTaps;
  std::vector<Halide::Var> hv(v.rbegin(), v.rend());
  if (unrolled) {
    for (int32_t kh = 0; kh < win.kernel.h; ++kh)
      for (int32_t kw = 0; kw < win.kernel.w; ++kw) visit(h0 + kh, w0 + kw);
    argmax(hv) = best_i;
  } else {
    Halide::Type u8 = Halide::UInt(8);
    Halide::RDom r(0, int32_t(win.kernel.w), 0, int32_t(win.kernel.h), ctx.name("ra"));
    argmax(hv) = Halide::Tuple(best_v, best_i, Halide::cast(u8, best_nan));
    best_v = argmax(hv)[0];
    best_i = argmax(hv)[1];
    best_nan = argmax(hv)[2] != 0;
    visit(h0 + r.y, w0 + r.x);
    argmax(hv) = Halide::Tuple(best_v, best_i, Halide::cast(u8, best_nan));
  }
  Lowered out;
  out.stages.push_back({argmax, dys});
  auto index = [&](const Index& o) {
    std::vector<Expr> args(o.rbegin(), o.rend());
    return unrolled ? Expr(argmax(args)) : Expr(argmax(args)[1]);
  };
  if (tiled && unrolled) {
    auto KH = int32_t(win.kernel.h), KW = int32_t(win.kernel.w);
    auto OH = int32_t(dys[2]), OW = int32_t(dys[3]);
    out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
      // Rows and columns past the last window (H not a multiple of the
      // kernel) get no gradient.
      Expr oh = Halide::min(i[2] / KH, OH - 1), ow = Halide::min(i[3] / KW, OW - 1);
      Expr hit = i[2] < OH * KH && i[3] < OW * KW && index({i[0], i[1], oh, ow}) == i[2] * W + i[3];
      return Halide::select(hit, at(ctx.in[1], {i[0], i[1], oh, ow}), constant(t, 0));
    });
    return out;
  }
  Halide::Func dy_pad = padded_input(ctx.in[1], dys, constant(t, 0), ctx.name("dy"));
  Halide::Func dx = sum_taps(
      ctx, win,
      [&](const std::vector<Halide::Var>& i, Expr kh, Expr kw) {
        Source sh = tap_source(i[2], kh, win.stride.h, win.pad.h, 1);
        Source sw = tap_source(i[3], kw, win.stride.w, win.pad.w, 1);
        Index o{i[0], i[1], sh.row, sw.row};
        Index oc{i[0], i[1], Halide::clamp(sh.row, 0, int32_t(dys[2] - 1)),
                 Halide::clamp(sw.row, 0, int32_t(dys[3] - 1))};
        Expr hit = sh.valid && sw.valid && index(oc) == Expr(i[2]) * W + i[3];
        return Halide::select(hit, at(dy_pad, o), constant(t, 0));
      },
      out.stages);
  out.value = dx;
  return out;
}

// ---- avgpool_backward(dy) {kernel, stride, pad, count_include_pad, input_shape} --
//   dx[i] = sum over the windows o that contain i of dy[o] / D(o), D(o) being
//   |window o inside x|, or the kernel area with count_include_pad
Lowered lower_avgpool_backward(const LowerCtx& ctx) {
  const Shape& dys = ctx.in_types[0].shape;
  std::vector<int64_t> xs = shape_attr(ctx.node.attrs, "input_shape");
  Window win = pool_window(ctx.node.attrs);
  bool include_pad = count_include_pad(ctx.node.attrs);
  Halide::Type t = ctx.type();
  // Each window's share dy[o] / D(o), divided once per window in a
  // zero-bordered copy (padded_copy) that the taps read without clamps.
  Halide::Func share = pure_func(ctx.name("share"), 4, [&](const Index& o) {
    Expr count = include_pad ? Expr(int32_t(win.kernel.h * win.kernel.w))
                             : inside_count(o[2], win.kernel.h, win.stride.h, win.pad.h, xs[2]) *
                                   inside_count(o[3], win.kernel.w, win.stride.w, win.pad.w, xs[3]);
    return at(ctx.in[0], o) / Halide::cast(t, Halide::max(count, 1));
  });
  Lowered out;
  out.padded = padded_copy(share, dys, ctx.name("dy"));
  out.value = sum_taps(
      ctx, win,
      [&](const std::vector<Halide::Var>& i, Expr kh, Expr kw) {
        Source sh = tap_source(i[2], kh, win.stride.h, win.pad.h, 1);
        Source sw = tap_source(i[3], kw, win.stride.w, win.pad.w, 1);
        Expr tap = at(out.padded, {i[0], i[1], sh.row, sw.row});
        return Halide::select(sh.valid && sw.valid, tap, constant(t, 0));
      },
      out.stages);
  return out;
}

const OpLowering kConvBackwardLowerings[] = {
    {OpKind::Conv2dBackwardInput, lower_conv2d_backward_input},
    {OpKind::Conv2dBackwardWeight, lower_conv2d_backward_weight},
    {OpKind::MaxPoolBackward, lower_maxpool_backward},
    {OpKind::AvgPoolBackward, lower_avgpool_backward},
};

} // namespace

std::span<const OpLowering> conv_backward_lowerings() { return kConvBackwardLowerings; }

} // namespace netc::codegen
