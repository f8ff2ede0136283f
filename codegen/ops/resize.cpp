// Halide lowerings of the resize family: upsample as a pure Func (index
// arithmetic and, for bilinear, a 2x2 blend), so it fuses into its
// neighbours; upsample_backward as a gather over each source pixel's window
// of outputs (ir/ops/resize.h), so the kernel is data parallel with no
// scatter and vectorizes along the image row.
#include "codegen/ops/window.h"

#include "ir/ops/resize.h"

namespace netc::codegen {

namespace {

using Halide::Expr;
using namespace resize_geometry;

// A bilinear output row's sources (ir/ops/resize.h): h0 = num / 2s and
// l = (num mod 2s) / 2s with num = max(2 o + 1 - s, 0), h1 = min(h0 + 1, H - 1).
// The clamp is on num, not a select, so that bounds inference never asks for
// row -1.
struct LinearTaps {
  Expr h0, h1, l;
};
LinearTaps linear_taps(Expr o, int64_t scale, int64_t size, Halide::Type t) {
  auto den = int32_t(2 * scale);
  Expr num = Halide::max(2 * o + int32_t(1 - scale), 0);
  Expr h0 = num / den;
  return {h0, Halide::min(h0 + 1, int32_t(size - 1)),
          Halide::cast(t, num % den) / constant(t, double(den))};
}

// The weight with which output row o reads source row i.
Expr linear_weight(Expr o, Expr i, int64_t scale, int64_t size, Halide::Type t) {
  LinearTaps k = linear_taps(o, scale, size, t);
  Expr zero = constant(t, 0);
  return Halide::select(k.h0 == i, constant(t, 1) - k.l, zero) +
         Halide::select(k.h1 == i, k.l, zero);
}

// ---- upsample(x) {scale, mode} -----------------------------------------------------
//   nearest:  y[n,c,oh,ow] = x[n,c, oh / sh, ow / sw]
//   bilinear: y = (1 - lh) ((1 - lw) x[h0,w0] + lw x[h0,w1]) + lh ((1 - lw) x[h1,w0] + lw x[h1,w1])
// summed in the reference's order (row a, then column b).
Lowered lower_upsample(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  Scale s = scale_attr(ctx.node.attrs);
  bool bilinear = resize_mode(ctx.node.attrs) == Mode::bilinear;
  Halide::Type t = ctx.type();
  Lowered out;
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    if (!bilinear) return at(ctx.in[0], {i[0], i[1], i[2] / int32_t(s.h), i[3] / int32_t(s.w)});
    LinearTaps th = linear_taps(i[2], s.h, xs[2], t), tw = linear_taps(i[3], s.w, xs[3], t);
    Expr one = constant(t, 1);
    Expr rows[2] = {th.h0, th.h1}, cols[2] = {tw.h0, tw.h1};
    Expr wh[2] = {one - th.l, th.l}, ww[2] = {one - tw.l, tw.l};
    Expr y = constant(t, 0);
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        y = y + wh[a] * ww[b] * at(ctx.in[0], {i[0], i[1], rows[a], cols[b]});
    return y;
  });
  return out;
}

// ---- upsample_backward(dy) {scale, mode, input_shape} ------------------------------
//   nearest:  dx[n,c,ih,iw] = sum_{a < sh, b < sw} dy[n,c, ih sh + a, iw sw + b]
//   bilinear: dx[n,c,ih,iw] = sum_{oh, ow} wh(oh, ih) ww(ow, iw) dy[n,c,oh,ow]
//             over the window of outputs that read (ih, iw): oh in
//             [first_reader(ih), + 2 sh] (ir/ops/resize.h), dy zero outside.
// Taps up to kMaxUnrolledTaps are unrolled into one pure Func; more (a large
// scale) become an RDom stage.
Lowered lower_upsample_backward(const LowerCtx& ctx) {
  const Shape& dys = ctx.in_types[0].shape;
  const Shape& xs = ctx.out().shape;
  Scale s = scale_attr(ctx.node.attrs);
  bool bilinear = resize_mode(ctx.node.attrs) == Mode::bilinear;
  Halide::Type t = ctx.type();
  Halide::Func dy =
      bilinear ? padded_input(ctx.in[0], dys, constant(t, 0), ctx.name("dy")) : ctx.in[0];
  int64_t rows = bilinear ? reader_window(s.h) : s.h, cols = bilinear ? reader_window(s.w) : s.w;
  auto tap = [&](const std::vector<Halide::Var>& i, Expr kh, Expr kw) {
    if (!bilinear) return at(dy, {i[0], i[1], i[2] * int32_t(s.h) + kh, i[3] * int32_t(s.w) + kw});
    Expr oh = i[2] * int32_t(s.h) + int32_t(first_reader(0, s.h)) + kh;
    Expr ow = i[3] * int32_t(s.w) + int32_t(first_reader(0, s.w)) + kw;
    return linear_weight(oh, i[2], s.h, xs[2], t) * linear_weight(ow, i[3], s.w, xs[3], t) *
           at(dy, {i[0], i[1], oh, ow});
  };
  std::vector<Halide::Var> v = ir_vars(4);
  Halide::Func dx(ctx.name());
  Lowered out;
  if (rows * cols <= kMaxUnrolledTaps) {
    Expr e = constant(t, 0);
    for (int32_t kh = 0; kh < rows; ++kh)
      for (int32_t kw = 0; kw < cols; ++kw) e = e + tap(v, Expr(kh), Expr(kw));
    define(dx, v, e);
  } else {
    Halide::RDom r(0, int32_t(cols), 0, int32_t(rows), ctx.name("r"));
    define(dx, v, constant(t, 0));
    define(dx, v, at(dx, as_index(v)) + tap(v, r.y, r.x));
    out.stages.push_back({dx, xs});
  }
  out.value = dx;
  return out;
}

const OpLowering kResizeLowerings[] = {
    {OpKind::Upsample, lower_upsample},
    {OpKind::UpsampleBackward, lower_upsample_backward},
};

} // namespace

std::span<const OpLowering> resize_lowerings() { return kResizeLowerings; }

} // namespace netc::codegen
