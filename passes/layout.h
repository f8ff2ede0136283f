// Channels-last storage between convolution kernels (inference only).
// codegen's NHWC, Winograd and depthwise kernels compute with channels
// innermost, the layout that maps onto whole vector registers; between
// kernels every value was stored NCHW, so each such kernel transposed its
// input tile in (gathers at a stride of H W) and its output tile back out.
// This pass marks the values that one such kernel writes and only such
// kernels read, so that they are stored [N, H, W, C] in memory
// (FusionPlan::channels_last; the launch plan's TensorSlot::channels_last):
// the reads and writes become dense and the transposes disappear. A reader
// may use such a value as its convolution's input, as a global average
// pool's (it sums channel vectors), or in a conv kernel's elementwise
// epilogue (a residual add) when that kernel's output is channels-last as
// well. The IR, the kernels' definitions and the reference are unchanged: a
// value is indexed as NCHW everywhere, only its strides differ. Model inputs
// and outputs, params, views and anything another kernel reads stay NCHW.
// Not in training, where the backward kernels read every activation too.
#pragma once

#include "ir/graph.h"
#include "passes/fusion.h"

namespace netc {

// How a conv kernel computes, as far as layouts go (the schedule codegen
// gives it: codegen/schedule_conv.cpp, schedule_depthwise.cpp).
enum class ChannelsLastConv {
  none,   // another kernel, or a convolution that computes NCHW
  nhwc,   // the NHWC or Winograd kernel (conv2d on the hwio or winograd layout)
  direct, // a depthwise (or single-input-channel) conv vectorized across channels
};

// The convolution kind of a conv kernel computing `nodes`.
ChannelsLastConv channels_last_conv(const Graph& g, const FusedKernel& k);

// The plan with channels_last set (and notes on the kernels involved).
FusionPlan store_channels_last(const Graph& g, FusionPlan plan);

} // namespace netc
