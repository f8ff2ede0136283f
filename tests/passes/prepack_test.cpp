// The prepack pass (passes/prepack.h): which convolutions get their weights
// packed and in which layout, that the rewritten graph computes what the
// original did (the reference interpreter, in f64), and that fusion makes
// the packing prepare kernels.
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/text_parser.h"
#include "ir/verifier.h"
#include "passes/fusion.h"
#include "passes/prepack.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace netc;

namespace {

// A: 3x3 stride 1, 16 -> 16 (Winograd); B: 1x1 stride 2, 16 -> 32 (NHWC);
// C: depthwise (NCHW: untouched); D: 3 input channels (NCHW: untouched);
// E: weights computed from the data (untouched: they change every batch).
const char* kConvs = R"(
%0 = input() {name="x"} : f32[batch,16,8,8]
%1 = param() {name="wa"} : f32[16,16,3,3]
%2 = param() {name="ba"} : f32[16]
%3 = conv2d(%0, %1, %2) {pad=[1,1]} : f32[batch,16,8,8]
%4 = param() {name="wb"} : f32[32,16,1,1]
%5 = conv2d(%3, %4) {stride=[2,2]} : f32[batch,32,4,4]
%6 = param() {name="wc"} : f32[16,1,3,3]
%7 = conv2d(%3, %6) {pad=[1,1], groups=16} : f32[batch,16,8,8]
%8 = input() {name="z"} : f32[batch,3,8,8]
%9 = param() {name="wd"} : f32[16,3,3,3]
%10 = conv2d(%8, %9) {pad=[1,1]} : f32[batch,16,8,8]
%11 = input() {name="we"} : f32[16,16,3,3]
%12 = conv2d(%0, %11) {pad=[1,1]} : f32[batch,16,8,8]
output b = %5
output c = %7
output d = %10
output e = %12
)";

int count(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == k;
  return n;
}

std::vector<std::string> layouts(const Graph& g) {
  std::vector<std::string> out;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Conv2dPacked) out.push_back(n.attrs.get_str("layout"));
  return out;
}

} // namespace

TEST_CASE("prepack: the convs whose kernels read another layout get packed weights") {
  Graph g = parse_graph_text(kConvs, "convs.ir");
  PassResult r = prepack_conv_weights(g);
  CHECK(r.changed);
  CHECK(verify(r.graph).empty());
  CHECK(count(r.graph, OpKind::PackConvWeight) == 2);
  CHECK(count(r.graph, OpKind::Conv2dPacked) == 2);
  CHECK(count(r.graph, OpKind::Conv2d) == 3); // depthwise, 3 channels, data-dependent weights
  CHECK(layouts(r.graph) == std::vector<std::string>{"winograd", "hwio"});
  // The text form parses back (netc dump prints it).
  std::string text = print_graph(r.graph);
  CHECK(print_graph(parse_graph_text(text, "prepacked.ir")) == text);

  // Same outputs, in f64: the Winograd reference reassociates the sums.
  int64_t batch = 2;
  std::map<std::string, Tensor<double>> values;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Input || n.op == OpKind::Param) {
      Tensor<double> t(n.type.shape.concrete(batch));
      for (int64_t i = 0; i < t.size(); ++i)
        t[i] = std::sin(0.7 * double(i) + double(n.attrs.get_str("name").size()));
      values[n.attrs.get_str("name")] = std::move(t);
    }
  RefContext<double> ctx;
  ctx.batch = batch;
  ctx.values = &values;
  auto before = interpret(g, ctx);
  auto after = interpret(r.graph, ctx);
  for (size_t o = 0; o < g.outputs.size(); ++o) {
    CAPTURE(g.outputs[o].name);
    const Tensor<double>& want = before[size_t(g.outputs[o].value)];
    const Tensor<double>& got = after[size_t(r.graph.outputs[o].value)];
    REQUIRE(got.shape == want.shape);
    double worst = 0;
    for (int64_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
    CHECK(worst < 1e-12);
  }
}

TEST_CASE("prepack: a graph with nothing to pack is returned unchanged") {
  Graph g = parse_graph_text(R"(
%0 = input() {name="x"} : f32[batch,3,8,8]
%1 = param() {name="w"} : f32[8,3,3,3]
%2 = conv2d(%0, %1) {pad=[1,1]} : f32[batch,8,8,8]
output y = %2
)",
                             "small.ir");
  PassResult r = prepack_conv_weights(g);
  CHECK_FALSE(r.changed);
  CHECK(print_graph(r.graph) == print_graph(g));
}

TEST_CASE("prepack: fusion computes the packed weights in prepare kernels, first") {
  PassResult r = prepack_conv_weights(parse_graph_text(kConvs, "convs.ir"));
  FusionPlan plan = fuse(r.graph);
  size_t packs = 0, first_data = plan.kernels.size();
  for (size_t k = 0; k < plan.kernels.size(); ++k) {
    const FusedKernel& kernel = plan.kernels[k];
    bool packing = false;
    for (ValueId m : kernel.nodes)
      packing = packing || r.graph.node(m).op == OpKind::PackConvWeight;
    if (packing) {
      ++packs;
      CHECK(kernel.weights_only);
      CHECK(k < first_data);
    } else if (!kernel.weights_only) {
      first_data = std::min(first_data, k);
    }
  }
  CHECK(packs == 2);
}
