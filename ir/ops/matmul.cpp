// Matrix product {transpose_a, transpose_b: 0/1}: C[m,n] = sum_k A[m,k] B[k,n]
// where A = a, or a^T when transpose_a, and B = b, or b^T when transpose_b. The
// flags let the gradients dA = dC B^T and dB = A^T dC be single matmuls. M, K
// or N may be the batch dimension: K is the batch in the weight gradient X^T dY.
//
// Batched (torch.matmul for operands of rank >= 2): the last two axes are the
// matrices, the leading axes numpy-broadcast against each other, and the
// transposes swap only the last two axes:
//   a [..., M, K] x b [..., K, N] -> C [broadcast(...), M, N]
// Attention's scores q k^T are matmul(q, transpose(k, (0,1,3,2))) on
// [batch, heads, T, d]; dense on [batch, T, F] is [batch, T, F] x W [F, units].
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <fmt/format.h>

namespace netc {

namespace {

// The static extents of A [M,K] and B [K,N] after the transposes (the last
// two axes of each operand).
struct MatDims {
  int64_t m, ka, kb, n;
};

MatDims mat_dims(const Attrs& attrs, const Shape& a, const Shape& b) {
  bool ta = flag_attr(attrs, "transpose_a"), tb = flag_attr(attrs, "transpose_b");
  int ra = a.rank(), rb = b.rank();
  int64_t a0 = a[ra - 2], a1 = a[ra - 1], b0 = b[rb - 2], b1 = b[rb - 1];
  return {ta ? a1 : a0, ta ? a0 : a1, tb ? b1 : b0, tb ? b0 : b1};
}

// The leading (batch-of-matrices) axes of t: all but the last two.
TensorType lead_type(const TensorType& t) {
  return {t.dtype, Shape(std::vector<int64_t>(t.shape.dims.begin(), t.shape.dims.end() - 2))};
}

// f32[batch,784] x f32[784,256] -> f32[batch,256];
// f32[batch,4,T,16] x f32[batch,4,16,T] -> f32[batch,4,T,T]
TensorType shape_matmul(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &a = in[0], &b = in[1];
  require_same_float(a, b);
  if (a.shape.rank() < 2 || b.shape.rank() < 2)
    throw ShapeError(fmt::format("both inputs must be matrices or stacks of them (rank 2 or "
                                 "more), found {} and {}",
                                 to_string(a), to_string(b)));
  MatDims d = mat_dims(attrs, a.shape, b.shape);
  if (d.ka != d.kb)
    throw ShapeError(fmt::format("inner dimensions differ: {}{} x {}{}", to_string(a.shape),
                                 flag_attr(attrs, "transpose_a") ? "^T" : "", to_string(b.shape),
                                 flag_attr(attrs, "transpose_b") ? "^T" : ""));
  std::vector<int64_t> dims;
  try {
    dims = broadcast_shape(lead_type(a), lead_type(b)).dims;
  } catch (const ShapeError&) {
    throw ShapeError(fmt::format("the leading (batch) axes do not broadcast: {} x {}",
                                 to_string(a.shape), to_string(b.shape)));
  }
  dims.push_back(d.m);
  dims.push_back(d.n);
  return {a.dtype, checked_shape(std::move(dims))};
}

// A multiply and an add per (m, k, n) of each matrix in the stack, with the
// batch extent taken as 1.
int64_t flops_matmul(const Node& n, std::span<const TensorType> in) {
  MatDims d = mat_dims(n.attrs, in[0].shape, in[1].shape);
  auto one = [](int64_t x) { return x == kBatch ? int64_t(1) : x; };
  int64_t stack = 1;
  for (int64_t x : lead_type(n.type).shape.dims) stack *= one(x);
  return 2 * stack * one(d.m) * one(d.ka) * one(d.n);
}

template <class T>
void ref_matmul(const Node& node, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& a = *in[0];
  const Tensor<T>& b = *in[1];
  bool ta = flag_attr(node.attrs, "transpose_a"), tb = flag_attr(node.attrs, "transpose_b");
  int ro = out.rank();
  int64_t M = out.dim(ro - 2), N = out.dim(ro - 1),
          K = ta ? a.dim(a.rank() - 2) : a.dim(a.rank() - 1);
  // Matrix l of the output stack multiplies matrices la[l] of a and lb[l] of
  // b, their leading axes broadcast onto the output's.
  auto lead = [](const std::vector<int64_t>& s) {
    return std::vector<int64_t>(s.begin(), s.end() - 2);
  };
  std::vector<int64_t> lo = lead(out.shape);
  std::vector<int64_t> la = broadcast_offsets(lead(a.shape), lo);
  std::vector<int64_t> lb = broadcast_offsets(lead(b.shape), lo);
  for (size_t l = 0; l < la.size(); ++l) {
    const T* pa = a.data.data() + la[l] * M * K;
    const T* pb = b.data.data() + lb[l] * K * N;
    T* pc = out.data.data() + int64_t(l) * M * N;
    // A[m,k] is a[m,k], or a[k,m] when transposed; likewise B[k,n].
    auto A = [&](int64_t m, int64_t k) { return ta ? pa[k * M + m] : pa[m * K + k]; };
    auto B = [&](int64_t k, int64_t n) { return tb ? pb[n * K + k] : pb[k * N + n]; };
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        T acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += A(m, k) * B(k, n);
        pc[m * N + n] = acc;
      }
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
// Batched, the same products run per matrix of the output's stack; an
// operand broadcast along leading axes (a weight shared by every example)
// gets the sum over them: da = sum over stretched axes of dC b^T (unbroadcast).
std::vector<ValueId> grad_matmul(GradBuilder& gb, const Node& n, ValueId, ValueId dc) {
  ValueId a = n.inputs[0], b = n.inputs[1];
  bool ta = flag_attr(n.attrs, "transpose_a"), tb = flag_attr(n.attrs, "transpose_b");
  auto mm = [&gb](ValueId x, ValueId y, bool tx, bool ty) {
    return gb.op(OpKind::MatMul, {x, y},
                 Attrs{{"transpose_a", int64_t(tx)}, {"transpose_b", int64_t(ty)}});
  };
  // da before db: the backward graph's node order (and the dumps) follow it.
  ValueId da, db;
  if (!ta && !tb) {
    da = mm(dc, b, false, true);
    db = mm(a, dc, true, false);
  } else if (!ta && tb) {
    da = mm(dc, b, false, false);
    db = mm(dc, a, true, false);
  } else if (ta && !tb) {
    da = mm(b, dc, false, true);
    db = mm(a, dc, false, false);
  } else {
    da = mm(b, dc, true, true);
    db = mm(dc, a, true, true);
  }
  return {gb.unbroadcast(da, gb.type(a)), gb.unbroadcast(db, gb.type(b))};
}

const OpDef kMatmulOps[] = {
    {OpKind::MatMul, 2, 2, shape_matmul, NETC_REF(ref_matmul), flops_matmul, grad_matmul},
};

} // namespace

std::span<const OpDef> matmul_op_defs() { return kMatmulOps; }

} // namespace netc
