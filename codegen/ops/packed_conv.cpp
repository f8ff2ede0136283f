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
  const Shape &xs = ctx.in_types[0].shape, &ps = ctx.in_types[1].shape;
  WeightLayout layout = weight_layout(ctx.node.attrs);
  Window win = conv_window(ctx.node.attrs, unpacked_weight_shape(layout, ps));
  int64_t C = ps[2], O = ps[3];
  Lowered out;
  out.weights_prepacked = true;
  Halide::Func src = padded_input(ctx.in[0], xs, constant(ctx.type(), 0), ctx.name("pad"));
  auto oy = int32_t(win.pad.h), ox = int32_t(win.pad.w);
  ConvBias bias;
  if (ctx.in.size() == 3) bias = [&](Expr co) { return at(ctx.in[2], {co}); };
  if (layout == WeightLayout::winograd) {
    Halide::Func u =
        pure_func(ctx.name("wino_u"), 4, [&](const Index& i) { return at(ctx.in[1], i); });
    winograd_conv(ctx, {src, C, O, ctx.out().shape, oy, ox}, u, bias, out);
    return out;
  }
  NhwcConvSpec spec{src, C, O, ps[0], ps[1], ctx.out().shape, oy, ox};
  spec.sy = int32_t(win.stride.h);
  spec.sx = int32_t(win.stride.w);
  auto weight = [&](Expr co, Expr ci, Expr kh, Expr kw) { return at(ctx.in[1], {kh, kw, ci, co}); };
  nhwc_conv(
      ctx, spec, weight, [&](Expr co) { return bias ? bias(co) : constant(ctx.type(), 0); }, out);
  return out;
}

const OpLowering kPackedConvLowerings[] = {
    {OpKind::PackConvWeight, lower_pack_conv_weight},
    {OpKind::Conv2dPacked, lower_conv2d_packed},
};

} // namespace

std::span<const OpLowering> packed_conv_lowerings() { return kPackedConvLowerings; }

} // namespace netc::codegen
