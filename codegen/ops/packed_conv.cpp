// The prepacked-weights ops (ir/ops/packed_conv.cpp has the math): the
// packing is the weights stage of the conv2d kernels (codegen/ops/conv.cpp)
// on its own, and conv2d_packed is those kernels reading the packed buffer
// directly (Lowered::weights_prepacked: the schedules inline it instead of
// computing the reorder or the transform on every call).
#include "ir/ops/packed_conv.h"
#include "codegen/ops/window.h"
#include "codegen/ops/winograd.h"

namespace netc::codegen {

namespace {

using Halide::Expr;

Lowered lower_pack_conv_weight(const LowerCtx& ctx) {
  Lowered out;
  if (weight_layout(ctx.node.attrs) == WeightLayout::hwio) {
    out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
      return at(ctx.in[0], {i[3], i[2], i[0], i[1]});
    });
    return out;
  }
  auto weight = [&](Expr co, Expr ci, Expr kh, Expr kw) { return at(ctx.in[0], {co, ci, kh, kw}); };
  out.value = winograd_kernel_transform(ctx, weight, ctx.name());
  return out;
}

Lowered lower_conv2d_packed(const LowerCtx& ctx) {
  const Shape& ps = ctx.in_types[1].shape;
  WeightLayout layout = weight_layout(ctx.node.attrs);
  Shape ws = unpacked_weight_shape(layout, ps); // [O, C, KH, KW]
  Lowered out;
  out.weights_prepacked = true;
  ConvBias bias;
  if (ctx.in.size() == 3) bias = [&](Expr co) { return at(ctx.in[2], {co}); };
  auto hwio = [&](Expr co, Expr ci, Expr kh, Expr kw) { return at(ctx.in[1], {kh, kw, ci, co}); };
  Halide::Func u;
  if (layout == WeightLayout::winograd)
    u = pure_func(ctx.name("wino_u"), 4, [&](const Index& i) { return at(ctx.in[1], i); });
  conv_on_layout(ctx, layout, conv_window(ctx.node.attrs, ws), ws[1], ws[0], ws[2], ws[3], hwio, u,
                 bias, out);
  return out;
}

const OpLowering kPackedConvLowerings[] = {
    {OpKind::PackConvWeight, lower_pack_conv_weight},
    {OpKind::Conv2dPacked, lower_conv2d_packed},
};

} // namespace

std::span<const OpLowering> packed_conv_lowerings() { return kPackedConvLowerings; }

} // namespace netc::codegen
