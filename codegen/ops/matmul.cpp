// matmul {transpose_a, transpose_b}: C[m,n] = sum_k A[m,k] B[k,n]. In Halide's
// innermost-first order C is acc(j, i) with j = n, i = m, and
//   acc(j, i) = 0;  acc(j, i) += A(r, i) * B(j, r)      (r over K)
// as in HALIDE-NOTES' matmul recipe. A^T only changes how A is indexed (it
// feeds scalar broadcasts); B^T goes through packed_b(j, k) = b(k, j), which
// the matmul schedule packs per column panel (strided B^T loads ran at 64-72
// GFLOP/s against ~217 packed) and which is otherwise inlined.
//
// Batched (rank > 2): acc(j, i, l...) over the output's leading axes l, each
// operand read at its broadcast leading index; no B^T packing (the batched
// schedule keeps whole small matrices in cache instead).
#include "codegen/lowering.h"

#include "ir/ops/common.h"

namespace netc::codegen {

namespace {

Lowered lower_batched_matmul(const LowerCtx& ctx) {
  bool ta = flag_attr(ctx.node.attrs, "transpose_a"), tb = flag_attr(ctx.node.attrs, "transpose_b");
  const Shape &as = ctx.in_types[0].shape, &bs = ctx.in_types[1].shape, &cs = ctx.out().shape;
  int ra = as.rank(), rc = cs.rank();
  auto lead = [](const Shape& s) {
    return Shape(std::vector<int64_t>(s.dims.begin(), s.dims.end() - 2));
  };
  std::vector<Halide::Var> v = ir_vars(rc);
  Index lc(v.begin(), v.end() - 2);
  Halide::Expr i = v[size_t(rc - 2)], j = v[size_t(rc - 1)];
  Halide::RDom r(0, extent(as, ta ? ra - 2 : ra - 1, ctx.batch()), ctx.name("r"));
  Index ia = broadcast_index(lead(as), lead(cs), lc);
  Index ib = broadcast_index(lead(bs), lead(cs), lc);
  // A[m,k] = a[..., m, k] (a[..., k, m] when transposed); likewise B[k,n].
  ia.insert(ia.end(), {ta ? Halide::Expr(r) : i, ta ? i : Halide::Expr(r)});
  ib.insert(ib.end(), {tb ? j : Halide::Expr(r), tb ? Halide::Expr(r) : j});
  Halide::Func acc(ctx.name());
  define(acc, v, constant(ctx.type(), 0));
  std::vector<Halide::Expr> args(v.rbegin(), v.rend());
  acc(args) += at(ctx.in[0], ia) * at(ctx.in[1], ib);
  Lowered out;
  out.value = acc;
  out.stages.push_back({acc, cs});
  return out;
}

Lowered lower_matmul(const LowerCtx& ctx) {
  if (ctx.out().shape.rank() > 2) return lower_batched_matmul(ctx);
  bool ta = flag_attr(ctx.node.attrs, "transpose_a"), tb = flag_attr(ctx.node.attrs, "transpose_b");
  const Shape& as = ctx.in_types[0].shape;
  int k_axis = ta ? 0 : 1;
  Halide::Func a = ctx.in[0], b = ctx.in[1];
  std::vector<Halide::Var> v = ir_vars(2); // v[0] = i (row m), v[1] = j (column n)
  Halide::Var i = v[0], j = v[1];
  Halide::RDom r(0, extent(as, k_axis, ctx.batch()), ctx.name("r"));

  Lowered out;
  Halide::Func B(ctx.name("b"));
  if (tb) {
    // b is [N,K]: B[k,n] = b[n,k], i.e. b(k, n) in Halide order.
    Halide::Var k("kdim");
    B(j, k) = b(k, j);
    out.packed_b = B;
    out.b_source = b;
  } else {
    B = b;
  }
  Halide::Expr a_rk = ta ? a(i, r) : a(r, i); // A[m,k]: a[k,m] when transposed
  Halide::Func acc(ctx.name());
  acc(j, i) = constant(ctx.type(), 0);
  acc(j, i) += a_rk * B(j, r);
  out.value = acc;
  out.stages.push_back({acc, ctx.out().shape});
  return out;
}

const OpLowering kMatmulLowerings[] = {
    {OpKind::MatMul, lower_matmul},
};

} // namespace

std::span<const OpLowering> matmul_lowerings() { return kMatmulLowerings; }

} // namespace netc::codegen
