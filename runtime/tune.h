// `OUT tune --trials N`: random search over the runtime hyperparameters (SPEC
// section 4), each trial a short training from the same initialization scored
// on the val split:
//   lr                 10^r, r ~ U[-4, 0]
//   beta1 (Adam)       1 - 10^r, r ~ U[-3, -1]
//   beta2 (Adam)       1 - 10^r, r ~ U[-4, -2]
//   beta (momentum, RMSprop)  1 - 10^r, r ~ U[-3, -1]
//   *.lambda (L1, L2)  10^r, r ~ U[-4, 0]
//   *.keep (dropout)   U[0.5, 1]
// Log scales because these act multiplicatively: 1e-4..1e-3 matters as much
// as 0.1..1, and beta's effect is 1/(1 - beta) averaged steps. Other hypers
// (eps, max_norm) keep the model's values.
#pragma once

#include "runtime/executor.h"

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace netc::rt {

struct TuneOptions {
  int64_t trials = 10;
  int64_t epochs = 1;
  std::optional<uint64_t> seed; // the sampler's and the training's (default: the model's)
  std::optional<std::string> data, data_dir;
  std::optional<int64_t> batch;
  std::string save_config; // the best configuration as JSON
};

struct Trial {
  int64_t index = 0;                    // from 1, in sampling order
  std::map<std::string, double> values; // hyper name -> sampled value
  double val_loss = 0;                  // +inf for a diverged trial
  std::optional<double> val_accuracy;
  std::string failure; // why the trial stopped (a non-finite loss), or ""
};

// The sampled values of one trial for the plan's hypers, from `rng_state`.
std::map<std::string, double> sample_hypers(const Plan& plan, uint64_t& rng_state);

// Runs the trials and returns them ranked by val loss (best first).
std::vector<Trial> run_tuning(Executor& ex, const TuneOptions& o, std::ostream& out);

int exe_tune(Executor& ex, const TuneOptions& o, std::ostream& out);

} // namespace netc::rt
