// Matrix product {transpose_a, transpose_b: 0/1}: C[m,n] = sum_k A[m,k] B[k,n]
// where A = a, or a^T when transpose_a, and B = b, or b^T when transpose_b. The
// flags let the gradients dA = dC B^T and dB = A^T dC be single matmuls. M, K
// or N may be the batch dimension: K is the batch in the weight gradient X^T dY.
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <fmt/format.h>

namespace netc {

namespace {

// The static extents of A [M,K] and B [K,N] after the transposes.
struct MatDims {
  int64_t m, ka, kb, n;
};

MatDims mat_dims(const Attrs& attrs, const Shape& a, const Shape& b) {
  bool ta = flag_attr(attrs, "transpose_a"), tb = flag_attr(attrs, "transpose_b");
  return {ta ? a[1] : a[0], ta ? a[0] : a[1], tb ? b[1] : b[0], tb ? b[0] : b[1]};
}

// f32[batch,784] x f32[784,256] -> f32[batch,256]
TensorType shape_matmul(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &a = in[0], &b = in[1];
  require_same_float(a, b);
  if (a.shape.rank() != 2 || b.shape.rank() != 2)
    throw ShapeError(fmt::format("both inputs must be matrices (rank 2), found {} and {}",
                                 to_string(a), to_string(b)));
  MatDims d = mat_dims(attrs, a.shape, b.shape);
  if (d.ka != d.kb)
    throw ShapeError(fmt::format("inner dimensions differ: {}{} x {}{}", to_string(a.shape),
                                 flag_attr(attrs, "transpose_a") ? "^T" : "", to_string(b.shape),
                                 flag_attr(attrs, "transpose_b") ? "^T" : ""));
  return {a.dtype, checked_shape({d.m, d.n})};
}

// A multiply and an add per (m, k, n), with the batch extent taken as 1.
int64_t flops_matmul(const Node& n, std::span<const TensorType> in) {
  MatDims d = mat_dims(n.attrs, in[0].shape, in[1].shape);
  auto one = [](int64_t x) { return x == kBatch ? int64_t(1) : x; };
  return 2 * one(d.m) * one(d.ka) * one(d.n);
}

template <class T>
void ref_matmul(const Node& node, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& a = *in[0];
  const Tensor<T>& b = *in[1];
  bool ta = flag_attr(node.attrs, "transpose_a"), tb = flag_attr(node.attrs, "transpose_b");
  int64_t M = out.dim(0), N = out.dim(1), K = ta ? a.dim(0) : a.dim(1);
  // A[m,k] is a[m,k], or a[k,m] when transposed; likewise B[k,n].
  auto A = [&](int64_t m, int64_t k) { return ta ? a[k * M + m] : a[m * K + k]; };
  auto B = [&](int64_t k, int64_t n) { return tb ? b[n * K + k] : b[k * N + n]; };
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += A(m, k) * B(k, n);
      out[m * N + n] = acc;
    }
}

// C = A B: dA = dC B^T, dB = A^T dC. With A = a^T (transpose_a) the gradient
// of a is dA^T, likewise for b; (X Y)^T = Y^T X^T turns each case into one
// matmul whose flags do every transpose:
//   ta tb   C        da               db
//   0  0    a b      dC b^T           a^T dC
//   0  1    a b^T    dC b             dC^T a
//   1  0    a^T b    b dC^T           a dC
//   1  1    a^T b^T  b^T dC^T         dC^T a^T
std::vector<ValueId> grad_matmul(GradBuilder& gb, const Node& n, ValueId, ValueId dc) {
  ValueId a = n.inputs[0], b = n.inputs[1];
  bool ta = flag_attr(n.attrs, "transpose_a"), tb = flag_attr(n.attrs, "transpose_b");
  auto mm = [&gb](ValueId x, ValueId y, bool tx, bool ty) {
    return gb.op(OpKind::MatMul, {x, y},
                 Attrs{{"transpose_a", int64_t(tx)}, {"transpose_b", int64_t(ty)}});
  };
  if (!ta && !tb) return {mm(dc, b, false, true), mm(a, dc, true, false)};
  if (!ta && tb) return {mm(dc, b, false, false), mm(dc, a, true, false)};
  if (ta && !tb) return {mm(b, dc, false, true), mm(a, dc, false, false)};
  return {mm(b, dc, true, true), mm(dc, a, true, true)};
}

const OpDef kMatmulOps[] = {
    {OpKind::MatMul, 2, 2, shape_matmul, NETC_REF(ref_matmul), flops_matmul, grad_matmul},
};

} // namespace

std::span<const OpDef> matmul_op_defs() { return kMatmulOps; }

} // namespace netc
