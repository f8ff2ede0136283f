// exp and tanh for f32 as branch-free polynomials that vectorize. Halide 14
// lowers Halide::exp and Halide::tanh on f32 vectors to one libm call per
// lane (exp_f32 on float32x16 becomes 16 calls to expf), which made the
// lstm's gate kernels cost ~4 ns per transcendental: 90% of its inference
// step. These stay within 3 ulps of libm (tests/codegen/elementwise_test).
#pragma once

#include <Halide.h>

namespace netc::codegen {

// e^x for f32 with libm's special values: NaN -> NaN, > 88.72 -> inf,
// < -103.98 -> 0 (subnormal results are kept).
Halide::Expr exp_f32(const Halide::Expr& x);

// tanh x for f32: an odd polynomial near 0, 1 - 2 / (e^2|x| + 1) beyond;
// NaN -> NaN, +-inf -> +-1.
Halide::Expr tanh_f32(const Halide::Expr& x);

} // namespace netc::codegen
