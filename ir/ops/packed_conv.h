// The weight layouts of codegen's convolution kernels, shared by the ops that
// store weights in them (ir/ops/packed_conv.cpp), the inference pass that
// makes those ops (passes/prepack.h) and the kernels themselves
// (codegen/ops/conv.cpp, winograd.cpp, packed_conv.cpp).
#pragma once

#include "ir/graph.h"

#include <optional>
#include <string_view>

namespace netc {

// hwio: W'[kh, kw, c, o] = W[o, c, kh, kw], output channels innermost (the
//   NHWC kernel's vector operand).
// winograd: U[xi, nu, c, o] = (G W[o, c] G^T)[xi][nu], Winograd F(2x2, 3x3)'s
//   transformed 3x3 kernel (Lavin & Gray 2015; the matrices below).
enum class WeightLayout { hwio, winograd };

// The `layout` attribute of pack_conv_weight and conv2d_packed; throws
// ShapeError on anything but "hwio" or "winograd".
WeightLayout weight_layout(const Attrs& attrs);
std::string_view layout_name(WeightLayout layout);

// The layout the conv2d kernel for input x and weights w ([O,C,KH,KW]) reads
// its weights in (ir/ops/window.h's winograd_conv_ok, then nhwc_conv_ok),
// or none: the NCHW kernels read W as it is.
std::optional<WeightLayout> conv2d_kernel_layout(const Attrs& conv_attrs, const TensorType& x,
                                                 const Shape& w, const Shape& out);

// The shape of the packed weights of W [O,C,KH,KW] (winograd: KH = KW = 3),
// and back: the [O,C,KH,KW] that packed weights of that shape hold.
Shape packed_weight_shape(WeightLayout layout, const Shape& w);
Shape unpacked_weight_shape(WeightLayout layout, const Shape& packed);

// Lavin & Gray's F(2, 3) matrices: Y = A^T [(G g G^T) .* (B^T d B)] A for a
// 3x3 kernel g, a 4x4 input patch d and a 2x2 output tile Y.
inline constexpr double kWinogradBT[4][4] = {
    {1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
inline constexpr double kWinogradG[4][3] = {
    {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
inline constexpr double kWinogradAT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

} // namespace netc
