// The real Fashion-MNIST files of the Debian package dataset-fashion-mnist,
// when installed (skipped with a visible message otherwise).
#include "runtime/data_test_util.h"

#include <algorithm>
#include <doctest/doctest.h>
#include <filesystem>

using namespace netc::rt;
using namespace netc::rt::test;
using netc::SplitConfig;

TEST_CASE("data: fashion-mnist from the Debian package, 60000 + 10000 images of 28x28") {
  if (!std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    MESSAGE("SKIPPED: " << kFashionMnistDir
                        << " is absent (install the Debian package dataset-fashion-mnist)");
    return;
  }
  LoadedData d = load_data("fashion-mnist", "", class_layout({1, 28, 28}, 10));
  REQUIRE(d.examples);
  REQUIRE(d.test);
  CHECK(d.examples->size == 60000);
  CHECK(d.test->size == 10000);
  CHECK(d.examples->example_shape == std::vector<int64_t>{1, 28, 28});
  CHECK(d.examples->features.size() == size_t(60000) * 784);
  for (const auto* ds : {d.examples.get(), d.test.get()}) {
    auto [lo, hi] = std::minmax_element(ds->features.begin(), ds->features.end());
    CHECK(*lo == 0.0f);
    CHECK(*hi == 1.0f);
    auto [llo, lhi] = std::minmax_element(ds->labels.begin(), ds->labels.end());
    CHECK(*llo == 0.0f);
    CHECK(*lhi == 9.0f);
  }
  // 50000 / 10000 / test, and the global statistics of the training split
  // (bench/ref_torch.py's over all 60000 are mean 0.2860, std 0.3530).
  SplitConfig s;
  Splits sp = split_data(d, s, 1);
  CHECK(sp.train.size() == 50000);
  CHECK(sp.val.size() == 10000);
  CHECK(sp.test.size() == 10000);
  Normalizer n = Normalizer::fit(NormMode::global, sp.train);
  CHECK(n.mean()[0] == doctest::Approx(0.286).epsilon(0.01));
  CHECK(n.stddev()[0] == doctest::Approx(0.353).epsilon(0.01));
}
