// Train / val / test splits: counts, ratios and the dataset's own test set,
// over a permutation that depends only on the seed.
#include "runtime/data_test_util.h"

#include <algorithm>
#include <doctest/doctest.h>
#include <numeric>

using namespace netc::rt;
using namespace netc::rt::test;
using netc::SplitConfig;

namespace {

std::shared_ptr<const Dataset> numbered(int64_t n, const std::string& source = "mem") {
  Dataset d;
  d.source = source;
  d.size = n;
  d.example_shape = {1};
  d.features.resize(static_cast<size_t>(n));
  std::iota(d.features.begin(), d.features.end(), 0.0f);
  return std::make_shared<const Dataset>(std::move(d));
}

SplitConfig split(bool ratios, std::vector<double> parts, bool test) {
  SplitConfig s;
  s.ratios = ratios;
  s.parts = std::move(parts);
  s.use_test_set = test;
  return s;
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<int64_t> concat(const Splits& s) {
  std::vector<int64_t> all = s.train.rows;
  all.insert(all.end(), s.val.rows.begin(), s.val.rows.end());
  all.insert(all.end(), s.test.rows.begin(), s.test.rows.end());
  return all;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t(0));
  return v;
}

} // namespace

TEST_CASE("split: the permutation is a fixed function of the seed") {
  std::vector<int64_t> p = permutation(1000, 7, kSplitStream, 0);
  CHECK(sorted(p) == iota(1000));
  CHECK(p == permutation(1000, 7, kSplitStream, 0));
  CHECK(p != permutation(1000, 8, kSplitStream, 0));
  CHECK(p != permutation(1000, 7, kEpochStream, 0));
  CHECK(p != iota(1000));
  // Pinned: a change here silently changes every model's split (and resumed runs).
  CHECK(permutation(8, 1, kSplitStream, 0) == std::vector<int64_t>{7, 1, 4, 5, 2, 6, 0, 3});
  CHECK(permutation(0, 1, kSplitStream, 0).empty());
  CHECK(permutation(1, 1, kSplitStream, 0) == std::vector<int64_t>{0});
}

TEST_CASE("split: counts take train, then val, then test from the permuted examples") {
  LoadedData d{numbered(10), nullptr};
  Splits s = split_data(d, split(false, {5, 3, 2}, false), 1);
  CHECK(s.train.size() == 5);
  CHECK(s.val.size() == 3);
  CHECK(s.test.size() == 2);
  CHECK(concat(s) == permutation(10, 1, kSplitStream, 0));
  CHECK(s.train.data == d.examples);

  Splits two = split_data(d, split(false, {6, 3}, false), 1);
  CHECK(two.train.size() == 6);
  CHECK(two.val.size() == 3);
  CHECK(two.test.size() == 0);
  CHECK(two.test.data); // empty, but usable
}

TEST_CASE("split: `test` is the dataset's own test set, whole and in order") {
  LoadedData d{numbered(10, "train.idx"), numbered(4, "t10k.idx")};
  Splits s = split_data(d, split(false, {6, 4}, true), 3);
  CHECK(s.train.size() == 6);
  CHECK(s.val.size() == 4);
  CHECK(s.test.data == d.test);
  CHECK(s.test.rows == iota(4));
  CHECK(sorted(concat(split_data(d, split(false, {6, 4}, true), 3))).size() == 14);

  Splits r = split_data(d, split(true, {0.9, 0.1}, true), 3);
  CHECK(r.train.size() == 9);
  CHECK(r.val.size() == 1);
  CHECK(r.test.size() == 4);
}

TEST_CASE("split: ratios round their cumulative sums and use every example") {
  LoadedData d{numbered(10), nullptr};
  Splits s = split_data(d, split(true, {0.6, 0.2, 0.2}, false), 1);
  CHECK(s.train.size() == 6);
  CHECK(s.val.size() == 2);
  CHECK(s.test.size() == 2);
  LoadedData seven{numbered(7), nullptr};
  Splits t = split_data(seven, split(true, {0.6, 0.2, 0.2}, false), 1);
  CHECK(t.train.size() == 4); // round(4.2)
  CHECK(t.val.size() == 2);   // round(5.6) - 4
  CHECK(t.test.size() == 1);  // 7 - 6
  CHECK(sorted(concat(t)) == iota(7));
}

TEST_CASE("split: the same seed gives the same split, another seed another") {
  LoadedData d{numbered(100), nullptr};
  SplitConfig c = split(true, {0.5, 0.5}, false);
  CHECK(split_data(d, c, 5).train.rows == split_data(d, c, 5).train.rows);
  CHECK(split_data(d, c, 5).train.rows != split_data(d, c, 6).train.rows);
}

TEST_CASE("split errors: too many examples, no training examples, no test set") {
  LoadedData d{numbered(10, "small.csv"), nullptr};
  CHECK(data_error([&] {
          split_data(d, split(false, {8, 3}, false), 1);
        }) == "split 8 / 3 asks for 11 examples, but small.csv has only 10");
  CHECK(data_error([&] {
          split_data(d, split(false, {50000, 10000}, true), 1);
        }) == "split 50000 / 10000 / test uses the dataset's own test set, but small.csv has none; "
              "give three counts or ratios instead");
  CHECK(contains(data_error([&] {
                   split_data(d, split(true, {0.01, 0.99}, false), 1);
                 }),
                 "leaves no training examples"));
  CHECK(contains(data_error([&] {
                   split_data(d, split(true, {0.8, 0.8}, false), 1);
                 }),
                 "the ratios sum to 1.6, above 1"));
}

TEST_CASE("split: without one in the train block, data without a test set gets 0.8 / 0.1 / 0.1") {
  // A 1000-row CSV: the old default 50000 / 10000 / test could only fail.
  LoadedData csv{numbered(1000, "d.csv"), nullptr};
  SplitConfig fallback = effective_split(std::nullopt, csv);
  CHECK(fallback == split(true, {0.8, 0.1, 0.1}, false));
  Splits s = split_data(csv, fallback, 1);
  CHECK(s.train.size() == 800);
  CHECK(s.val.size() == 100);
  CHECK(s.test.size() == 100);
  CHECK(split_summary(std::nullopt, csv) ==
        "split 0.8 / 0.1 / 0.1 (the default for data without a test set of its own; set split in "
        "the train block to choose another)");
  // Fashion-MNIST (data with its own test set) keeps 50000 / 10000 / test.
  LoadedData fmnist{numbered(60000, "train.idx"), numbered(10, "t10k.idx")};
  CHECK(effective_split(std::nullopt, fmnist) == split(false, {50000, 10000}, true));
  CHECK(contains(split_summary(std::nullopt, fmnist), "split 50000 / 10000 / test (the default "
                                                      "for data with a test set of its own"));
  // A split the train block gives is used as it is, whatever the data.
  SplitConfig given = split(false, {500, 500}, false);
  CHECK(effective_split(given, csv) == given);
  CHECK(effective_split(given, fmnist) == given);
  CHECK(split_summary(given, csv) == "split 500 / 500");
  CHECK(data_error([&] { split_data(csv, effective_split(SplitConfig{}, csv), 1); }) ==
        "split 50000 / 10000 / test uses the dataset's own test set, but d.csv has none; "
        "give three counts or ratios instead");
}
