#include "codegen/schedule_conv_detail.h"

#include <fmt/format.h>

namespace netc::codegen::conv_detail {

using Halide::TailStrategy;
using Halide::Var;

// Winograd F(2x2, 3x3) (codegen/ops/winograd.h). Tasks of (image, half of
// the tile rows), parallel; per task, each stage L2-resident (cnn conv2:
// input 20 KB, V 57 KB, M 115 KB):
//   the padded input transposed to channels innermost;
//   V = B^T d B per tile, channel vectors, the 16 positions unrolled;
//   M = U V for each position: a small matrix product over the input
//     channels in 2 zmm x 7 tile register blocks (the NHWC kernel's tile,
//     HALIDE-NOTES rule 3; position outermost, so that its 8 KB slice of U
//     stays in L1), into a scratch of the task's tiles;
//   Y = bias + A^T M A per tile and output channel vector: stored (the
//     kernel's NCHW output reads it by register-transposed blocks, a
//     channels-last output as channel vectors) or, with
//     a final pool, inlined into the pool, which reads whole 2x2 tiles as
//     channel vectors.
// U = G g G^T and the bias are computed at root (64x32x16 floats at conv2),
// unless U comes prepacked (conv2d_packed: once per weights change).
// (In parallel over the input channels, U made resnet's layers 14-27%
// slower at batch 1.)
// Task rows are split with GuardWithIf, not ShiftInwards: an overlapping
// last block would recompute a whole row of tiles (1/7 of conv2's work).
void schedule_conv_winograd(const KernelFuncs& k, const Lowered& l, const Shape& shape, int64_t C,
                            std::optional<ValueId> pool, std::string& notes) {
  const Shape& out_shape = k.g.node(k.spec.outputs[0]).type.shape;
  Halide::Func out = k.outputs[0], m = l.wino_m, input = l.wino_input, vt = l.wino_v, ut = l.wino_u,
               bias = l.wino_bias, yt = l.wino_y;
  Halide::Type type = m.output_types()[0];
  int lanes = zmm_lanes(type);
  std::vector<Var> v = ir_vars(4); // out: n, o, oh, ow; input: n, y, x, c
  std::vector<Var> w = ir_vars(6); // V, M: n, nu, xi, ty, tx, c|o; Y: n, ty, tx, dy, dx, o
  int64_t O = shape[1], TH = (shape[2] + 1) / 2, TW = (shape[3] + 1) / 2;
  // Output rows per task: half of the tile rows (2 conv rows, or one 2x2
  // pooled row, per tile row).
  int64_t task_tiles = (TH + 1) / 2;
  int64_t OH = out_shape[2];
  int rows = static_cast<int>(pool ? (OH + 1) / 2 : 2 * task_tiles);
  rows = static_cast<int>(std::min<int64_t>(rows, OH));
  Var task = split_into_tasks(out, rows, TailStrategy::GuardWithIf);
  // A channels-last output (passes/layout.h) stores Y's channel vectors as they are.
  bool channels_last = !pool && k.spec.is_channels_last(k.spec.outputs[0]);
  bool transposed =
      !pool && !channels_last && read_back_transposed(out, l.value, out_shape, type, task);
  if (channels_last)
    out.reorder(v[1], v[3], Var("row_in")).vectorize(v[1], lanes, TailStrategy::ShiftInwards);
  else if (!transposed)
    if (int vw = vector_width(out_shape[3], type); vw > 1)
      out.vectorize(v[3], vw, TailStrategy::ShiftInwards);
  // Channel vectors (guarded tails) of the input and V (c), U and Y (o).
  int cw = vector_width(C, type);
  input.compute_at(out, task).vectorize(v[3], cw, TailStrategy::GuardWithIf);
  Var vo("wv_tile"), vl("wv_lane");
  vt.compute_at(out, task)
      .bound(w[2], 0, 4)
      .bound(w[1], 0, 4)
      .split(w[5], vo, vl, cw, TailStrategy::GuardWithIf)
      .reorder(vl, w[2], w[1], vo, w[4], w[3], w[0])
      .vectorize(vl)
      .unroll(w[2])
      .unroll(w[1]);
  Var uo("wu_tile"), ul("wu_lane");
  std::vector<Var> u = ir_vars(4); // U: nu, xi, c, o
  if (!l.weights_prepacked)
    ut.compute_root()
        .bound(u[1], 0, 4)
        .bound(u[0], 0, 4)
        .split(u[3], uo, ul, lanes, TailStrategy::GuardWithIf)
        .reorder(ul, u[1], u[0], uo, u[2])
        .vectorize(ul)
        .unroll(u[1])
        .unroll(u[0]);
  if (bias.defined())
    bias.compute_root().vectorize(ir_vars(1)[0], lanes, TailStrategy::GuardWithIf);
  // The register tile: cb output channels (1-2 zmm) x pb tiles of a row.
  int cb = O >= 2 * lanes ? 2 * lanes : lanes;
  int pb = pixel_block(TW, cb == lanes ? 14 : 7);
  Halide::Func mt = m.in();
  Var mo("co_tile"), ml("co_lane"), to("px_tile"), tl("px_lane");
  mt.compute_at(out, task)
      .split(w[5], mo, ml, cb, TailStrategy::ShiftInwards)
      .split(w[4], to, tl, pb, TailStrategy::ShiftInwards)
      .reorder(ml, tl, to, w[3], mo, w[2], w[1], w[0])
      .vectorize(ml, lanes)
      .unroll(ml)
      .unroll(tl);
  m.compute_at(mt, to).vectorize(w[5], lanes).unroll(w[5]).unroll(w[4]);
  m.update()
      .reorder(w[5], w[4], w[3], w[2], w[1], w[0], m.rvars()[0])
      .vectorize(w[5], lanes)
      .unroll(w[5])
      .unroll(w[4])
      .unroll(w[3])
      .unroll(w[2])
      .unroll(w[1])
      .unroll(w[0]);
  if (!pool) {
    Var yvo("wy_tile"), yvl("wy_lane");
    yt.compute_at(out, task)
        .bound(w[3], 0, 2)
        .bound(w[4], 0, 2)
        .split(w[5], yvo, yvl, lanes, TailStrategy::GuardWithIf)
        .reorder(yvl, w[4], w[3], yvo, w[2], w[1], w[0])
        .vectorize(yvl)
        .unroll(w[4])
        .unroll(w[3]);
  }
  notes += fmt::format("conv: Winograd F(2x2,3x3) per {} tile rows, parallel over (image, block), "
                       "{}x{} register tiles ({} lanes)",
                       task_tiles, cb, pb, lanes);
  if (transposed) notes += ", NCHW output by register-transposed blocks";
  if (channels_last) notes += ", channels-last output";
  if (l.weights_prepacked) notes += ", U prepacked";
  if (pool) schedule_nhwc_pool(k, *pool, type, O, task, notes);
}

} // namespace netc::codegen::conv_detail
