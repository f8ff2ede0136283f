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

Lowered lower_dequantize(const LowerCtx& ctx) {
  int axis = normalize_axis(ctx.node.attrs.get_int("axis", -1), ctx.out());
  auto scale = static_cast<float>(ctx.node.attrs.get_float("scale"));
  auto zp = static_cast<int32_t>(ctx.node.attrs.get_int("zero_point"));
  Func y = pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Index c{i[size_t(axis)]};
    Expr q = at(ctx.in[0], i) - zp * at(ctx.in[2], c);
    return Halide::cast<float>(q) * (scale * at(ctx.in[1], c));
  });
  return {y};
}

const OpLowering kQuantLowerings[] = {
    {OpKind::Quantize, lower_quantize},        {OpKind::QuantizeWeight, lower_quantize_weight},
    {OpKind::WeightScale, lower_weight_scale}, {OpKind::WeightColsum, lower_weight_colsum},
    {OpKind::MatMulI8, lower_matmul_i8},       {OpKind::Dequantize, lower_dequantize},
};

} // namespace

std::span<const OpLowering> quant_lowerings() { return kQuantLowerings; }

} // namespace netc::codegen
