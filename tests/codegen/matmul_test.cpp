// matmul against the reference, every transpose variant, the batch as M (the
// forward pass), as K (the weight gradient X^T dY) and a static product, with
// shapes that are not multiples of the 32x8 tile. The reference sums k in
// order; the kernel too (one accumulator per output), but LLVM contracts
// each a*b+acc into an FMA, so rtol 1e-5 with an atol for sums near 0.
#include "cg_test_helpers.h"

#include "codegen/kernel.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kDot{1e-5, 1e-5};

Attrs flags(int ta, int tb) {
  return Attrs{{"transpose_a", int64_t(ta)}, {"transpose_b", int64_t(tb)}};
}

std::string matmul(const Shape& a, const Shape& b, int ta, int tb,
                   const std::vector<int64_t>& batches = kBatches) {
  return check_op(OpKind::MatMul, {{f32(a), uniform(-1, 1)}, {f32(b), uniform(-1, 1)}},
                  flags(ta, tb), kDot, {.batches = batches});
}

} // namespace

TEST_CASE("matmul: batch rows times weights, every transpose") {
  CHECK(matmul({B, 50}, {50, 70}, 0, 0).find("matmul: 32x8 rows") == 0);
  matmul({50, B}, {50, 70}, 1, 0);
  CHECK(matmul({B, 50}, {70, 50}, 0, 1).find("B^T packed") != std::string::npos);
  matmul({50, B}, {70, 50}, 1, 1);
}

TEST_CASE("matmul: narrow and small outputs") {
  matmul({B, 33}, {33, 10}, 0, 0); // logits: 8-wide tiles, parallel over row tiles
  matmul({B, 5}, {3, 5}, 0, 1);    // tiles narrower than a vector
  matmul({B, 12}, {17, 12}, 0, 1); // K < 16: B^T copied, not transposed in blocks
}

TEST_CASE("matmul: small products run on the calling thread at small batches") {
  // 200 x 150 = 30,000 multiply-adds a row: serial at batches 1 and 2 (up to
  // 2^16), the thread pool at 3 and 7, 8-row tiles from 8.
  std::string notes = matmul({B, 200}, {200, 150}, 0, 0, {1, 2, 3, 7, 8, 13});
  CHECK(notes.find("serial below 65536") != std::string::npos);
  // 300 x 250 = 75,000 a row: always the pool.
  CHECK(matmul({B, 300}, {300, 250}, 0, 0, {1, 3}).find("serial") == std::string::npos);
}

TEST_CASE("matmul: the batch as the reduction (weight gradients)") {
  matmul({B, 40}, {B, 24}, 1, 0); // dW = X^T dY  [40,24]
  matmul({B, 24}, {B, 40}, 1, 0);
  matmul({24, B}, {B, 40}, 0, 0);
  matmul({24, B}, {40, B}, 0, 1); // B^T with K = batch: no block transpose
}

TEST_CASE("matmul: static shapes") {
  matmul({3, 45}, {45, 36}, 0, 0); // M below the 8-row tile
  matmul({45, 13}, {36, 45}, 1, 1);
}

TEST_CASE("matmul: the batch as the column dimension falls back to the generic schedule") {
  CHECK(matmul({5, 7}, {7, B}, 0, 0).find("generic") != std::string::npos);
}

TEST_CASE("matmul: batched stacks, broadcast weights, attention shapes") {
  // q k^T over [batch, heads, T, d]: tiles per matrix, parallel over the stack.
  CHECK(matmul({B, 2, 7, 16}, {B, 2, 16, 7}, 0, 0).find("batched matmul") == 0);
  matmul({B, 2, 7, 16}, {B, 2, 7, 16}, 0, 1);
  matmul({B, 3, 9, 5}, {B, 3, 9, 37}, 1, 0);
  // dense on [batch, T, F] and its gradients.
  matmul({B, 5, 33}, {33, 40}, 0, 0);
  matmul({B, 5, 40}, {33, 40}, 0, 1);
  matmul({B, 5, 33}, {B, 5, 40}, 1, 0);
  // Static stacks with extent-1 broadcasting, and tiny matrices.
  matmul({2, 1, 3, 4}, {3, 4, 5}, 0, 0);
  matmul({4, 2, 3}, {1, 3, 1}, 0, 0);
}

TEST_CASE("matmul: a batched matmul with the batch as a matrix dimension is generic") {
  CHECK(matmul({2, B, 3}, {2, 3, 4}, 0, 0).find("generic") != std::string::npos);
}
