// The conv2d schedule (NCHW, correctness first; the NHWC kernels of
// HALIDE-NOTES, 2 zmm x 7 pixels at ~221 GFLOP/s, are a later issue). Each
// output plane (one image, one output channel) accumulates in a small buffer,
// vectorized along the output row; the padded input is copied once per image
// (the recipe's pad.compute_at(out, n): no selects in the hot loop) and the
// images run in parallel; without padding the (image, channel) planes do.
#include "codegen/schedule.h"

#include <fmt/format.h>

namespace netc::codegen {

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
  std::vector<Halide::Var> v = ir_vars(4);
  Halide::Var n = v[0], o = v[1], oh = v[2], ow = v[3];
  int w = vector_width(shape[3], type);
  if (w > 1) out.vectorize(ow, w, Halide::TailStrategy::ShiftInwards);
  if (Halide::Func padded = l.padded; padded.defined()) {
    out.parallel(n);
    padded.compute_at(out, n);
    const Shape& xs = k.g.node(k.g.node(*cv).inputs[0]).type.shape;
    if (int pw = vector_width(xs[3], type); pw > 1)
      padded.vectorize(ow, pw, Halide::TailStrategy::GuardWithIf);
    acc.compute_at(out, o);
    notes += "conv: padded image per batch element, parallel over images";
  } else {
    Halide::Var planes("planes");
    out.fuse(o, n, planes).parallel(planes);
    acc.compute_at(out, planes);
    notes += "conv: parallel over (image, channel) planes";
  }
  // Per output row, all taps: the row's accumulators are reused across the
  // whole reduction while the input rows stream through.
  Halide::Stage upd = acc.update();
  std::vector<Halide::RVar> r = acc.rvars();
  upd.reorder(ow, r[0], r[1], r[2], oh);
  if (w > 1) {
    acc.vectorize(ow, w, Halide::TailStrategy::GuardWithIf);
    upd.vectorize(ow, w, Halide::TailStrategy::GuardWithIf);
  }
  notes += fmt::format(", {}-wide rows", w);
  return true;
}

} // namespace netc::codegen
