// `netc compile` end to end: the standalone executable it writes, what the
// executable says, and that it computes what the reference interpreter does.
#include "training_agreement.h"

#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>

using namespace netc::test;

namespace {

// The numbers printed after `marker` in `text`, up to the next blank-free
// label line ("loss", "output"): rows of a printed tensor.
std::vector<double> numbers_after(const std::string& text, const std::string& marker, size_t n) {
  std::vector<double> out;
  auto pos = text.find(marker);
  if (pos == std::string::npos) return out;
  std::istringstream in(text.substr(text.find('\n', pos) + 1));
  double v;
  while (out.size() < n && in >> v) out.push_back(v);
  return out;
}

std::string compiled(const std::string& model) {
  static std::map<std::string, std::string> done;
  if (auto it = done.find(model); it != done.end()) return it->second;
  std::string exe = (scratch_dir() / model).string();
  auto r = run_netc("compile examples/" + model + ".nn -o '" + exe + "'");
  REQUIRE_MESSAGE(r.status == 0, r.out, r.err);
  done[model] = exe;
  return exe;
}

} // namespace

TEST_CASE("compile writes a standalone executable that needs no Halide or LLVM") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  std::string exe = compiled("transfer");
  auto ldd = run_shell("ldd '" + exe + "'");
  CHECK(ldd.status == 0);
  CHECK(ldd.out.find("Halide") == std::string::npos);
  CHECK(ldd.out.find("LLVM") == std::string::npos);
  auto info = run_shell("'" + exe + "' info");
  CHECK(info.status == 0);
  CHECK(info.out.find("trainable parameters") != std::string::npos);
  CHECK(info.out.find("without reuse") != std::string::npos);
  // A second compile of the same model comes from the cache.
  auto again =
      run_netc("compile examples/transfer.nn -o '" + (scratch_dir() / "again").string() + "'");
  CHECK(again.status == 0);
  CHECK(again.out.find("from the cache") != std::string::npos);
}

TEST_CASE("the compiled forward pass equals the reference interpreter's") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  for (const char* model : {"transfer", "fmnist_mlp", "fmnist_cnn"}) {
    CAPTURE(std::string(model));
    std::string exe = compiled(model);
    auto ours = run_shell("'" + exe + "' forward --batch 3 --seed 5");
    auto ref = run_netc(std::string("run examples/") + model +
                        ".nn forward --random-init --batch 3 --seed 5");
    REQUIRE(ours.status == 0);
    REQUIRE(ref.status == 0);
    std::smatch m;
    REQUIRE(std::regex_search(ref.out, m, std::regex("output (\\w+) \\[3,(\\d+)\\]")));
    size_t n = 3 * std::stoul(m[2]);
    auto a = numbers_after(ours.out, "output " + m[1].str(), n);
    auto b = numbers_after(ref.out, "output " + m[1].str(), n);
    REQUIRE(a.size() == n);
    REQUIRE(b.size() == n);
    for (size_t i = 0; i < n; ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-4).scale(1e-3));
  }
}

TEST_CASE("info and bench say which inference kernels run only when the weights change") {
  // The mlp's batch norm folded into dense1's and dense2's weights.
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  std::string exe = compiled("fmnist_mlp");
  auto info = run_shell("'" + exe + "' info");
  REQUIRE(info.status == 0);
  CHECK(info.out.find("the first 2 only when the weights change") != std::string::npos);
  auto bench = run_shell("'" + exe + "' bench --batch 4 --iters 3");
  REQUIRE(bench.status == 0);
  CHECK(bench.out.find("once") != std::string::npos);
  CHECK(bench.out.find("(when the weights change)") != std::string::npos);
}

TEST_CASE("bench --json ends with one JSON object with step_ms and images_per_second") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  std::string exe = compiled("transfer");
  auto r = run_shell("'" + exe + "' bench --batch 16 --iters 3 --json");
  REQUIRE(r.status == 0);
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::string last = out.substr(out.rfind('\n') + 1);
  CHECK(last.front() == '{');
  CHECK(last.find("\"step_ms\"") != std::string::npos);
  CHECK(last.find("\"images_per_second\"") != std::string::npos);
}

// bench/compare.py's roofline reads each kernel's FLOPs and bytes; the bytes
// are the kernel's buffers at the batch, each read or written once.
TEST_CASE("bench --json gives each kernel's bytes: its buffers at the batch") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto model = scratch_dir() / "one_dense.nn";
  write_file(model, "model one_dense\ninput x : f32[batch, 12]\nlabel y : class(16)[batch]\n"
                    "logits = dense(x, 16)\noutput probs = softmax(logits)\n"
                    "loss softmax_cross_entropy(logits, y)\n");
  std::string exe = (scratch_dir() / "one_dense").string();
  REQUIRE(run_netc("compile '" + model.string() + "' -o '" + exe + "'").status == 0);
  auto r = run_shell("'" + exe + "' bench --batch 16 --iters 2 --json");
  REQUIRE(r.status == 0);
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  auto j = nlohmann::json::parse(out.substr(out.rfind('\n') + 1));
  int matmuls = 0;
  for (const auto& k : j["infer_kernels"]) {
    CHECK(k["bytes"].get<double>() > 0);
    if (k["kind"] != "matmul") continue;
    ++matmuls; // x [16,12], W [12,16], b [16] in; logits [16,16] out
    CHECK(k["bytes"].get<double>() == 4.0 * (16 * 12 + 12 * 16 + 16 + 16 * 16));
  }
  CHECK(matmuls == 1);
}

TEST_CASE("compile fails cleanly on a bad model and writes nothing") {
  auto path = scratch_dir() / "bad.nn";
  write_file(path, "input x : f32[batch, 4]\noutput y = rleu(x)\n");
  auto out = scratch_dir() / "bad_out";
  auto r = run_netc("compile '" + path.string() + "' -o '" + out.string() + "'");
  CHECK(r.status == 1);
  CHECK(r.err.find("bad.nn:2:12: error:") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
}

// SGD, so that every step's update is a smooth function of the gradient
// (Adam's first steps move by lr * sign(g), which float rounding can flip
// for gradients that are zero in exact arithmetic).
TEST_CASE("20 compiled training steps follow the reference interpreter's") {
  check_training_agrees("sgd", R"(model sgd
input x : f32[batch, 12]
label y : class(4)[batch]
h = relu(dense(x, 16))
h = dropout(h, keep=0.75)
logits = dense(h, 4)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y) + l2(1e-3)
train {
  optimizer = sgd(lr=0.1)
  batch = 8
}
)",
                        8);
}

// The CNN's kernels: conv (the direct kernel for 2 input channels, Winograd
// for 8 -> 16 over 5x5, forward and input gradient), batch norm on batch
// statistics (its activations recomputed by the kernels that read them),
// pooling and their gradients.
TEST_CASE("20 compiled training steps of a conv, batch-norm and pooling net follow the reference") {
  check_training_agrees("sgd_cnn", R"(model sgd_cnn
input x : f32[batch, 2, 10, 10]
label y : class(4)[batch]
h = conv2d(x, 8, kernel=3, pad=1)
h = maxpool(relu(batchnorm(h)), 2)
h = conv2d(h, 16, kernel=3, pad=1)
h = maxpool(relu(batchnorm(h)), 2)
h = dropout(relu(dense(flatten(h), 16)), keep=0.75)
logits = dense(h, 4)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {
  optimizer = sgd(lr=0.05)
  batch = 12
}
)",
                        12);
}

TEST_CASE("--emit stmt and --emit asm keep each kernel's listing") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto exe = scratch_dir() / "transfer_stmt";
  auto r = run_netc("compile examples/transfer.nn -o '" + exe.string() + "' --emit stmt");
  REQUIRE(r.status == 0);
  auto dir = std::filesystem::path(exe.string() + ".kernels");
  int html = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir))
    html += f.path().string().ends_with(".stmt.html");
  CHECK(html > 5);
}

// The loss and pool options: the class weights are tables embedded in the
// kernels (several kernels of one library each carry one: the loss, the
// gradient's target rows and normalizers), smoothing adds a per-row stage,
// and count_include_pad changes avgpool's divisor and its gradient's.
TEST_CASE("20 compiled training steps with label smoothing, class weights and count_include_pad") {
  check_training_agrees("sgd_options", R"(model sgd_options
input x : f32[batch, 3, 9, 7]
label y : class(5)[batch]
h = relu(conv2d(x, 8, kernel=3, pad=1))
h = avgpool(h, kernel=3, stride=2, pad=1, count_include_pad=true)
logits = dense(flatten(h), 5)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y, label_smoothing=0.1, weights=(1, 0.5, 2, 0, 1.5))
train {
  optimizer = sgd(lr=0.1)
  batch = 11
}
)",
                        11);
}
