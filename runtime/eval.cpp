#include "runtime/eval.h"

#include "runtime/checkpoint.h"
#include "runtime/report.h"
#include "runtime/train/model_io.h"
#include "runtime/train/train.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>
#include <ostream>

namespace netc::rt {

namespace {

// Loads the weights (all checks first: nothing changes on a bad checkpoint).
SafetensorsFile load_weights(Executor& ex, const std::string& path) {
  SafetensorsFile f = read_safetensors(path);
  restore_persistent(f, ex, path);
  return f;
}

std::string metadata(const SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  return it == f.metadata.end() ? "" : it->second;
}

} // namespace

int exe_eval(Executor& ex, const EvalOptions& o, std::ostream& out) {
  const Plan& plan = ex.plan();
  SafetensorsFile ckpt = load_weights(ex, o.weights);
  DataLayout layout = model_data_layout(plan);
  Normalizer norm = stored_normalizer(ckpt, layout.example_shape, o.weights);
  TrainConfig config = plan.config;
  config.data = o.data ? *o.data : metadata(ckpt, "netc.data");
  if (config.data == kRandomData)
    throw Error(fmt::format("checkpoint {} was trained on random data (train "
                            "--random-data), so it names no data to evaluate on; pass "
                            "--data SPEC",
                            o.weights));
  config.data_dir = o.data_dir ? *o.data_dir : metadata(ckpt, "netc.data_dir");
  if (ckpt.metadata.count("netc.seed")) config.seed = checkpoint_seed(ckpt, o.weights);
  LoadedData loaded = load_data(config.data, config.data_dir, layout);
  Subset subset;
  std::string what;
  if (o.data) {
    subset.data = loaded.examples;
    subset.rows.resize(static_cast<size_t>(loaded.examples->size));
    std::iota(subset.rows.begin(), subset.rows.end(), int64_t{0});
    what = fmt::format("every example of {}", config.data);
  } else {
    // The split training used: the same data gives the same default.
    Splits splits = split_data(loaded, effective_split(config.split, loaded), config.seed);
    subset = splits.test.size() > 0 ? splits.test : splits.val;
    what = fmt::format("the {} split of {}", splits.test.size() > 0 ? "test" : "val", config.data);
  }
  BatchLoader loader(subset, norm, plan.max_batch, config.seed, false);
  EvalResult r = evaluate(ex, loader, layout, true);
  out << fmt::format("model {}: {} examples ({})\n", plan.model, r.count, what);
  out << fmt::format("loss      {:.4f}\n", r.loss);
  // Written before the text analysis, announced after it (the last line).
  std::string report;
  if (!o.report.empty())
    report = write_report(o.report,
                          evaluation_report(plan.model, what, r,
                                            layout.labels.empty() ? 0 : layout.labels[0].classes));
  auto announce = [&] {
    if (!report.empty()) out << fmt::format("report: {}\n", report);
  };
  if (!r.accuracy) {
    announce();
    return 0;
  }
  out << fmt::format("accuracy  {:.2f}%  (error {:.2f}%)\n", 100 * *r.accuracy,
                     100 * (1 - *r.accuracy));
  const int64_t c = layout.labels[0].classes;
  std::vector<int64_t> m(static_cast<size_t>(c * c), 0);
  for (size_t i = 0; i < r.labels.size(); ++i)
    ++m[static_cast<size_t>(r.labels[i] * c + r.predicted[i])];
  auto at = [&](int64_t t, int64_t p) { return m[static_cast<size_t>(t * c + p)]; };
  out << "\nconfusion matrix (rows: true class, columns: predicted)\n      ";
  for (int64_t p = 0; p < c; ++p) out << fmt::format("{:>6}", p);
  out << "\n";
  for (int64_t t = 0; t < c; ++t) {
    out << fmt::format("{:>6}", t);
    for (int64_t p = 0; p < c; ++p) out << fmt::format("{:>6}", at(t, p));
    out << "\n";
  }
  out << "\nper-class error\n";
  for (int64_t t = 0; t < c; ++t) {
    int64_t n = 0;
    for (int64_t p = 0; p < c; ++p) n += at(t, p);
    out << fmt::format("  class {:>3}  {:>6.2f}%  ({} of {})\n", t,
                       n ? 100.0 * static_cast<double>(n - at(t, t)) / static_cast<double>(n) : 0.0,
                       n - at(t, t), n);
  }
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t t = 0; t < c; ++t)
    for (int64_t p = 0; p < c; ++p)
      if (t != p && at(t, p) > 0) pairs.emplace_back(t, p);
  std::stable_sort(pairs.begin(), pairs.end(),
                   [&](auto a, auto b) { return at(a.first, a.second) > at(b.first, b.second); });
  out << "\nmost confused pairs (true -> predicted)\n";
  for (size_t i = 0; i < pairs.size() && i < 5; ++i)
    out << fmt::format("  {} -> {}  {} times\n", pairs[i].first, pairs[i].second,
                       at(pairs[i].first, pairs[i].second));
  if (c == 2) {
    int64_t tp = at(1, 1), fp = at(0, 1), fn = at(1, 0);
    out << fmt::format("\nbinary: {} false positives, {} false negatives; precision {:.4f}, "
                       "recall {:.4f}\n",
                       fp, fn, tp + fp ? double(tp) / double(tp + fp) : 0.0,
                       tp + fn ? double(tp) / double(tp + fn) : 0.0);
  }
  std::vector<size_t> wrong;
  for (size_t i = 0; i < r.labels.size(); ++i)
    if (r.labels[i] != r.predicted[i]) wrong.push_back(i);
  // The most confident mistakes first: those are the ones worth looking at.
  std::stable_sort(wrong.begin(), wrong.end(),
                   [&](size_t a, size_t b) { return r.confidence[a] > r.confidence[b]; });
  if (o.errors > 0 && !wrong.empty()) {
    out << fmt::format("\nmisclassified examples ({} of {}, most confident first)\n",
                       std::min<size_t>(wrong.size(), static_cast<size_t>(o.errors)), wrong.size());
    out << "   index   true  predicted  confidence\n";
    for (size_t i = 0; i < wrong.size() && i < static_cast<size_t>(o.errors); ++i) {
      size_t w = wrong[i];
      out << fmt::format("  {:>6}  {:>5}  {:>9}  {:>10.4f}\n", r.rows[w], r.labels[w],
                         r.predicted[w], r.confidence[w]);
    }
  }
  announce();
  return 0;
}

int exe_predict(Executor& ex, const PredictOptions& o, std::ostream& out) {
  const Plan& plan = ex.plan();
  SafetensorsFile ckpt = load_weights(ex, o.weights);
  DataLayout layout = model_data_layout(plan);
  Normalizer norm = stored_normalizer(ckpt, layout.example_shape, o.weights);
  auto data = std::make_shared<Dataset>(load_inputs(o.input, layout));
  Subset subset{data, std::vector<int64_t>(static_cast<size_t>(data->size))};
  std::iota(subset.rows.begin(), subset.rows.end(), int64_t{0});
  BatchLoader loader(subset, norm, plan.max_batch, 0, false);
  ModelIo io(ex, plan.infer, DataLayout{layout.input_name, layout.example_shape, {}});
  const NamedSlot& output = plan.infer.outputs.at(0);
  // Class predictions only where the output has one column per class; an
  // embedding (examples/triplet.nn) or a regression is printed as it is.
  bool classes = io.scores() && !layout.labels.empty() && layout.labels[0].classes > 0 &&
                 layout.labels[0].classes == io.num_classes();
  out << (classes ? "row,class,confidence\n" : fmt::format("row,{}\n", output.name));
  int64_t row = 0;
  for (int64_t k = 0; k < loader.num_batches(); ++k) {
    int64_t b = io.fill(ex, loader, k);
    ex.run(plan.infer);
    std::span<const float> y = ex.f32(output.slot);
    int64_t width = static_cast<int64_t>(y.size()) / b;
    for (int64_t i = 0; i < b; ++i, ++row) {
      const float* s = y.data() + i * width;
      if (classes) {
        int64_t p = argmax(s, width);
        double conf = s[p];
        if (!io.scores_are_probs()) {
          double z = 0;
          for (int64_t j = 0; j < width; ++j) z += std::exp(double(s[j]) - s[p]);
          conf = 1 / z;
        }
        out << fmt::format("{},{},{:.6f}\n", row, p, conf);
      } else {
        out << row;
        for (int64_t j = 0; j < width; ++j) out << fmt::format(",{:.6g}", s[j]);
        out << "\n";
      }
    }
  }
  return 0;
}

} // namespace netc::rt
