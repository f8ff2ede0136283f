// Every example model parses, builds and verifies; the reference workloads
// have exactly the parameter counts of their PyTorch peers.
#include "frontend_test_helpers.h"
#include "ir/verifier.h"

#include <filesystem>

using namespace netc;
using namespace netc::test;

namespace {

Graph example(const std::string& name) {
  return load_model(std::string(NETC_SOURCE_DIR) + "/examples/" + name);
}

} // namespace

TEST_CASE("every example builds into a valid graph") {
  int n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(NETC_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() != ".nn") continue;
    CAPTURE(entry.path().string());
    Graph g;
    try {
      g = load_model(entry.path().string());
    } catch (const UserError& e) {
      FAIL(e.what());
    }
    CHECK(verify(g) == std::vector<std::string>{});
    CHECK(g.name == entry.path().stem().string());
    CHECK((g.loss || !g.outputs.empty()));
    ++n;
  }
  CHECK(n >= 6);
}

TEST_CASE("fmnist_mlp: the bench mlp, 235,914 trainable parameters") {
  Graph g = example("fmnist_mlp.nn");
  CHECK(trainable_parameters(g) == 235914);
  CHECK(param(g, "dense1.W").type.shape == Shape{784, 256});
  CHECK(param(g, "dense3.W").type.shape == Shape{128, 10});
  CHECK(count_ops(g, OpKind::BatchNorm) == 2);
  CHECK(leaf(g, OpKind::Hyper, "dropout1.keep").attrs.get_float("value") == 0.8);
  CHECK(g.outputs.at(0).name == "probs");
  CHECK(g.node(g.loss->value).op == OpKind::SoftmaxCrossEntropy);
  CHECK(g.train.data == "fashion-mnist");
  REQUIRE(g.train.split);
  CHECK(g.train.split->parts == std::vector<double>{50000, 10000});
  CHECK(g.train.split->use_test_set);
  CHECK(g.train.normalize == "global");
  CHECK(g.train.batch == 128);
  CHECK(g.train.epochs == 10);
  CHECK(g.train.optimizer == OptimizerConfig{"adam", 1e-3});
  CHECK(g.train.seed == 1);
}

TEST_CASE("fmnist_cnn: the bench cnn, 421,834 trainable parameters") {
  Graph g = example("fmnist_cnn.nn");
  CHECK(trainable_parameters(g) == 421834);
  CHECK(param(g, "conv1.W").type.shape == Shape{32, 1, 3, 3});
  CHECK(param(g, "conv2.W").type.shape == Shape{64, 32, 3, 3});
  CHECK(param(g, "dense1.W").type.shape == Shape{3136, 128});
  CHECK(count_ops(g, OpKind::MaxPool) == 2);
  CHECK(leaf(g, OpKind::Hyper, "dropout1.keep").attrs.get_float("value") == 0.5);
  CHECK(g.train.batch == 128);
  CHECK(g.train.optimizer.kind == "adam");
}

TEST_CASE("multilabel: sigmoid cross-entropy on f32 targets with l2") {
  Graph g = example("multilabel.nn");
  CHECK(count_ops(g, OpKind::SigmoidCrossEntropy) == 1);
  CHECK(leaf(g, OpKind::Input, "tags").attrs.get_str("role") == "label");
  CHECK(g.find_leaf(OpKind::Hyper, "l2.lambda"));
}

TEST_CASE("siamese: three inputs through one shared encoder, a triplet loss") {
  Graph g = example("siamese.nn");
  CHECK(g.leaves(OpKind::Input).size() == 3);
  CHECK(g.leaves(OpKind::Param).size() == 4); // enc1.W/b, enc2.W/b, shared
  CHECK(count_ops(g, OpKind::MatMul) == 6);
  CHECK(count_ops(g, OpKind::Maximum) == 1);
  CHECK(g.node(g.loss->value).op == OpKind::ReduceMean);
}

TEST_CASE("transfer: frozen feature extractor, trainable head") {
  Graph g = example("transfer.nn");
  CHECK(param(g, "conv1.W").attrs.get_int("frozen") == 1);
  CHECK(param(g, "conv2.b").attrs.get_int("frozen") == 1);
  CHECK(param(g, "proj").attrs.get_int("frozen") == 1);
  CHECK(param(g, "dense1.W").attrs.get_int("frozen") == 0);
  CHECK(param(g, "dense2.W").attrs.get_int("frozen") == 0);
  CHECK(trainable_parameters(g) == 16 * 32 + 32 + 32 * 4 + 4);
}

TEST_CASE("multitask: shared trunk, two heads, two outputs, a weighted loss") {
  Graph g = example("multitask.nn");
  REQUIRE(g.outputs.size() == 2);
  CHECK(g.outputs[0].name == "class_probs");
  CHECK(g.outputs[1].name == "size");
  CHECK(count_ops(g, OpKind::SoftmaxCrossEntropy) == 1);
  CHECK(count_ops(g, OpKind::Mse) == 1);
  CHECK(g.find_leaf(OpKind::Param, "class_head.W"));
  CHECK(g.find_leaf(OpKind::Param, "size_head.W"));
}
