// Data augmentation of training examples (the train block's `augment`,
// docs/language.md): random shifts (a random crop of a zero-padded image),
// horizontal flips, small rotations and scalings, and cutout, applied to the
// raw example before normalization, so that pixels moved in from outside the
// image and cut-out squares are 0, the background of images such as
// Fashion-MNIST's, and become the normalized background.
//
// Every random choice is ir/random.h's hash32 of (seed, epoch, dataset row,
// draw), so an example's transform depends neither on the batch it lands in nor
// on the batch size or thread count, changes from epoch to epoch, and a resumed
// run sees the transforms of a straight one.
#pragma once

#include "ir/train_config.h"

#include <cstdint>
#include <vector>

namespace netc::rt {

// The hash32 streams of augmentation (one per draw), distinct from those of
// initialization, dropout, the split and the batch order.
inline constexpr uint32_t kAugmentStream = 0x41554700; // "AUG\0" + draw

// The transforms drawn for one example.
struct AugmentDraw {
  int64_t dx = 0, dy = 0; // shift, in pixels (content moves right and down)
  bool flip = false;      // mirror left-right
  double degrees = 0;     // rotation, counter-clockwise, about the center
  double scale = 1;       // zoom about the center
  bool cutout = false;
  int64_t cut_y = 0, cut_x = 0; // the cutout square's center
};

class Augmenter {
public:
  // `example_shape` is [C, H, W]; throws Error for another rank or a
  // transform larger than the image.
  Augmenter(std::vector<AugmentStep> steps, std::vector<int64_t> example_shape, uint64_t seed);

  const std::vector<AugmentStep>& steps() const { return steps_; }

  // The transforms of dataset row `row` in epoch `epoch`.
  AugmentDraw draw(int64_t epoch, int64_t row) const;

  // Writes the transformed image `in` ([C, H, W] floats) to `out` (in != out):
  // first the geometric transforms as one resampling (rotate and scale about
  // the center, bilinear; then shift; then flip), then cutout. Allocates nothing.
  void apply(const AugmentDraw& d, const float* in, float* out) const;
  void apply(int64_t epoch, int64_t row, const float* in, float* out) const {
    apply(draw(epoch, row), in, out);
  }

private:
  void resample(const AugmentDraw& d, const float* in, float* out) const;
  void integer_shift(const AugmentDraw& d, const float* in, float* out) const;

  std::vector<AugmentStep> steps_;
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  uint64_t seed_ = 0;
  int64_t shift_ = 0, cutout_ = 0;
  bool flip_ = false;
  double rotate_ = 0, scale_ = 0;
};

} // namespace netc::rt
