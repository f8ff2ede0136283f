// matmul: shapes with the batch as M, N or K and with the transpose flags,
// rejections that name both shapes, values in float and double, and FLOPs.
#include "op_test_helpers.h"

using namespace netc;
using namespace netc::op_test;

namespace {

Attrs flags(int64_t ta, int64_t tb) { return Attrs{{"transpose_a", ta}, {"transpose_b", tb}}; }

// A = [[1,2,3],[4,5,6]] (2x3), Bm = [[1,-1],[0,2],[3,1]] (3x2);
// A Bm = [[1+0+9, -1+4+3], [4+0+18, -4+10+6]] = [[10,6],[22,12]].
const std::vector<double> kA = {1, 2, 3, 4, 5, 6};
const std::vector<double> kAt = {1, 4, 2, 5, 3, 6}; // A^T stored as 3x2
const std::vector<double> kB = {1, -1, 0, 2, 3, 1};
const std::vector<double> kBt = {1, 0, 3, -1, 2, 1}; // Bm^T stored as 2x3
const std::vector<double> kAB = {10, 6, 22, 12};

} // namespace

TEST_CASE("matmul: shapes") {
  CHECK(out_type(OpKind::MatMul, {f32({B, 784}), f32({784, 256})}) == f32({B, 256}));
  CHECK(out_type(OpKind::MatMul, {f64({2, 3}), f64({3, 4})}) == f64({2, 4}));
  // dX = dY W^T: [batch,256] x [784,256]^T.
  CHECK(out_type(OpKind::MatMul, {f32({B, 256}), f32({784, 256})}, flags(0, 1)) == f32({B, 784}));
  // dW = X^T dY: the batch is the inner dimension K.
  CHECK(out_type(OpKind::MatMul, {f32({B, 784}), f32({B, 256})}, flags(1, 0)) == f32({784, 256}));
  // Both transposed, and the batch as N.
  CHECK(out_type(OpKind::MatMul, {f32({3, 2}), f32({B, 3})}, flags(1, 1)) == f32({2, B}));
}

TEST_CASE("matmul: rejections name both shapes") {
  std::string e = build_error(OpKind::MatMul, {f32({B, 784}), f32({256, 10})});
  CHECK(contains(e, "matmul: inner dimensions differ: [batch,784] x [256,10]"));
  CHECK(!contains(e, "matmul: matmul:"));
  e = build_error(OpKind::MatMul, {f32({B, 784}), f32({784, 10})}, flags(1, 0));
  CHECK(contains(e, "inner dimensions differ: [batch,784]^T x [784,10]"));
  e = build_error(OpKind::MatMul, {f32({B, 4}), f32({4, 3})}, flags(0, 1));
  CHECK(contains(e, "inner dimensions differ: [batch,4] x [4,3]^T"));
  // The batch only equals itself.
  e = build_error(OpKind::MatMul, {f32({4, B}), f32({4, 3})});
  CHECK(contains(e, "inner dimensions differ: [4,batch] x [4,3]"));
  e = build_error(OpKind::MatMul, {f32({28}), f32({28, 10})});
  CHECK(contains(e, "both inputs must be matrices or stacks of them (rank 2 or more), found "
                    "f32[28] and f32[28,10]"));
  e = build_error(OpKind::MatMul, {f32({B, 3}), f64({3, 2})});
  CHECK(contains(e, "inputs must have the same dtype, found f32[batch,3] and f64[3,2]"));
  e = build_error(OpKind::MatMul, {f32({2, 3}), f32({3, 2})}, flags(2, 0));
  CHECK(contains(e, "attribute 'transpose_a' must be 0 or 1, found 2"));
}

TEST_CASE_TEMPLATE("matmul: values with every transpose combination", T, float, double) {
  check_values(run<T>(OpKind::MatMul, {{Shape{2, 3}, kA}, {Shape{3, 2}, kB}}), {2, 2}, kAB);
  check_values(run<T>(OpKind::MatMul, {{Shape{3, 2}, kAt}, {Shape{3, 2}, kB}}, flags(1, 0)), {2, 2},
               kAB);
  check_values(run<T>(OpKind::MatMul, {{Shape{2, 3}, kA}, {Shape{2, 3}, kBt}}, flags(0, 1)), {2, 2},
               kAB);
  check_values(run<T>(OpKind::MatMul, {{Shape{3, 2}, kAt}, {Shape{2, 3}, kBt}}, flags(1, 1)),
               {2, 2}, kAB);
  // Non-square result: Bm A = [[1-4, 2-5, 3-6], [8,10,12], [3+4, 6+5, 9+6]].
  check_values(run<T>(OpKind::MatMul, {{Shape{3, 2}, kB}, {Shape{2, 3}, kA}}), {3, 3},
               {-3, -3, -3, 8, 10, 12, 7, 11, 15});
}

TEST_CASE_TEMPLATE("matmul: the batch as M, as K, and at batch 1", T, float, double) {
  // X [batch,3] at batch 2 is A; W [3,2] is Bm.
  check_values(run<T>(OpKind::MatMul, {{Shape{B, 3}, kA}, {Shape{3, 2}, kB}}, {}, 2), {2, 2}, kAB);
  check_values(run<T>(OpKind::MatMul, {{Shape{B, 3}, {1, 2, 3}}, {Shape{3, 2}, kB}}, {}, 1), {1, 2},
               {10, 6});
  // X^T dY with X = A^T stored as [batch=3,2] and dY = Bm [batch=3,2]: the
  // sum runs over the batch.
  check_values(run<T>(OpKind::MatMul, {{Shape{B, 2}, kAt}, {Shape{B, 2}, kB}}, flags(1, 0), 3),
               {2, 2}, kAB);
  // dY W^T: [batch,2] x [3,2]^T = [batch,3].
  check_values(run<T>(OpKind::MatMul, {{Shape{B, 2}, {1, 1}}, {Shape{3, 2}, kAt}}, flags(0, 1), 1),
               {1, 3}, {5, 7, 9});
}

TEST_CASE("matmul: FLOPs are 2 M K N with the batch as 1") {
  CHECK(flops(OpKind::MatMul, {f32({B, 784}), f32({784, 256})}) == 2 * 784 * 256);
  CHECK(flops(OpKind::MatMul, {f32({B, 784}), f32({B, 256})}, flags(1, 0)) == 2 * 784 * 256);
  CHECK(flops(OpKind::MatMul, {f32({2, 3}), f32({4, 3})}, flags(0, 1)) == 2 * 2 * 3 * 4);
}

TEST_CASE("matmul: batched shapes broadcast the leading axes") {
  // Attention scores: [batch,heads,T,d] x [batch,heads,d,T].
  CHECK(out_type(OpKind::MatMul, {f32({B, 4, 7, 16}), f32({B, 4, 16, 7})}) == f32({B, 4, 7, 7}));
  CHECK(out_type(OpKind::MatMul, {f32({B, 4, 7, 16}), f32({B, 4, 7, 16})}, flags(0, 1)) ==
        f32({B, 4, 7, 7}));
  // dense on [batch,T,F]: the weight broadcasts over the stack.
  CHECK(out_type(OpKind::MatMul, {f32({B, 5, 3}), f32({3, 8})}) == f32({B, 5, 8}));
  CHECK(out_type(OpKind::MatMul, {f64({3, 8}), f64({B, 8, 5})}) == f64({B, 3, 5}));
  // Extent-1 axes stretch; missing ones are added in front.
  CHECK(out_type(OpKind::MatMul, {f32({2, 1, 3, 4}), f32({5, 4, 6})}) == f32({2, 5, 3, 6}));
  CHECK(out_type(OpKind::MatMul, {f32({1, 3, 4}), f32({B, 4, 6})}) == f32({B, 3, 6}));
  CHECK(out_type(OpKind::MatMul, {f32({B, 4, 3}), f32({B, 4, 6})}, flags(1, 0)) == f32({B, 3, 6}));
}

TEST_CASE("matmul: batched rejections") {
  std::string e = build_error(OpKind::MatMul, {f32({B, 4, 7, 16}), f32({B, 4, 8, 7})});
  CHECK(contains(e, "matmul: inner dimensions differ: [batch,4,7,16] x [batch,4,8,7]"));
  e = build_error(OpKind::MatMul, {f32({2, 3, 4}), f32({5, 4, 6})});
  CHECK(contains(e, "matmul: the leading (batch) axes do not broadcast: [2,3,4] x [5,4,6]"));
  e = build_error(OpKind::MatMul, {f32({B, 3, 4}), f32({2, 4, 6})});
  CHECK(contains(e, "leading (batch) axes do not broadcast: [batch,3,4] x [2,4,6]"));
}

TEST_CASE_TEMPLATE("matmul: batched values with broadcasting, at batch 1 and 2", T, float, double) {
  // A stack of two: [A; 2A] x Bm = [AB; 2AB].
  std::vector<double> a2 = kA, ab2 = kAB;
  for (double x : kA) a2.push_back(2 * x);
  for (double x : kAB) ab2.push_back(2 * x);
  check_values(run<T>(OpKind::MatMul, {{Shape{2, 2, 3}, a2}, {Shape{3, 2}, kB}}), {2, 2, 2}, ab2);
  check_values(run<T>(OpKind::MatMul, {{Shape{B, 2, 3}, a2}, {Shape{1, 3, 2}, kB}}, {}, 2),
               {2, 2, 2}, ab2);
  check_values(run<T>(OpKind::MatMul, {{Shape{B, 2, 3}, kA}, {Shape{3, 2}, kB}}, {}, 1), {1, 2, 2},
               kAB);
  // Each matrix of b paired with its own of a: [A; A] x [Bm; -Bm].
  std::vector<double> b2 = kB, ab_neg = kAB;
  for (double x : kB) b2.push_back(-x);
  for (double x : kAB) ab_neg.push_back(-x);
  std::vector<double> aa = kA;
  aa.insert(aa.end(), kA.begin(), kA.end());
  check_values(run<T>(OpKind::MatMul, {{Shape{2, 2, 3}, aa}, {Shape{2, 3, 2}, b2}}), {2, 2, 2},
               ab_neg);
  // a broadcast against b's stack, with transposes on the last two axes.
  check_values(
      run<T>(OpKind::MatMul,
             {{Shape{1, 3, 2}, kAt}, {Shape{2, 2, 3}, {1, 0, 3, -1, 2, 1, -1, 0, -3, 1, -2, -1}}},
             flags(1, 1)),
      {2, 2, 2}, ab_neg);
}

TEST_CASE("matmul: batched FLOPs count every matrix of the stack") {
  CHECK(flops(OpKind::MatMul, {f32({B, 4, 7, 16}), f32({B, 4, 16, 7})}) == 4 * 2 * 7 * 16 * 7);
  CHECK(flops(OpKind::MatMul, {f32({2, 3, 4}), f32({4, 5})}) == 2 * 2 * 3 * 4 * 5);
}
