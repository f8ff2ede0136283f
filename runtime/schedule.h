// Learning-rate schedules (SPEC section 4). The learning rate is a runtime
// scalar of the training step, so the training loop sets it before each step
// from the schedule; nothing is recompiled.
#pragma once

#include "ir/train_config.h"

#include <cstdint>

namespace netc {

class LrSchedule {
public:
  // `steps_per_epoch` and `epochs` fix the length of the run, which cosine
  // needs; the other schedules ignore them.
  LrSchedule(const LrDecayConfig& config, double alpha0, int64_t steps_per_epoch = 1,
             int64_t epochs = 1)
      : c_(config), alpha0_(alpha0), lr_(alpha0), steps_per_epoch_(steps_per_epoch),
        epochs_(epochs) {}

  // The rate for a step of `epoch` (counted from 1); `step` counts steps from 1.
  //   none           alpha0
  //   inverse_time   alpha0 / (1 + rate * epoch)
  //   exponential    base^epoch * alpha0
  //   epoch_power    k / epoch^p * alpha0
  //   step_sqrt      k / sqrt(step) * alpha0
  //   staircase      alpha0 * factor^floor(epoch / every)
  //   plateau        the current rate, lowered by end_epoch()
  //   cosine         with W warmup steps (warmup epochs x steps per epoch) and
  //                  T steps in the run, step t: alpha0 t / W while t <= W, then
  //                  min_lr + (alpha0 - min_lr) (1 + cos(pi (t - 1 - W) / (T - W))) / 2,
  //                  which is PyTorch's LinearLR warmup then CosineAnnealingLR
  //                  (T_max = T - W, eta_min = min_lr) stepped after every batch
  double rate(int64_t epoch, int64_t step) const;

  // Reports an epoch's validation loss; reduce-on-plateau multiplies the
  // rate by `factor` after `patience` epochs without improvement (never below
  // min_lr). The other schedules ignore it. Returns true if the rate changed.
  bool end_epoch(double val_loss);

  // reduce-on-plateau's state, for checkpoints: a resumed run continues it.
  struct State {
    double lr = 0, best = 0;
    bool have_best = false;
    int64_t bad_epochs = 0;
  };
  State state() const { return {lr_, best_, have_best_, bad_epochs_}; }
  void restore(const State& s) {
    lr_ = s.lr;
    best_ = s.best;
    have_best_ = s.have_best;
    bad_epochs_ = s.bad_epochs;
  }

private:
  double cosine(int64_t step) const;

  LrDecayConfig c_;
  double alpha0_;
  double lr_; // plateau's current rate
  double best_ = 0;
  bool have_best_ = false;
  int64_t bad_epochs_ = 0;
  int64_t steps_per_epoch_, epochs_;
};

} // namespace netc
