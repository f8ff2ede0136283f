// Declarations, expressions and primitives -> IR; outputs, the loss and
// the expansion of l1/l2 regularization.
#include "frontend_test_helpers.h"

using namespace netc;
using namespace netc::test;

namespace {

const std::string kX = "input x : f32[batch, 4]\n";

// The op of the single output of `kX + "output y = EXPR"`.
const Node& output_of(const Graph& g) { return g.node(g.outputs.at(0).value); }

} // namespace

TEST_CASE("inputs and labels become Input leaves with a role") {
  Graph g = build("model net\ninput img : f32[batch, 1, 28, 28]\nlabel y : class(10)[batch]\n"
                  "label t : f32[batch, 5]\noutput o = img\n");
  CHECK(g.name == "net");
  CHECK(g.source_file == "test.nn");
  const Node& img = leaf(g, OpKind::Input, "img");
  CHECK(img.type == TensorType{DType::f32, Shape{kBatch, 1, 28, 28}});
  CHECK(img.attrs.get_str("role") == "data");
  CHECK(img.loc == SourceLoc{2, 7});
  const Node& y = leaf(g, OpKind::Input, "y");
  CHECK(y.type == TensorType{DType::i32, Shape{kBatch}});
  CHECK(y.attrs.get_str("role") == "label");
  CHECK(y.attrs.get_int("num_classes") == 10);
  const Node& t = leaf(g, OpKind::Input, "t");
  CHECK(t.type == TensorType{DType::f32, Shape{kBatch, 5}});
  CHECK(t.attrs.get_str("role") == "label");
  CHECK_FALSE(t.attrs.has("num_classes"));
  CHECK(g.outputs.at(0).name == "o");
  CHECK(g.outputs[0].value == *g.find_leaf(OpKind::Input, "img"));
}

TEST_CASE("without `model`, the model is named after the file") {
  CHECK(parse_model(kX + "output y = x\n", "dir/my_net.nn").name == "my_net");
}

TEST_CASE("arithmetic maps to add/sub/mul/div / numbers are f32 scalar constants") {
  Graph g = build(kX + "output y = 2 * x - x / 4 + -x\n");
  CHECK(count_ops(g, OpKind::Mul) == 1);
  CHECK(count_ops(g, OpKind::Div) == 1);
  CHECK(count_ops(g, OpKind::Sub) == 1);
  CHECK(count_ops(g, OpKind::Add) == 1);
  CHECK(count_ops(g, OpKind::Neg) == 1);
  CHECK(output_of(g).op == OpKind::Add);
  CHECK(output_of(g).loc == SourceLoc{2, 26});
  for (ValueId c : g.leaves(OpKind::Constant))
    CHECK(g.node(c).type == TensorType{DType::f32, Shape{}});
  CHECK(g.node(g.leaves(OpKind::Constant)[0]).attrs.get_float("value") == 2.0);
  // A negated literal is a constant, not a neg op.
  Graph h = build(kX + "output y = x * -0.5\n");
  CHECK(count_ops(h, OpKind::Neg) == 0);
  CHECK(h.node(h.leaves(OpKind::Constant)[0]).attrs.get_float("value") == -0.5);
}

TEST_CASE("variables may be rebound") {
  Graph g = build(kX + "h = relu(x)\nh = exp(h)\noutput y = h\n");
  CHECK(output_of(g).op == OpKind::Exp);
  CHECK(g.node(output_of(g).inputs[0]).op == OpKind::Relu);
}

TEST_CASE("elementwise functions and activations") {
  struct Case {
    const char* call;
    OpKind op;
  };
  for (Case c : {Case{"exp(x)", OpKind::Exp}, Case{"log(x)", OpKind::Log},
                 Case{"sqrt(x)", OpKind::Sqrt}, Case{"abs(x)", OpKind::Abs},
                 Case{"relu(x)", OpKind::Relu}, Case{"sigmoid(x)", OpKind::Sigmoid},
                 Case{"tanh(x)", OpKind::Tanh}, Case{"pow(x, 2)", OpKind::Pow},
                 Case{"max(x, 0)", OpKind::Maximum}, Case{"min(x, x)", OpKind::Minimum},
                 Case{"matmul(x, transpose(x, (1, 0)))", OpKind::MatMul}}) {
    CAPTURE(c.call);
    Graph g = build(kX + "output y = " + c.call + "\n");
    CHECK(output_of(g).op == c.op);
    CHECK(output_of(g).loc == SourceLoc{2, 12});
  }
  Graph g = build(kX + "output a = leaky_relu(x)\noutput b = elu(x, alpha=0.5)\n"
                       "output c = softmax(x)\noutput d = log_softmax(x, axis=0)\n");
  CHECK(g.node(g.outputs[0].value).attrs.get_float("alpha") == 0.01);
  CHECK(g.node(g.outputs[1].value).attrs.get_float("alpha") == 0.5);
  CHECK(g.node(g.outputs[2].value).attrs.get_int("axis") == 1); // -1 normalized
  CHECK(g.node(g.outputs[3].value).op == OpKind::LogSoftmax);
  CHECK(g.node(g.outputs[3].value).attrs.get_int("axis") == 0);
}

TEST_CASE("reductions: axis, tuples of axes, keepdims, all axes") {
  Graph g = build("input x : f32[batch, 3, 4]\noutput a = sum(x, axis=1)\n"
                  "output b = mean(x, axis=(1, -1), keepdims=true)\noutput c = mean(x)\n"
                  "output d = max(x, axis=2)\noutput e = min(x)\n");
  const Node& a = g.node(g.outputs[0].value);
  CHECK(a.op == OpKind::ReduceSum);
  CHECK(a.attrs.get_ints("axes") == std::vector<int64_t>{1});
  CHECK(a.attrs.get_int("keepdims") == 0);
  CHECK(a.type.shape == Shape{kBatch, 4});
  const Node& b = g.node(g.outputs[1].value);
  CHECK(b.op == OpKind::ReduceMean);
  CHECK(b.attrs.get_ints("axes") == std::vector<int64_t>{1, 2});
  CHECK(b.type.shape == Shape{kBatch, 1, 1});
  const Node& c = g.node(g.outputs[2].value);
  CHECK(c.attrs.get_ints("axes") == std::vector<int64_t>{0, 1, 2});
  CHECK(c.type.shape == Shape{});
  CHECK(g.node(g.outputs[3].value).op == OpKind::ReduceMax);
  CHECK(g.node(g.outputs[4].value).op == OpKind::ReduceMin);
}

TEST_CASE("reshape, transpose, concat, slice") {
  Graph g = build("input x : f32[batch, 2, 6]\noutput a = reshape(x, (batch, 12))\n"
                  "output b = transpose(x, (0, 2, 1))\noutput c = concat(x, x, x, axis=-1)\n"
                  "output d = slice(x, axis=2, start=1, end=4)\n");
  const Node& a = g.node(g.outputs[0].value);
  CHECK(a.op == OpKind::Reshape);
  CHECK(a.attrs.get_ints("shape") == std::vector<int64_t>{kBatch, 12});
  const Node& b = g.node(g.outputs[1].value);
  CHECK(b.attrs.get_ints("perm") == std::vector<int64_t>{0, 2, 1});
  CHECK(b.type.shape == Shape{kBatch, 6, 2});
  const Node& c = g.node(g.outputs[2].value);
  CHECK(c.inputs.size() == 3);
  CHECK(c.attrs.get_int("axis") == 2);
  CHECK(c.type.shape == Shape{kBatch, 2, 18});
  const Node& d = g.node(g.outputs[3].value);
  CHECK(d.attrs.get_int("axis") == 2);
  CHECK(d.attrs.get_int("start") == 1);
  CHECK(d.attrs.get_int("end") == 4);
  CHECK(d.type.shape == Shape{kBatch, 2, 3});
}

TEST_CASE("losses / the loss is recorded with its position") {
  Graph g =
      build("input x : f32[batch, 3]\nlabel y : class(3)[batch]\nlabel t : f32[batch, 3]\n"
            "output p = softmax(x)\n"
            "loss 0.5 * softmax_cross_entropy(x, y) + sigmoid_cross_entropy(x, t) + mse(x, t)\n");
  REQUIRE(g.loss);
  CHECK(g.loss->name == "loss");
  CHECK(g.loss->loc == SourceLoc{5, 1});
  CHECK(g.node(g.loss->value).type.shape == Shape{});
  CHECK(count_ops(g, OpKind::SoftmaxCrossEntropy) == 1);
  CHECK(count_ops(g, OpKind::SigmoidCrossEntropy) == 1);
  CHECK(count_ops(g, OpKind::Mse) == 1);
}

TEST_CASE("softmax_cross_entropy options: label_smoothing and class weights") {
  const std::string head = "input x : f32[batch, 3]\nlabel y : class(3)[batch]\n";
  auto ce = [&](const std::string& args) {
    Graph g = build(head + "loss softmax_cross_entropy(x, y" + args + ")\n");
    return g.node(g.loss->value).attrs;
  };
  // Without options, no attributes: the IR of existing models is unchanged.
  CHECK(ce("").empty());
  CHECK(ce(", label_smoothing=0").empty());
  Attrs a = ce(", label_smoothing=0.1, weights=(1, 2.5, 0)");
  CHECK(a.get_float("label_smoothing") == 0.1);
  CHECK(std::get<std::vector<double>>(*a.find("weights")) == std::vector<double>{1, 2.5, 0});
  CHECK(ce(", weights=(0.5, 1, 1,)").get_floats("weights") == std::vector<double>{0.5, 1, 1});
  CHECK_FALSE(ce(", weights=(1, 1, 1)").has("label_smoothing"));
}

TEST_CASE("softmax_cross_entropy options: located errors") {
  const std::string head = "input x : f32[batch, 3]\nlabel y : class(3)[batch]\n";
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, label_smoothing=1.5)\n", 3, 50,
                   "softmax_cross_entropy: label_smoothing must be in [0, 1], found 1.5");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, label_smoothing=-0.1)\n", 3, 50,
                   "label_smoothing must be in [0, 1], found -0.1");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, label_smoothing=high)\n", 3, 50,
                   "softmax_cross_entropy: 'label_smoothing' must be a number, found 'high'");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, weights=(1, 2))\n", 3, 42,
                   "softmax_cross_entropy: 'weights' has 2 values but the logits f32[batch,3] "
                   "have 3 classes; give one weight per class");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, weights=2)\n", 3, 42,
                   "'weights' has 1 value but the logits f32[batch,3] have 3 classes");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, weights=(1, -2, 1))\n", 3, 46,
                   "softmax_cross_entropy: class weights must be finite and >= 0, found -2");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, weights=(0, 0, 0))\n", 3, 42,
                   "softmax_cross_entropy: at least one class weight must be positive");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, weights=(1, w, 1))\n", 3, 46,
                   "softmax_cross_entropy: 'weights' must be a number, found 'w'");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, weights=(1, (1, 2), 1))\n", 3, 46,
                   "'weights' must be a number, found a tuple");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, 0.1)\n", 3, 34,
                   "softmax_cross_entropy expects 2 arguments, found 3");
  CHECK_USER_ERROR(head + "loss softmax_cross_entropy(x, y, smoothing=0.1)\n", 3, 34,
                   "softmax_cross_entropy has no argument 'smoothing'");
}

TEST_CASE("a model may have a loss and no output, or outputs and no loss") {
  CHECK(build(kX + "loss mean(x)\n").outputs.empty());
  CHECK_FALSE(build(kX + "output y = x\n").loss);
}

TEST_CASE("outputs keep their declaration order") {
  Graph g = build(kX + "output b = relu(x)\nh = exp(x)\noutput h\noutput a = x\n");
  REQUIRE(g.outputs.size() == 3);
  CHECK(g.outputs[0].name == "b");
  CHECK(g.outputs[1].name == "h");
  CHECK(g.outputs[1].loc == SourceLoc{4, 8});
  CHECK(g.outputs[2].name == "a");
}

TEST_CASE("l2(lambda) expands to lambda / (2 m) * sum of squared trainable weights") {
  Graph g = build(kX + "label y : class(2)[batch]\nparam F : f32[4, 4] = he frozen\n"
                       "h = batchnorm(dense(matmul(x, F), 3))\nz = dense(h, 2, bias=false)\n"
                       "loss softmax_cross_entropy(z, y) + l2(0.01)\n");
  const Node& lam = leaf(g, OpKind::Hyper, "l2.lambda");
  CHECK(lam.attrs.get_float("value") == 0.01);
  CHECK(lam.type == TensorType{DType::f32, Shape{}});
  CHECK(count_ops(g, OpKind::BatchSize) == 1);
  // Only dense1.W and dense2.W: not the frozen F, biases or batch norm params.
  std::vector<ValueId> squared;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Mul && n.inputs.size() == 2 && n.inputs[0] == n.inputs[1])
      squared.push_back(n.inputs[0]);
  CHECK(squared == std::vector<ValueId>{*g.find_leaf(OpKind::Param, "dense1.W"),
                                        *g.find_leaf(OpKind::Param, "dense2.W")});
  CHECK(count_ops(g, OpKind::ReduceSum) == 2);
  // loss = ce + div(mul(lambda, sum), mul(2, m))
  const Node& total = g.node(g.loss->value);
  CHECK(total.op == OpKind::Add);
  const Node& reg = g.node(total.inputs[1]);
  CHECK(reg.op == OpKind::Div);
  CHECK(reg.loc == SourceLoc{6, 36});
  const Node& num = g.node(reg.inputs[0]);
  CHECK(num.op == OpKind::Mul);
  CHECK(num.inputs[0] == *g.find_leaf(OpKind::Hyper, "l2.lambda"));
  const Node& den = g.node(reg.inputs[1]);
  CHECK(den.op == OpKind::Mul);
  CHECK(g.node(den.inputs[0]).attrs.get_float("value") == 2.0);
  CHECK(g.node(den.inputs[1]).op == OpKind::BatchSize);
}

TEST_CASE("l2() written before the layers of the loss still regularizes them") {
  // The order of the terms does not matter: both forms sum dense1.W and dense2.W.
  std::string head = kX + "label y : class(2)[batch]\nh = dense(x, 3)\n";
  Graph before = build(head + "loss l2(0.01) + softmax_cross_entropy(dense(h, 2), y)\n");
  Graph after = build(head + "loss softmax_cross_entropy(dense(h, 2), y) + l2(0.01)\n");
  for (const Graph* g : {&before, &after}) {
    std::vector<ValueId> squared;
    for (const Node& n : g->nodes)
      if (n.op == OpKind::Mul && n.inputs.size() == 2 && n.inputs[0] == n.inputs[1])
        squared.push_back(n.inputs[0]);
    CHECK(squared == std::vector<ValueId>{*g->find_leaf(OpKind::Param, "dense1.W"),
                                          *g->find_leaf(OpKind::Param, "dense2.W")});
  }
  // The terms keep their places in the sum: l2 is the first operand.
  const Node& total = before.node(before.loss->value);
  REQUIRE(total.op == OpKind::Add);
  CHECK(before.node(total.inputs[0]).op == OpKind::Div);
  CHECK(before.node(total.inputs[1]).op == OpKind::SoftmaxCrossEntropy);
  // A loss with only its layers inside, l1 and l2 in front, and a nested term.
  Graph nested = build(kX + "label y : class(2)[batch]\n"
                            "loss 0.5 * (l1(0.1) + l2(0.2)) + mean(dense(relu(dense(x, 3)), 2))\n");
  CHECK(count_ops(nested, OpKind::Abs) == 2);
  CHECK(count_ops(nested, OpKind::ReduceSum) == 4);
}

TEST_CASE("l1(lambda) sums absolute values / l1 and l2 together share m") {
  Graph g = build(kX + "z = dense(x, 2)\nloss mean(z) + l1(0.1) + l2(0.2)\n");
  CHECK(count_ops(g, OpKind::Abs) == 1);
  CHECK(leaf(g, OpKind::Hyper, "l1.lambda").attrs.get_float("value") == 0.1);
  CHECK(leaf(g, OpKind::Hyper, "l2.lambda").attrs.get_float("value") == 0.2);
  CHECK(count_ops(g, OpKind::BatchSize) == 1);
}
