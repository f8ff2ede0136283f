#include "runtime/data/batch.h"

#include "runtime/error.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc::rt {

BatchLoader::BatchLoader(Subset subset, Normalizer normalizer, int64_t batch_size, uint64_t seed,
                         bool shuffle)
    : subset_(std::move(subset)), norm_(std::move(normalizer)), batch_(batch_size), seed_(seed),
      shuffle_(shuffle), order_(subset_.rows) {
  if (batch_ < 1) throw Error(fmt::format("batch size {} is not positive", batch_));
}

void BatchLoader::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  if (!shuffle_) return;
  // Each epoch's order derives from the subset's, not from the previous epoch's,
  // so that resuming at epoch e reproduces it.
  std::copy(subset_.rows.begin(), subset_.rows.end(), order_.begin());
  shuffle(order_, seed_, kEpochStream, static_cast<uint32_t>(epoch));
}

std::span<const int64_t> BatchLoader::batch_rows(int64_t k) const {
  if (k < 0 || k >= num_batches())
    throw Error(fmt::format("batch {} does not exist: an epoch of {} examples has {} batches "
                            "of {}",
                            k, size(), num_batches(), batch_));
  int64_t begin = k * batch_, end = std::min(begin + batch_, size());
  return std::span<const int64_t>(order_).subspan(static_cast<size_t>(begin),
                                                  static_cast<size_t>(end - begin));
}

int64_t BatchLoader::fill(int64_t k, float* features, std::span<const LabelBuffer> labels) const {
  std::span<const int64_t> rows = batch_rows(k);
  const Dataset& d = *subset_.data;
  if (labels.size() > d.label_fields.size())
    throw Error(fmt::format("{} label buffers given, but {} has {} label field{}", labels.size(),
                            d.source, d.label_fields.size(),
                            d.label_fields.size() == 1 ? "" : "s"));
  for (size_t f = 0; f < labels.size(); ++f)
    if (labels[f].classes && d.label_fields[f].classes == 0)
      throw Error(
          fmt::format("label {} holds f32 targets, not class indices", d.label_fields[f].name));
  int64_t e = d.example_elements();
  for (size_t b = 0; b < rows.size(); ++b) {
    float* x = features + static_cast<int64_t>(b) * e;
    // Augmented in place of the raw copy: its padding 0 is the raw background.
    if (augment_) {
      augment_->apply(epoch_, rows[b], d.example(rows[b]), x);
      norm_.apply(x, x, e);
    } else {
      norm_.apply(d.example(rows[b]), x, e);
    }
    const float* y = d.labels.data() + rows[b] * d.label_columns;
    for (size_t f = 0; f < labels.size(); ++f) {
      int64_t w = d.label_fields[f].columns();
      if (labels[f].classes) labels[f].classes[b] = static_cast<int32_t>(y[0]);
      if (labels[f].targets) std::copy(y, y + w, labels[f].targets + static_cast<int64_t>(b) * w);
      y += w;
    }
  }
  return static_cast<int64_t>(rows.size());
}

int64_t BatchLoader::fill(int64_t k, float* features, int32_t* classes) const {
  LabelBuffer buffer{classes, nullptr};
  return fill(k, features, std::span<const LabelBuffer>(&buffer, classes ? 1 : 0));
}

int64_t BatchLoader::fill(int64_t k, float* features, float* targets) const {
  LabelBuffer buffer{nullptr, targets};
  return fill(k, features, std::span<const LabelBuffer>(&buffer, targets ? 1 : 0));
}

} // namespace netc::rt
