// Input normalization (SPEC section 4): x := (x - mu) / sigma with mu and
// sigma^2 the mean and (population) variance over the TRAINING split only,
// applied alike to train, val, test and predict. The statistics are plain
// vectors so that a checkpoint can store them and restore them.
#pragma once

#include "runtime/data/split.h"

#include <cstdint>
#include <string>
#include <vector>

namespace netc::rt {

enum class NormMode { none, global, per_feature, per_channel };

// "none" | "global" | "per_feature" | "per_channel"; throws Error otherwise.
NormMode parse_norm_mode(const std::string& text);
const char* norm_mode_name(NormMode mode);

// A training feature whose std is below this is constant there: it is centered but
// not scaled, since dividing by a tiny std would turn the smallest val/test
// deviation into a huge input.
inline constexpr double kMinStd = 1e-6;

class Normalizer {
public:
  Normalizer() = default; // the identity (mode none)

  // Statistics of the training examples. global: one mean and std over every
  // value; per_feature: one per value of the example shape; per_channel: one per
  // index of the example shape's first axis (axis 1 of the batched input), over
  // all the others.
  static Normalizer fit(NormMode mode, const Subset& train);

  // Restores statistics (from a checkpoint); throws Error when their sizes do
  // not fit the mode and the example shape.
  static Normalizer from_statistics(NormMode mode, const std::vector<int64_t>& example_shape,
                                    std::vector<float> mean, std::vector<float> stddev);

  NormMode mode() const { return mode_; }
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& stddev() const { return std_; } // after the kMinStd rule
  // The statistics' shape: [] for none, [1] global, the example shape per_feature, [C] per_channel.
  std::vector<int64_t> statistics_shape() const;

  // out[i] = (in[i] - mean) / std over `values` floats, a whole number of consecutive
  // examples; in == out is fine. Allocates nothing.
  void apply(const float* in, float* out, int64_t values) const;

private:
  void expand(); // fills shift_ / scale_, one entry per value of an example

  NormMode mode_ = NormMode::none;
  std::vector<int64_t> example_shape_;
  std::vector<float> mean_, std_;
  std::vector<float> shift_, scale_; // per value of one example: (x - shift) * scale
};

} // namespace netc::rt
