// Normalization with training statistics (numbers by hand) and mini-batches:
// reshuffled every epoch, each example once, a partial last batch, no
// allocation after setup.
#include "runtime/alloc_counter.h"
#include "runtime/data_test_util.h"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <numeric>
#include <set>

using namespace netc::rt;
using namespace netc::rt::test;

namespace {

// Four examples of shape [2, 2] (two channels of two values) with class labels;
// rows 0 and 1 train, rows 2 and 3 do not.
std::shared_ptr<const Dataset> four() {
  Dataset d;
  d.source = "mem";
  d.size = 4;
  d.example_shape = {2, 2};
  d.features = {1, 3, 10, 30, 3, 5, 20, 50, 100, 100, 100, 100, 0, 0, 0, 0};
  d.label_fields = {LabelField{"y", 4, 1}};
  d.label_columns = 1;
  d.labels = {0, 1, 2, 3};
  return std::make_shared<const Dataset>(std::move(d));
}

Subset rows(std::shared_ptr<const Dataset> d, std::vector<int64_t> r) {
  return Subset{std::move(d), std::move(r)};
}

std::vector<float> normalized(const Normalizer& n, const Dataset& d, int64_t row) {
  std::vector<float> out(4);
  n.apply(d.example(row), out.data(), 4);
  return out;
}

void check_close(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
}

// n examples of shape [3]: example i is {i, 10 i, 100 i}, label i % 5.
std::shared_ptr<const Dataset> counting(int64_t n) {
  Dataset d;
  d.source = "mem";
  d.size = n;
  d.example_shape = {3};
  d.label_fields = {LabelField{"y", 5, 1}};
  d.label_columns = 1;
  for (int64_t i = 0; i < n; ++i) {
    for (float s : {1.0f, 10.0f, 100.0f}) d.features.push_back(s * static_cast<float>(i));
    d.labels.push_back(static_cast<float>(i % 5));
  }
  return std::make_shared<const Dataset>(std::move(d));
}

std::vector<int64_t> all_rows(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t(0));
  return v;
}

} // namespace

TEST_CASE("normalize: global statistics come from the training rows only") {
  auto d = four();
  Normalizer n = Normalizer::fit(NormMode::global, rows(d, {0, 1}));
  // mean of {1,3,10,30,3,5,20,50} = 15.25; sum of squared deviations 2083.5 over 8
  double sd = std::sqrt(2083.5 / 8);
  CHECK(n.mean() == std::vector<float>{15.25f});
  CHECK(n.stddev()[0] == doctest::Approx(sd));
  CHECK(n.statistics_shape() == std::vector<int64_t>{1});
  check_close(normalized(n, *d, 2), std::vector<double>(4, (100 - 15.25) / sd));
}

TEST_CASE("normalize: per_feature and per_channel statistics") {
  auto d = four();
  Normalizer f = Normalizer::fit(NormMode::per_feature, rows(d, {0, 1}));
  CHECK(f.mean() == std::vector<float>{2, 4, 15, 40});
  CHECK(f.stddev() == std::vector<float>{1, 1, 5, 10});
  CHECK(f.statistics_shape() == std::vector<int64_t>{2, 2});
  check_close(normalized(f, *d, 2), {98, 96, 17, 6});

  Normalizer c = Normalizer::fit(NormMode::per_channel, rows(d, {0, 1}));
  CHECK(c.mean() == std::vector<float>{3, 27.5f});
  CHECK(c.stddev()[0] == doctest::Approx(std::sqrt(2.0)));
  CHECK(c.stddev()[1] == doctest::Approx(std::sqrt(218.75)));
  CHECK(c.statistics_shape() == std::vector<int64_t>{2});
  check_close(normalized(c, *d, 3), {-3 / std::sqrt(2.0), -3 / std::sqrt(2.0),
                                     -27.5 / std::sqrt(218.75), -27.5 / std::sqrt(218.75)});

  Normalizer none = Normalizer::fit(NormMode::none, rows(d, {0, 1}));
  CHECK(none.mean().empty());
  check_close(normalized(none, *d, 0), {1, 3, 10, 30});
}

TEST_CASE("normalize: a feature constant in training is centered, not blown up") {
  auto d = four();
  // Rows 2 and 3 are each constant; per_feature over row 2 alone: every std is 0.
  Normalizer f = Normalizer::fit(NormMode::per_feature, rows(d, {2}));
  CHECK(f.stddev() == std::vector<float>{1, 1, 1, 1});
  check_close(normalized(f, *d, 3), {-100, -100, -100, -100});
}

TEST_CASE("normalize: statistics restored from a checkpoint apply the same way") {
  auto d = four();
  Normalizer f = Normalizer::fit(NormMode::per_channel, rows(d, {0, 1}));
  Normalizer g = Normalizer::from_statistics(NormMode::per_channel, {2, 2}, f.mean(), f.stddev());
  CHECK(normalized(g, *d, 2) == normalized(f, *d, 2));
  // normalize = none stores no statistics; restored, it is the identity.
  Normalizer none = Normalizer::from_statistics(NormMode::none, {2, 2}, {}, {});
  CHECK(normalized(none, *d, 2) == normalized(Normalizer(), *d, 2));
  CHECK(data_error([] {
          Normalizer::from_statistics(NormMode::per_feature, {2, 2}, {1, 2}, {1, 1});
        }) == "per_feature normalization of examples of shape [2, 2] needs 4 mean and std values, "
              "found 2 and 2");
  CHECK(contains(data_error([] { Normalizer::from_statistics(NormMode::global, {2}, {0}, {0}); }),
                 "std 0 is not a positive number"));
  CHECK(parse_norm_mode("per_channel") == NormMode::per_channel);
  CHECK(data_error([] { parse_norm_mode("zscore"); }) ==
        "unknown normalization \"zscore\"; expected none, global, per_feature or per_channel");
}

TEST_CASE("batch: the last batch is partial and the buffers get normalized features and labels") {
  auto d = counting(10);
  BatchLoader b(rows(d, all_rows(10)), Normalizer(), 4, 1, false);
  CHECK(b.num_batches() == 3);
  std::vector<float> x(12, -1);
  std::vector<int32_t> y(4, -1);
  CHECK(b.fill(0, x.data(), y.data()) == 4);
  CHECK(x == std::vector<float>{0, 0, 0, 1, 10, 100, 2, 20, 200, 3, 30, 300});
  CHECK(y == std::vector<int32_t>{0, 1, 2, 3});
  CHECK(b.fill(2, x.data(), y.data()) == 2);
  CHECK(std::vector<float>(x.begin(), x.begin() + 6) == std::vector<float>{8, 80, 800, 9, 90, 900});
  CHECK(y[0] == 3);
  CHECK(y[1] == 4);
  CHECK(b.batch_rows(2).size() == 2);
  CHECK(contains(data_error([&] { b.fill(3, x.data(), y.data()); }), "batch 3 does not exist"));

  // With training statistics: per_feature over rows 0..9 has mean {4.5, 45, 450}.
  Normalizer n = Normalizer::fit(NormMode::per_feature, rows(d, all_rows(10)));
  BatchLoader nb(rows(d, {0}), n, 4, 1, false);
  CHECK(nb.fill(0, x.data(), y.data()) == 1);
  double sd = std::sqrt(8.25); // the population std of 0..9
  CHECK(x[0] == doctest::Approx(-4.5 / sd));
  CHECK(x[2] == doctest::Approx(-450 / (100 * sd)));
}

TEST_CASE("batch: every epoch reorders from (seed, epoch), each example exactly once") {
  auto d = counting(103);
  BatchLoader b(rows(d, all_rows(103)), Normalizer(), 10, 42, true);
  auto epoch_order = [&](int64_t epoch) {
    b.start_epoch(epoch);
    std::vector<int64_t> order;
    std::vector<float> x(30);
    std::vector<int32_t> y(10);
    for (int64_t k = 0; k < b.num_batches(); ++k) {
      int64_t n = b.fill(k, x.data(), y.data());
      CHECK(n == (k + 1 < b.num_batches() ? 10 : 3));
      for (int64_t i = 0; i < n; ++i) {
        auto row = static_cast<int64_t>(x[static_cast<size_t>(3 * i)]);
        CHECK(y[static_cast<size_t>(i)] == row % 5); // labels travel with their examples
        order.push_back(row);
      }
    }
    return order;
  };
  std::vector<int64_t> e1 = epoch_order(1), e2 = epoch_order(2);
  std::vector<int64_t> s1 = e1;
  std::sort(s1.begin(), s1.end());
  CHECK(s1 == all_rows(103));
  CHECK(std::set<int64_t>(e2.begin(), e2.end()).size() == 103);
  CHECK(e1 != e2);
  CHECK(e1 != all_rows(103));
  CHECK(epoch_order(1) == e1); // the same epoch again: the same order
  BatchLoader other(rows(d, all_rows(103)), Normalizer(), 10, 43, true);
  other.start_epoch(1);
  CHECK(std::vector<int64_t>(other.batch_rows(0).begin(), other.batch_rows(0).end()) !=
        std::vector<int64_t>(e1.begin(), e1.begin() + 10));
}

TEST_CASE("batch: a subset keeps its own rows, unshuffled for evaluation") {
  auto d = counting(10);
  BatchLoader b(rows(d, {7, 2, 5}), Normalizer(), 2, 1, false);
  b.start_epoch(3);
  CHECK(std::vector<int64_t>(b.batch_rows(0).begin(), b.batch_rows(0).end()) ==
        std::vector<int64_t>{7, 2});
  CHECK(b.batch_rows(1)[0] == 5);
}

TEST_CASE("batch: several label fields, classes and targets") {
  Dataset d;
  d.source = "mem";
  d.size = 2;
  d.example_shape = {1};
  d.features = {5, 6};
  d.label_fields = {LabelField{"c", 3, 1}, LabelField{"t", 0, 2}};
  d.label_columns = 3;
  d.labels = {2, 0.5f, -1, 1, 1.5f, 2};
  auto p = std::make_shared<const Dataset>(std::move(d));
  BatchLoader b(rows(p, {0, 1}), Normalizer(), 2, 1, false);
  std::vector<float> x(2), t(4);
  std::vector<int32_t> c(2);
  LabelBuffer buffers[] = {{c.data(), nullptr}, {nullptr, t.data()}};
  CHECK(b.fill(0, x.data(), buffers) == 2);
  CHECK(c == std::vector<int32_t>{2, 1});
  CHECK(t == std::vector<float>{0.5f, -1, 1.5f, 2});
  LabelBuffer wrong[] = {{c.data(), nullptr}, {c.data(), nullptr}};
  CHECK(data_error([&] { b.fill(0, x.data(), wrong); }) ==
        "label t holds f32 targets, not class indices");
}

TEST_CASE("batch: epochs and batches allocate nothing after setup") {
  auto d = counting(1000);
  Normalizer n = Normalizer::fit(NormMode::global, rows(d, all_rows(800)));
  BatchLoader b(rows(d, all_rows(800)), n, 64, 1, true);
  std::vector<float> x(64 * 3);
  std::vector<int32_t> y(64);
  int64_t seen = 0;
  {
    AllocationCounter counter;
    for (int64_t epoch = 1; epoch <= 3; ++epoch) {
      b.start_epoch(epoch);
      for (int64_t k = 0; k < b.num_batches(); ++k) seen += b.fill(k, x.data(), y.data());
    }
    if (counts_malloc()) CHECK(counter.count() == 0);
  }
  CHECK(seen == 3 * 800);
}

TEST_CASE("data: prepare_training_data loads, splits and fits on the training split") {
  TempDir dir;
  std::string csv = "a,b,label\n";
  for (int i = 0; i < 20; ++i)
    csv += std::to_string(i) + "," + std::to_string(2 * i) + "," + std::to_string(i % 3) + "\n";
  write_file(dir / "d.csv", csv);
  netc::TrainConfig c;
  c.data = "csv:d.csv";
  c.data_dir = dir.str();
  c.split = netc::SplitConfig{true, {0.5, 0.25, 0.25}, false};
  c.normalize = "per_feature";
  c.seed = 9;
  TrainingData td = prepare_training_data(c, class_layout({2}, 3));
  CHECK(td.splits.train.size() == 10);
  CHECK(td.splits.val.size() == 5);
  CHECK(td.splits.test.size() == 5);
  double mean = 0;
  for (int64_t r : td.splits.train.rows) mean += static_cast<double>(r) / 10;
  CHECK(td.normalizer.mean()[0] == doctest::Approx(mean));
  CHECK(td.normalizer.mean()[1] == doctest::Approx(2 * mean));
}
