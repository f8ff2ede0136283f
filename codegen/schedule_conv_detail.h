// Conv schedule pieces shared by codegen/schedule_conv.cpp and
// codegen/schedule_winograd.cpp (internal to the two).
#pragma once

#include "codegen/schedule.h"

#include <string>

namespace netc::codegen::conv_detail {

// The pixel block of a register tile: a divisor of a row of `extent` pixels
// (or tiles) in [4, accs] if there is one, else min(extent, accs).
int pixel_block(int64_t extent, int accs);

// A final pool after the NHWC or Winograd kernel, pooled in NHWC.
void schedule_nhwc_pool(const KernelFuncs& k, ValueId pool, const Halide::Type& type, int64_t O,
                        std::string& notes);

// The Winograd F(2x2,3x3) kernel (codegen/ops/winograd.h) of a conv or dX
// with C input channels; `pool`: the kernel ends with a pool.
void schedule_conv_winograd(const KernelFuncs& k, const Lowered& l, const Shape& shape, int64_t C,
                            const Shape& out_shape, bool pool, std::string& notes);

} // namespace netc::codegen::conv_detail
