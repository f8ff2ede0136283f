// The decoder-side calls: conv2d_transpose (params, op, attributes, the
// output size) and upsample, and their located errors.
#include "frontend_test_helpers.h"

using namespace netc;
using namespace netc::test;

namespace {

const std::string kImage = "input x : f32[batch, 3, 5, 7]\n";
using Ints = std::vector<int64_t>;

} // namespace

TEST_CASE("conv2d_transpose: W [C_in, filters, KH, KW], b [filters], conv2d's dx op") {
  Graph g = build(kImage + "output y = conv2d_transpose(x, 4, kernel=3, stride=2, pad=1, "
                           "output_padding=1)\n");
  const Node& w = param(g, "deconv1.W");
  CHECK(w.type == TensorType{DType::f32, Shape{3, 4, 3, 3}});
  CHECK(w.attrs.get_str("init") == "he");
  CHECK(w.attrs.get_int("fan_in") == 4 * 9); // PyTorch's fan_in of this layout
  CHECK(w.attrs.get_int("fan_out") == 3 * 9);
  const Node& b = param(g, "deconv1.b");
  CHECK(b.type == TensorType{DType::f32, Shape{4}});
  CHECK(b.attrs.get_str("init") == "zeros");
  const Node& t = only(g, OpKind::Conv2dBackwardInput);
  CHECK(t.attrs.get_ints("stride") == Ints{2, 2});
  CHECK(t.attrs.get_ints("pad") == Ints{1, 1});
  CHECK(t.attrs.get_ints("output_padding") == Ints{1, 1});
  CHECK(t.attrs.get_str("layer") == "deconv1");
  // (H - 1) s - 2 p + d (k - 1) + op + 1: 4 2 - 2 + 2 + 2 = 10, 6 2 - 2 + 2 + 2 = 14
  CHECK(t.type.shape == Shape{kBatch, 4, 10, 14});
  // The bias: reshaped to [4, 1, 1] and added.
  CHECK(only(g, OpKind::Reshape).attrs.get_ints("shape") == Ints{4, 1, 1});
  CHECK(g.node(g.outputs.at(0).value).op == OpKind::Add);
  CHECK(g.node(g.outputs.at(0).value).type.shape == Shape{kBatch, 4, 10, 14});
}

TEST_CASE("conv2d_transpose defaults: kernel 3, stride 1, no output_padding attribute, "
          "bias=false, dilation") {
  Graph g = build(kImage + "output y = conv2d_transpose(x, 2, bias=false)\n");
  const Node& t = only(g, OpKind::Conv2dBackwardInput);
  CHECK(!t.attrs.has("output_padding"));
  CHECK(t.type.shape == Shape{kBatch, 2, 7, 9});
  CHECK(count_ops(g, OpKind::Add) == 0);
  CHECK(!g.find_leaf(OpKind::Param, "deconv1.b"));
  // output_padding 1 at stride 1 is allowed by dilation 2: 4 + 4 + 1 + 1 = 10.
  Graph d = build(kImage + "output y = conv2d_transpose(x, 2, dilation=2, output_padding=(1, 0), "
                           "kernel=(3, 2))\n");
  CHECK(only(d, OpKind::Conv2dBackwardInput).type.shape == Shape{kBatch, 2, 10, 9});
}

TEST_CASE("conv2d_transpose: located errors") {
  CHECK_USER_ERROR(kImage + "output y = conv2d_transpose(x, 2, stride=2, output_padding=2)\n", 2,
                   60, "output_padding 2 must be smaller than the stride (2) or the dilation (1)");
  CHECK_USER_ERROR(kImage + "output y = conv2d_transpose(x, 2, output_padding=1)\n", 2, 50,
                   "must be smaller than the stride (1)");
  CHECK_USER_ERROR(kImage + "output y = conv2d_transpose(x, 2, kernel=1, pad=3)\n", 2, 12,
                   "conv2d_transpose: the padding (3) leaves no output");
  CHECK_USER_ERROR("input x : f32[batch, 8]\noutput y = conv2d_transpose(x, 2)\n", 2, 12,
                   "conv2d_transpose expects a [batch, channels, height, width] input");
  CHECK_USER_ERROR(kImage + "output y = conv2d_transpose(x, 0)\n", 2, 32,
                   "'filters' must be at least 1, found 0");
}

TEST_CASE("upsample: scale and mode attributes") {
  Graph g = build(kImage + "a = upsample(x, 2)\noutput y = upsample(a, (2, 3), mode=bilinear)\n");
  REQUIRE(count_ops(g, OpKind::Upsample) == 2);
  const Node& out = g.node(g.outputs.at(0).value);
  CHECK(out.attrs.get_ints("scale") == Ints{2, 3});
  CHECK(out.attrs.get_str("mode") == "bilinear");
  CHECK(out.type.shape == Shape{kBatch, 3, 20, 42});
  const Node& first = g.node(out.inputs[0]);
  CHECK(first.attrs.get_ints("scale") == Ints{2, 2});
  CHECK(!first.attrs.has("mode")); // nearest, the default
}

TEST_CASE("upsample: located errors") {
  CHECK_USER_ERROR("input x : f32[batch, 8]\noutput y = upsample(x, 2)\n", 2, 12,
                   "the input must be [N,C,H,W]");
  CHECK_USER_ERROR(kImage + "output y = upsample(x, 1.5)\n", 2, 24,
                   "upsample: the scale must be an integer factor, found 1.5");
  CHECK_USER_ERROR(kImage + "output y = upsample(x, (2, 2.5))\n", 2, 28,
                   "the scale must be an integer factor, found 2.5");
  CHECK_USER_ERROR(kImage + "output y = upsample(x, 0)\n", 2, 24,
                   "the scale must be at least 1, found 0");
  CHECK_USER_ERROR(kImage + "output y = upsample(x, 2, mode=bicubic)\n", 2, 32,
                   "nearest or bilinear");
}
