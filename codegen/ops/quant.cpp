// Halide lowerings of the quantized inference ops (ir/ops/quant.cpp has the
// math and the references). Halide order is innermost first: a dense layer's
// sums are acc(j, i) (j = column n, i = row m), the packed weight is
// wq(l, j, g) for k = 4 g + l, and
//   acc(j, i) += i32(a(4 g + l, i)) * i32(wq(l, j, g))     over (l, g)
// which codegen/schedule_quant.cpp vectorizes over l (4, atomic) and j (16)
// so that LLVM gets a 64-lane u8 x i8 product reduced 4:1 into 16 i32 lanes:
// Halide 14's x86 backend matches that VectorReduce to vpdpbusd when the
// target has avx512_sapphirerapids (CodeGen_X86.cpp: "dpbusdx16").
#include "codegen/lowering.h"
#include "codegen/ops/window.h"

#include "ir/ops/common.h"

namespace netc::codegen {

namespace {

using Halide::Expr;
using Halide::Func;
using Halide::Var;

Expr inv_scale(const LowerCtx& ctx) {
  return Expr(static_cast<float>(1.0 / ctx.node.attrs.get_float("scale")));
}

Lowered lower_quantize(const LowerCtx& ctx) {
  Expr inv = inv_scale(ctx);
  auto zp = static_cast<float>(ctx.node.attrs.get_int("zero_point"));
  Func q = pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Expr v = Halide::round(at(ctx.in[0], i) * inv) + zp;
    return Halide::cast<uint8_t>(Halide::clamp(v, 0.0f, 255.0f));
  });
  return {q};
}

// max_k |w(j, k)| per column j: a stage over [N].
Stage column_amax(const LowerCtx& ctx) {
  const Shape& ws = ctx.in_types[0].shape;
  Func amax(ctx.name("amax"));
  Var j("x0");
  Halide::RDom r(0, static_cast<int>(ws[0]), ctx.name("r"));
  amax(j) = 0.0f;
  amax(j) = Halide::max(amax(j), Halide::abs(ctx.in[0](j, r)));
  return {amax, Shape{ws[1]}};
}

Lowered lower_quantize_weight(const LowerCtx& ctx) {
  auto K = static_cast<int>(ctx.in_types[0].shape[0]);
  Stage amax = column_amax(ctx);
  Func q(ctx.name());
  Var l("x2"), j("x1"), g("x0");
  Expr k = 4 * g + l;
  Expr a = amax.f(j);
  Expr inv = Halide::select(a > 0.0f, 127.0f / a, 0.0f);
  Expr v = Halide::clamp(Halide::round(ctx.in[0](j, Halide::min(k, K - 1)) * inv), -127.0f, 127.0f);
  q(l, j, g) = Halide::select(k < K, Halide::cast<int8_t>(v), Halide::cast<int8_t>(0));
  return {q, {amax}};
}

Lowered lower_weight_scale(const LowerCtx& ctx) {
  Stage amax = column_amax(ctx);
  Func s(ctx.name());
  Var j("x0");
  s(j) = amax.f(j) * (1.0f / 127.0f); // as the reference rounds it
  return {s, {amax}};
}

Lowered lower_weight_colsum(const LowerCtx& ctx) {
  const Shape& ws = ctx.in_types[0].shape;
  Func s(ctx.name());
  Var j("x0");
  Halide::RDom r(0, 4, 0, static_cast<int>(ws[0]), ctx.name("r"));
  s(j) = 0;
  s(j) += Halide::cast<int32_t>(ctx.in[0](r.x, j, r.y));
  return {s, {{s, Shape{ws[1]}}}};
}

Lowered lower_matmul_i8(const LowerCtx& ctx) {
  auto K = static_cast<int>(ctx.in_types[0].shape[1]);
  auto K4 = static_cast<int>(ctx.in_types[1].shape[0]);
  Func a = ctx.in[0], w = ctx.in[1];
  Var j("x1"), i("x0");
  Halide::RDom r(0, 4, 0, K4, ctx.name("r")); // r.x = l, r.y = g
  Expr k = 4 * r.y + r.x;
  // K not a multiple of 4: the padded weights are 0, but a must not be read
  // past its row.
  Expr ak = K % 4 == 0
                ? a(k, i)
                : Halide::select(k < K, a(Halide::min(k, K - 1), i), Halide::cast<uint8_t>(0));
  Func acc(ctx.name());
  acc(j, i) = 0;
  acc(j, i) += Halide::cast<int32_t>(ak) * Halide::cast<int32_t>(w(r.x, j, r.y));
  Lowered out;
  out.value = acc;
  out.stages.push_back({acc, ctx.out().shape});
  return out;
}

// conv2d_i8 (ir/ops/quant.cpp has the math), channels innermost like the f32
// NHWC kernel (codegen/ops/window.h): the input becomes xin(c, x, y, n), the
// image inside a border of zero points, and the sums
//   acc(o, x, y, n) += i32(xin(tap)) * i32(w(l, o, g, ky))     over (l, g, [kx,] ky)
// with l the 4 taps of a packed group innermost, so that the schedule
// (codegen/schedule_quant_conv.cpp) vectorizes (l, 16 o) into one vpdpbusd.
// With C a multiple of 4 a group is 4 channels of one pixel (kx a loop of
// its own); otherwise the group's taps k = 4 g + l of row ky are pixel
// k / C, channel k % C (C = 1: 4 consecutive pixels), and the taps past the
// row (k >= KW C, zero weights) read real pixels or zero points, which the
// zero weights cancel.
Lowered lower_conv2d_i8(const LowerCtx& ctx) {
  const Shape &xs = ctx.in_types[0].shape, &ws = ctx.in_types[1].shape;
  Window win = pool_window(ctx.node.attrs); // {kernel, stride, pad}
  int64_t C = xs[1], KG = ws[1], O = ws[2];
  const Shape& ys = ctx.out().shape;
  auto zp = Halide::cast<uint8_t>(static_cast<int>(ctx.node.attrs.get_int("zero_point")));
  auto sy = int32_t(win.stride.h), sx = int32_t(win.stride.w);
  // Pixels a row of taps spans: KW, or more when the last group runs past it.
  int64_t span = std::max<int64_t>(win.kernel.w, (4 * KG - 1) / C + 1);
  Shape in_shape{kBatch, (ys[2] - 1) * sy + win.kernel.h, (ys[3] - 1) * sx + span, C};
  Halide::Func src = padded_input(ctx.in[0], xs, zp, ctx.name("pad"));
  Lowered out;
  out.nhwc_input = pure_func(ctx.name("nhwc_in"), 4, [&](const Index& i) {
    return at(src, {i[0], i[3], i[1] - int32_t(win.pad.h), i[2] - int32_t(win.pad.w)});
  });
  std::vector<Halide::Var> v = ir_vars(4); // n, y, x, o
  Expr n = v[0], y = v[1], x = v[2], o = v[3];
  // The 4 u8 taps of a group repeated 16 times, taps(l, rep, ...) = tap l:
  // the update reads taps(l, o % 16, ...), a dense 64-byte load when 16
  // channels o are vectorized with the 4 taps l. (Broadcasting the 4 bytes
  // inside the update made LLVM build each operand of vpdpbusd from ~10 byte
  // shuffles.) Every rep holds the same taps, so a tile not aligned to 16
  // channels stays correct.
  Halide::Var l4("l4"), rep("rep"), yy("yy"), nn("nn");
  Halide::Func taps(ctx.name("taps"));
  Expr act, wq;
  if (C % 4 == 0) {
    // taps(l, rep, g, px, yy, n): channel 4 g + l of pixel px.
    auto C4 = int32_t(C / 4);
    Halide::Var g("g"), px("px");
    taps(l4, rep, g, px, yy, nn) = at(out.nhwc_input, {nn, yy, px, 4 * g + l4});
    Halide::RDom r(0, 4, 0, C4, 0, int32_t(win.kernel.w), 0, int32_t(win.kernel.h), ctx.name("r"));
    act = taps(r[0], o % 16, r[1], x * sx + r[2], y * sy + r[3], n);
    wq = at(ctx.in[1], {r[3], r[2] * C4 + r[1], o, r[0]});
  } else {
    // taps(l, rep, j, yy, n): tap j + l of the row flattened as j = px C + c
    // (C = 1: 4 consecutive pixels).
    Halide::Var j("j");
    Expr k = j + l4;
    Expr px = C == 1 ? k : k / int32_t(C), c = C == 1 ? Expr(0) : k % int32_t(C);
    taps(l4, rep, j, yy, nn) = at(out.nhwc_input, {nn, yy, px, c});
    Halide::RDom r(0, 4, 0, int32_t(KG), 0, int32_t(win.kernel.h), ctx.name("r"));
    act = taps(r[0], o % 16, x * (sx * int32_t(C)) + 4 * r[1], y * sy + r[2], n);
    wq = at(ctx.in[1], {r[2], r[1], o, r[0]});
  }
  out.i8_taps = taps;
  Halide::Func acc(ctx.name("nhwc"));
  define(acc, v, Expr(0));
  define(acc, v, at(acc, as_index(v)) + Halide::cast<int32_t>(act) * Halide::cast<int32_t>(wq));
  out.nhwc_acc = acc;
  out.nhwc_shape = Shape{ys[0], ys[2], ys[3], O};
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    return at(acc, {i[0], i[2], i[3], i[1]});
  });
  out.stages.push_back({out.nhwc_input, in_shape});
  out.stages.push_back({acc, out.nhwc_shape});
  return out;
}

Lowered lower_dequantize(const LowerCtx& ctx) {
  int axis = normalize_axis(ctx.node.attrs.get_int("axis", -1), ctx.out());
  auto scale = static_cast<float>(ctx.node.attrs.get_float("scale"));
  auto zp = static_cast<int32_t>(ctx.node.attrs.get_int("zero_point"));
  Func y = pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Index c{i[size_t(axis)]};
    Expr q = at(ctx.in[0], i) - zp * at(ctx.in[2], c);
    // strict: LLVM must not contract the product with a following bias add
    // into one FMA, which rounds once where the reference rounds twice (seen
    // as 1 of 464,128 next-layer u8 values off by one in an int8 conv layer).
    return Halide::strict_float(Halide::cast<float>(q) * (scale * at(ctx.in[1], c)));
  });
  return {y};
}

const OpLowering kQuantLowerings[] = {
    {OpKind::Quantize, lower_quantize},        {OpKind::QuantizeWeight, lower_quantize_weight},
    {OpKind::WeightScale, lower_weight_scale}, {OpKind::WeightColsum, lower_weight_colsum},
    {OpKind::MatMulI8, lower_matmul_i8},       {OpKind::Dequantize, lower_dequantize},
    {OpKind::Conv2dI8, lower_conv2d_i8},
};

} // namespace

std::span<const OpLowering> quant_lowerings() { return kQuantLowerings; }

} // namespace netc::codegen
