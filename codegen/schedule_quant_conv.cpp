// The int8 convolution schedule (conv2d_i8 and its epilogue: dequantize,
// bias, relu, the next layer's quantize, a final pool). The f32 NHWC
// kernel's structure (schedule_conv.cpp: tasks of half an image, the output
// image computed in channels-innermost register tiles into a scratch, the
// NCHW output reading it back through the epilogue) with the matmul_i8
// update (schedule_quant.cpp): the 4 taps of a packed group and 16 output
// channels vectorized together under atomic(), a 64-lane u8 x i8 product
// reduced 4:1 into one zmm of int32 sums, which Halide 14 emits as one
// vpdpbusd. Per group of 4 taps a tile of cb/16 zmm x pb pixels takes
// cb/16 64-byte weight loads, pb broadcasts of 4 u8 and cb/16 x pb vpdpbusd.
#include "codegen/schedule.h"
#include "codegen/schedule_conv_detail.h"

#include <fmt/format.h>

namespace netc::codegen {

using Halide::TailStrategy;
using Halide::Var;

bool schedule_conv_i8(const KernelFuncs& k, std::string& notes) {
  std::optional<ValueId> cv = only_node(k, OpKind::Conv2dI8);
  if (!cv) {
    notes += "int8 conv recipe: several int8 convolutions";
    return false;
  }
  const Shape& shape = k.g.node(*cv).type.shape; // [N, O, OH, OW]
  std::string why;
  if (!is_epilogue_kernel(k, *cv, shape, why)) {
    notes += "int8 conv recipe: " + why;
    return false;
  }
  int64_t O = shape[1], OW = shape[3];
  if (O < 16) {
    // (16 output channels are one zmm of sums; fewer take the generic schedule.)
    notes += fmt::format("int8 conv recipe: {} output channels (< 16)", O);
    return false;
  }
  const Lowered& l = k.ops.at(*cv);
  std::optional<ValueId> pool = final_pool(k);
  const Shape& out_shape = k.g.node(k.spec.outputs[0]).type.shape;
  Halide::Func out = k.outputs[0], acc = l.nhwc_acc, input = l.nhwc_input;
  std::vector<Var> v = ir_vars(4); // out: n, o, oh, ow; NHWC Funcs: n, y, x, c
  Var n = v[0], c = v[3], x = v[2], y = v[1];
  // 2 zmm x 7 pixels or 1 zmm x 14 (HALIDE-NOTES: 14 accumulators).
  int cb = O >= 32 ? 32 : 16;
  int pb = conv_detail::pixel_block(OW, cb == 16 ? 14 : 7);
  int64_t rows_out = out_shape[2];
  int rows = static_cast<int>(rows_out >= 2 ? (rows_out + 1) / 2 : rows_out);
  Var task = conv_detail::split_into_tasks(out, rows, TailStrategy::ShiftInwards);
  Halide::Type out_type = out.output_types()[0];
  if (int w = vector_width(out_shape[3], out_type); w > 1)
    out.vectorize(v[3], w, TailStrategy::ShiftInwards);
  Halide::Func tile = acc.in();
  Var co("co_tile"), cl("co_lane"), xo("px_tile"), xl("px_lane");
  tile.compute_at(out, task)
      .split(c, co, cl, cb, TailStrategy::ShiftInwards)
      .split(x, xo, xl, pb, TailStrategy::ShiftInwards)
      .reorder(cl, xl, xo, y, co, n)
      .vectorize(cl, 16)
      .unroll(cl)
      .unroll(xl);
  acc.compute_at(tile, xo).vectorize(c, 16).unroll(c).unroll(x);
  std::vector<Halide::RVar> r = acc.rvars(); // l, g, [kx,] ky
  Halide::Stage upd = acc.update();
  std::vector<Halide::VarOrRVar> order{r[0], c, x, y, n};
  for (size_t i = 1; i < r.size(); ++i) order.push_back(r[i]);
  Var ch("co_vec"), cv16("co_lane16");
  Halide::RVar lc("tap4_co_lanes");
  upd.reorder(order).split(c, ch, cv16, 16).fuse(r[0], cv16, lc);
  upd.atomic().vectorize(lc).unroll(ch).unroll(x).unroll(y).unroll(n);
  input.compute_at(out, task).vectorize(c, 16, TailStrategy::GuardWithIf);
  // The taps repeated x16, per task: 64-byte vectors, each built once and
  // read by every channel block and overlapping window.
  Halide::Func taps = l.i8_taps;
  taps.compute_at(out, task).vectorize(taps.args()[0], 4).vectorize(taps.args()[1], 16);
  notes += fmt::format("int8 conv: NHWC per {}-row block, parallel over (image, block), {}x{} "
                       "tiles (vpdpbusd: 4 taps x 16 channels)",
                       rows, cb, pb);
  if (pool) conv_detail::schedule_nhwc_pool(k, *pool, out_type, O, task, notes);
  return true;
}

} // namespace netc::codegen
