// The conv2d schedules (NCHW, correctness first; HALIDE-NOTES' NHWC kernels,
// 2 zmm x 7 pixels at ~221 GFLOP/s, are a later issue).
//
// Forward and dx (a convolution of the padded dy): HALIDE-NOTES rule 3
// applied to NCHW. The accumulators of a register tile (up to 2 vectors along
// the output row x R rows x Oc output channels, <= 16 registers) are computed
// at the tile with their pure dims unrolled and the whole reduction (cg, kh,
// kw) outside them, so they stay in registers while each input row vector is
// reused by Oc channels and each weight broadcast by every vector of the
// tile. A plain per-plane accumulation (reduction inside, a store-to-load
// chain per tap) measured 2.5 GFLOP/s on the 32->64 14x14 layer. The padded
// input is copied once per image (pad.compute_at(out, n): no selects in the
// hot loop) and the images run in parallel.
//
// dW: the sum over (n, oh, ow) is rfactored along ow, so that the partial
// sums of one (o, cg) form a 2-vector x KH x KW register tile updated per
// (n, oh) with the row vectors of dy and of the shifted input.
#include "codegen/schedule.h"

#include <fmt/format.h>

namespace netc::codegen {

namespace {

using Halide::TailStrategy;
using Halide::Var;

constexpr int kMaxAccumulators = 16; // of 32 zmm registers (HALIDE-NOTES rule 2)

} // namespace

bool schedule_conv(const KernelFuncs& k, std::string& notes) {
  // dx of a convolution is a convolution too (of the padded dy).
  std::optional<ValueId> cv = only_node(k, OpKind::Conv2d);
  if (!cv) cv = only_node(k, OpKind::Conv2dBackwardInput);
  if (!cv) {
    notes += "conv schedule: several convolutions";
    return false;
  }
  const Shape& shape = k.g.node(*cv).type.shape; // [N, O, OH, OW]
  std::string why;
  if (!is_epilogue_kernel(k, *cv, shape, why)) {
    notes += "conv schedule: " + why;
    return false;
  }
  const Lowered& l = k.ops.at(*cv);
  Halide::Func acc = l.value, out = k.outputs[0];
  Halide::Type type = acc.output_types()[0];
  std::vector<Var> v = ir_vars(4);
  Var n = v[0], o = v[1], oh = v[2], ow = v[3];
  Var ot("o_tile"), oc("o_lane"), rt("row_tile"), rr("row_lane"), wt("col_tile"), wl("col_lane");
  // The register tile: tw columns (1-2 vectors of w), R rows, Oc channels.
  int64_t O = shape[1], OH = shape[2], OW = shape[3];
  int w = vector_width(OW, type);
  int64_t vectors = std::min<int64_t>(2, std::max<int64_t>(1, OW / w));
  int tw = static_cast<int>(w * vectors);
  int oc_n = static_cast<int>(std::min<int64_t>(O, 4));
  int rows = static_cast<int>(
      std::clamp<int64_t>(kMaxAccumulators / (vectors * oc_n), 1, std::min<int64_t>(OH, 8)));
  // ShiftInwards: every factor is <= its extent, and pure outputs may
  // recompute the few overlapping elements of the last tile.
  out.split(ow, wt, wl, tw, TailStrategy::ShiftInwards)
      .split(oh, rt, rr, rows, TailStrategy::ShiftInwards)
      .split(o, ot, oc, oc_n, TailStrategy::ShiftInwards)
      .reorder(wl, rr, oc, wt, rt, ot, n);
  if (w > 1) out.vectorize(wl, w);
  out.unroll(wl).unroll(rr).unroll(oc);
  if (Halide::Func padded = l.padded; padded.defined()) {
    out.parallel(n);
    padded.compute_at(out, n);
    const Shape& xs = k.g.node(k.g.node(*cv).inputs[0]).type.shape;
    if (int pw = vector_width(xs[3], type); pw > 1)
      padded.vectorize(ow, pw, TailStrategy::GuardWithIf);
    notes += "conv: padded image per batch element, parallel over images";
  } else {
    Var planes("planes");
    out.fuse(ot, n, planes).parallel(planes);
    notes += "conv: parallel over (image, channel block)";
  }
  acc.compute_at(out, wt);
  Halide::Stage upd = acc.update();
  std::vector<Halide::RVar> r = acc.rvars();
  upd.reorder(ow, oh, o, r[0], r[1], r[2]);
  if (w > 1) {
    acc.vectorize(ow, w);
    upd.vectorize(ow, w);
  }
  acc.unroll(ow).unroll(oh).unroll(o);
  upd.unroll(ow).unroll(oh).unroll(o);
  notes += fmt::format(", {}x{}x{} register tiles ({} lanes)", tw, rows, oc_n, w);
  return true;
}

bool schedule_conv_weight_grad(const KernelFuncs& k, std::string& notes) {
  std::optional<ValueId> dw_node = only_node(k, OpKind::Conv2dBackwardWeight);
  if (!dw_node) {
    notes += "dW schedule: several weight gradients";
    return false;
  }
  const Shape& shape = k.g.node(*dw_node).type.shape; // [O, Cg, KH, KW]
  std::string why;
  if (!is_epilogue_kernel(k, *dw_node, shape, why)) {
    notes += "dW schedule: " + why;
    return false;
  }
  const Node& node = k.g.node(*dw_node);
  const Shape& dys = k.g.node(node.inputs[1]).type.shape;
  const Lowered& l = k.ops.at(*dw_node);
  Halide::Func dw = l.value, out = k.outputs[0];
  Halide::Type type = dw.output_types()[0];
  std::vector<Var> v = ir_vars(4);          // o, cg, kh, kw
  std::vector<Halide::RVar> r = dw.rvars(); // ow, oh, n
  int64_t OW = dys[3];
  int w = vector_width(OW, type);
  Var lane("ow_lane");
  // part(lane, kw, kh, cg, o) = sum over (oh, n) of the terms with ow = lane.
  Halide::Func part = dw.update().rfactor(r[0], lane);
  dw.compute_root().parallel(v[0]);
  dw.update().parallel(v[0]);
  // Lanes innermost in storage too, so the tile is whole vectors.
  part.compute_at(dw, v[1]).reorder_storage(lane, v[3], v[2], v[1], v[0]);
  Halide::Stage pu = part.update();
  std::vector<Halide::RVar> pr = part.rvars();
  pu.reorder({lane, v[3], v[2], pr[0], pr[1]});
  // Vectors that divide the row (14 of a 28-wide row; LLVM pads 14 lanes to
  // 16): a guarded tail would be a masked store that keeps LLVM from holding
  // the tile in registers.
  int d = static_cast<int>(std::min<int64_t>(OW, zmm_lanes(type)));
  while (OW % d != 0) --d;
  if (d >= 4) {
    w = d;
    part.vectorize(lane, w);
    pu.vectorize(lane, w).unroll(lane);
  } else if (w > 1) {
    part.vectorize(lane, w, TailStrategy::GuardWithIf);
    pu.vectorize(lane, w, TailStrategy::GuardWithIf).unroll(lane);
  }
  if (shape[2] * shape[3] * ((OW + w - 1) / w) <= 2 * kMaxAccumulators)
    pu.unroll(v[3]).unroll(v[2]);
  if (Halide::Func padded = l.padded; padded.defined()) {
    padded.compute_root().parallel(Var("x0"));
    padded.vectorize(Var("x3"), vector_width(dys[3], type), TailStrategy::GuardWithIf);
  }
  out.parallel(v[0]);
  notes += fmt::format("dW: rfactor along the output row ({} lanes), parallel over output "
                       "channels",
                       w);
  return true;
}

} // namespace netc::codegen
