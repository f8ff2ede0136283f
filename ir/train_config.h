// The `train { }` block of a model: how the compiled binary trains by default.
// Every field has the default that applies when the key is absent. Values are
// checked by the frontend (which knows their source positions); the IR carries
// them so that the compiled binary needs no model file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netc {

// The update rules, per trainable param W with gradient g (docs/language.md):
//   sgd       v = momentum v + g (PyTorch's undamped form; none when momentum = 0),
//             W -= lr (nesterov ? g + momentum v : v)
//   momentum  v = beta v + (1 - beta) g (the notes' averaged form),
//             W -= lr (nesterov ? beta v + (1 - beta) g : v)
//   rmsprop   s = beta s + (1 - beta) g^2, W -= lr g / (sqrt(s) + eps)
//   adam      bias-corrected moments, W -= lr m^ / (sqrt(v^) + eps)
//   adamw     adam after W -= lr weight_decay W (decoupled, PyTorch's AdamW)
// weight_decay adds weight_decay * W to g first (PyTorch's coupled form) for
// every optimizer but adamw, over every trainable param, as PyTorch's default
// parameter group does.
struct OptimizerConfig {
  std::string kind = "adam"; // sgd | momentum | rmsprop | adam | adamw
  double lr = 1e-3;
  double beta = 0.9;  // momentum and rmsprop
  double beta1 = 0.9; // adam and adamw
  double beta2 = 0.999;
  double eps = 1e-8;     // rmsprop, adam and adamw
  double momentum = 0.0; // sgd
  bool nesterov = false; // sgd and momentum
  double weight_decay = 0.0;
  friend bool operator==(const OptimizerConfig&, const OptimizerConfig&) = default;
};

// Learning-rate decay, SPEC section 4 (epoch counts from 1, t counts steps from 1):
//   none            alpha0
//   inverse_time    alpha0 / (1 + rate * epoch)
//   exponential     base^epoch * alpha0
//   epoch_power     k / epoch^p * alpha0
//   step_sqrt       k / sqrt(t) * alpha0
//   staircase       alpha0 * factor^floor(epoch / every)
//   plateau         alpha *= factor after `patience` epochs without val-loss improvement,
//                   never below min_lr
//   cosine          linear warmup over `warmup` epochs, then a half cosine per step
//                   from alpha0 down to min_lr at the last step of the run
struct LrDecayConfig {
  std::string kind = "none";
  double rate = 1.0;
  double base = 0.95;
  double k = 1.0;
  double p = 1.0;
  double factor = 0.5;
  int64_t every = 1;
  int64_t patience = 2;
  double min_lr = 0.0;
  int64_t warmup = 0; // cosine's warmup epochs
  friend bool operator==(const LrDecayConfig&, const LrDecayConfig&) = default;
};

// train / val / test. Either counts ("50000 / 10000 / test") or ratios
// ("0.6 / 0.2 / 0.2"). `test` as the last part means the dataset's own test set.
// The member defaults are Fashion-MNIST's default split.
struct SplitConfig {
  bool ratios = false;
  std::vector<double> parts = {50000, 10000};
  bool use_test_set = true;
  friend bool operator==(const SplitConfig&, const SplitConfig&) = default;
};

struct EarlyStopConfig {
  bool enabled = false;
  int64_t patience = 3;
  std::string on = "val_loss"; // val_loss | val_error
  friend bool operator==(const EarlyStopConfig&, const EarlyStopConfig&) = default;
};

// One data-augmentation transform of the train block (docs/language.md), applied
// by the compiled binary to training batches only. `amount` is the transform's
// strength: shift and cutout in pixels, rotate in degrees, scale as a fraction
// (factors in [1 - amount, 1 + amount]); flip has none (probability 0.5).
struct AugmentStep {
  std::string kind; // shift | flip | rotate | scale | cutout
  double amount = 0;
  friend bool operator==(const AugmentStep&, const AugmentStep&) = default;
};

// "shift(2), flip, cutout(8)"; "none" for no transform.
std::string augment_text(const std::vector<AugmentStep>& steps);

struct TrainConfig {
  std::string data =
      "fashion-mnist";  // fashion-mnist | idx:IMAGES,LABELS | csv:PATH[:label=COL] | npy:X,Y
  std::string data_dir; // where fashion-mnist lives, if not the Debian package's folder
  // Absent when the train block sets no `split`: the data decides at run time
  // (runtime/data/split.h, default_split), since `--data` may replace it.
  std::optional<SplitConfig> split;
  std::string normalize = "global"; // global | per_feature | per_channel | none
  int64_t batch = 128;
  int64_t epochs = 10;
  OptimizerConfig optimizer;
  LrDecayConfig lr_decay;
  EarlyStopConfig early_stop;
  uint64_t seed = 1;
  double max_norm = 0.0;             // 0 = no max-norm constraint
  std::optional<double> bayes_error; // for the bias/variance diagnosis
  std::vector<AugmentStep> augment;  // empty: none
  friend bool operator==(const TrainConfig&, const TrainConfig&) = default;
};

// The canonical one-line JSON form used by the IR text format, and its inverse.
// from_json throws ShapeError on malformed text.
std::string train_config_to_json(const TrainConfig& c);
TrainConfig train_config_from_json(const std::string& text);

} // namespace netc
