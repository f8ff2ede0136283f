// Train / val / test splits (SPEC section 4): the examples are permuted with
// the seed, then cut by counts or ratios; `test` as the last part means the
// dataset's own test set, taken whole and in file order.
#pragma once

#include "ir/train_config.h"
#include "runtime/data/dataset.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace netc::rt {

// Streams of ir/random.h's hash32, distinct from those of initialization and dropout.
inline constexpr uint32_t kSplitStream = 0x53504c54; // "SPLT"
inline constexpr uint32_t kEpochStream = 0x45504f43; // "EPOC"

// Some examples of a dataset, in a fixed order. Shares ownership of the dataset,
// so that a subset stays valid however the LoadedData it came from is moved.
struct Subset {
  std::shared_ptr<const Dataset> data;
  std::vector<int64_t> rows; // indices into data
  int64_t size() const { return static_cast<int64_t>(rows.size()); }
};

struct Splits {
  Subset train, val, test; // val and test may be empty
};

// Fisher-Yates over 0..n-1, swap partners drawn from hash32(seed, stream, step, i):
// the same arguments give the same permutation on every machine.
void shuffle(std::vector<int64_t>& v, uint64_t seed, uint32_t stream, uint32_t step);
std::vector<int64_t> permutation(int64_t n, uint64_t seed, uint32_t stream, uint32_t step);

// Throws Error when the split asks for more examples than exist (naming both
// numbers), leaves the training set empty, or asks for `test` of data without one.
Splits split_data(const LoadedData& data, const SplitConfig& split, uint64_t seed);

// The split of a train block without `split`, for this data: 50000 / 10000 /
// test for data with a test set of its own (Fashion-MNIST), else the ratios
// 0.8 / 0.1 / 0.1. Counts and `test` would fail on most CSV, IDX or NPY data
// (fewer examples than 60000, no test set).
SplitConfig default_split(const LoadedData& data);
// `split` if the train block sets it, else default_split(data).
SplitConfig effective_split(const std::optional<SplitConfig>& split, const LoadedData& data);
// For the training output: "split 0.6 / 0.2 / 0.2" as given, or with a note
// when it is the default: "split 0.8 / 0.1 / 0.1 (the default for data without
// a test set of its own; ...)".
std::string split_summary(const std::optional<SplitConfig>& split, const LoadedData& data);

// "50000 / 10000 / test", "0.6 / 0.2 / 0.2"
std::string split_text(const SplitConfig& split);

} // namespace netc::rt
