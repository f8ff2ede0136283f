// Statistics along one axis shared by softmax, log_softmax and
// softmax_cross_entropy (defined in activation.cpp).
#pragma once

#include "codegen/lowering.h"

namespace netc::codegen {

// Over the lines of x = in[0] along `axis` (x's shape without the axis):
//   max = max_j x_j,   sum = sum_j e^(x_j - max)
struct LineStats {
  Halide::Func max, sum;
  std::vector<Stage> stages;
};
LineStats line_stats(const LowerCtx& ctx, int axis);

// An index of x with the axis coordinate removed (its line's index).
Index line_of(const Index& i, int axis);

} // namespace netc::codegen
