// `netc compile --quantize int8` end to end: train the mlp briefly, quantize
// its inference program with calibration on training images, and compare the
// int8 binary's predictions on the Fashion-MNIST test set with the f32
// binary's (>= 99% agreement). Then the user errors of the options.
#include "run_netc.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <sstream>
#include <vector>

using namespace netc::test;
namespace fs = std::filesystem;

namespace {

const char* kTestImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

// The class column of `predict`'s CSV (row,class,confidence).
std::vector<int> classes(const std::string& csv) {
  std::vector<int> out;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line); // header
  while (std::getline(in, line)) {
    size_t a = line.find(','), b = line.find(',', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    out.push_back(std::stoi(line.substr(a + 1, b - a - 1)));
  }
  return out;
}

// One model end to end: compile it, train one epoch, quantize with 256
// calibration images, and predict the test set with both binaries.
struct Int8Run {
  std::string i8;              // the int8 binary
  std::string compile_out;     // the quantizing compile's stdout
  std::vector<int> f32_class;  // the f32 binary's predicted classes
  std::vector<int> int8_class; // the int8 binary's
};

Int8Run int8_run(const std::string& model, const std::string& name) {
  fs::path dir = scratch_dir() / ("int8-" + name);
  fs::create_directories(dir);
  std::string f32 = (dir / name).string(), i8 = (dir / (name + "8")).string(),
              ckpt = (dir / (name + ".ckpt")).string();
  CommandResult c = run_netc("compile " + model + " -o " + f32);
  REQUIRE_MESSAGE(c.status == 0, c.err);
  CommandResult t = run_shell(f32 + " train --epochs 1 --save " + ckpt);
  REQUIRE_MESSAGE(t.status == 0, t.out);
  CommandResult q = run_netc("compile " + model +
                             " --quantize int8 --calibrate fashion-mnist --calibrate-count 256 "
                             "--weights " +
                             ckpt + " -o " + i8);
  REQUIRE_MESSAGE(q.status == 0, q.err);
  CommandResult pf = run_shell(f32 + " predict --weights " + ckpt + " --input " + kTestImages);
  CommandResult pq = run_shell(i8 + " predict --weights " + ckpt + " --input " + kTestImages);
  REQUIRE(pf.status == 0);
  REQUIRE(pq.status == 0);
  Int8Run r{i8, q.out, classes(pf.out), classes(pq.out)};
  REQUIRE(r.f32_class.size() == 10000);
  REQUIRE(r.int8_class.size() == r.f32_class.size());
  return r;
}

int agreement(const Int8Run& r) {
  int agree = 0;
  for (size_t i = 0; i < r.f32_class.size(); ++i) agree += r.f32_class[i] == r.int8_class[i];
  return agree;
}

} // namespace

TEST_CASE("int8 mlp: predictions agree with the f32 binary on the test set") {
  if (!fs::exists(kTestImages)) {
    MESSAGE("skipped: no Fashion-MNIST at /usr/share/datasets/fashion-mnist");
    return;
  }
  Int8Run r = int8_run("examples/fmnist_mlp.nn", "mlp");
  CHECK(r.compile_out.find("int8: 3 dense layer(s) and 0 convolution(s) quantized") !=
        std::string::npos);
  int agree = agreement(r);
  MESSAGE(fmt::format("int8 and f32 predictions agree on {} of {}", agree, r.f32_class.size()));
  CHECK(agree >= 9900);
  // The int8 binary's info names its int8 kernels.
  CommandResult info = run_shell(r.i8 + " info");
  CHECK(info.out.find("matmul_i8") != std::string::npos);
}

// The cnn's two convolutions in int8 (conv1 has 1 input channel and a
// border of zero points; conv2 32 channels) and its dense layers, after a
// one-epoch training run (~84% accuracy: the agreement is not that of
// an untrained model's near-constant predictions).
TEST_CASE("int8 cnn: convolutions in int8, predictions agree with the f32 binary") {
  if (!fs::exists(kTestImages)) {
    MESSAGE("skipped: no Fashion-MNIST at /usr/share/datasets/fashion-mnist");
    return;
  }
  Int8Run r = int8_run("examples/fmnist_cnn.nn", "cnn");
  CHECK(r.compile_out.find("int8: 2 dense layer(s) and 2 convolution(s) quantized") !=
        std::string::npos);
  CHECK(r.compile_out.find("f32:") == std::string::npos);
  int agree = agreement(r);
  MESSAGE(fmt::format("int8 and f32 cnn predictions agree on {} of {}", agree, r.f32_class.size()));
  CHECK(agree >= 9900);
  // Not a degenerate model: the f32 predictions use at least 8 classes.
  std::vector<int> per_class(10, 0);
  for (int c : r.f32_class) per_class[size_t(c)]++;
  CHECK(std::count_if(per_class.begin(), per_class.end(), [](int n) { return n > 100; }) >= 8);
  CommandResult info = run_shell(r.i8 + " info");
  CHECK(info.out.find("conv2d_i8") != std::string::npos);
  // Its weight bytes count the int8 convolutions' weights (read through a
  // reshape of the prepared values) besides the dense layers' 3136 x 128 +
  // 128 x 10: conv2's 64 x 32 x 9 and conv1's 32 x 9 (padded in its layout).
  long long all = 0, int8 = 0;
  size_t at = info.out.find("inference weights: ");
  REQUIRE(at != std::string::npos);
  REQUIRE(std::sscanf(info.out.c_str() + at,
                      "inference weights: %lld bytes read per batch (%lld of them int8)", &all,
                      &int8) == 2);
  CHECK(int8 >= 3136 * 128 + 128 * 10 + 64 * 32 * 9 + 32 * 9);
  CHECK(int8 <= 3136 * 128 + 128 * 10 + 64 * 32 * 9 + 32 * 4 * 9);
  CHECK(all > int8);
}

TEST_CASE("--quantize: clear messages for bad options and data") {
  fs::path dir = scratch_dir() / "int8-errors";
  fs::create_directories(dir);
  std::string out = (dir / "m").string();
  CommandResult r = run_netc("compile examples/fmnist_mlp.nn --quantize int8 -o " + out);
  CHECK(r.status == 1);
  CHECK(r.err.find("--quantize int8 needs --calibrate DATA") != std::string::npos);
  r = run_netc("compile examples/fmnist_mlp.nn --calibrate fashion-mnist -o " + out);
  CHECK(r.status == 1);
  CHECK(r.err.find("--calibrate is for --quantize int8") != std::string::npos);
  r = run_netc("compile examples/fmnist_mlp.nn --quantize int4 --calibrate fashion-mnist "
               "--weights x.ckpt -o " +
               out);
  CHECK(r.status == 1);
  CHECK(r.err.find("the only scheme is int8") != std::string::npos);
  r = run_netc("compile examples/fmnist_mlp.nn --quantize int8 --calibrate fashion-mnist -o " +
               out);
  CHECK(r.status == 1);
  CHECK(r.err.find("needs --weights CKPT") != std::string::npos);

  // A model with only a depthwise conv: nothing to quantize, and why.
  write_file(dir / "conv.nn", "model c\ninput x : f32[batch, 4, 8, 8]\n"
                              "output y = conv2d(x, 4, kernel=3, groups=4)\n");
  r = run_netc(fmt::format("compile {} --quantize int8 --calibrate fashion-mnist --weights "
                           "x.ckpt -o {}",
                           (dir / "conv.nn").string(), out));
  CHECK(r.status == 1);
  CHECK(r.err.find("has no op that can be quantized") != std::string::npos);
  CHECK(r.err.find("conv2d: a grouped (depthwise) convolution: no int8 kernel (stays f32)") !=
        std::string::npos);

  // Calibration data of the wrong shape: 5 features per row for a 784-pixel input.
  std::string ckpt = (dir / "m.ckpt").string();
  REQUIRE(run_netc("compile examples/fmnist_mlp.nn -o " + out).status == 0);
  REQUIRE(run_shell(out + " train --random-data --steps 2 --save " + ckpt).status == 0);
  write_file(dir / "bad.csv", "1,2,3,4,5,0\n6,7,8,9,10,1\n");
  r = run_netc(fmt::format("compile examples/fmnist_mlp.nn --quantize int8 --calibrate "
                           "csv:{}:label=5 --weights {} -o {}",
                           (dir / "bad.csv").string(), ckpt, out + "8"));
  CHECK(r.status == 1);
  CHECK(r.err.find("--calibrate csv:") != std::string::npos);
  MESSAGE(r.err);
}
