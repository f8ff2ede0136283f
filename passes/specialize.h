// Train/infer specialization (Glow gates passes by compilation mode the same
// way). Before these passes dropout and batch norm mean different things in
// training and inference; after them, no op depends on a mode.
#pragma once

#include "passes/pass.h"

namespace netc {

// Training: dropout(x, keep) becomes x * dropout_mask(x, keep), an inverted
// dropout whose mask is a pure function of (seed, step, stream, element), so
// the backward pass (and any kernel) can recompute it instead of storing it.
// Batch norm becomes its batch-statistics formula in primitives, and the step
// updates the running statistics (an exponentially weighted average with the
// layer's momentum; the variance unbiased, as PyTorch keeps it).
PassResult specialize_for_training(const Graph& g);

// Inference: dropout disappears; batch norm uses the running statistics,
// y = x * s + (beta - mean * s) with s = gamma / sqrt(var + eps), and when its
// input is a dense layer (matmul + bias) or a biased conv2d used nowhere else,
// s and the shift are folded into that layer's weights and bias instead.
PassResult specialize_for_inference(const Graph& g);

} // namespace netc
