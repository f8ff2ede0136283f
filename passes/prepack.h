// Weights stored in the layout their kernel reads, once per checkpoint
// (inference only). codegen's conv2d kernels read their weights channels
// innermost or, on the Winograd path, as the transformed kernel G W G^T
// (ir/ops/packed_conv.h); computed inside the kernel, that reorder or
// transform ran on every call (~40% of ResNet's 64-channel layers at batch
// 1). Weights change only with a checkpoint in inference, so this pass
// rewrites each such conv2d whose weights are weights-only as
//   conv2d_packed(x, pack_conv_weight(W) {layout}[, b]) {layout, stride, pad}
// and fusion puts pack_conv_weight in the program's prepare kernels. Never in
// training, where W changes every step and the kernels compute the layout
// anyway.
#pragma once

#include "passes/pass.h"

namespace netc {

PassResult prepack_conv_weights(const Graph& g);

} // namespace netc
