// The matmul gradient against central differences in double (relative error
// < 1e-6) for all four transpose flag combinations, with the batch as M, as
// K (the weight-gradient shape X^T dY) and as N, and all-static shapes; at
// batch 1 and 3. Also: the rule emits matmuls only (the flags do every
// transpose).
#include "grad_check.h"

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

// Operands of C[M,N] = A[M,K] B[K,N] stored as a = A or A^T, b = B or B^T.
std::vector<Operand> operands(int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
  return {param(ta ? Shape{k, m} : Shape{m, k}), param(tb ? Shape{n, k} : Shape{k, n})};
}

Attrs flags(bool ta, bool tb) {
  return Attrs{{"transpose_a", int64_t(ta)}, {"transpose_b", int64_t(tb)}};
}

} // namespace

TEST_CASE("grad: matmul, every transpose flag, the batch as M, K or N") {
  struct Dims {
    int64_t m, k, n;
  };
  const Dims dims[] = {
      {B, 3, 4}, // activations times weights
      {3, B, 4}, // K = batch: the weight gradient X^T dY
      {3, 4, B}, // the batch last
      {2, 3, 5}, // all static
      {1, 1, 1}, // degenerate
      {B, 2, B}, // an outer product over the batch
  };
  for (const Dims& d : dims)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int64_t batch : {1, 3}) {
          INFO("M=", d.m, " K=", d.k, " N=", d.n, " ta=", ta, " tb=", tb, " batch ", batch);
          CHECK(op_gradient_error(OpKind::MatMul, operands(d.m, d.k, d.n, ta, tb), flags(ta, tb),
                                  batch) < kTol);
        }
}

TEST_CASE("grad: batched matmul, broadcast leading axes summed, odd shapes, batch 1 and 3") {
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {
      {{B, 2, 3, 5}, {B, 2, 5, 3}}, // attention-like stacks
      {{B, 3, 5}, {5, 4}},          // dense on [batch, T, F]: dW sums over the stack
      {{3, 5}, {B, 5, 2}},          // a broadcast instead
      {{2, 1, 3, 4}, {3, 4, 5}},    // extent-1 and missing leading axes
      {{1, 3, 4}, {B, 4, 2}},
  };
  for (const Case& c : cases)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int64_t batch : {1, 3}) {
          auto swap_last = [](Shape s, bool t) {
            if (t) std::swap(s.dims[s.dims.size() - 1], s.dims[s.dims.size() - 2]);
            return s;
          };
          std::vector<Operand> ops = {param(swap_last(c.a, ta)), param(swap_last(c.b, tb))};
          INFO("a=", to_string(c.a), " b=", to_string(c.b), " ta=", ta, " tb=", tb, " batch ",
               batch);
          CHECK(op_gradient_error(OpKind::MatMul, ops, flags(ta, tb), batch) < kTol);
        }
}

TEST_CASE("grad: matmul's gradient is two matmuls, no transposes") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Graph g;
      GraphBuilder b(g);
      ValueId a =
          b.leaf(OpKind::Param, {DType::f32, ta ? Shape{3, B} : Shape{B, 3}}, Attrs{{"name", "a"}});
      ValueId w =
          b.leaf(OpKind::Param, {DType::f32, tb ? Shape{4, 3} : Shape{3, 4}}, Attrs{{"name", "w"}});
      ValueId c = b.op(OpKind::MatMul, {a, w}, flags(ta, tb));
      g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {c}), {}};
      int forward = g.size();
      Differentiated d = differentiate(g);
      int matmuls = 0;
      for (ValueId v = forward; v < d.graph.size(); ++v) {
        OpKind k = d.graph.node(v).op;
        CHECK(k != OpKind::Transpose);
        matmuls += k == OpKind::MatMul;
      }
      CHECK(matmuls == 2);
    }
}
