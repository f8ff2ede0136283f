// The params, state and ops each layer creates: names, shapes, attributes.
#include "frontend_test_helpers.h"

using namespace netc;
using namespace netc::test;

namespace {

const std::string kImage = "input x : f32[batch, 3, 8, 8]\n";
const std::string kFlat = "input x : f32[batch, 6]\n";

} // namespace

TEST_CASE("dense: W [F, units] and b [units], matmul then add") {
  Graph g = build(kFlat + "output y = dense(x, 4)\n");
  const Node& w = param(g, "dense1.W");
  CHECK(w.type == TensorType{DType::f32, Shape{6, 4}});
  CHECK(w.attrs.get_str("init") == "he");
  CHECK(w.attrs.get_int("fan_in") == 6);
  CHECK(w.attrs.get_int("fan_out") == 4);
  CHECK(w.attrs.get_int("frozen") == 0);
  CHECK(w.attrs.get_int("regularize") == 1);
  CHECK(w.attrs.get_str("layer") == "dense1");
  CHECK(w.loc == SourceLoc{2, 12});
  const Node& b = param(g, "dense1.b");
  CHECK(b.type == TensorType{DType::f32, Shape{4}});
  CHECK(b.attrs.get_str("init") == "zeros");
  CHECK(b.attrs.get_int("regularize") == 0);
  const Node& mm = only(g, OpKind::MatMul);
  CHECK(mm.attrs.get_str("layer") == "dense1");
  const Node& add = only(g, OpKind::Add);
  CHECK(add.inputs[1] == *g.find_leaf(OpKind::Param, "dense1.b"));
  CHECK(g.outputs.at(0).value == g.size() - 1);
  CHECK(g.node(g.outputs[0].value).type.shape == Shape{kBatch, 4});
}

TEST_CASE("dense on [batch, T, F]: W [F, units] shared over the leading axes (nn.Linear)") {
  Graph g = build("input x : f32[batch, 5, 6]\noutput y = dense(x, 4)\n");
  const Node& w = param(g, "dense1.W");
  CHECK(w.type == TensorType{DType::f32, Shape{6, 4}});
  CHECK(w.attrs.get_int("fan_in") == 6);
  CHECK(param(g, "dense1.b").type.shape == Shape{4});
  const Node& mm = only(g, OpKind::MatMul);
  CHECK(g.node(mm.inputs[0]).type.shape == Shape{kBatch, 5, 6});
  CHECK(mm.type.shape == Shape{kBatch, 5, 4});
  CHECK(g.node(g.outputs[0].value).type.shape == Shape{kBatch, 5, 4});
  // rank 4 too: the last axis only, like torch.nn.Linear
  Graph g4 = build("input x : f32[batch, 2, 3, 7]\noutput y = dense(x, 5, bias=false)\n");
  CHECK(param(g4, "dense1.W").type.shape == Shape{7, 5});
  CHECK(g4.node(g4.outputs[0].value).type.shape == Shape{kBatch, 2, 3, 5});
}

TEST_CASE("dense options: init, bias=false, counters, name") {
  Graph g = build(kFlat + "h = dense(x, 5, init=normal(0.05), bias=false)\n"
                          "h = dense(h, 3, init=xavier)\n"
                          "output y = dense(h, 2, name=head)\n");
  const Node& w1 = param(g, "dense1.W");
  CHECK(w1.attrs.get_str("init") == "normal");
  CHECK(w1.attrs.get_float("scale") == 0.05);
  CHECK_FALSE(g.find_leaf(OpKind::Param, "dense1.b"));
  CHECK(param(g, "dense2.W").attrs.get_str("init") == "xavier");
  CHECK(param(g, "head.W").type.shape == Shape{3, 2});
  CHECK(count_ops(g, OpKind::MatMul) == 3);
  CHECK(count_ops(g, OpKind::Add) == 2);
}

TEST_CASE("default layer names skip names taken by name=") {
  Graph g = build(kFlat + "h = dense(x, 4, name=dense1)\noutput y = dense(h, 2)\n");
  CHECK(param(g, "dense1.W").type.shape == Shape{6, 4});
  CHECK(param(g, "dense2.W").type.shape == Shape{4, 2});
}

TEST_CASE("conv2d: W [O, C/groups, KH, KW], b [O], one op with stride/pad/dilation/groups") {
  Graph g = build(kImage + "output y = conv2d(x, 6, kernel=(3, 5), stride=(1, 2), pad=(1, 2), "
                           "dilation=1, groups=3)\n");
  const Node& w = param(g, "conv1.W");
  CHECK(w.type.shape == Shape{6, 1, 3, 5});
  CHECK(w.attrs.get_int("fan_in") == 1 * 3 * 5);
  CHECK(w.attrs.get_int("fan_out") == 6 * 3 * 5);
  CHECK(w.attrs.get_int("regularize") == 1);
  CHECK(param(g, "conv1.b").type.shape == Shape{6});
  const Node& c = only(g, OpKind::Conv2d);
  CHECK(c.inputs.size() == 3);
  CHECK(c.attrs.get_ints("stride") == std::vector<int64_t>{1, 2});
  CHECK(c.attrs.get_ints("pad") == std::vector<int64_t>{1, 2});
  CHECK(c.attrs.get_ints("dilation") == std::vector<int64_t>{1, 1});
  CHECK(c.attrs.get_int("groups") == 3);
  CHECK(c.attrs.get_str("layer") == "conv1");
  CHECK(c.type.shape == Shape{kBatch, 6, 8, 4});
}

TEST_CASE("conv2d defaults and pad=same") {
  Graph g = build(kImage + "h = conv2d(x, 4)\noutput y = conv2d(h, 4, kernel=5, dilation=2, "
                           "pad=same, bias=false)\n");
  const Node& c1 = param(g, "conv1.W");
  CHECK(c1.type.shape == Shape{4, 3, 3, 3});
  CHECK(c1.attrs.get_int("fan_in") == 27);
  bool seen_first = false;
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::Conv2d) continue;
    if (!seen_first) {
      CHECK(n.attrs.get_ints("pad") == std::vector<int64_t>{0, 0});
      CHECK(n.type.shape == Shape{kBatch, 4, 6, 6});
      seen_first = true;
    } else {
      // (k - 1) / 2 * dilation keeps the size
      CHECK(n.attrs.get_ints("pad") == std::vector<int64_t>{4, 4});
      CHECK(n.inputs.size() == 2);
      CHECK(n.type.shape == Shape{kBatch, 4, 6, 6});
    }
  }
  CHECK_FALSE(g.find_leaf(OpKind::Param, "conv2.b"));
}

TEST_CASE("pooling, global average pooling and flatten") {
  Graph g = build(kImage + "h = maxpool(x, 2)\nh = avgpool(h, kernel=3, stride=1, pad=1)\n"
                           "output y = flatten(global_avgpool(h))\noutput z = flatten(h)\n");
  const Node& mp = only(g, OpKind::MaxPool);
  CHECK(mp.attrs.get_ints("kernel") == std::vector<int64_t>{2, 2});
  CHECK(mp.attrs.get_ints("stride") == std::vector<int64_t>{2, 2}); // defaults to the kernel
  CHECK(mp.attrs.get_ints("pad") == std::vector<int64_t>{0, 0});
  CHECK(mp.attrs.get_str("layer") == "maxpool1");
  CHECK(mp.type.shape == Shape{kBatch, 3, 4, 4});
  const Node& ap = only(g, OpKind::AvgPool);
  CHECK(ap.attrs.get_ints("stride") == std::vector<int64_t>{1, 1});
  CHECK(ap.attrs.get_ints("pad") == std::vector<int64_t>{1, 1});
  CHECK(ap.attrs.get_str("layer") == "avgpool1");
  CHECK(only(g, OpKind::GlobalAvgPool).attrs.get_str("layer") == "gap1");
  CHECK(g.node(g.outputs[0].value).attrs.get_ints("shape") == std::vector<int64_t>{kBatch, 3});
  CHECK(g.node(g.outputs[0].value).attrs.get_str("layer") == "flatten1");
  CHECK(g.node(g.outputs[1].value).attrs.get_ints("shape") == std::vector<int64_t>{kBatch, 48});
  CHECK(g.node(g.outputs[1].value).attrs.get_str("layer") == "flatten2");
}

TEST_CASE("avgpool count_include_pad: set only when on") {
  auto pool = [](const std::string& args) {
    Graph g = build(kImage + "output y = avgpool(x, 3, stride=1, pad=1" + args + ")\n");
    return only(g, OpKind::AvgPool).attrs;
  };
  CHECK_FALSE(pool("").has("count_include_pad"));
  CHECK_FALSE(pool(", count_include_pad=false").has("count_include_pad"));
  CHECK_FALSE(pool(", count_include_pad=0").has("count_include_pad"));
  CHECK(pool(", count_include_pad=true").get_int("count_include_pad") == 1);
  CHECK(pool(", count_include_pad=1").get_int("count_include_pad") == 1);
  CHECK_USER_ERROR(kImage + "output y = avgpool(x, 3, pad=1, count_include_pad=2)\n", 2, 51,
                   "avgpool: 'count_include_pad' must be true, false, 1 or 0, found 2");
  CHECK_USER_ERROR(kImage + "output y = avgpool(x, 3, pad=1, count_include_pad=yes)\n", 2, 51,
                   "found 'yes'");
  // Keyword only, and avgpool's alone.
  CHECK_USER_ERROR(kImage + "output y = avgpool(x, 3, 1, 1, 1)\n", 2, 32,
                   "avgpool expects at most 4 positional arguments, found 5");
  CHECK_USER_ERROR(kImage + "output y = maxpool(x, 3, pad=1, count_include_pad=1)\n", 2, 33,
                   "maxpool has no argument 'count_include_pad'");
}

TEST_CASE("batchnorm: gamma/beta params, running statistics as state") {
  Graph g = build(kImage + "output y = batchnorm(x, eps=1e-3, momentum=0.99)\n");
  const Node& gamma = param(g, "bn1.gamma");
  CHECK(gamma.type.shape == Shape{3});
  CHECK(gamma.attrs.get_str("init") == "ones");
  CHECK(gamma.attrs.get_int("regularize") == 0);
  CHECK(param(g, "bn1.beta").attrs.get_str("init") == "zeros");
  const Node& mean = leaf(g, OpKind::State, "bn1.running_mean");
  CHECK(mean.type.shape == Shape{3});
  CHECK(mean.attrs.get_str("init") == "zeros");
  CHECK(mean.attrs.get_str("layer") == "bn1");
  CHECK(leaf(g, OpKind::State, "bn1.running_var").attrs.get_str("init") == "ones");
  const Node& bn = only(g, OpKind::BatchNorm);
  CHECK(bn.inputs.size() == 5);
  CHECK(bn.attrs.get_float("eps") == 1e-3);
  CHECK(bn.attrs.get_float("momentum") == 0.99);
  CHECK(bn.attrs.get_int("axis") == 1);
  Graph flat = build(kFlat + "output y = batchnorm(x)\n");
  CHECK(param(flat, "bn1.gamma").type.shape == Shape{6});
  CHECK(only(flat, OpKind::BatchNorm).attrs.get_float("eps") == 1e-5);
}

TEST_CASE("dropout: a keep hyper per layer and a stream per dropout op") {
  Graph g = build(kFlat + "h = dropout(x, keep=0.8)\noutput y = dropout(h, 0.5)\n");
  const Node& k1 = leaf(g, OpKind::Hyper, "dropout1.keep");
  CHECK(k1.type == TensorType{DType::f32, Shape{}});
  CHECK(k1.attrs.get_float("value") == 0.8);
  CHECK(k1.attrs.get_str("layer") == "dropout1");
  CHECK(leaf(g, OpKind::Hyper, "dropout2.keep").attrs.get_float("value") == 0.5);
  std::vector<int64_t> streams;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Dropout) streams.push_back(n.attrs.get_int("stream"));
  CHECK(streams == std::vector<int64_t>{1, 2});
}

TEST_CASE("a named layer used again shares its params (Siamese)") {
  Graph g = build("input a : f32[batch, 6]\ninput b : f32[batch, 6]\n"
                  "ea = dense(a, 3, name=enc)\neb = dense(b, 3, name=enc)\n"
                  "output d = ea - eb\n");
  CHECK(g.leaves(OpKind::Param).size() == 2);
  ValueId w = *g.find_leaf(OpKind::Param, "enc.W");
  int uses = 0;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::MatMul) uses += n.inputs[1] == w;
  CHECK(uses == 2);
}

TEST_CASE("frozen=true freezes a layer's params / a frozen param statement too") {
  Graph g = build(kFlat + "param P : f32[6, 6] = uniform(0.1) frozen\nparam v : f32[6] = "
                          "constant(0.5)\nh = batchnorm(dense(matmul(x, P) + v, 4, frozen=true), "
                          "frozen=true)\noutput y = dense(h, 2)\n");
  CHECK(param(g, "P").attrs.get_int("frozen") == 1);
  CHECK(param(g, "P").attrs.get_str("init") == "uniform");
  CHECK(param(g, "P").attrs.get_float("scale") == 0.1);
  CHECK(param(g, "P").attrs.get_int("regularize") == 1);
  CHECK(param(g, "v").attrs.get_int("frozen") == 0);
  CHECK(param(g, "v").attrs.get_int("regularize") == 0);
  CHECK(param(g, "v").attrs.get_float("scale") == 0.5);
  CHECK(param(g, "dense1.W").attrs.get_int("frozen") == 1);
  CHECK(param(g, "dense1.b").attrs.get_int("frozen") == 1);
  CHECK(param(g, "bn1.gamma").attrs.get_int("frozen") == 1);
  CHECK(param(g, "dense2.W").attrs.get_int("frozen") == 0);
  CHECK(trainable_parameters(g) == 6 + 4 * 2 + 2);
}

TEST_CASE("explicit params: fan-in and fan-out follow the layer conventions") {
  Graph g = build(kFlat + "param W : f32[6, 3] = glorot\nparam K : f32[8, 2, 3, 3] = he\n"
                          "param s : f32[] = ones\noutput y = matmul(x, W) * s\n");
  CHECK(param(g, "W").attrs.get_int("fan_in") == 6);
  CHECK(param(g, "W").attrs.get_int("fan_out") == 3);
  CHECK(param(g, "K").attrs.get_int("fan_in") == 2 * 9);
  CHECK(param(g, "K").attrs.get_int("fan_out") == 8 * 9);
  CHECK(param(g, "s").type.shape == Shape{});
  CHECK(param(g, "W").loc == SourceLoc{2, 7});
}

TEST_CASE("layer params can be referenced by their dotted names") {
  Graph g = build(kFlat + "h = dense(x, 3)\noutput y = matmul(h, transpose(dense1.W, (1, 0)))\n");
  const Node& t = only(g, OpKind::Transpose);
  CHECK(t.inputs[0] == *g.find_leaf(OpKind::Param, "dense1.W"));
  CHECK(g.node(g.outputs[0].value).type.shape == Shape{kBatch, 6});
}

TEST_CASE("f64 models get f64 params and constants") {
  Graph g = build("input x : f64[batch, 2]\noutput y = 2 * dropout(batchnorm(dense(x, 3)), 0.5)\n");
  CHECK(param(g, "dense1.W").type.dtype == DType::f64);
  CHECK(leaf(g, OpKind::Hyper, "dropout1.keep").type.dtype == DType::f64);
  CHECK(g.node(g.outputs[0].value).type.dtype == DType::f64);
}
