#include "runtime/tune.h"

#include "runtime/error.h"
#include "runtime/train/train.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>

namespace netc::rt {

namespace {

// splitmix64: the same draws on every platform, unlike <random>'s distributions.
double uniform(uint64_t& state, double lo, double hi) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  double u = static_cast<double>(z >> 11) * 0x1.0p-53; // [0, 1)
  return lo + (hi - lo) * u;
}

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string cell(double v) { return fmt::format("{:.4g}", v); }

} // namespace

std::map<std::string, double> sample_hypers(const Plan& plan, uint64_t& rng) {
  std::map<std::string, double> v;
  // In the plan's order, so that one seed gives the same trials every run.
  for (const Hyper& h : plan.hypers) {
    const std::string& n = h.name;
    if (n == "lr")
      v[n] = std::pow(10.0, uniform(rng, -4, 0));
    else if (n == "beta1" || n == "beta" || n == "momentum")
      v[n] = 1 - std::pow(10.0, uniform(rng, -3, -1));
    else if (n == "beta2")
      v[n] = 1 - std::pow(10.0, uniform(rng, -4, -2));
    else if (ends_with(n, ".lambda") || n == "weight_decay")
      v[n] = std::pow(10.0, uniform(rng, -4, 0));
    else if (ends_with(n, ".keep"))
      v[n] = uniform(rng, 0.5, 1);
  }
  return v;
}

std::vector<Trial> run_tuning(Executor& ex, const TuneOptions& o, std::ostream& out) {
  const Plan& plan = ex.plan();
  TrainOptions t;
  t.data = o.data;
  t.data_dir = o.data_dir;
  t.epochs = o.epochs;
  t.batch = o.batch;
  t.seed = o.seed;
  t.quiet = true;
  t.evaluate_test = false; // the test split stays unseen while choosing hypers
  // The data is loaded, split and normalized once for every trial.
  TrainSetup setup = prepare_training(plan, t);
  uint64_t rng = setup.config.seed;
  out << fmt::format("model {}: {} trials of {} epoch{} on {} ({} train / {} val), seed {}\n",
                     plan.model, o.trials, o.epochs, o.epochs == 1 ? "" : "s", setup.config.data,
                     setup.data.splits.train.size(), setup.data.splits.val.size(),
                     setup.config.seed);
  if (setup.data.splits.val.size() == 0)
    out << "no val split: trials are scored by their train loss\n";
  std::vector<Trial> trials;
  for (int64_t i = 1; i <= o.trials; ++i) {
    Trial trial;
    trial.index = i;
    trial.values = sample_hypers(plan, rng);
    TrainOptions run = t;
    run.hypers = trial.values;
    // The learning rate goes through the schedule (it sets "lr" every step).
    if (auto lr = run.hypers.find("lr"); lr != run.hypers.end()) {
      run.lr = lr->second;
      run.hypers.erase(lr);
    }
    try {
      // run_training re-initializes from the setup's seed: every trial starts
      // from the same weights, so only the hypers differ.
      TrainResult r = run_training(ex, run, setup, out);
      if (r.val) {
        trial.val_loss = r.val->loss;
        trial.val_accuracy = r.val->accuracy;
      } else {
        trial.val_loss = r.train_loss.value_or(std::numeric_limits<double>::infinity());
        trial.val_accuracy = r.train_accuracy;
      }
      if (!std::isfinite(trial.val_loss)) {
        trial.failure = "non-finite val loss";
        trial.val_loss = std::numeric_limits<double>::infinity();
      }
    } catch (const Error& e) {
      // A diverging learning rate is an expected outcome of a search, not an error.
      // Bad data fails before the first trial, in prepare_training above.
      trial.val_loss = std::numeric_limits<double>::infinity();
      trial.failure = e.what();
    }
    std::string values;
    for (const auto& [name, value] : trial.values)
      values += fmt::format("  {} {}", name, cell(value));
    out << fmt::format("trial {:>3}/{}:{}  ->  val loss {}{}\n", i, o.trials, values,
                       std::isfinite(trial.val_loss) ? fmt::format("{:.4f}", trial.val_loss)
                                                     : std::string("diverged"),
                       trial.val_accuracy ? fmt::format(" acc {:.2f}%", 100 * *trial.val_accuracy)
                                          : std::string())
        << std::flush;
    trials.push_back(std::move(trial));
  }
  std::stable_sort(trials.begin(), trials.end(),
                   [](const Trial& a, const Trial& b) { return a.val_loss < b.val_loss; });
  return trials;
}

int exe_tune(Executor& ex, const TuneOptions& o, std::ostream& out) {
  std::vector<Trial> trials = run_tuning(ex, o, out);
  std::vector<std::string> names;
  for (const Hyper& h : ex.plan().hypers)
    if (!trials.empty() && trials[0].values.count(h.name)) names.push_back(h.name);
  out << "\nranked by val loss\n";
  std::string header =
      fmt::format("{:>4}  {:>5}  {:>10}  {:>8}", "rank", "trial", "val loss", "val acc");
  for (const std::string& n : names) header += fmt::format("  {:>10}", n);
  out << header << "\n";
  for (size_t k = 0; k < trials.size(); ++k) {
    const Trial& t = trials[k];
    std::string line =
        fmt::format("{:>4}  {:>5}  {:>10}  {:>8}", k + 1, t.index,
                    std::isfinite(t.val_loss) ? fmt::format("{:.4f}", t.val_loss) : "diverged",
                    t.val_accuracy ? fmt::format("{:.2f}%", 100 * *t.val_accuracy) : "-");
    for (const std::string& n : names) line += fmt::format("  {:>10}", cell(t.values.at(n)));
    out << line << "\n";
  }
  if (trials.empty() || !std::isfinite(trials[0].val_loss)) {
    out << "no trial converged\n";
    return 1;
  }
  const Trial& best = trials[0];
  if (!o.save_config.empty()) {
    nlohmann::ordered_json j = {{"model", ex.plan().model},
                                {"trial", best.index},
                                {"epochs", o.epochs},
                                {"val_loss", best.val_loss},
                                {"val_accuracy", best.val_accuracy ? *best.val_accuracy : NAN},
                                {"hypers", nlohmann::ordered_json::object()}};
    for (const auto& [name, value] : best.values) j["hypers"][name] = value;
    std::ofstream f(o.save_config, std::ios::trunc);
    f << j.dump(2) << "\n";
    f.close();
    if (!f) throw Error(fmt::format("cannot write the configuration {}", o.save_config));
    out << fmt::format("best configuration (trial {}) saved to {}\n", best.index, o.save_config);
  }
  return 0;
}

} // namespace netc::rt
