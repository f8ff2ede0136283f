#include "runtime/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace netc {

double LrSchedule::rate(int64_t epoch, int64_t step) const {
  auto e = static_cast<double>(std::max<int64_t>(epoch, 1));
  auto t = static_cast<double>(std::max<int64_t>(step, 1));
  const std::string& k = c_.kind;
  if (k == "inverse_time") return alpha0_ / (1.0 + c_.rate * e);
  if (k == "exponential") return std::pow(c_.base, e) * alpha0_;
  if (k == "epoch_power") return c_.k / std::pow(e, c_.p) * alpha0_;
  if (k == "step_sqrt") return c_.k / std::sqrt(t) * alpha0_;
  if (k == "staircase") return alpha0_ * std::pow(c_.factor, std::floor(e / double(c_.every)));
  if (k == "plateau") return lr_;
  if (k == "cosine") return cosine(step);
  return alpha0_; // none
}

double LrSchedule::cosine(int64_t step) const {
  int64_t total = std::max<int64_t>(steps_per_epoch_ * epochs_, 1);
  int64_t warm = std::min(c_.warmup * steps_per_epoch_, total - 1);
  int64_t t = std::clamp<int64_t>(step, 1, total);
  if (t <= warm) return alpha0_ * double(t) / double(warm);
  double progress = double(t - 1 - warm) / double(total - warm);
  return c_.min_lr + (alpha0_ - c_.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

bool LrSchedule::end_epoch(double val_loss) {
  if (c_.kind != "plateau") return false;
  if (!have_best_ || val_loss < best_) {
    best_ = val_loss;
    have_best_ = true;
    bad_epochs_ = 0;
    return false;
  }
  if (++bad_epochs_ < c_.patience) return false;
  bad_epochs_ = 0;
  double next = std::max(lr_ * c_.factor, c_.min_lr);
  bool changed = next != lr_;
  lr_ = next;
  return changed;
}

} // namespace netc
