#include "runtime/data/augment.h"

#include "ir/random.h"
#include "runtime/error.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <numbers>

namespace netc::rt {

namespace {

// The draws of one example, each its own hash32 stream.
enum Draw : uint32_t { kShiftX, kShiftY, kFlip, kRotate, kScale, kCutY, kCutX };

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

} // namespace

Augmenter::Augmenter(std::vector<AugmentStep> steps, std::vector<int64_t> example_shape,
                     uint64_t seed)
    : steps_(std::move(steps)), seed_(seed) {
  if (example_shape.size() != 3)
    throw Error(fmt::format("augment ({}) needs image examples [C, H, W], but the model's "
                            "examples have shape {}",
                            augment_text(steps_), shape_text(example_shape)));
  channels_ = example_shape[0];
  height_ = example_shape[1];
  width_ = example_shape[2];
  for (const AugmentStep& s : steps_) {
    if (s.kind == "shift")
      shift_ = static_cast<int64_t>(s.amount);
    else if (s.kind == "flip")
      flip_ = true;
    else if (s.kind == "rotate")
      rotate_ = s.amount;
    else if (s.kind == "scale")
      scale_ = s.amount;
    else if (s.kind == "cutout")
      cutout_ = static_cast<int64_t>(s.amount);
    else
      throw Error(fmt::format("unknown augmentation '{}'", s.kind));
  }
  int64_t side = std::min(height_, width_);
  if (shift_ >= side || cutout_ > side)
    throw Error(fmt::format("augment ({}) does not fit images of {}x{} pixels",
                            augment_text(steps_), height_, width_));
}

AugmentDraw Augmenter::draw(int64_t epoch, int64_t row) const {
  auto u = [&](Draw which) {
    return uniform01(seed_, kAugmentStream + which, static_cast<uint32_t>(epoch),
                     static_cast<uint32_t>(row));
  };
  // floor(u n) for u in [0, 1): uniform over 0..n-1 (u has 24 bits, n is small).
  auto pick = [&](Draw which, int64_t n) {
    return std::min(n - 1, static_cast<int64_t>(u(which) * static_cast<float>(n)));
  };
  AugmentDraw d;
  if (shift_ > 0) {
    d.dx = pick(kShiftX, 2 * shift_ + 1) - shift_;
    d.dy = pick(kShiftY, 2 * shift_ + 1) - shift_;
  }
  if (flip_) d.flip = u(kFlip) < 0.5f;
  if (rotate_ > 0) d.degrees = (2.0 * u(kRotate) - 1.0) * rotate_;
  if (scale_ > 0) d.scale = 1.0 + (2.0 * u(kScale) - 1.0) * scale_;
  if (cutout_ > 0) {
    d.cutout = true;
    d.cut_y = pick(kCutY, height_);
    d.cut_x = pick(kCutX, width_);
  }
  return d;
}

void Augmenter::apply(const AugmentDraw& d, const float* in, float* out) const {
  if (d.degrees == 0 && d.scale == 1)
    integer_shift(d, in, out);
  else
    resample(d, in, out);
  if (!d.cutout) return;
  // The square [y0, y0 + n) x [x0, x0 + n) around the center, clipped to the image.
  int64_t y0 = d.cut_y - cutout_ / 2, x0 = d.cut_x - cutout_ / 2;
  int64_t y_begin = std::max<int64_t>(y0, 0), y_end = std::min(y0 + cutout_, height_);
  int64_t x_begin = std::max<int64_t>(x0, 0), x_end = std::min(x0 + cutout_, width_);
  for (int64_t c = 0; c < channels_; ++c)
    for (int64_t y = y_begin; y < y_end; ++y) {
      float* row = out + (c * height_ + y) * width_;
      std::fill(row + x_begin, row + x_end, 0.0f);
    }
}

// out(y, x) = in(y - dy, sx - dx) with sx = W - 1 - x when flipped, else x; 0 outside.
// Each row is one copy (reversed when flipped) between runs of zeros.
void Augmenter::integer_shift(const AugmentDraw& d, const float* in, float* out) const {
  // Output columns [x_begin, x_end) read inside the image: src = x - dx, or
  // W - 1 - x - dx when flipped.
  int64_t x_begin = std::clamp<int64_t>(d.flip ? -d.dx : d.dx, 0, width_);
  int64_t x_end = std::clamp<int64_t>(d.flip ? width_ - d.dx : width_ + d.dx, x_begin, width_);
  for (int64_t c = 0; c < channels_; ++c) {
    const float* plane = in + c * height_ * width_;
    for (int64_t y = 0; y < height_; ++y) {
      float* dst = out + (c * height_ + y) * width_;
      int64_t sy = y - d.dy;
      if (sy < 0 || sy >= height_ || x_begin == x_end) {
        std::fill(dst, dst + width_, 0.0f);
        continue;
      }
      const float* src = plane + sy * width_;
      std::fill(dst, dst + x_begin, 0.0f);
      if (d.flip)
        std::reverse_copy(src + (width_ - x_end - d.dx), src + (width_ - x_begin - d.dx),
                          dst + x_begin);
      else
        std::copy(src + (x_begin - d.dx), src + (x_end - d.dx), dst + x_begin);
      std::fill(dst + x_end, dst + width_, 0.0f);
    }
  }
}

// The inverse map of each output pixel, (x, y) -> undo the flip, undo the shift,
// then about the center c: p_src = R(-theta) (p - c) / scale + c, read bilinearly
// with 0 outside the image. Along a row the source point moves by a constant
// step; only pixels near the border need the bounds checks, and floor is a
// cast of a positive number (std::floor is a library call without SSE4.1).
void Augmenter::resample(const AugmentDraw& d, const float* in, float* out) const {
  double theta = d.degrees * std::numbers::pi / 180.0;
  double cos_t = std::cos(theta) / d.scale, sin_t = std::sin(theta) / d.scale;
  double cx = static_cast<double>(width_ - 1) / 2, cy = static_cast<double>(height_ - 1) / 2;
  // u = sx - dx - cx with sx = x, or W - 1 - x when flipped: u = u0 + x du.
  double du = d.flip ? -1.0 : 1.0;
  double u0 = static_cast<double>((d.flip ? width_ - 1 : 0) - d.dx) - cx;
  auto step_x = static_cast<float>(cos_t * du), step_y = static_cast<float>(-sin_t * du);
  auto w = static_cast<float>(width_), h = static_cast<float>(height_);
  for (int64_t c = 0; c < channels_; ++c) {
    const float* plane = in + c * height_ * width_;
    auto at = [&](int64_t y, int64_t x) {
      return y >= 0 && y < height_ && x >= 0 && x < width_ ? plane[y * width_ + x] : 0.0f;
    };
    for (int64_t y = 0; y < height_; ++y) {
      float* dst = out + (c * height_ + y) * width_;
      double v = static_cast<double>(y - d.dy) - cy;
      auto xs = static_cast<float>(cos_t * u0 + sin_t * v + cx);
      auto ys = static_cast<float>(-sin_t * u0 + cos_t * v + cy);
      for (int64_t x = 0; x < width_; ++x, xs += step_x, ys += step_y) {
        // All four neighbours outside: 0.
        if (!(xs > -1 && ys > -1 && xs < w && ys < h)) {
          dst[x] = 0;
          continue;
        }
        auto x0 = static_cast<int64_t>(xs + 1) - 1, y0 = static_cast<int64_t>(ys + 1) - 1;
        float wx = xs - static_cast<float>(x0), wy = ys - static_cast<float>(y0);
        float p00, p01, p10, p11;
        if (x0 >= 0 && x0 + 1 < width_ && y0 >= 0 && y0 + 1 < height_) {
          const float* p = plane + y0 * width_ + x0;
          p00 = p[0], p01 = p[1], p10 = p[width_], p11 = p[width_ + 1];
        } else {
          p00 = at(y0, x0), p01 = at(y0, x0 + 1), p10 = at(y0 + 1, x0), p11 = at(y0 + 1, x0 + 1);
        }
        dst[x] = (1 - wy) * ((1 - wx) * p00 + wx * p01) + wy * ((1 - wx) * p10 + wx * p11);
      }
    }
  }
}

} // namespace netc::rt
