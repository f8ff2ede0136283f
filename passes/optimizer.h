// The optimizer update, appended to a differentiated graph: the result is one
// training-step graph whose state (params, moments, the step counter) is
// explicit, read as leaves and written back as `updates`.
#pragma once

#include "ir/train_config.h"
#include "passes/autodiff.h"

namespace netc {

// Appends, for every trainable param W with gradient dW (t counts steps from 1):
//   sgd       W -= lr dW, or with momentum mu > 0 (PyTorch's SGD, undamped):
//             V = mu V + dW;  W -= lr (nesterov ? dW + mu V : V)
//   momentum  V = beta V + (1 - beta) dW;  W -= lr (nesterov ? beta V + (1 - beta) dW : V)
//   rmsprop   S = beta S + (1 - beta) dW^2;  W -= lr dW / (sqrt(S) + eps)
//   adam      V = b1 V + (1 - b1) dW;  S = b2 S + (1 - b2) dW^2;
//             W -= lr (V / (1 - b1^t)) / (sqrt(S / (1 - b2^t)) + eps)
//   adamw     W -= lr weight_decay W, then adam's step
// With weight_decay > 0 every optimizer but adamw first adds weight_decay W
// to dW (PyTorch's coupled decay). When config.max_norm > 0, each output
// unit's incoming weights (columns of a dense W, filters of a conv W) are
// rescaled to norm at most max_norm. lr, the betas, momentum, eps,
// weight_decay and max_norm are Hyper leaves (runtime scalars, so tuning
// needs no recompile); V, S and the step counter are State leaves.
Graph append_optimizer(const Differentiated& d, const TrainConfig& config);

} // namespace netc
