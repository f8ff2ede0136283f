// Mini-batches of a subset (SPEC section 4): the order is reshuffled every
// epoch from (seed, epoch), every example appears exactly once per epoch, and
// the last batch may be partial. Batches are normalized copies written into
// buffers the caller owns (the executor's input slots), augmented first when
// the loader has an augmenter (runtime/data/augment.h); after construction
// nothing here allocates.
#pragma once

#include "runtime/data/augment.h"
#include "runtime/data/normalize.h"
#include "runtime/data/split.h"

#include <cstdint>
#include <optional>
#include <span>

namespace netc::rt {

// Where one label field of a batch goes: `classes` for a class field (i32 [B]),
// `targets` for an f32 field ([B, width]).
struct LabelBuffer {
  int32_t* classes = nullptr;
  float* targets = nullptr;
};

class BatchLoader {
public:
  // `shuffle` false keeps the subset's order every epoch (evaluation).
  BatchLoader(Subset subset, Normalizer normalizer, int64_t batch_size, uint64_t seed,
              bool shuffle);

  int64_t size() const { return subset_.size(); }
  int64_t batch_size() const { return batch_; }
  int64_t num_batches() const { return (size() + batch_ - 1) / batch_; }
  const Subset& subset() const { return subset_; }
  const Normalizer& normalizer() const { return norm_; }

  // Sets the order of epoch `epoch`: a permutation drawn from (seed, epoch), the same
  // for the same pair. Until the first call the order is the subset's own, and
  // the epoch for augmentation 0.
  void start_epoch(int64_t epoch);

  // From now on every example is augmented before normalization, with the
  // transforms of (the augmenter's seed, this epoch, its dataset row). Only the
  // training loader gets one: validation, test and evaluation data never do.
  void augment_with(Augmenter augmenter) { augment_.emplace(std::move(augmenter)); }
  const Augmenter* augmenter() const { return augment_ ? &*augment_ : nullptr; }

  // The dataset rows of batch k in this epoch's order (for error analysis).
  std::span<const int64_t> batch_rows(int64_t k) const;

  // Writes batch k's normalized features ([B, example shape]) and labels, and
  // returns B: batch_size(), or less for the last batch. Label buffers follow the
  // dataset's label fields in order; a null pointer skips a field, and a class
  // field may also be written as float targets. Throws Error for k out of
  // range or more buffers than fields.
  int64_t fill(int64_t k, float* features, std::span<const LabelBuffer> labels) const;
  // The common single-label cases.
  int64_t fill(int64_t k, float* features, int32_t* classes) const;
  int64_t fill(int64_t k, float* features, float* targets) const;

private:
  Subset subset_;
  Normalizer norm_;
  int64_t batch_;
  uint64_t seed_;
  bool shuffle_;
  std::vector<int64_t> order_; // this epoch's dataset rows
  int64_t epoch_ = 0;
  std::optional<Augmenter> augment_;
};

} // namespace netc::rt
