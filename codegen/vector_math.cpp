#include "codegen/vector_math.h"

#include <limits>

namespace netc::codegen {

namespace {

using Halide::Expr;

Expr f32(double v) { return Halide::Expr(static_cast<float>(v)); }

// 2^k for integer k in [-126, 127], built in the exponent field.
// x is NaN, tested on its bits: integer ops, which fast-math flags leave alone.
Expr nan_bits(const Expr& x) {
  Halide::Type i32 = Halide::Int(32, x.type().lanes());
  return (Halide::reinterpret(i32, x) & 0x7fffffff) > 0x7f800000;
}

Expr pow2(const Expr& k) {
  return Halide::reinterpret(Halide::Float(32, k.type().lanes()), (k + 127) << 23);
}

} // namespace

// Cody-Waite reduction x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in a part
// exact in float times any n, and the rest), then e^r = 1 + r + r^2 p(r) with
// Moshier's minimax coefficients (Cephes expf, < 2 ulp on the reduced range).
// 2^n is applied in two halves so that n down to -150 (subnormal results) and
// up to 128 stay representable.
Expr exp_f32(const Expr& x) {
  Expr xc = Halide::clamp(x, f32(-104.0), f32(88.75));
  Expr n = Halide::floor(xc * f32(1.44269504088896341) + f32(0.5));
  Expr r = xc - n * f32(0.693359375);
  r = r - n * f32(-2.12194440e-4);
  Expr p = f32(1.9875691500e-4);
  for (double c :
       {1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1})
    p = p * r + f32(c);
  Expr er = (r * r) * p + r + f32(1);
  Expr k = Halide::cast(Halide::Int(32, x.type().lanes()), n);
  Expr k1 = k >> 1;
  Expr y = er * pow2(k1) * pow2(k - k1);
  Expr inf = f32(std::numeric_limits<float>::infinity());
  return Halide::select(nan_bits(x), x, x > f32(88.72283935546875), inf, x < f32(-103.972084045410),
                        f32(0), y);
}

// Below |x| = 0.625 an odd polynomial x + x^3 q(x^2) (Moshier's tanhf
// coefficients) avoids the cancellation of 1 - 2 / (e^2x + 1) near 0.
Expr tanh_f32(const Expr& x) {
  Expr ax = Halide::abs(x);
  Expr z = x * x;
  Expr q = f32(-5.70498872745e-3);
  for (double c : {2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1})
    q = q * z + f32(c);
  Expr small = x + x * z * q;
  Expr big = f32(1) - f32(2) / (exp_f32(ax + ax) + f32(1));
  Expr signed_big = Halide::select(x < f32(0), -big, big);
  return Halide::select(nan_bits(x), x, ax < f32(0.625), small, signed_big);
}

} // namespace netc::codegen
