// Leaves: input, param, state and hyper read the kernel's ImageParam for the
// leaf (their values come from outside the kernel); constant and batch_size
// are Exprs computed in place.
#include "codegen/lowering.h"

#include "ir/error.h"

namespace netc::codegen {

namespace {

// input, param, state, hyper: the buffer itself, a Func over the IR shape.
Lowered lower_named(const LowerCtx& ctx) {
  if (!ctx.param) internal_error("a named leaf is lowered without its kernel buffer");
  return {Halide::Func(*ctx.param)};
}

// constant {value}: every element is `value`.
Lowered lower_constant(const LowerCtx& ctx) {
  Halide::Expr v = constant(ctx.type(), ctx.node.attrs.get_float("value"));
  return {pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index&) { return v; })};
}

// batch_size: the runtime batch extent, as a scalar of the output type.
Lowered lower_batch_size(const LowerCtx& ctx) {
  Halide::Expr v = Halide::cast(ctx.type(), ctx.batch());
  return {pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index&) { return v; })};
}

const OpLowering kLeafLowerings[] = {
    {OpKind::Input, lower_named},       {OpKind::Param, lower_named},
    {OpKind::State, lower_named},       {OpKind::Hyper, lower_named},
    {OpKind::Constant, lower_constant}, {OpKind::BatchSize, lower_batch_size},
};

} // namespace

std::span<const OpLowering> leaf_lowerings() { return kLeafLowerings; }

} // namespace netc::codegen
