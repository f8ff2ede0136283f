// The pointwise conv over flattened pixels (codegen/ops/window.h,
// pointwise_conv): per image, the output channels times the H W pixels,
// each a sum over the input channels of a broadcast weight times a dense
// vector of input pixels. HALIDE-NOTES rule 3 with the pixels as the vector
// dimension: a register tile of 2 pixel vectors x 8 output channels (16
// accumulators) is computed with the channel sum outside it, into a scratch
// holding the task's channels for the whole image (L1/L2-resident), which
// the kernel's output (and epilogue) then reads row by row. Both sides are
// NCHW, so nothing is transposed.
#include "codegen/schedule.h"
#include "codegen/schedule_conv_detail.h"

#include <fmt/format.h>

namespace netc::codegen::conv_detail {

using Halide::TailStrategy;
using Halide::Var;

void schedule_conv_pointwise(const KernelFuncs& k, ValueId conv, const Shape& shape,
                             std::optional<ValueId> pool, std::string& notes) {
  const Lowered& l = k.ops.at(conv);
  Halide::Func out = k.outputs[0], acc = l.flat_acc;
  Halide::Type type = acc.output_types()[0];
  int lanes = zmm_lanes(type);
  int64_t O = shape[1], HW = shape[2] * shape[3];
  std::vector<Var> v = ir_vars(4); // out: n, o, y, x
  // Two tasks an image, one per half of the output channels: a batch of one
  // keeps both cores busy, and each half's scratch stays small.
  Var half("o_half"), oh("o_in"), task("conv_task");
  auto half_extent = static_cast<int>((O + 1) / 2);
  out.split(v[1], half, oh, half_extent, TailStrategy::ShiftInwards)
      .reorder(v[3], v[2], oh, half, v[0])
      .fuse(half, v[0], task)
      .parallel(task);
  const Shape& os = k.g.node(k.spec.outputs[0]).type.shape;
  if (int w = vector_width(os[3], type); w > 1) out.vectorize(v[3], w, TailStrategy::ShiftInwards);
  if (pool) {
    // The pool's input (the conv's epilogue) per task, which the pool's
    // taps read instead of recomputing the epilogue per tap.
    if (ValueId in = k.g.node(*pool).inputs[0]; in != conv) {
      Halide::Func pre = k.ops.at(in).value;
      pre.compute_at(out, task);
      if (int w = vector_width(shape[3], type); w > 1)
        pre.vectorize(v[3], w, TailStrategy::ShiftInwards);
    }
  }
  // The tile: pixel blocks of 2 vectors (1 for images under 32 pixels) x up
  // to 16 / vectors output channels; ShiftInwards recomputes the overlap of
  // the last block, which only the scratch sees. (4 vectors x 4 channels
  // and 3 x 8 measured the same on inception's layers, 1.01-1.03x: they are
  // bound by memory traffic, not by the tile.)
  int vectors = HW >= 2 * lanes ? 2 : 1;
  int block = vectors * lanes;
  int oc = std::min(half_extent, 16 / vectors);
  std::vector<Var> t = ir_vars(3); // n, o, p
  Var to("o_tile"), tl("o_lane"), po("px_tile"), pl("px_lane");
  Halide::Func tile = acc.in();
  tile.compute_at(out, task)
      .split(t[1], to, tl, oc, TailStrategy::ShiftInwards)
      .split(t[2], po, pl, block, TailStrategy::ShiftInwards)
      .reorder(pl, tl, po, to, t[0])
      .vectorize(pl, lanes)
      .unroll(pl)
      .unroll(tl);
  acc.compute_at(tile, po).vectorize(t[2], lanes).unroll(t[2]).unroll(t[1]);
  std::vector<Halide::RVar> r = acc.rvars();
  acc.update()
      .reorder(t[2], t[1], t[0], r[0])
      .vectorize(t[2], lanes)
      .unroll(t[2])
      .unroll(t[1])
      .unroll(t[0]);
  notes += fmt::format("conv: 1x1 over flattened pixels (NCHW), parallel over (image, channel "
                       "half), {}x{} register tiles ({} lanes)",
                       block, oc, lanes);
  if (l.weights_prepacked) notes += ", weights prepacked";
}

} // namespace netc::codegen::conv_detail
