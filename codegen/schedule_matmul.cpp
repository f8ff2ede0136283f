// The matmul schedule: HALIDE-NOTES' register-blocked recipe, which measured
// 96-100% of the FMA peak on the MLP's shapes (fc1 fwd 223-230 GFLOP/s on 2
// threads):
//   out.tile(j, i, 32, 8).vectorize(ji, 16).unroll(ji).unroll(ii)      2 zmm x 8 rows
//      .reorder(ji, ii, io, jo).parallel(jo)                           = 16 accumulators
//   acc.compute_at(out, io), its update reordered (j, i, r) and unrolled,
// so the reduction loop stays outermost and LLVM keeps the 16 accumulators in
// registers; the elementwise epilogue (bias, relu) is inlined into `out` and
// runs on the accumulators (measured free: 223-230 fused vs 205-226 separate).
// B^T is packed per column panel through a 16x16 transpose (217 GFLOP/s vs
// 64-72 for strided loads). A batch extent M below the 8-row tile gets its own
// specialization with 1-row tiles: ShiftInwards needs extent >= factor
// (pitfall 2), and batch 1 must work.
//
// A batched matmul (a stack of matrices, rank > 2: attention's q k^T and
// its product with v, dense on [batch, T, F]) tiles each matrix the same way
// and runs the fused leading axes in parallel: one task per matrix of the
// stack, each small enough to stay in L2, vectorized over N.
#include "codegen/schedule.h"

#include "ir/ops/common.h"

#include <fmt/format.h>

namespace netc::codegen {

namespace {

using Halide::TailStrategy;
using Halide::Var;

constexpr int kTileRows = 8;

struct Tiling {
  int cols;       // tile width: 2 zmm when N allows
  int lanes;      // vector width within the tile
  bool col_major; // parallel over column panels (enough of them) or row tiles
};

const Var kJ("x1"), kI("x0"), kPanel("col_panel"), kRowTile("row_tile"), kColLane("col_lane"),
    kRowLane("row_lane");

// Tiles one (specialization of the) output stage with `rows` rows per tile.
template <class S>
void tile_output(S s, const Tiling& t, int rows, bool parallel = true) {
  s.tile(kJ, kI, kPanel, kRowTile, kColLane, kRowLane, t.cols, rows, TailStrategy::ShiftInwards);
  if (t.lanes > 1) s.vectorize(kColLane, t.lanes).unroll(kColLane);
  s.unroll(kRowLane);
  if (t.col_major)
    s.reorder(kColLane, kRowLane, kRowTile, kPanel);
  else
    s.reorder(kColLane, kRowLane, kPanel, kRowTile);
  if (parallel) s.parallel(t.col_major ? kPanel : kRowTile);
}

// Below this many multiply-adds (batch x N x K, batches under the 8-row tile)
// a matmul runs on the calling thread: at batch 1 handing 16 column panels to
// the pool cost more than the product (an lstm step's x W_ih, 14k
// multiply-adds: 2.4 us in the pool, 0.5 us serial; its h W_hh, 65k: 2.1 and
// 1.9 us). Larger products were not measured, so they keep the pool.
constexpr int64_t kSerialMacs = int64_t(1) << 16;

// Packs the K x cols panel of B^T once per panel: Bop(j, k) = b(k, j) through
// b.in(), a 16x16 block staged in L1 with its storage transposed.
void pack_b(const Lowered& l, Halide::Func out, const Tiling& t, int64_t K, std::string& notes) {
  Halide::Func bop = l.packed_b;
  Var k("kdim"), ko("kdim_blk"), kk("kdim_lane");
  bop.compute_at(out, kPanel);
  if (K == kBatch || K < 16) {
    if (t.lanes > 1) bop.vectorize(kJ, t.lanes, TailStrategy::GuardWithIf);
    notes += ", B^T panel copied";
    return;
  }
  bop.split(k, ko, kk, 16, TailStrategy::ShiftInwards).reorder(kJ, kk, ko);
  if (t.lanes > 1) bop.vectorize(kJ, t.lanes).unroll(kJ);
  bop.unroll(kk);
  Halide::Func source = l.b_source;
  Halide::Func staged = source.in(bop);
  std::vector<Var> a = staged.args(); // (k, n) of b [N,K]
  staged.compute_at(bop, ko).reorder_storage(a[1], a[0]).vectorize(a[0], 16).unroll(a[1]);
  notes += ", B^T packed per panel (16x16 transposes)";
}

bool schedule_batched_matmul(const KernelFuncs& k, ValueId mm, std::string& notes) {
  const Shape& shape = k.g.node(mm).type.shape;
  int r = shape.rank();
  int64_t M = shape[r - 2], N = shape[r - 1];
  if (M == kBatch || N == kBatch) {
    notes += "batched matmul recipe: the batch is a matrix dimension";
    return false;
  }
  const Lowered& l = k.ops.at(mm);
  Halide::Func acc = l.value, out = k.outputs[0];
  Halide::Type type = acc.output_types()[0];
  int lanes = zmm_lanes(type);
  int cols = N >= 2 * lanes ? 2 * lanes : vector_width(N, type);
  int vec = std::min(cols, lanes);
  int rows = static_cast<int>(std::min<int64_t>(M, kTileRows));
  std::vector<Var> v = ir_vars(r);
  Var j = v[size_t(r - 1)], i = v[size_t(r - 2)];
  out.tile(j, i, kPanel, kRowTile, kColLane, kRowLane, cols, rows, TailStrategy::ShiftInwards);
  if (vec > 1) out.vectorize(kColLane, vec).unroll(kColLane);
  out.unroll(kRowLane);
  // Tiles inside each matrix, then the leading axes fused (outermost first)
  // into one parallel loop over the stack.
  std::vector<Halide::VarOrRVar> order{kColLane, kRowLane, kPanel, kRowTile};
  for (int a = r - 3; a >= 0; --a) order.emplace_back(v[size_t(a)]);
  out.reorder(order);
  Var stack = v[0];
  for (int a = 1; a <= r - 3; ++a) {
    Var fused(fmt::format("stack{}", a));
    out.fuse(v[size_t(a)], stack, fused);
    stack = fused;
  }
  out.parallel(stack);
  acc.compute_at(out, kPanel);
  Halide::Stage upd = acc.update();
  std::vector<Halide::VarOrRVar> upd_order{j, i, acc.rvars()[0]};
  for (int a = r - 3; a >= 0; --a) upd_order.emplace_back(v[size_t(a)]);
  upd.reorder(upd_order);
  if (vec > 1) {
    acc.vectorize(j, vec).unroll(j);
    upd.vectorize(j, vec).unroll(j);
  }
  acc.unroll(i);
  upd.unroll(i);
  notes += fmt::format("batched matmul: {}x{} tiles ({} lanes) per matrix, parallel over the "
                       "stack of {} leading axes",
                       cols, rows, vec, r - 2);
  return true;
}

} // namespace

bool schedule_matmul(const KernelFuncs& k, std::string& notes) {
  std::optional<ValueId> mm = only_node(k, OpKind::MatMul);
  if (!mm) {
    notes += "matmul recipe: several matmuls";
    return false;
  }
  const Node& node = k.g.node(*mm);
  const Shape& shape = node.type.shape;
  std::string why;
  if (!is_epilogue_kernel(k, *mm, shape, why)) {
    notes += "matmul recipe: " + why;
    return false;
  }
  if (shape.rank() > 2) return schedule_batched_matmul(k, *mm, notes);
  int64_t M = shape[0], N = shape[1];
  bool ta = flag_attr(node.attrs, "transpose_a");
  int64_t K = k.g.node(node.inputs[0]).type.shape[ta ? 0 : 1];
  if (N == kBatch) {
    notes += "matmul recipe: the batch is the column dimension";
    return false;
  }
  const Lowered& l = k.ops.at(*mm);
  Halide::Func acc = l.value, out = k.outputs[0];
  Halide::Type type = acc.output_types()[0];
  int lanes = zmm_lanes(type);
  Tiling t;
  t.cols = N >= 2 * lanes ? 2 * lanes : vector_width(N, type);
  t.lanes = std::min(t.cols, lanes);
  // Parallel over column panels when there are enough of them to share (the
  // recipe); a narrow output (logits) is parallel over row tiles instead.
  t.col_major = (N + t.cols - 1) / t.cols >= 4;

  std::string rows, serial;
  if (M == kBatch) {
    tile_output(out.specialize(k.scalars.batch >= kTileRows), t, kTileRows);
    if (K != kBatch && N * K <= kSerialMacs) {
      tile_output(out.specialize(k.scalars.batch * int(N * K) <= int(kSerialMacs)), t, 1, false);
      serial = fmt::format("; serial below {} multiply-adds", kSerialMacs);
    }
    tile_output(out, t, 1);
    rows = fmt::format("{} rows (1 when batch < {})", kTileRows, kTileRows);
  } else {
    int r = static_cast<int>(std::min<int64_t>(M, kTileRows));
    tile_output(out, t, r);
    rows = fmt::format("{} rows", r);
  }
  // The accumulators live at the innermost tile loop, whichever that is.
  acc.compute_at(out, t.col_major ? kRowTile : kPanel);
  Halide::Stage upd = acc.update();
  upd.reorder(kJ, kI, acc.rvars()[0]);
  if (t.lanes > 1) {
    acc.vectorize(kJ, t.lanes).unroll(kJ);
    upd.vectorize(kJ, t.lanes).unroll(kJ);
  }
  acc.unroll(kI);
  upd.unroll(kI);
  notes += fmt::format("matmul: {}x{} tiles ({} lanes), parallel over {}{}", t.cols, rows, t.lanes,
                       t.col_major ? "column panels" : "row tiles", serial);
  if (l.packed_b.defined()) {
    pack_b(l, out, t, K, notes);
  }
  return true;
}

} // namespace netc::codegen
