// Conv schedule pieces shared by codegen/schedule_conv.cpp and
// codegen/schedule_winograd.cpp (internal to the two).
#pragma once

#include "codegen/ops/window.h"
#include "codegen/schedule.h"

#include <optional>
#include <string>

namespace netc::codegen::conv_detail {

// The pixel block of a register tile: a divisor of a row of `extent` pixels
// (or tiles) in [4, accs] if there is one, else min(extent, accs).
int pixel_block(int64_t extent, int accs);

// Splits the output's rows into blocks of `rows` and fuses the blocks with
// the images into one parallel loop of tasks; returns the task's Var, where
// the per-task stages are computed.
Halide::Var split_into_tasks(Halide::Func out, int rows, Halide::TailStrategy tail);

// Vectorizes the NCHW output `out` of a kernel whose conv `value` is computed
// channels-innermost by register-transposed blocks of channels x row
// vector, when the output has a vector of channels and of pixels along its
// rows; returns whether it did (else the caller vectorizes `out`).
bool read_back_transposed(Halide::Func out, Halide::Func value, const Shape& out_shape,
                          const Halide::Type& type, const Halide::Var& task);

// A final pool after the NHWC or Winograd kernel, pooled in NHWC per task.
void schedule_nhwc_pool(const KernelFuncs& k, ValueId pool, const Halide::Type& type, int64_t O,
                        const Halide::Var& task, std::string& notes);

// dW's per-(image, tap) register tile on the NHWC path: the output-channel
// vectors and the taps (and input channels) unrolled, the pixel sums
// outside them.
void schedule_part_tile(Halide::Func part, int lanes);

// The depthwise dW (schedule_depthwise.cpp) of weights of `shape` [C, 1, KH, KW].
void schedule_weight_grad_depthwise(const KernelFuncs& k, const Lowered& l, const Shape& shape,
                                    std::string& notes);

// The padded input of the NCHW kernels vectorized along its rows of `row` pixels.
void vectorize_padded(Halide::Func padded, int64_t row, const Halide::Type& type);

// The depthwise dx (schedule_depthwise.cpp) of output `shape` [N, C, H, W]
// from dy of `dy_shape`.
void schedule_depthwise_dx(const KernelFuncs& k, const Lowered& l, const Shape& shape,
                           const Shape& dy_shape, const Window& win, std::string& notes);

// A conv2d with one input channel per group (depthwise, or a single input
// channel) whose input or output is stored channels-last
// (schedule_depthwise.cpp): vectors of output channels, the taps unrolled.
void schedule_direct_channels_last(const KernelFuncs& k, const Lowered& l, const Shape& shape,
                                   const Shape& ws, std::string& notes);

// The Winograd F(2x2,3x3) kernel (codegen/ops/winograd.h) of a conv or dX
// with C input channels, ending with `pool` if the kernel has one.
void schedule_conv_winograd(const KernelFuncs& k, const Lowered& l, const Shape& shape, int64_t C,
                            std::optional<ValueId> pool, std::string& notes);

// The pointwise conv or dx over flattened NCHW pixels (Lowered::flat_acc;
// schedule_pointwise.cpp) of output `shape` [N, O, H, W], ending with
// `pool` if the kernel has one.
void schedule_conv_pointwise(const KernelFuncs& k, ValueId conv, const Shape& shape,
                             std::optional<ValueId> pool, std::string& notes);

} // namespace netc::codegen::conv_detail
