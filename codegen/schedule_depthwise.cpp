// The depthwise conv schedules (codegen/ops/depthwise.h: groups = channels).
//
// Forward and dx: the NHWC kernel's structure (schedule_conv.cpp:
// schedule_conv_nhwc): tasks of half an image's rows in parallel, each
// transposing the input rows it needs to channels innermost and computing
// its output in register tiles into an L2-resident NHWC scratch that the
// NCHW output (and its epilogue) reads back. The tile differs: a depthwise
// output has no channel sum, so it holds channel vectors x phases x pixels
// (16 accumulators), the input pixel's channel vector is the operand that
// the phases share and each tap's weights are one vector per channel block;
// the taps of a window row are unrolled so that neighbouring pixels' loads
// of one input vector are one load.
//
// dW: the NHWC two-level gradient (schedule_weight_grad_nhwc): chunks of
// images in parallel, per image dy and the padded input transposed to
// channels innermost once, and per channel block one register tile of all
// the taps (1-2 zmm x KH KW accumulators) summing the image's pixels.
#include "codegen/ops/window.h"
#include "codegen/schedule.h"
#include "codegen/schedule_conv_detail.h"

#include <fmt/format.h>

namespace netc::codegen::conv_detail {

using Halide::TailStrategy;
using Halide::Var;

namespace {

constexpr int kDepthwiseAccumulators = 16; // of 32 zmm registers (HALIDE-NOTES rule 2)
// dW's tile may take up to 20 (HALIDE-NOTES: apps/conv_layer's 4x5): 2 zmm x 3x3 taps.
constexpr int64_t kWeightGradAccumulators = 20;
// Window rows up to this wide have their taps unrolled (3x3: 7 pixels read
// 9 input vectors per row instead of 21).
constexpr int64_t kUnrolledTapColumns = 5;

} // namespace

void schedule_conv_depthwise(const KernelFuncs& k, const Lowered& l, std::optional<ValueId> pool,
                             std::string& notes) {
  const Shape& out_shape = k.g.node(k.spec.outputs[0]).type.shape;
  Halide::Func out = k.outputs[0], acc = l.nhwc_acc, input = l.nhwc_input, weights = l.nhwc_weights;
  Halide::Type type = acc.output_types()[0];
  int lanes = zmm_lanes(type);
  std::vector<Var> v = ir_vars(5); // acc: n, y, x, q, c
  Var n = v[0], y = v[1], x = v[2], q = v[3], c = v[4];
  std::vector<Var> i4 = ir_vars(4); // input and weights: c innermost; out: n, c, h, w
  int64_t X = l.nhwc_shape[2], Q = l.nhwc_shape[3], C = l.nhwc_shape[4];
  // Channel block: 2 zmm with one phase and >= 32 channels, else 1; the
  // pixel block takes the rest of the accumulators (2 zmm x 7 pixels on the
  // 28-, 14- and 7-wide rows; 1 zmm x 4 phases x 4 pixels for a stride-2 dx).
  int cb = Q == 1 && C >= 2 * lanes ? 2 * lanes : lanes;
  int pb = pixel_block(X, std::max(1, kDepthwiseAccumulators / (cb / lanes * int(Q))));
  int64_t OH = out_shape[2];
  int rows = static_cast<int>(OH >= 2 ? (OH + 1) / 2 : OH);
  Var task = split_into_tasks(out, rows, TailStrategy::ShiftInwards);
  if (int w = vector_width(out_shape[3], type); w > 1)
    out.vectorize(i4[3], w, TailStrategy::ShiftInwards);
  Halide::Func tile = acc.in();
  Var co("co_tile"), cl("co_lane"), xo("px_tile"), xl("px_lane");
  // (bound: the phases a tile reads, (h % Ph) Pw + w % Pw, span [0, Q),
  // which bounds inference cannot see through the modulos.)
  tile.compute_at(out, task)
      .bound(q, 0, int32_t(Q))
      .split(c, co, cl, cb, TailStrategy::ShiftInwards)
      .split(x, xo, xl, pb, TailStrategy::ShiftInwards)
      .reorder(cl, q, xl, xo, y, co, n)
      .vectorize(cl, lanes)
      .unroll(cl)
      .unroll(q)
      .unroll(xl);
  acc.compute_at(tile, xo).vectorize(c, lanes).unroll(c).unroll(q).unroll(x);
  std::vector<Halide::RVar> r = acc.rvars(); // kx, ky
  Halide::Stage upd = acc.update();
  upd.reorder(c, q, x, y, n, r[0], r[1])
      .vectorize(c, lanes)
      .unroll(c)
      .unroll(q)
      .unroll(x)
      .unroll(y)
      .unroll(n);
  if (const int64_t* kw = Halide::Internal::as_const_int(r[0].extent());
      kw && *kw <= kUnrolledTapColumns)
    upd.unroll(r[0]);
  input.compute_at(out, task).vectorize(i4[3], lanes, TailStrategy::GuardWithIf);
  weights.compute_root().vectorize(i4[3], lanes, TailStrategy::GuardWithIf);
  notes += fmt::format("conv: depthwise NHWC per {}-row block, parallel over (image, block), "
                       "{}x{}x{} register tiles ({} lanes)",
                       rows, cb, Q, pb, lanes);
  if (pool) schedule_nhwc_pool(k, *pool, type, out_shape[1], task, notes);
}

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

} // namespace netc::codegen::conv_detail
