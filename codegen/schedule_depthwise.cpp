// The depthwise weight gradient's schedule (conv_backward.cpp:
// depthwise_weight_grad_ok: groups = channels, one filter per channel): the
// NHWC two-level gradient (schedule_weight_grad_nhwc): chunks of images in
// parallel, per image dy and the padded input transposed to channels
// innermost once, and per channel block one register tile of all the taps
// (1-2 zmm x KH KW accumulators) summing the image's pixels. The dense
// tile's input-channel dimension has extent 1 here, so the tile is the
// output-channel vectors x the taps. The depthwise dx's schedule
// (schedule_depthwise_dx) is here too.
#include "codegen/ops/window.h"
#include "codegen/schedule.h"
#include "codegen/schedule_conv_detail.h"

#include <fmt/format.h>

namespace netc::codegen::conv_detail {

using Halide::TailStrategy;
using Halide::Var;

namespace {

// dW's tile may take up to 20 (HALIDE-NOTES: apps/conv_layer's 4x5): 2 zmm x 3x3 taps.
constexpr int64_t kWeightGradAccumulators = 20;

} // namespace

void schedule_weight_grad_depthwise(const KernelFuncs& k, const Lowered& l, const Shape& shape,
                                    std::string& notes) {
  Halide::Func out = k.outputs[0], dw = l.nhwc_acc, partial = l.nhwc_partial, part = l.nhwc_part,
               dy = l.nhwc_dy, input = l.nhwc_input;
  Halide::Type type = dw.output_types()[0];
  int lanes = zmm_lanes(type);
  int64_t O = shape[0], taps = shape[2] * shape[3];
  std::vector<Var> d = ir_vars(4);  // dW: ky, kx, ci, co
  std::vector<Var> p = ir_vars(5);  // part: n, ky, kx, ci, co; partial: chunk, ky, kx, ci, co
  std::vector<Var> i4 = ir_vars(4); // images: n, y, x, c
  Var coo("co_tile"), coi("co_lane");
  // 2 zmm x 9 taps = 18 accumulators for 3x3 (per pixel: 2 loads of dy, 18
  // of the input, 18 FMAs); 1 zmm when the taps are many.
  int cb = O % (2 * lanes) == 0 && 2 * taps <= kWeightGradAccumulators ? 2 * lanes : lanes;
  dw.compute_root().vectorize(d[3], lanes);
  dw.update().vectorize(d[3], lanes);
  Halide::RVar rj = partial.rvars()[0];
  partial.compute_root().vectorize(p[4], lanes).parallel(p[0]);
  partial.update()
      .split(p[4], coo, coi, cb)
      .reorder(coi, p[3], p[2], p[1], coo, rj, p[0])
      .vectorize(coi, lanes)
      .unroll(coi)
      .unroll(p[3])
      .parallel(p[0]);
  part.compute_at(partial, coo);
  schedule_part_tile(part, lanes); // (its image extent is 1: one image per tile)
  dy.compute_at(partial, rj).vectorize(i4[3], lanes, TailStrategy::GuardWithIf);
  input.compute_at(partial, rj).vectorize(i4[3], lanes, TailStrategy::GuardWithIf);
  out.parallel(ir_vars(4)[0]);
  notes += fmt::format("dW: depthwise NHWC two-level, {} zmm x {} taps tile, parallel over {} "
                       "chunks of images",
                       cb / lanes, taps, kWeightGradChunks);
}

// The depthwise dx (conv_backward.cpp: depthwise_dx): both
// axes split by the stride with the phases unrolled innermost, so that each
// phase's taps are constant and its dy loads dense vectors along the phase
// row X (dx column s X + qx); the s_w vectors of one X block are stored as
// one interleaved row of dx (Halide merges the unrolled stride-s stores).
// Tasks of (image, quarter of the channels), as the depthwise forward
// (schedule_conv.cpp), each channel's padded dy plane copied once (L1).
void schedule_depthwise_dx(const KernelFuncs& k, const Lowered& l, const Shape& shape,
                           const Shape& dy_shape, const Window& win, std::string& notes) {
  Halide::Func out = k.outputs[0], padded = l.padded;
  Halide::Type type = out.output_types()[0];
  std::vector<Var> v = ir_vars(4); // n, c, ih, iw
  int64_t C = shape[1], H = shape[2], W = shape[3];
  auto sh = static_cast<int>(win.stride.h), sw = static_cast<int>(win.stride.w);
  // (A split that divides its extent is exact; RoundUp keeps ih = s Y + qy
  // free of the clamp that ShiftInwards would add, which ih / s must see.)
  auto exact_or_guard = [](int64_t extent, int factor) {
    return extent % factor == 0 ? TailStrategy::RoundUp : TailStrategy::GuardWithIf;
  };
  Var Y("ph_row"), qy("ph_qy"), X("ph_col"), qx("ph_qx"), xo("ph_blk"), xi("ph_lane");
  Var cg("ch_group"), ci("ch"), planes("planes");
  out.split(v[3], X, qx, sw, exact_or_guard(W, sw)).split(v[2], Y, qy, sh, exact_or_guard(H, sh));
  int64_t cols = (W + sw - 1) / sw;
  int vw = vector_width(cols, type);
  if (vw > 1) {
    out.split(X, xo, xi, vw, TailStrategy::ShiftInwards).reorder(xi, qx, qy, xo, Y).vectorize(xi);
  } else {
    out.reorder(qx, qy, X, Y);
  }
  out.unroll(qx).unroll(qy);
  auto per = static_cast<int>((C + 3) / 4);
  out.split(v[1], cg, ci, per, exact_or_guard(C, per)).fuse(cg, v[0], planes).parallel(planes);
  padded.compute_at(out, ci);
  vectorize_padded(padded, dy_shape[3], type);
  notes += fmt::format("dx: depthwise by phases ({}x{}), {} lanes along the phase rows, parallel "
                       "over (image, quarter of the channels)",
                       sh, sw, vw);
}

// The direct conv next to channels-last values (passes/layout.h): a
// depthwise conv, or the single-input-channel stem. Per task (half an
// image's rows, so that a batch of one keeps both cores busy), register
// tiles of 1-2 zmm of output channels x a block of pixels along the row,
// the KH KW taps unrolled outside them: each tap loads one input vector per
// pixel (a channels-last input: dense; one input channel: a broadcast) and
// one weight vector. The padding is a per-pixel select (LowerCtx::
// channels_last_kernel: no padded copy). The weights are reordered to
// channels innermost once per call (C KH KW floats).
void schedule_direct_channels_last(const KernelFuncs& k, const Lowered& l, const Shape& shape,
                                   const Shape& ws, std::string& notes) {
  Halide::Func out = k.outputs[0], acc = l.value, weights = l.direct_weights;
  Halide::Type type = acc.output_types()[0];
  int lanes = zmm_lanes(type);
  std::vector<Var> v = ir_vars(4); // out, acc: n, o, oh, ow; weights: o, cg, kh, kw
  int64_t O = shape[1], OH = shape[2], OW = shape[3];
  int cb = O >= 2 * lanes ? 2 * lanes : lanes;
  int pb = pixel_block(OW, cb == lanes ? 8 : 4);
  int rows = static_cast<int>(OH >= 2 ? (OH + 1) / 2 : OH);
  Var yo("row_blk"), yi("row_in"), task("conv_task"), co("co_tile"), cl("co_lane"), xo("px_tile"),
      xl("px_lane");
  out.split(v[2], yo, yi, rows, TailStrategy::ShiftInwards)
      .split(v[1], co, cl, cb, TailStrategy::ShiftInwards)
      .split(v[3], xo, xl, pb, TailStrategy::ShiftInwards)
      .reorder(cl, xl, co, xo, yi, yo, v[0])
      .fuse(yo, v[0], task)
      .parallel(task)
      .vectorize(cl, lanes)
      .unroll(cl)
      .unroll(xl);
  acc.compute_at(out, co).vectorize(v[1], lanes).unroll(v[1]).unroll(v[3]);
  std::vector<Halide::RVar> r = acc.rvars(); // kw, kh, cg
  Halide::Stage upd = acc.update();
  upd.reorder(v[1], v[3], v[2], v[0], r[0], r[1], r[2])
      .vectorize(v[1], lanes)
      .unroll(v[1])
      .unroll(v[3]);
  if (ws[2] * ws[3] <= kMaxUnrolledTaps) upd.unroll(r[0]).unroll(r[1]);
  weights.compute_root()
      .reorder_storage(v[0], v[3], v[2], v[1])
      .reorder(v[0], v[3], v[2], v[1])
      .vectorize(v[0], lanes, TailStrategy::GuardWithIf);
  notes += fmt::format("conv: channels-last direct, per {}-row block, parallel over (image, "
                       "block), {}x{} register tiles ({} lanes), taps unrolled",
                       rows, cb, pb, lanes);
}

} // namespace netc::codegen::conv_detail
