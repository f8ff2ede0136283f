// Every optimizer's compiled update against the reference interpreter's, over
// every regularization (none, l2, l1, max_norm) and layer kind (plain,
// dropout, batch norm), on a deeper MLP with odd widths (so that no extent is
// a multiple of the vector width) and on both Fashion-MNIST examples. The
// compiled updates are in-place kernels that write several outputs (a moment
// and its weight); this is the test that catches an update applied twice or
// computed from a value already overwritten.
#include "training_agreement.h"

#include <fmt/format.h>

using namespace netc::test;

namespace {

// The layers of the deeper MLP, by kind.
std::string hidden_layers(const std::string& kind) {
  std::string out;
  for (int width : {23, 17, 11}) {
    if (kind == "plain")
      out += fmt::format("h = tanh(dense(h, {}, init=xavier))\n", width);
    else if (kind == "dropout")
      out += fmt::format("h = dropout(relu(dense(h, {})), keep=0.8)\n", width);
    else
      out += fmt::format("h = relu(batchnorm(dense(h, {})))\n", width);
  }
  return out;
}

std::string deep_mlp(const std::string& optimizer, const std::string& regularization,
                     const std::string& layers) {
  std::string loss = "softmax_cross_entropy(logits, y)";
  std::string train_extra;
  if (regularization == "l2") loss += " + l2(1e-2)";
  if (regularization == "l1") loss += " + l1(1e-2)";
  // Xavier columns of these layers have norms near 1: 0.8 clips most of them.
  if (regularization == "max_norm") train_extra = "  max_norm = 0.8\n";
  return fmt::format(R"(model deep
input x : f32[batch, 13]
label y : class(7)[batch]
h = x
{}logits = dense(h, 7)
output probs = softmax(logits)
loss {}
train {{
  optimizer = {}
{}}}
)",
                     layers, loss, optimizer, train_extra);
}

// The twelve models of one optimizer.
void check_optimizer(const std::string& tag, const std::string& optimizer) {
  for (const char* reg : {"none", "l2", "l1", "max_norm"})
    for (const char* kind : {"plain", "dropout", "batchnorm"}) {
      std::string name = fmt::format("{}_{}_{}", tag, reg, kind);
      CAPTURE(name);
      check_training_agrees(name, deep_mlp(optimizer, reg, hidden_layers(kind)), 9);
    }
}

// One example with its optimizer replaced.
void check_example(const std::string& example, const std::string& tag, const std::string& optimizer,
                   int batch) {
  std::string source = read_file(std::filesystem::path(NETC_SOURCE_DIR) / "examples" / example);
  const std::string line = "optimizer = adam(lr=1e-3)";
  auto at = source.find(line);
  REQUIRE(at != std::string::npos);
  source.replace(at, line.size(), "optimizer = " + optimizer);
  std::string name = example.substr(0, example.find('.')) + "_" + tag;
  CAPTURE(name);
  check_training_agrees(name, source, batch);
}

} // namespace

TEST_CASE("optimizer matrix: sgd") { check_optimizer("sgd", "sgd(lr=0.1)"); }
TEST_CASE("optimizer matrix: momentum") {
  check_optimizer("momentum", "momentum(lr=0.1, beta=0.9)");
}
TEST_CASE("optimizer matrix: rmsprop") { check_optimizer("rmsprop", "rmsprop(lr=3e-3)"); }
TEST_CASE("optimizer matrix: adam") { check_optimizer("adam", "adam(lr=3e-3)"); }

// The PyTorch forms (docs/language.md), each over the three layer kinds.
TEST_CASE("optimizer matrix: PyTorch's sgd momentum, nesterov, weight decay and adamw") {
  const std::pair<const char*, const char*> forms[] = {
      {"sgd_nesterov", "sgd(lr=0.05, momentum=0.9, nesterov=true, weight_decay=1e-3)"},
      {"momentum_nesterov", "momentum(lr=0.1, beta=0.8, nesterov=true)"},
      {"adam_decay", "adam(lr=3e-3, weight_decay=0.05)"},
      {"adamw", "adamw(lr=3e-3, weight_decay=0.1)"}};
  for (auto [tag, optimizer] : forms)
    for (const char* kind : {"plain", "dropout", "batchnorm"}) {
      std::string name = fmt::format("{}_{}", tag, kind);
      CAPTURE(name);
      check_training_agrees(name, deep_mlp(optimizer, "none", hidden_layers(kind)), 9);
    }
}

TEST_CASE("optimizer matrix: fmnist_mlp with every optimizer") {
  check_example("fmnist_mlp.nn", "sgd", "sgd(lr=0.05)", 8);
  check_example("fmnist_mlp.nn", "momentum", "momentum(lr=0.05, beta=0.9)", 8);
  check_example("fmnist_mlp.nn", "rmsprop", "rmsprop(lr=1e-3)", 8);
  check_example("fmnist_mlp.nn", "adam", "adam(lr=1e-3)", 8);
}

// The CNN's reference interpreter is slow (plain loops in double): batch 2.
TEST_CASE("optimizer matrix: fmnist_cnn with sgd and momentum") {
  check_example("fmnist_cnn.nn", "sgd", "sgd(lr=0.05)", 2);
  check_example("fmnist_cnn.nn", "momentum", "momentum(lr=0.05, beta=0.9)", 2);
}
TEST_CASE("optimizer matrix: fmnist_cnn with rmsprop and adam") {
  check_example("fmnist_cnn.nn", "rmsprop", "rmsprop(lr=1e-3)", 2);
  check_example("fmnist_cnn.nn", "adam", "adam(lr=1e-3)", 2);
}
