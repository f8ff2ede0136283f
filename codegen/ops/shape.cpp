// Data movement (reshape, transpose, concat, slice, broadcast, pad) as index
// arithmetic: each output element reads one input element (concat: one of
// the inputs'; pad: or a zero). All pure Funcs, so they fuse into their
// neighbours. Indices are Int(32): a kernel's buffers stay under 2^31
// elements (Halide needs large_buffers beyond that anyway).
#include "codegen/lowering.h"

#include "ir/ops/common.h"

namespace netc::codegen {

namespace {

using Halide::Expr;

// The row-major flat index of idx in shape s (batch-aware strides).
Expr flat_index(const Shape& s, const Index& idx, const Expr& batch) {
  Expr flat = 0;
  for (int a = 0; a < s.rank(); ++a) flat = flat * extent(s, a, batch) + idx[size_t(a)];
  return flat;
}

// The index in shape s of a row-major flat index.
Index unflatten(const Shape& s, Expr flat, const Expr& batch) {
  Index idx(static_cast<size_t>(s.rank()));
  for (int a = s.rank() - 1; a >= 0; --a) {
    Expr e = extent(s, a, batch);
    idx[size_t(a)] = a == 0 ? flat : flat % e;
    flat = flat / e;
  }
  return idx;
}

// ---- reshape {shape}: same row-major elements under a new shape ----------------
// The longest common leading run of equal extents maps directly (the batch
// axis usually leads both shapes); only the rest goes through a flat index.
Lowered lower_reshape(const LowerCtx& ctx) {
  const Shape &xs = ctx.in_types[0].shape, &ys = ctx.out().shape;
  int lead = 0;
  while (lead < xs.rank() && lead < ys.rank() && xs[lead] == ys[lead]) ++lead;
  Shape xt(std::vector<int64_t>(xs.dims.begin() + lead, xs.dims.end()));
  Shape yt(std::vector<int64_t>(ys.dims.begin() + lead, ys.dims.end()));
  return {pure_func(ctx.name(), ys.rank(), [&](const Index& i) {
    Index tail(i.begin() + lead, i.end());
    Index src(i.begin(), i.begin() + lead);
    Index rest = unflatten(xt, flat_index(yt, tail, ctx.batch()), ctx.batch());
    src.insert(src.end(), rest.begin(), rest.end());
    return at(ctx.in[0], src);
  })};
}

// ---- transpose {perm}: y[i] = x[j] with j[perm[d]] = i[d] --------------------------
Lowered lower_transpose(const LowerCtx& ctx) {
  std::vector<int> perm = transpose_perm(ctx.node.attrs, ctx.in_types[0]);
  return {pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Index src(i.size());
    for (size_t d = 0; d < perm.size(); ++d) src[size_t(perm[d])] = i[d];
    return at(ctx.in[0], src);
  })};
}

// ---- concat {axis}: the inputs' bands along the axis ---------------------------
// A select over the bands; each input is read at a clamped index so that
// bounds inference never asks an input for elements outside it.
Lowered lower_concat(const LowerCtx& ctx) {
  int axis = normalize_axis(ctx.node.attrs.get_int("axis"), ctx.out());
  return {pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Expr pos = i[size_t(axis)], result;
    for (size_t k = ctx.in.size(); k-- > 0;) {
      int64_t start = 0;
      for (size_t j = 0; j < k; ++j) start += ctx.in_types[j].shape[axis];
      int64_t width = ctx.in_types[k].shape[axis];
      Index src = i;
      src[size_t(axis)] = Halide::clamp(pos - int32_t(start), 0, int32_t(width - 1));
      Expr v = at(ctx.in[k], src);
      result = result.defined() ? Halide::select(pos < int32_t(start + width), v, result) : v;
    }
    return result;
  })};
}

// ---- slice {axis, start, end}: y = x[..., start:end, ...] -----------------------
Lowered lower_slice(const LowerCtx& ctx) {
  SliceBounds b = slice_bounds(ctx.node.attrs, ctx.in_types[0]);
  return {pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Index src = i;
    src[size_t(b.axis)] = i[size_t(b.axis)] + int32_t(b.start);
    return at(ctx.in[0], src);
  })};
}

// ---- broadcast {shape}: y = x stretched by numpy's rules ------------------------
Lowered lower_broadcast(const LowerCtx& ctx) {
  const Shape &xs = ctx.in_types[0].shape, &ys = ctx.out().shape;
  return {pure_func(ctx.name(), ys.rank(),
                    [&](const Index& i) { return at(ctx.in[0], broadcast_index(xs, ys, i)); })};
}

// ---- pad {axis, before, after}: zeros around x along the axis -------------------
Lowered lower_pad(const LowerCtx& ctx) {
  const Shape& xs = ctx.in_types[0].shape;
  int axis = normalize_axis(ctx.node.attrs.get_int("axis"), ctx.in_types[0]);
  auto before = static_cast<int32_t>(ctx.node.attrs.get_int("before", 0));
  auto extent = static_cast<int32_t>(xs[axis]);
  return {pure_func(ctx.name(), ctx.out().shape.rank(), [&](const Index& i) {
    Expr pos = i[size_t(axis)] - before;
    Index src = i;
    src[size_t(axis)] = Halide::clamp(pos, 0, extent - 1);
    return Halide::select(pos >= 0 && pos < extent, at(ctx.in[0], src), constant(ctx.type(), 0));
  })};
}

const OpLowering kShapeLowerings[] = {
    {OpKind::Reshape, lower_reshape},     {OpKind::Transpose, lower_transpose},
    {OpKind::Concat, lower_concat},       {OpKind::Slice, lower_slice},
    {OpKind::Broadcast, lower_broadcast}, {OpKind::Pad, lower_pad},
};

} // namespace

std::span<const OpLowering> shape_lowerings() { return kShapeLowerings; }

} // namespace netc::codegen
