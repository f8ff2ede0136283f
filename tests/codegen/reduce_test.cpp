// Reductions against the reference, over inner axes, the batch axis, all axes
// and with keepdims. Sums are reassociated by vectorization (lanes hold partial
// sums in a different order than the reference's sequential loop), so sums and
// means get rtol 1e-5 plus an atol for results near 0; max/min are exact.
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kSum{1e-5, 1e-5};
const Tol kExact{0, 0};

void all_folds(const TensorType& x, const Attrs& attrs, Tol sum = kSum) {
  check_op(OpKind::ReduceSum, {{x}}, attrs, sum);
  check_op(OpKind::ReduceMean, {{x}}, attrs, sum);
  check_op(OpKind::ReduceMax, {{x}}, attrs, kExact);
  check_op(OpKind::ReduceMin, {{x}}, attrs, kExact);
}

} // namespace

TEST_CASE("reductions over the last axis (per row)") {
  all_folds(f32({B, 37}), Attrs{{"axes", std::vector<int64_t>{-1}}});
}

TEST_CASE("reductions over the batch axis") {
  all_folds(f32({B, 40}), Attrs{{"axes", std::vector<int64_t>{0}}});
}

TEST_CASE("reductions over several axes, keepdims") {
  check_op(OpKind::ReduceSum, {{f32({B, 3, 5, 6})}},
           Attrs{{"axes", std::vector<int64_t>{2, 3}}, {"keepdims", int64_t(1)}}, kSum);
  check_op(OpKind::ReduceMax, {{f32({B, 3, 5, 6})}},
           Attrs{{"axes", std::vector<int64_t>{0, 2}}, {"keepdims", int64_t(1)}}, kExact);
  check_op(OpKind::ReduceMean, {{f32({B, 3, 5, 6})}},
           Attrs{{"axes", std::vector<int64_t>{0, 2, 3}}}, kSum);
}

TEST_CASE("reductions over all axes") {
  check_op(OpKind::ReduceSum, {{f32({B, 19})}}, {}, {1e-4, 1e-5});
  check_op(OpKind::ReduceMean, {{f32({B, 19})}}, Attrs{{"keepdims", int64_t(1)}}, kSum);
  check_op(OpKind::ReduceMin, {{f32({6, 7})}}, {}, kExact);
}

TEST_CASE("per-channel reductions over (N, H, W): row partials per image") {
  // Batch norm's statistics: 14 lanes on a 28-wide row, 7 on a 7-wide row;
  // 4 folds, keepdims or not. The partials reassociate the sum like the
  // vectorized reductions above.
  Attrs nhw{{"axes", std::vector<int64_t>{0, 2, 3}}, {"keepdims", int64_t(1)}};
  all_folds(f32({B, 3, 9, 28}), nhw);
  all_folds(f32({B, 5, 11, 7}), Attrs{{"axes", std::vector<int64_t>{0, 2, 3}}});
  // Small planes (16..63 elements per image: mobilenet's 7x7, a 4x4) take
  // the row partials too. 6272 terms per channel at batch 128 whose sum
  // cancels to ~5e-3: the reference's sequential f32 sum is off by ~2e-5
  // absolute there (measured 2.4e-5), hence atol 1e-4.
  all_folds(f32({B, 6, 7, 7}), nhw, {1e-4, 1e-5});
  all_folds(f32({B, 3, 4, 4}), Attrs{{"axes", std::vector<int64_t>{0, 2, 3}}});
  // 16 lanes; 1024 elements per image, 131072 per channel at batch 128: the
  // reference's sequential f32 sum drifts by ~1e-5 relative (measured 1.1e-5).
  check_op(OpKind::ReduceSum, {{f32({B, 4, 8, 16})}}, nhw, {1e-4, 1e-4});
}
