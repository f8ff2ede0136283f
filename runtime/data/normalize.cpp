#include "runtime/data/normalize.h"

#include "runtime/data/readers.h"
#include "runtime/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <numeric>

namespace netc::rt {

namespace {

int64_t product(const std::vector<int64_t>& s) {
  return std::accumulate(s.begin(), s.end(), int64_t(1), std::multiplies<>());
}

// How many statistics a mode has, and which one value j of an example uses.
struct Groups {
  int64_t count = 0;
  int64_t per_group = 1; // per_channel: consecutive values sharing a channel
  NormMode mode = NormMode::none;
  int64_t of(int64_t j) const {
    switch (mode) {
    case NormMode::global: return 0;
    case NormMode::per_feature: return j;
    case NormMode::per_channel: return j / per_group;
    case NormMode::none: break;
    }
    return 0;
  }
};

Groups groups(NormMode mode, const std::vector<int64_t>& shape) {
  int64_t e = product(shape);
  Groups g;
  g.mode = mode;
  switch (mode) {
  case NormMode::none: g.count = 0; break;
  case NormMode::global: g.count = 1; break;
  case NormMode::per_feature: g.count = e; break;
  case NormMode::per_channel:
    g.count = shape.empty() ? 1 : shape[0];
    g.per_group = g.count ? e / g.count : 1;
    break;
  }
  return g;
}

} // namespace

NormMode parse_norm_mode(const std::string& text) {
  for (NormMode m :
       {NormMode::none, NormMode::global, NormMode::per_feature, NormMode::per_channel})
    if (text == norm_mode_name(m)) return m;
  throw Error(fmt::format(
      "unknown normalization \"{}\"; expected none, global, per_feature or per_channel", text));
}

const char* norm_mode_name(NormMode mode) {
  switch (mode) {
  case NormMode::none: return "none";
  case NormMode::global: return "global";
  case NormMode::per_feature: return "per_feature";
  case NormMode::per_channel: return "per_channel";
  }
  return "none";
}

Normalizer Normalizer::fit(NormMode mode, const Subset& train) {
  Normalizer n;
  n.mode_ = mode;
  n.example_shape_ = train.data->example_shape;
  if (mode == NormMode::none) return n;
  if (train.rows.empty()) throw Error("cannot normalize with an empty training set");
  Groups g = groups(mode, n.example_shape_);
  int64_t e = product(n.example_shape_);
  std::vector<double> sum(static_cast<size_t>(g.count)), sq(static_cast<size_t>(g.count));
  // Two passes (mean, then squared deviations) in double: accurate for 47M pixels.
  for (int64_t r : train.rows) {
    const float* x = train.data->example(r);
    for (int64_t j = 0; j < e; ++j) sum[static_cast<size_t>(g.of(j))] += x[j];
  }
  double per_group_count = static_cast<double>(train.size()) * static_cast<double>(e / g.count);
  std::vector<double> mean(sum.size());
  for (size_t k = 0; k < sum.size(); ++k) mean[k] = sum[k] / per_group_count;
  for (int64_t r : train.rows) {
    const float* x = train.data->example(r);
    for (int64_t j = 0; j < e; ++j) {
      auto k = static_cast<size_t>(g.of(j));
      double dev = x[j] - mean[k];
      sq[k] += dev * dev;
    }
  }
  for (size_t k = 0; k < sum.size(); ++k) {
    double sd = std::sqrt(sq[k] / per_group_count);
    n.mean_.push_back(static_cast<float>(mean[k]));
    n.std_.push_back(static_cast<float>(sd < kMinStd ? 1.0 : sd));
  }
  n.expand();
  return n;
}

Normalizer Normalizer::from_statistics(NormMode mode, const std::vector<int64_t>& example_shape,
                                       std::vector<float> mean, std::vector<float> stddev) {
  Groups g = groups(mode, example_shape);
  if (static_cast<int64_t>(mean.size()) != g.count ||
      static_cast<int64_t>(stddev.size()) != g.count)
    throw Error(fmt::format(
        "{} normalization of examples of shape {} needs {} mean and std value{}, found {} and {}",
        norm_mode_name(mode), data_detail::shape_text(example_shape), g.count,
        g.count == 1 ? "" : "s", mean.size(), stddev.size()));
  for (float s : stddev)
    if (!(s > 0) || !std::isfinite(s))
      throw Error(fmt::format("normalization statistics: std {} is not a positive number", s));
  Normalizer n;
  n.mode_ = mode;
  n.example_shape_ = example_shape;
  n.mean_ = std::move(mean);
  n.std_ = std::move(stddev);
  if (mode != NormMode::none) n.expand(); // none has no statistics to expand (as in fit)
  return n;
}

std::vector<int64_t> Normalizer::statistics_shape() const {
  switch (mode_) {
  case NormMode::none: return {};
  case NormMode::global: return {1};
  case NormMode::per_feature: return example_shape_;
  case NormMode::per_channel: return {groups(mode_, example_shape_).count};
  }
  return {};
}

void Normalizer::expand() {
  Groups g = groups(mode_, example_shape_);
  int64_t e = product(example_shape_);
  shift_.resize(static_cast<size_t>(e));
  scale_.resize(static_cast<size_t>(e));
  for (int64_t j = 0; j < e; ++j) {
    auto k = static_cast<size_t>(g.of(j));
    shift_[static_cast<size_t>(j)] = mean_[k];
    scale_[static_cast<size_t>(j)] = 1.0f / std_[k];
  }
}

void Normalizer::apply(const float* in, float* out, int64_t values) const {
  if (mode_ == NormMode::none) {
    if (in != out && values > 0) std::memmove(out, in, static_cast<size_t>(values) * sizeof(float));
    return;
  }
  const float* shift = shift_.data();
  const float* scale = scale_.data();
  auto e = static_cast<int64_t>(shift_.size());
  for (int64_t i = 0; i + e <= values; i += e, in += e, out += e)
    for (int64_t j = 0; j < e; ++j) out[j] = (in[j] - shift[j]) * scale[j];
}

} // namespace netc::rt
