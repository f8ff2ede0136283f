#include "runtime/data/split.h"

#include "ir/random.h"
#include "runtime/error.h"

#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <numeric>

namespace netc::rt {

void shuffle(std::vector<int64_t>& v, uint64_t seed, uint32_t stream, uint32_t step) {
  if (v.size() > std::numeric_limits<uint32_t>::max())
    throw Error(fmt::format("{} examples are more than a shuffle can index (2^32)", v.size()));
  for (size_t i = v.size(); i > 1; --i) {
    // j uniform in [0, i): the high half of a 32x32-bit product (Lemire), bias < i / 2^32.
    uint32_t h = hash32(seed, stream, step, static_cast<uint32_t>(i - 1));
    size_t j = static_cast<size_t>((static_cast<uint64_t>(h) * i) >> 32);
    std::swap(v[i - 1], v[j]);
  }
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed, uint32_t stream, uint32_t step) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t(0));
  shuffle(v, seed, stream, step);
  return v;
}

std::string split_text(const SplitConfig& split) {
  std::string out;
  for (double p : split.parts) out += fmt::format("{}{:g}", out.empty() ? "" : " / ", p);
  if (split.use_test_set) out += " / test";
  return out;
}

Splits split_data(const LoadedData& data, const SplitConfig& split, uint64_t seed) {
  const Dataset& d = *data.examples;
  std::string text = split_text(split);
  size_t max_parts = split.use_test_set ? 2 : 3;
  if (split.parts.empty() || split.parts.size() > max_parts)
    throw Error(fmt::format("split {} must give train / val / test: 2 or 3 parts, the last "
                            "of which may be `test`",
                            text));
  if (split.use_test_set && !data.test)
    throw Error(fmt::format("split {} uses the dataset's own test set, but {} has none; give "
                            "three counts or ratios instead",
                            text, d.source));
  // Cut points into the permuted examples, one per part.
  std::vector<int64_t> ends;
  if (split.ratios) {
    double sum = 0;
    for (double r : split.parts) {
      if (!(r >= 0 && r <= 1))
        throw Error(fmt::format("split {}: ratio {:g} is not between 0 and 1", text, r));
      sum += r;
      // Rounding the cumulative sum makes ratios summing to 1 use every example.
      ends.push_back(std::min<int64_t>(std::llround(sum * static_cast<double>(d.size)), d.size));
    }
    if (sum > 1 + 1e-9)
      throw Error(fmt::format("split {}: the ratios sum to {:g}, above 1", text, sum));
  } else {
    int64_t sum = 0;
    for (double c : split.parts) {
      if (!(c >= 0 && c == std::floor(c)))
        throw Error(fmt::format("split {}: {:g} is not a whole count of examples", text, c));
      sum += static_cast<int64_t>(c);
      ends.push_back(sum);
    }
    if (sum > d.size)
      throw Error(fmt::format("split {} asks for {} examples, but {} has only {}", text, sum,
                              d.source, d.size));
  }
  if (ends[0] == 0)
    throw Error(
        fmt::format("split {} leaves no training examples ({} has {})", text, d.source, d.size));
  std::vector<int64_t> perm = permutation(d.size, seed, kSplitStream, 0);
  Splits s;
  Subset* parts[3] = {&s.train, &s.val, &s.test};
  int64_t begin = 0;
  for (size_t i = 0; i < ends.size(); ++i) {
    parts[i]->data = data.examples;
    parts[i]->rows.assign(perm.begin() + begin, perm.begin() + ends[i]);
    begin = ends[i];
  }
  if (split.use_test_set) {
    s.test.data = data.test;
    s.test.rows.resize(static_cast<size_t>(data.test->size));
    std::iota(s.test.rows.begin(), s.test.rows.end(), int64_t(0));
  }
  if (!s.val.data) s.val.data = data.examples;
  if (!s.test.data) s.test.data = data.examples;
  return s;
}

SplitConfig default_split(const LoadedData& data) {
  if (data.test) return SplitConfig{}; // Fashion-MNIST's 50000 / 10000 / test
  return SplitConfig{true, {0.8, 0.1, 0.1}, false};
}

SplitConfig effective_split(const std::optional<SplitConfig>& split, const LoadedData& data) {
  return split ? *split : default_split(data);
}

std::string split_summary(const std::optional<SplitConfig>& split, const LoadedData& data) {
  std::string text = "split " + split_text(effective_split(split, data));
  if (split) return text;
  return text + fmt::format(" (the default for data {} a test set of its own; set split in the "
                            "train block to choose another)",
                            data.test ? "with" : "without");
}

} // namespace netc::rt
