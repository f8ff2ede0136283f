#include "ir/train_config.h"

#include "ir/error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace netc {

using nlohmann::json;

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OptimizerConfig, kind, lr, beta, beta1, beta2, eps,
                                                momentum, nesterov, weight_decay)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LrDecayConfig, kind, rate, base, k, p, factor,
                                                every, patience, min_lr, warmup)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SplitConfig, ratios, parts, use_test_set)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EarlyStopConfig, enabled, patience, on)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AugmentStep, kind, amount)

std::string augment_text(const std::vector<AugmentStep>& steps) {
  if (steps.empty()) return "none";
  std::string out;
  for (const AugmentStep& s : steps) {
    if (!out.empty()) out += ", ";
    out += s.kind == "flip" ? s.kind : fmt::format("{}({:g})", s.kind, s.amount);
  }
  return out;
}

std::string train_config_to_json(const TrainConfig& c) {
  json j = {{"data", c.data},         {"data_dir", c.data_dir},     {"normalize", c.normalize},
            {"batch", c.batch},       {"epochs", c.epochs},         {"optimizer", c.optimizer},
            {"lr_decay", c.lr_decay}, {"early_stop", c.early_stop}, {"seed", c.seed},
            {"max_norm", c.max_norm}};
  if (c.split) j["split"] = *c.split; // absent: the data's default
  if (c.bayes_error) j["bayes_error"] = *c.bayes_error;
  // Absent when empty, so that models without augmentation print as before.
  if (!c.augment.empty()) j["augment"] = c.augment;
  return j.dump();
}

TrainConfig train_config_from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    TrainConfig c;
    c.data = j.value("data", c.data);
    c.data_dir = j.value("data_dir", c.data_dir);
    if (j.contains("split")) c.split = j["split"].get<SplitConfig>();
    c.normalize = j.value("normalize", c.normalize);
    c.batch = j.value("batch", c.batch);
    c.epochs = j.value("epochs", c.epochs);
    if (j.contains("optimizer")) c.optimizer = j["optimizer"].get<OptimizerConfig>();
    if (j.contains("lr_decay")) c.lr_decay = j["lr_decay"].get<LrDecayConfig>();
    if (j.contains("early_stop")) c.early_stop = j["early_stop"].get<EarlyStopConfig>();
    c.seed = j.value("seed", c.seed);
    c.max_norm = j.value("max_norm", c.max_norm);
    if (j.contains("bayes_error")) c.bayes_error = j["bayes_error"].get<double>();
    if (j.contains("augment")) c.augment = j["augment"].get<std::vector<AugmentStep>>();
    return c;
  } catch (const json::exception& e) {
    throw ShapeError(std::string("malformed train configuration: ") + e.what());
  }
}

} // namespace netc
