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
#include "ir/ops/packed_conv.h"

namespace netc::codegen {

// Whether a convolution takes the Winograd path: ir/ops/window.h (shared
// with the prepack pass).
using conv_geometry::winograd_conv_ok;

struct WinogradSpec {
  Halide::Func src; // NCHW, readable at any (h, w) (0 outside)
  int64_t C, O;     // input/output channels (the kernel is 3x3)
  Shape out;        // [N, O, OH, OW]
  int32_t oy, ox;   // row y of the padded input reads src row y - oy
};

// U = G g G^T for every (input, output) channel pair of a 3x3 kernel
// weight(co, ci, kh, kw), in IR order (xi, nu, c, o): xi transforms the
// kernel's rows, nu its columns. The layout of pack_conv_weight's winograd
// output (ir/ops/packed_conv.cpp), so a kernel can read U computed once.
Halide::Func winograd_kernel_transform(const LowerCtx& ctx, const ConvWeight& weight,
                                       const std::string& name);

// Builds (IR-order indices; T = tiles, TH = ceil(OH / 2), TW = ceil(OW / 2)):
//   wino_input (n, y, x, c)            = src[n, c, y - oy, x - ox], y < 2 TH + 2
//   wino_u     (xi, nu, c, o)          = u: computed in the kernel (a stage)
//                                        unless out.weights_prepacked
//   wino_bias  (o)                     = bias(o)
//   wino_v     (n, nu, xi, ty, tx, c)  = (B^T d B)[xi][nu], d the patch at (2 ty, 2 tx)
//   wino_m     (n, nu, xi, ty, tx, o)  = sum_c U V (an update over c)
//   wino_y     (n, ty, tx, dy, dx, o)  = bias + (A^T M A)[dy][dx]
// and `value` (n, o, oh, ow) = wino_y at (oh / 2, ow / 2, oh % 2, ow % 2).
// Every Func but a prepacked U is also listed in `out.stages`.
void winograd_conv(const LowerCtx& ctx, const WinogradSpec& s, const Halide::Func& u,
                   const ConvBias& bias, Lowered& out);

// A forward conv2d on its layout's kernel (ir/ops/packed_conv.h), for conv2d
// and conv2d_packed: over the NCHW input ctx.in[0] with win's stride and
// padding, C -> O channels, KH x KW taps read by weight(co, ci, kh, kw). The
// Winograd path reads its transformed kernel from `u` (the kernel's own
// transform of `weight`, or the prepacked weights); the hwio path ignores it.
void conv_on_layout(const LowerCtx& ctx, WeightLayout layout, const Window& win, int64_t C,
                    int64_t O, int64_t KH, int64_t KW, const ConvWeight& weight,
                    const Halide::Func& u, const ConvBias& bias, Lowered& out);

} // namespace netc::codegen
