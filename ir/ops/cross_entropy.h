// The options of softmax_cross_entropy, which make it PyTorch's
// nn.CrossEntropyLoss(weight=w, label_smoothing=s) with reduction='mean', and
// of one_hot, which then builds the target rows of its gradient. Decoded and
// checked here for the shape rules, the reference implementations, the
// gradient rule (ir/ops/loss.cpp) and the Halide lowerings (codegen/ops/loss.cpp).
//
// With C classes, class weights w (all 1 when absent) and smoothing s (0 when
// absent), the target row of label y mixes the one-hot row with the uniform
// distribution, each class weighted by its own weight:
//   q_y[c] = (1 - s) w[y] [c = y] + (s / C) w[c]
// and the loss of N rows with log-probabilities lp_r = log_softmax(x_r) is
//   J = sum_r sum_c q_{y_r}[c] (-lp_r[c]) / sum_r w[y_r]
// which is PyTorch's (1 - s) nll + (s / C) smooth: both of its terms are
// normalized by sum_r w[y_r]. s = 0 and w = 1 give the plain mean over the
// rows of -lp_r[y_r].
#pragma once

#include "ir/attrs.h"
#include "ir/error.h"

#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <vector>

namespace netc {

struct CrossEntropyOptions {
  double smoothing = 0;        // attribute label_smoothing, in [0, 1]
  std::vector<double> weights; // attribute weights, one per class; empty: all 1

  bool weighted() const { return !weights.empty(); }
  double weight(int64_t c) const { return weights.empty() ? 1.0 : weights[size_t(c)]; }
};

// The options for C classes. Throws ShapeError for a smoothing outside
// [0, 1], a weight list of another length than C, a negative or non-finite
// weight, or weights that are all zero (every loss would be 0 / 0).
inline CrossEntropyOptions cross_entropy_options(const Attrs& a, int64_t classes) {
  CrossEntropyOptions o;
  o.smoothing = a.get_float("label_smoothing", 0.0);
  if (!(o.smoothing >= 0 && o.smoothing <= 1))
    throw ShapeError(
        fmt::format("attribute 'label_smoothing' must be in [0, 1], found {}", o.smoothing));
  if (!a.has("weights")) return o;
  o.weights = a.get_floats("weights");
  if (int64_t(o.weights.size()) != classes)
    throw ShapeError(
        fmt::format("attribute 'weights' has {} values for {} classes", o.weights.size(), classes));
  bool any_positive = false;
  for (double w : o.weights) {
    if (!(w >= 0 && std::isfinite(w)))
      throw ShapeError(fmt::format("class weights must be finite and >= 0, found {}", w));
    any_positive |= w > 0;
  }
  if (!any_positive) throw ShapeError("at least one class weight must be positive");
  return o;
}

} // namespace netc
