// The conv2d schedules. Convolutions the lowering put on the Winograd path
// (winograd_conv_ok) get schedule_conv_winograd; those on the NHWC path
// (nhwc_conv_ok / nhwc_weight_grad_ok) get HALIDE-NOTES' kernels below
// (schedule_conv_nhwc, schedule_weight_grad_nhwc; bench/RESULTS.md has the
// measurements); the rest keep the NCHW schedules described here.
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
#include "codegen/ops/window.h"
#include "codegen/schedule.h"
#include "codegen/schedule_conv_detail.h"

#include <fmt/format.h>

namespace netc::codegen {

namespace conv_detail {

using Halide::TailStrategy;
using Halide::Var;

// The pixel block of a register tile: a divisor of the row of `extent`
// pixels (or tiles) in [4, accs] if there is one (the notes' 4x5 and 4x6
// tiles lost 10-20% to the recomputed tail), else min(extent, accs).
int pixel_block(int64_t extent, int accs) {
  int pb = static_cast<int>(std::min<int64_t>(extent, accs));
  for (int d = pb; d >= 4; --d)
    if (extent % d == 0) return d;
  return pb;
}

Var split_into_tasks(Halide::Func out, int rows, TailStrategy tail) {
  std::vector<Var> v = ir_vars(4); // n, o, oh, ow
  Var yo("row_blk"), yi("row_in"), task("conv_task");
  out.split(v[2], yo, yi, rows, tail)
      .reorder(v[3], yi, v[1], yo, v[0])
      .fuse(yo, v[0], task)
      .parallel(task);
  return task;
}

// A final pool after the NHWC or Winograd kernel: pooled in NHWC too (dense
// vectors of the O channels from the tile) into a channels-innermost scratch
// per task; the output transposes only the pooled values back to NCHW.
void schedule_nhwc_pool(const KernelFuncs& k, ValueId pool, const Halide::Type& type, int64_t O,
                        const Var& task, std::string& notes) {
  Halide::Func pf = k.ops.at(pool).value;
  std::vector<Var> v = ir_vars(4); // n, c, y, x
  pf.compute_at(k.outputs[0], task)
      .reorder_storage(v[1], v[3], v[2], v[0])
      .reorder(v[1], v[3], v[2], v[0]);
  if (int w = vector_width(O, type); w > 1) pf.vectorize(v[1], w, TailStrategy::GuardWithIf);
  notes += ", pooled in NHWC from the tile";
}

// dW's per-(image, tap) register tile: the output-channel vectors and the
// taps (and input channels) unrolled, the pixel sums outside them.
void schedule_part_tile(Halide::Func part, int lanes) {
  std::vector<Var> p = ir_vars(5); // n, ky, kx, ci, co
  std::vector<Halide::RVar> rp = part.rvars();
  part.vectorize(p[4], lanes).unroll(p[4]).unroll(p[3]).unroll(p[2]).unroll(p[1]);
  part.update()
      .reorder(p[4], p[3], p[2], p[1], p[0], rp[0], rp[1])
      .vectorize(p[4], lanes)
      .unroll(p[4])
      .unroll(p[3])
      .unroll(p[2])
      .unroll(p[1]);
}

// The padded input of the NCHW kernels, vectorized along its rows: a pure
// padded view (padded_input), or a zero-bordered copy (padded_copy: the
// zero fill, then the interior copied row by row) of rows `row` wide.
void vectorize_padded(Halide::Func padded, int64_t row, const Halide::Type& type) {
  int pw = vector_width(row, type);
  if (pw <= 1) return;
  padded.vectorize(Var("x3"), pw, TailStrategy::GuardWithIf);
  if (padded.num_update_definitions() > 0)
    padded.update().vectorize(padded.rvars()[0], pw, TailStrategy::GuardWithIf);
}

// The NCHW output of a kernel whose conv value is channels-innermost (the
// NHWC tile, Winograd's Y) reads it through blocks of 16 channels x a row
// vector transposed in registers: each block is read as channel vectors
// (dense) and stored with the row innermost, which Halide turns into
// shuffles. Read directly, each output vector gathered its pixels one load
// at a time (vinsertps): most of the 1x1 32->64 layer's time, and a quarter
// of the Winograd 16->16 28x28 layer's.
bool read_back_transposed(Halide::Func out, Halide::Func value, const Shape& out_shape,
                          const Halide::Type& type, const Var& task) {
  int lanes = zmm_lanes(type);
  // Whole zmm rows only: narrower blocks (8 pixels of a 14-wide row, 4 of a
  // 7-wide one) measured from 7% faster to 10% slower than the gathers on
  // resnet's and inception's layers.
  if (out_shape[1] < lanes || out_shape[3] < lanes) return false;
  std::vector<Var> v = ir_vars(4); // n, o, oh, ow
  Var oo("o_blk"), oi("o_lane"), wo("w_blk"), wi("w_lane");
  out.split(v[1], oo, oi, lanes, TailStrategy::ShiftInwards)
      .split(v[3], wo, wi, lanes, TailStrategy::ShiftInwards)
      .reorder(wi, oi, wo, Var("row_in"), oo, task)
      .vectorize(wi)
      .unroll(oi);
  Halide::Func tr = value.in(); // (the epilogue's Funcs are inlined into out)
  tr.compute_at(out, wo).reorder(v[1], v[3], v[2], v[0]).vectorize(v[1], lanes).unroll(v[3]);
  return true;
}

} // namespace conv_detail

namespace {

using conv_detail::pixel_block;
using conv_detail::read_back_transposed;
using conv_detail::schedule_conv_winograd;
using conv_detail::schedule_nhwc_pool;
using conv_detail::schedule_part_tile;
using conv_detail::split_into_tasks;
using conv_detail::vectorize_padded;

using Halide::TailStrategy;
using Halide::Var;

constexpr int kMaxAccumulators = 16; // of 32 zmm registers (HALIDE-NOTES rule 2)

// A forward 1x1 conv's weights W[co][ci] reordered to output channels
// innermost, at root (every call: 65K floats at mobilenet's 256 -> 256):
// in blocks of 16 co x 16 ci, each read as 16 dense rows of ci and stored as
// 16 vectors of co (Halide transposes the block in registers), parallel over
// the ci blocks. Gathered one lane at a time, the reorder was two thirds of
// that layer's time at batch 1. Needs >= `lanes` channels each way.
void transpose_pointwise_weights(Halide::Func weights, Halide::Func src, int lanes) {
  std::vector<Var> w = ir_vars(4); // weights: ky, kx, ci, co; src: co, ci, kh, kw
  Var coo("wco_blk"), coi("wco_lane"), cio("wci_blk"), cii("wci_lane");
  weights.compute_root()
      .split(w[3], coo, coi, lanes, TailStrategy::ShiftInwards)
      .split(w[2], cio, cii, lanes, TailStrategy::ShiftInwards)
      .reorder(coi, cii, coo, cio, w[1], w[0])
      .vectorize(coi)
      .unroll(cii)
      .parallel(cio);
  src.compute_at(weights, coo).vectorize(w[1], lanes).unroll(w[0]);
}

// The NHWC forward/dx kernel (HALIDE-NOTES, "Conv forward NHWC": 2 zmm x 7
// pixels = 14 accumulators, 221 GFLOP/s on 2 threads at 32->64 14x14; with
// a per-image NHWC transpose of the NCHW input, 196). Per image (parallel):
// the padded input is transposed to channels-innermost, the output image is
// computed in NHWC register tiles into a scratch (`tile`, L2-resident), and
// the kernel's NCHW output reads it back transposed, running the epilogue.
void schedule_conv_nhwc(const KernelFuncs& k, const Lowered& l, const Shape& shape,
                        std::optional<ValueId> pool, bool pointwise_weights, std::string& notes) {
  const Shape& out_shape = k.g.node(k.spec.outputs[0]).type.shape;
  Halide::Func out = k.outputs[0], acc = l.nhwc_acc, input = l.nhwc_input, weights = l.nhwc_weights;
  Halide::Type type = acc.output_types()[0];
  int lanes = zmm_lanes(type);
  std::vector<Var> v = ir_vars(4); // out: n, o, oh, ow; NHWC Funcs: n, y, x, c
  Var n = v[0], c = v[3], x = v[2], y = v[1];
  // The tile's channels and row width are the accumulator's (a strided dx
  // computes its phases as channels of a narrower image, conv_backward.cpp).
  int64_t O = l.nhwc_shape[3], OW = l.nhwc_shape[2];
  // Channel block: 2 zmm when there are >= 32 channels, else 1 (O >= 16).
  int cb = O >= 2 * lanes ? 2 * lanes : lanes;
  // Pixel block: 7 divides the 14- and 28-wide rows; up to 14 with one zmm.
  int accs = cb == lanes ? 14 : 7;
  int pb = pixel_block(OW, accs);
  // Tasks of half an image (two row blocks per image), so that a batch of
  // one still keeps both cores busy; each task transposes the input rows
  // it needs (its block plus the halo).
  // (With a pool at the end, the output's rows are pooled rows: the tile
  // covers the conv rows they need.)
  int64_t OH = out_shape[2];
  int rows = static_cast<int>(OH >= 2 ? (OH + 1) / 2 : OH);
  Var task = split_into_tasks(out, rows, TailStrategy::ShiftInwards);
  // (A strided dx's accumulator holds phases, not the output's pixels.)
  bool same_pixels =
      !pool && l.nhwc_shape == Shape{out_shape[0], out_shape[2], out_shape[3], out_shape[1]};
  // A channels-last output (passes/layout.h) stores the tile's channel
  // vectors as they are.
  bool channels_last = same_pixels && k.spec.is_channels_last(k.spec.outputs[0]);
  bool transposed =
      same_pixels && !channels_last && read_back_transposed(out, l.value, out_shape, type, task);
  if (!channels_last && !transposed)
    if (int w = vector_width(out_shape[3], type); w > 1)
      out.vectorize(v[3], w, TailStrategy::ShiftInwards);
  Var co("co_tile"), cl("co_lane"), xo("px_tile"), xl("px_lane");
  if (channels_last) {
    // The output's own register tiles, in the scratch tile's loop order (a
    // channel block's weights stay in L1 across the task's pixels): the
    // epilogue runs on the accumulators and stores channel vectors.
    out.split(v[1], co, cl, cb, TailStrategy::ShiftInwards)
        .split(v[3], xo, xl, pb, TailStrategy::ShiftInwards)
        .reorder(cl, xl, xo, Var("row_in"), co, task)
        .vectorize(cl, lanes)
        .unroll(cl)
        .unroll(xl);
    acc.compute_at(out, xo).vectorize(c, lanes).unroll(c).unroll(x);
  } else {
    Halide::Func tile = acc.in();
    tile.compute_at(out, task)
        .split(c, co, cl, cb, TailStrategy::ShiftInwards)
        .split(x, xo, xl, pb, TailStrategy::ShiftInwards)
        .reorder(cl, xl, xo, y, co, n)
        .vectorize(cl, lanes)
        .unroll(cl)
        .unroll(xl);
    acc.compute_at(tile, xo).vectorize(c, lanes).unroll(c).unroll(x);
  }
  std::vector<Halide::RVar> r = acc.rvars();
  acc.update()
      .reorder(c, x, y, n, r[0], r[1], r[2])
      .vectorize(c, lanes)
      .unroll(c)
      .unroll(x)
      .unroll(y)
      .unroll(n);
  input.compute_at(out, task).vectorize(c, lanes, TailStrategy::GuardWithIf);
  if (l.weights_prepacked) {
    // (conv2d_packed: the inner loop reads the prepacked buffer itself.)
  } else if (pointwise_weights) {
    transpose_pointwise_weights(weights, l.nhwc_weight_src, lanes);
  } else {
    weights.compute_root().vectorize(c, lanes, TailStrategy::GuardWithIf);
  }
  notes += fmt::format("conv: NHWC per {}-row block, parallel over (image, block), {}x{} "
                       "register tiles ({} lanes)",
                       rows, cb, pb, lanes);
  if (transposed) notes += ", NCHW output by register-transposed blocks";
  if (channels_last) notes += ", channels-last output";
  if (pointwise_weights) notes += ", weights transposed by register blocks";
  if (l.weights_prepacked) notes += ", weights prepacked";
  if (pool) schedule_nhwc_pool(k, *pool, type, shape[1], task, notes);
}

// dW on the NHWC path (HALIDE-NOTES: part computed per (image, tap) in a
// 4 zmm x 4 ci tile, 200-206 GFLOP/s on 2 threads at 32->64 14x14). With
// few taps (C KH KW <= 16, conv1's single input channel) the tile holds
// every tap instead: 1 zmm x C KH KW accumulators per pixel, parallel over
// output channel blocks (dW sums the images directly; bench/RESULTS.md
// section 8: bound by reading dy). Otherwise the images are summed in kWeightGradChunks chunks, in
// parallel: per image of a chunk, dy is transposed to channels innermost once (an L2-resident
// scratch) and the input padded (rows innermost: it is only broadcast), and
// every register tile of the image runs from them, adding its part to the
// chunk's partial sums (72 KB at conv2). Measured at the cnn's conv2 (batch
// 128): the tiles alone run at ~225 GFLOP/s; transposing dy and the input at
// root (gathers, then 8 reads of dy's 6.4 MB copy, one per ci tile) cost
// ~1 ms of the 5 ms.
void schedule_weight_grad_nhwc(const KernelFuncs& k, const Lowered& l, const Shape& shape,
                               std::string& notes) {
  Halide::Func out = k.outputs[0], dw = l.nhwc_acc, partial = l.nhwc_partial, part = l.nhwc_part,
               dy = l.nhwc_dy, input = l.nhwc_input;
  Halide::Type type = dw.output_types()[0];
  int64_t O = shape[0];
  // Whole vectors of output channels (nhwc_weight_grad_ok): a zmm, else a
  // ymm or xmm (Zen 4 runs ymm FMAs at the zmm rate, HALIDE-NOTES).
  int lanes = zmm_lanes(type);
  while (O % lanes != 0) lanes /= 2;
  std::vector<Var> d = ir_vars(4);  // dW: ky, kx, ci, co
  std::vector<Var> p = ir_vars(5);  // part: n, ky, kx, ci, co; partial: chunk, ky, kx, ci, co
  std::vector<Var> i4 = ir_vars(4); // images: n, y, x, c
  Var coo("co_tile"), coi("co_lane"), cio("ci_tile"), cii("ci_lane");
  dw.compute_root().vectorize(d[3], lanes);
  if (!partial.defined()) {
    // Few taps: the tile holds every tap (1 zmm x C KH KW), parallel over
    // output channel blocks, per image dy transposed for the block.
    Halide::RVar rn = dw.rvars()[0];
    dw.update()
        .split(d[3], coo, coi, lanes)
        .reorder(coi, d[2], d[1], d[0], rn, coo)
        .parallel(coo)
        .vectorize(coi, lanes)
        .unroll(coi);
    part.compute_at(dw, rn);
    dy.compute_at(dw, rn).vectorize(i4[3], lanes, TailStrategy::GuardWithIf);
    input.compute_at(dw, rn);
    schedule_part_tile(part, lanes);
    out.parallel(ir_vars(4)[0]);
    notes += "dW: NHWC two-level, 1 zmm x all taps tile, parallel over channel blocks";
    return;
  }
  Halide::RVar rj = partial.rvars()[0];
  dw.update().vectorize(d[3], lanes);
  int cob = static_cast<int>(std::min<int64_t>(O, 4 * lanes));
  while (O % cob != 0) cob -= lanes;
  // Input channels per tile: 16 accumulators in all (cob / lanes vectors
  // each), the largest such divisor of C (a multiple of 4 here). At 4 ci
  // a 1-zmm tile had 4 accumulators, one FMA's latency apart: resnet's
  // 16-channel dW ran at 168 GFLOP/s.
  int64_t C = shape[1];
  int cib = 16 / (cob / lanes);
  while (cib > 4 && C % cib != 0) --cib;
  partial.compute_root().vectorize(p[4], lanes).parallel(p[0]);
  Halide::Stage pu = partial.update();
  pu.split(p[4], coo, coi, cob)
      .split(p[3], cio, cii, cib)
      .reorder(coi, cii, p[2], p[1], cio, coo, rj, p[0])
      .unroll(cii)
      .vectorize(coi, lanes)
      .unroll(coi)
      .parallel(p[0]);
  part.compute_at(partial, p[2]);
  dy.compute_at(partial, rj).vectorize(i4[3], lanes, TailStrategy::GuardWithIf);
  input.compute_at(partial, rj)
      .reorder_storage(i4[2], i4[1], i4[3], i4[0])
      .reorder(i4[2], i4[1], i4[3], i4[0])
      .vectorize(i4[2], lanes, TailStrategy::GuardWithIf);
  schedule_part_tile(part, lanes); // (its image extent is 1 here: one image per tile)
  out.parallel(ir_vars(4)[0]);
  notes += fmt::format("dW: NHWC two-level, {} zmm x {} ci tile, parallel over {} chunks of images",
                       cob / lanes, cib, kWeightGradChunks);
}

} // namespace

bool schedule_conv(const KernelFuncs& k, std::string& notes) {
  // dx of a convolution is a convolution too (of the padded dy).
  std::optional<ValueId> cv = only_node(k, OpKind::Conv2d);
  if (!cv) cv = only_node(k, OpKind::Conv2dPacked);
  if (!cv) cv = only_node(k, OpKind::Conv2dBackwardInput);
  if (!cv) {
    notes += "conv schedule: several convolutions";
    return false;
  }
  const Node& node = k.g.node(*cv);
  const Shape& shape = node.type.shape; // [N, O, OH, OW]
  std::string why;
  if (!is_epilogue_kernel(k, *cv, shape, why)) {
    notes += "conv schedule: " + why;
    return false;
  }
  const Lowered& l = k.ops.at(*cv);
  const Shape& xs = k.g.node(node.inputs[0]).type.shape; // [N, C, H, W]
  const Shape& ws = k.g.node(node.inputs[1]).type.shape; // [O, Cg, KH, KW] (conv2d only)
  std::optional<ValueId> pool = final_pool(k);
  if (l.flat_acc.defined()) {
    conv_detail::schedule_conv_pointwise(k, *cv, shape, pool, notes);
    return true;
  }
  if (l.wino_m.defined()) {
    schedule_conv_winograd(k, l, shape, xs[1], pool, notes);
    return true;
  }
  if (l.nhwc_acc.defined()) {
    // (dx reads W[co][ci] along co already: its reorder is dense.)
    int lanes = zmm_lanes(l.nhwc_acc.output_types()[0]);
    // (From 128 x 128 weights up: at batch 1, mobilenet's 256 -> 256 layer
    // took 0.53x the time, 128 -> 128 0.94x, but 64 -> 128 0.97x and 32 ->
    // 64 1.04-1.24x, where the reorder is too small to pay for its tasks.)
    bool pointwise = node.op == OpKind::Conv2d && ws[2] * ws[3] == 1 && ws[0] >= lanes &&
                     ws[1] >= lanes && ws[0] * ws[1] >= 128 * 128 && l.nhwc_weight_src.defined();
    schedule_conv_nhwc(k, l, shape, pool, pointwise, notes);
    return true;
  }
  if (node.op == OpKind::Conv2dBackwardInput && depthwise_dx_ok(conv_window(node.attrs, ws), ws)) {
    if (pool) {
      notes += "conv schedule: a depthwise dx with a pool";
      return false;
    }
    conv_detail::schedule_depthwise_dx(k, l, shape, xs, conv_window(node.attrs, ws), notes);
    return true;
  }
  // A depthwise (or one-input-channel) conv next to channels-last values
  // (passes/layout.h) computes across channels instead of along rows.
  bool channels_last =
      k.spec.is_channels_last(k.spec.outputs[0]) || k.spec.is_channels_last(node.inputs[0]);
  if (channels_last && !pool && node.op == OpKind::Conv2d && ws[1] == 1 &&
      l.direct_weights.defined()) {
    conv_detail::schedule_direct_channels_last(k, l, shape, ws, notes);
    return true;
  }
  bool depthwise =
      node.op == OpKind::Conv2d && ws[1] == 1 && conv_window(node.attrs, ws).groups > 1;
  // With a final pool, the register tiles below write the conv's epilogue
  // (the pool's input) into a per-image scratch, which the pool reads.
  Halide::Func acc = l.value, out = k.outputs[0], pooled;
  if (pool) {
    pooled = out;
    ValueId in = k.g.node(*pool).inputs[0];
    out = in == *cv ? acc.in() : k.ops.at(in).value;
  }
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
  if (pool) {
    pooled.parallel(v[0]);
    const Shape& ps = k.g.node(*pool).type.shape;
    if (int pw = vector_width(ps[3], type); pw > 1)
      pooled.vectorize(v[3], pw, TailStrategy::ShiftInwards);
    out.compute_at(pooled, v[0]);
    if (Halide::Func padded = l.padded; padded.defined()) {
      padded.compute_at(pooled, v[0]);
      vectorize_padded(padded, xs[3], type);
    }
    notes += "conv: per image into a scratch that the pool reads, parallel over images";
  } else if (Halide::Func padded = l.padded; padded.defined() && depthwise) {
    // Each channel block reads its own input channels only: the padded
    // planes are copied per (image, block), and both cores work at batch 1
    // (per image, a depthwise layer ran on one core).
    // Four tasks an image: per 4-channel block, the 7x7 layers' tasks were
    // too small (256 channels: 1.7x slower at batch 256).
    Var planes("planes"), og("o_group");
    int blocks = static_cast<int>((O + oc_n - 1) / oc_n);
    out.split(ot, og, ot, std::max(1, (blocks + 3) / 4), TailStrategy::GuardWithIf)
        .fuse(og, n, planes)
        .parallel(planes);
    padded.compute_at(out, planes);
    vectorize_padded(padded, xs[3], type);
    notes += "conv: padded planes per (image, channel block), parallel over both";
  } else if (Halide::Func padded = l.padded; padded.defined()) {
    out.parallel(n);
    padded.compute_at(out, n);
    vectorize_padded(padded, xs[3], type);
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
  const Lowered& nl = k.ops.at(*dw_node);
  // (The NHWC dW takes one group, or one channel per group: depthwise.)
  bool grouped = conv_window(k.g.node(*dw_node).attrs, shape).groups > 1;
  if (nl.nhwc_acc.defined() && grouped) {
    conv_detail::schedule_weight_grad_depthwise(k, nl, shape, notes);
    return true;
  } else if (nl.nhwc_acc.defined()) {
    schedule_weight_grad_nhwc(k, nl, shape, notes);
    return true;
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
