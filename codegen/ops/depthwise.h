// Depthwise convolutions (groups = input channels = output channels: one
// filter per channel, MobileNet's 3x3 layers) computed channels-innermost.
//
// A depthwise output sums only the KH KW taps of its own channel, so the
// dense NHWC kernel's register tile (output channels x pixels, each input
// pixel broadcast to the output channels) has nothing to broadcast. Here the
// vector operand is the input itself (16 channels of one pixel), each tap's
// weights are one vector per 16 channels, and a register tile holds channel
// vectors x phases x pixels (codegen/schedule_depthwise.cpp). The forward
// pass and dx are one formula over an NHWC accumulator with phases:
//   acc(n, y, x, q, c) = init(c) + sum_{ky, kx} wq(ky, kx, q, c) input(n, y sy + ky, x sx + kx, c)
// forward: one phase, the kernel as it is, the stride of the layer;
// dx: the phases of dx (window.h: Phases; one at stride 1, whose taps are
// the kernel flipped) over dy's shared window, at stride 1. dW reuses the
// NHWC two-level weight gradient (conv_backward.cpp) with the input read at
// the output channel.
#pragma once

#include "codegen/ops/window.h"

namespace netc::codegen {

// Whether a convolution with weights [O, Cg, KH, KW] is depthwise and takes
// this path: one input channel per group and one filter per group (O =
// groups = C), dilation 1, f32, and at least one zmm of channels (a partial
// last block of channels shifts inwards).
bool depthwise_ok(const Window& w, const Shape& weights, DType dtype);

// The weight gradient also needs whole zmm blocks of channels: its partial
// sums are an update, whose channel split cannot shift inwards
// (HALIDE-NOTES pitfall 2).
bool depthwise_weight_grad_ok(const Window& w, const Shape& weights, DType dtype);

// conv2d(x, w[, b]) and conv2d_backward_input(dy, w) on the path: sets
// out.value, out.stages and the nhwc_* fields with out.depthwise.
void lower_depthwise_conv(const LowerCtx& ctx, const Window& win, Lowered& out);
void lower_depthwise_dx(const LowerCtx& ctx, const Window& win, Lowered& out);

} // namespace netc::codegen
