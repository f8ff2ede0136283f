// Data augmentation (runtime/data/augment.h): each transform on small images
// against results worked out by hand, the draws as a pure function of (seed,
// epoch, row), and the training loader's use of it (augmented before
// normalization, independent of the batch size, nothing allocated per batch).
#include "runtime/alloc_counter.h"
#include "runtime/data/augment.h"
#include "runtime/data/batch.h"
#include "runtime/error.h"

#include <algorithm>
#include <doctest/doctest.h>
#include <map>
#include <numeric>
#include <set>

using namespace netc;
using namespace netc::rt;

namespace {

// A 1 x 4 x 4 image whose pixel (y, x) is 1 + 4 y + x (1..16), so every moved
// pixel names where it came from.
std::vector<float> ramp(int64_t channels = 1, int64_t h = 4, int64_t w = 4) {
  std::vector<float> v(static_cast<size_t>(channels * h * w));
  std::iota(v.begin(), v.end(), 1.0f);
  return v;
}

std::vector<float> run(const Augmenter& a, const AugmentDraw& d, const std::vector<float>& in) {
  std::vector<float> out(in.size(), -1.0f);
  a.apply(d, in.data(), out.data());
  return out;
}

Augmenter augmenter(std::vector<AugmentStep> steps, std::vector<int64_t> shape = {1, 4, 4},
                    uint64_t seed = 7) {
  return Augmenter(std::move(steps), std::move(shape), seed);
}

void check_close(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("pixel " << i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  }
}

} // namespace

TEST_CASE("shift moves every pixel by exactly (dx, dy) and pads with zeros") {
  Augmenter a = augmenter({{"shift", 2}});
  std::vector<float> in = ramp();
  // Content one pixel right and one down.
  CHECK(run(a, {.dx = 1, .dy = 1}, in) ==
        std::vector<float>{0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11});
  // Two left, one up.
  CHECK(run(a, {.dx = -2, .dy = -1}, in) ==
        std::vector<float>{7, 8, 0, 0, 11, 12, 0, 0, 15, 16, 0, 0, 0, 0, 0, 0});
  CHECK(run(a, {}, in) == in);
}

TEST_CASE("flip mirrors left-right - with a shift, the shifted image is mirrored") {
  Augmenter a = augmenter({{"shift", 1}, {"flip", 0}});
  std::vector<float> in = ramp();
  CHECK(run(a, {.flip = true}, in) ==
        std::vector<float>{4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13});
  // Shift right by 1 -> {0, 1, 2, 3} per row, then mirror -> {3, 2, 1, 0}.
  CHECK(run(a, {.dx = 1, .flip = true}, in) ==
        std::vector<float>{3, 2, 1, 0, 7, 6, 5, 0, 11, 10, 9, 0, 15, 14, 13, 0});
}

TEST_CASE("every channel gets the same transform") {
  Augmenter a = augmenter({{"shift", 1}}, {2, 2, 2});
  std::vector<float> in = ramp(2, 2, 2); // {1, 2, 3, 4}, {5, 6, 7, 8}
  CHECK(run(a, {.dx = 1}, in) == std::vector<float>{0, 1, 0, 3, 0, 5, 0, 7});
}

TEST_CASE("cutout zeroes exactly the square, clipped at the borders") {
  Augmenter a = augmenter({{"cutout", 2}});
  std::vector<float> in = ramp();
  // Size 2 centered at (1, 2): rows 0..1, columns 1..2.
  CHECK(run(a, {.cutout = true, .cut_y = 1, .cut_x = 2}, in) ==
        std::vector<float>{1, 0, 0, 4, 5, 0, 0, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  // At the corner (0, 0) only the pixel (0, 0) of the square is inside.
  CHECK(run(a, {.cutout = true, .cut_y = 0, .cut_x = 0}, in) ==
        std::vector<float>{0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  // Size 3 at (3, 3): rows and columns 2..4, clipped to 2..3.
  Augmenter b = augmenter({{"cutout", 3}});
  CHECK(run(b, {.cutout = true, .cut_y = 3, .cut_x = 3}, in) ==
        std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 13, 14, 0, 0});
}

TEST_CASE("rotate and scale resample bilinearly about the center") {
  Augmenter a = augmenter({{"rotate", 90}, {"scale", 0.5}});
  std::vector<float> in = ramp();
  // A quarter turn maps the grid onto itself. The inverse map
  // src = R(-90) (p - c) + c with c = (1.5, 1.5) gives xs = c + (y - c) = y and
  // ys = c - (x - c) = 3 - x, so out(y, x) = in(3 - x, y).
  std::vector<float> quarter(16);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      quarter[static_cast<size_t>(y * 4 + x)] = in[static_cast<size_t>((3 - x) * 4 + y)];
  check_close(run(a, {.degrees = 90}, in), quarter);
  // Zoom x2 about the center: out(y, x) reads in((y - 1.5) / 2 + 1.5, ...), e.g.
  // out(0, 0) = in(0.75, 0.75) = 1 + 4 * 0.75 + 0.75 = 4.75 (the ramp is linear).
  std::vector<float> zoom(16);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      zoom[static_cast<size_t>(y * 4 + x)] =
          1 + 4 * ((y - 1.5f) / 2 + 1.5f) + ((x - 1.5f) / 2 + 1.5f);
  check_close(run(a, {.scale = 2}, in), zoom);
  // Shrinking x0.5 reads outside the image at the borders: zero padding.
  std::vector<float> shrunk = run(a, {.scale = 0.5}, in);
  CHECK(shrunk[0] == doctest::Approx(0.0f)); // reads in(-1.5, -1.5)
  // The center pixel (1, 1) reads in(0.5, 0.5): bilinear of 1, 2, 5, 6.
  CHECK(shrunk[5] == doctest::Approx(3.5f));
}

TEST_CASE("zero strength is the identity") {
  std::vector<float> in = ramp();
  for (const AugmentStep& s :
       std::vector<AugmentStep>{{"shift", 0}, {"rotate", 0}, {"scale", 0}, {"cutout", 0}}) {
    Augmenter a = augmenter({s});
    for (int64_t row = 0; row < 20; ++row) {
      std::vector<float> out(16);
      a.apply(3, row, in.data(), out.data());
      CHECK(out == in);
    }
  }
}

TEST_CASE("draws are a pure function of (seed, epoch, row), in range, and vary") {
  Augmenter a = augmenter(
      {{"shift", 2}, {"flip", 0}, {"rotate", 10}, {"scale", 0.1}, {"cutout", 3}}, {1, 8, 8}, 42);
  std::set<int64_t> dxs;
  int flips = 0, same_next_epoch = 0;
  for (int64_t row = 0; row < 400; ++row) {
    AugmentDraw d = a.draw(1, row), again = a.draw(1, row), next = a.draw(2, row);
    CHECK((d.dx == again.dx && d.dy == again.dy && d.flip == again.flip &&
           d.degrees == again.degrees && d.scale == again.scale && d.cut_y == again.cut_y &&
           d.cut_x == again.cut_x));
    CHECK((d.dx >= -2 && d.dx <= 2 && d.dy >= -2 && d.dy <= 2));
    CHECK((d.degrees >= -10 && d.degrees <= 10 && d.scale >= 0.9 && d.scale <= 1.1));
    CHECK((d.cutout && d.cut_y >= 0 && d.cut_y < 8 && d.cut_x >= 0 && d.cut_x < 8));
    dxs.insert(d.dx);
    flips += d.flip;
    same_next_epoch +=
        d.dx == next.dx && d.dy == next.dy && d.flip == next.flip && d.degrees == next.degrees;
  }
  CHECK(dxs.size() == 5); // every shift of -2..2 occurs
  CHECK((flips > 150 && flips < 250));
  CHECK(same_next_epoch == 0); // another epoch, other transforms
  // Another seed, other transforms.
  Augmenter b = augmenter({{"rotate", 10}}, {1, 8, 8}, 43);
  Augmenter c = augmenter({{"rotate", 10}}, {1, 8, 8}, 42);
  CHECK(b.draw(1, 0).degrees != c.draw(1, 0).degrees);
}

TEST_CASE("an augmenter refuses examples that are not images, and transforms that do not fit") {
  CHECK_THROWS_AS(Augmenter({{"flip", 0}}, {784}, 1), Error);
  CHECK_THROWS_WITH(Augmenter({{"shift", 2}, {"flip", 0}}, {784}, 1),
                    doctest::Contains("augment (shift(2), flip) needs image examples [C, H, W], "
                                      "but the model's examples have shape [784]"));
  CHECK_THROWS_WITH(Augmenter({{"shift", 4}}, {1, 4, 4}, 1),
                    doctest::Contains("does not fit images of 4x4 pixels"));
  CHECK_THROWS_WITH(Augmenter({{"cutout", 5}}, {1, 4, 4}, 1),
                    doctest::Contains("does not fit images of 4x4 pixels"));
}

namespace {

// n examples of 1 x 6 x 6, example i holding i + pixel / 100 (so rows differ),
// with labels i % 3.
std::shared_ptr<const Dataset> images(int64_t n) {
  Dataset d;
  d.source = "mem";
  d.size = n;
  d.example_shape = {1, 6, 6};
  d.label_fields = {LabelField{"y", 3, 1}};
  d.label_columns = 1;
  for (int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < 36; ++p) d.features.push_back(static_cast<float>(i) + p / 100.0f);
    d.labels.push_back(static_cast<float>(i % 3));
  }
  return std::make_shared<const Dataset>(std::move(d));
}

// Every example of `epoch` by dataset row, as the loader writes them.
std::map<int64_t, std::vector<float>> epoch_examples(BatchLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<float> x(static_cast<size_t>(loader.batch_size() * 36));
  std::vector<int32_t> y(static_cast<size_t>(loader.batch_size()));
  std::map<int64_t, std::vector<float>> out;
  for (int64_t k = 0; k < loader.num_batches(); ++k) {
    int64_t b = loader.fill(k, x.data(), y.data());
    std::span<const int64_t> rows = loader.batch_rows(k);
    for (int64_t i = 0; i < b; ++i)
      out[rows[static_cast<size_t>(i)]] =
          std::vector<float>(x.begin() + i * 36, x.begin() + (i + 1) * 36);
  }
  return out;
}

} // namespace

TEST_CASE("the loader augments each example by its row, whatever the batch it lands in") {
  auto data = images(40);
  Subset all{data, {}};
  for (int64_t i = 0; i < 40; ++i) all.rows.push_back(i);
  std::vector<AugmentStep> steps = {{"shift", 2}, {"flip", 0}, {"cutout", 3}};
  BatchLoader small(all, Normalizer(), 3, 5, true), large(all, Normalizer(), 16, 5, true);
  small.augment_with(Augmenter(steps, {1, 6, 6}, 5));
  large.augment_with(Augmenter(steps, {1, 6, 6}, 5));
  auto a = epoch_examples(small, 1), b = epoch_examples(large, 1);
  CHECK(a == b);
  // And the same as the augmenter alone on the raw example.
  Augmenter alone(steps, {1, 6, 6}, 5);
  std::vector<float> want(36);
  alone.apply(1, 17, data->example(17), want.data());
  CHECK(a[17] == want);
  // Some examples did change, and epoch 2 changes them differently.
  int changed = 0;
  for (int64_t r = 0; r < 40; ++r)
    changed += a[r] != std::vector<float>(data->example(r), data->example(r) + 36);
  CHECK(changed > 30);
  CHECK(epoch_examples(small, 2) != a);
  CHECK(epoch_examples(small, 1) == a); // epoch 1 again: the same
}

TEST_CASE("augmentation comes before normalization: padding becomes the normalized zero") {
  auto data = images(4);
  Subset all{data, {0, 1, 2, 3}};
  Normalizer norm = Normalizer::fit(NormMode::global, all);
  BatchLoader loader(all, norm, 4, 1, false);
  loader.augment_with(Augmenter({{"cutout", 6}}, {1, 6, 6}, 1));
  loader.start_epoch(1);
  std::vector<float> x(4 * 36), zero(36, 0.0f);
  std::vector<int32_t> y(4);
  loader.fill(0, x.data(), y.data());
  norm.apply(zero.data(), zero.data(), 36); // (0 - mean) / std
  // A 6x6 cutout centered anywhere covers at least the 3x3 square around its
  // center: the pixel at the center is always cut.
  for (int64_t i = 0; i < 4; ++i) {
    AugmentDraw d = loader.augmenter()->draw(1, i);
    CHECK(x[static_cast<size_t>(i * 36 + d.cut_y * 6 + d.cut_x)] == doctest::Approx(zero[0]));
  }
}

TEST_CASE("an augmenting loader allocates nothing per batch") {
  auto data = images(32);
  Subset all{data, {}};
  for (int64_t i = 0; i < 32; ++i) all.rows.push_back(i);
  BatchLoader loader(all, Normalizer(), 8, 3, true);
  loader.augment_with(
      Augmenter({{"shift", 2}, {"flip", 0}, {"rotate", 10}, {"cutout", 2}}, {1, 6, 6}, 3));
  std::vector<float> x(8 * 36);
  std::vector<int32_t> y(8);
  loader.start_epoch(1);
  netc::rt::test::AllocationCounter counter;
  for (int64_t k = 0; k < loader.num_batches(); ++k) loader.fill(k, x.data(), y.data());
  if (netc::rt::test::counts_malloc()) CHECK(counter.count() == 0);
}
