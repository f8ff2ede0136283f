// Winograd F(2x2, 3x3) convolution (Lavin & Gray 2015): each 2x2 block of
// outputs (a tile) comes from the 4x4 input patch that covers it,
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A,
// with 16 multiplies per (tile, input channel, output channel) where the
// direct convolution does 36: 2.25x fewer. The products for one of the 16
// positions (xi, nu) of the 4x4 transformed patch form a small matrix product
// over the input channels,
//   M[xi][nu](tile, o) = sum_c V[xi][nu](tile, c) U[xi][nu](c, o),
// which the schedule (schedule_conv.cpp) register-blocks like the NHWC
// kernel, channels innermost.
#pragma once

#include "codegen/ops/window.h"

#include <functional>

namespace netc::codegen {

// Whether a convolution takes the Winograd path: a 3x3 kernel, stride 1,
// dilation 1, one group, f32, and the NHWC kernel's channel counts (>= 8
// input channels to reduce over, >= 16 output channels: one zmm). The output
// must be at least 4x4: the 2x2 tiles of an odd-sized output compute a row
// and a column that nobody reads, which costs at most (6x6)/(5x5) = 1.44x
// extra work at 5x5 (still below the 2.25x saved), but 16/9 at 3x3, where the
// transforms would outweigh the products saved. Measured (bench/RESULTS.md
// section 7): 1.2x faster than the direct kernel at 8->16 channels 28x28,
// 1.5x at 64->64 5x5, 1.6-2.1x at the cnn's 32->64 14x14.
bool winograd_conv_ok(const Window& w, int64_t c_in, int64_t c_out, const Shape& out, DType dtype);

struct WinogradSpec {
  Halide::Func src; // NCHW, readable at any (h, w) (0 outside)
  int64_t C, O;     // input/output channels (the kernel is 3x3)
  Shape out;        // [N, O, OH, OW]
  int32_t oy, ox;   // row y of the padded input reads src row y - oy
};

// weight(co, ci, kh, kw): the kernel's taps; bias(co): added to every output
// (no bias when empty).
using ConvWeight =
    std::function<Halide::Expr(Halide::Expr co, Halide::Expr ci, Halide::Expr kh, Halide::Expr kw)>;
using ConvBias = std::function<Halide::Expr(Halide::Expr co)>;

// Builds (IR-order indices; T = tiles, TH = ceil(OH / 2), TW = ceil(OW / 2)):
//   wino_input (n, y, x, c)            = src[n, c, y - oy, x - ox], y < 2 TH + 2
//   wino_u     (nu, xi, c, o)          = (G g[o, c] G^T)[xi][nu]
//   wino_bias  (o)                     = bias(o)
//   wino_v     (n, nu, xi, ty, tx, c)  = (B^T d B)[xi][nu], d the patch at (2 ty, 2 tx)
//   wino_m     (n, nu, xi, ty, tx, o)  = sum_c U V (an update over c)
//   wino_y     (n, ty, tx, dy, dx, o)  = bias + (A^T M A)[dy][dx]
// and `value` (n, o, oh, ow) = wino_y at (oh / 2, ow / 2, oh % 2, ow % 2).
// Every Func is also listed in `out.stages`.
void winograd_conv(const LowerCtx& ctx, const WinogradSpec& s, const ConvWeight& weight,
                   const ConvBias& bias, Lowered& out);

} // namespace netc::codegen
