// The int8 matmul schedule (matmul_i8 and its epilogue: dequantize, bias,
// relu, the next layer's quantize). The register tile is the f32 recipe's
// (HALIDE-NOTES: 2 zmm x 8 rows = 16 accumulators, reduction loop outermost
// in the tile), with one change for the u8 x i8 dot products: the update is
// vectorized over l, the 4 consecutive k of a packed group (atomic: the 4
// products of a lane are summed, a VectorReduce), and over 16 columns, so
// each accumulator zmm takes one vpdpbusd per group of 4 k:
//   per group: 2 x 64-byte loads of the packed weight, 8 broadcasts of 4 u8
//   activations, 16 vpdpbusd (64 multiply-adds each).
// The epilogue runs on the 16 i32 accumulators in registers and stores u8 (or
// f32 for the logits). Fewer than 16 columns (the logits layer): one row per
// tile, unvectorized over columns; its cost is small next to the others.
#include "codegen/schedule.h"

#include <fmt/format.h>

namespace netc::codegen {

namespace {

using Halide::TailStrategy;
using Halide::Var;

constexpr int kRows = 8;
const Var kJ("x1"), kI("x0"), kPanel("col_panel"), kRowTile("row_tile"), kColLane("col_lane"),
    kRowLane("row_lane");

template <class S>
void tile(S s, int cols, int rows, bool col_major) {
  s.tile(kJ, kI, kPanel, kRowTile, kColLane, kRowLane, cols, rows, TailStrategy::ShiftInwards);
  s.vectorize(kColLane, 16).unroll(kColLane).unroll(kRowLane);
  if (col_major)
    s.reorder(kColLane, kRowLane, kRowTile, kPanel).parallel(kPanel);
  else
    s.reorder(kColLane, kRowLane, kPanel, kRowTile).parallel(kRowTile);
}

} // namespace

bool schedule_matmul_i8(const KernelFuncs& k, std::string& notes) {
  std::optional<ValueId> mm = only_node(k, OpKind::MatMulI8);
  if (!mm) {
    notes += "int8 matmul recipe: several int8 matmuls";
    return false;
  }
  const Shape& shape = k.g.node(*mm).type.shape;
  if (k.outputs.size() != 1 || k.g.node(k.spec.outputs[0]).type.shape != shape) {
    notes += "int8 matmul recipe: the kernel's output is not the matmul's shape";
    return false;
  }
  for (ValueId v : k.spec.nodes)
    if (v != *mm && !k.ops.at(v).stages.empty()) {
      notes += fmt::format("int8 matmul recipe: %{} needs a stage of its own", v);
      return false;
    }
  int64_t M = shape[0], N = shape[1];
  Halide::Func acc = k.ops.at(*mm).value, out = k.outputs[0];
  Halide::RVar l = acc.rvars()[0], g = acc.rvars()[1];
  Halide::Stage upd = acc.update();
  if (N < 16) {
    // Narrow: rows in parallel chunks, the 4 k of a group as one VectorReduce.
    Var chunk("row_chunk"), row("row");
    out.split(kI, chunk, row, 16, TailStrategy::GuardWithIf).parallel(chunk);
    acc.compute_at(out, row);
    upd.reorder(l, kJ, g).atomic().vectorize(l);
    notes += fmt::format("int8 matmul: {} columns, rows in parallel chunks of 16", N);
    return true;
  }
  int cols = N >= 32 ? 32 : 16;
  bool col_major = (N + cols - 1) / cols >= 4;
  if (M == kBatch) {
    tile(out.specialize(k.scalars.batch >= kRows), cols, kRows, col_major);
    tile(out, cols, 1, col_major);
  } else {
    tile(out, cols, static_cast<int>(std::min<int64_t>(M, kRows)), col_major);
  }
  Var tile_loop = col_major ? kRowTile : kPanel;
  acc.compute_at(out, tile_loop);
  acc.vectorize(kJ, 16).unroll(kJ).unroll(kI);
  // The activations quantized inside this kernel (the first layer's
  // quantize, fused here as a producer): computed once per row tile into a
  // small u8 buffer, not once per use in the dot products' inner loop.
  ValueId a = k.g.node(*mm).inputs[0];
  bool quantizes_here = k.ops.count(a) > 0;
  if (quantizes_here) {
    Halide::Func qa = k.ops.at(a).value;
    qa.compute_at(out, tile_loop).vectorize(qa.args()[0], 16, TailStrategy::GuardWithIf);
  }
  // Halide's tested form of a vectorized reduction into several lanes
  // (test/correctness/vector_reductions.cpp): the reduction's RVar fused
  // inside the lane Var, the fused loop vectorized under atomic().
  Var jo("col_vec"), ji("col_lane16");
  Halide::RVar lj("k4_col_lanes");
  upd.reorder(l, kJ, kI, g).split(kJ, jo, ji, 16).fuse(l, ji, lj);
  upd.atomic().vectorize(lj).unroll(jo).unroll(kI);
  notes += fmt::format("int8 matmul: {}x{} tiles (vpdpbusd: 4 k x 16 columns), parallel over {}",
                       cols, kRows, col_major ? "column panels" : "row tiles");
  if (quantizes_here) notes += ", the activations quantized per row tile";
  return true;
}

} // namespace netc::codegen
