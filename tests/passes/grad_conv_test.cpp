// Gradient rules of the conv family against central differences in double
// (relative error < 1e-6): conv2d over every combination of stride, padding,
// dilation, groups (1, 2, depthwise), bias and batch (1, 3) with a non-square
// kernel and image, plus asymmetric windows; maxpool and avgpool with tiling,
// overlapping and padded windows; global_avgpool; conv2d_backward_input as
// the forward op of conv2d_transpose (stride 2 and 3, output_padding, the
// dilation case that needs a slice, groups). Also: autodiff names a
// backward op when a second derivative would be needed (that every op has a
// rule or a reason is tests/codegen/op_table_test.cpp's).
#include "grad_check.h"

#include "ir/gradient.h"
#include "ir/init.h"

#include <algorithm>

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

using Ints = std::vector<int64_t>;
Ints hw(int64_t h, int64_t w) { return {h, w}; }

Operand input(Shape s) { return {Operand::input, std::move(s)}; }

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The smallest gap between two values of one H x W plane of the operand that
// op_gradient_error draws for operand 0 ("p0") at this seed and shape. Central
// differences move one value by 1e-6: a gap above that keeps every window's
// arg max where it is, so maxpool is linear around the point.
double min_plane_gap(uint64_t seed, const std::vector<int64_t>& shape) {
  int64_t plane = shape[2] * shape[3], total = Tensor<double>::count(shape);
  double gap = 1e300;
  for (int64_t p = 0; p < total; p += plane) {
    std::vector<double> v;
    for (int64_t i = p; i < p + plane; ++i)
      v.push_back(counter_normal(seed, name_stream("p0"), static_cast<uint32_t>(i)));
    std::sort(v.begin(), v.end());
    for (size_t i = 1; i < v.size(); ++i) gap = std::min(gap, v[i] - v[i - 1]);
  }
  return gap;
}

struct PoolCase {
  const char* what;
  Attrs attrs;
};

const PoolCase kPools[] = {
    {"tiling 2x2", Attrs{{"kernel", hw(2, 2)}}},
    {"tiling 2x2, padding 1", Attrs{{"kernel", hw(2, 2)}, {"pad", hw(1, 1)}}},
    {"overlapping 3x3, stride 1", Attrs{{"kernel", hw(3, 3)}, {"stride", hw(1, 1)}}},
    {"overlapping 3x3, stride 2, padding 1",
     Attrs{{"kernel", hw(3, 3)}, {"stride", hw(2, 2)}, {"pad", hw(1, 1)}}},
    {"non-square 3x2, stride [2,1], padding [1,0]",
     Attrs{{"kernel", hw(3, 2)}, {"stride", hw(2, 1)}, {"pad", hw(1, 0)}}},
    {"the whole 5x6 image", Attrs{{"kernel", hw(5, 6)}}},
};

} // namespace

TEST_CASE("grad: conv2d over stride x padding x dilation x groups x bias x batch") {
  // x [batch,4,6,7] and a 3x2 kernel; 4 outputs for groups 1 and 2, 8 for
  // depthwise (groups 4, two outputs per channel).
  int cases = 0;
  for (int64_t stride : {1, 2})
    for (int64_t pad : {0, 1, 2})
      for (int64_t dilation : {1, 2})
        for (int64_t groups : {1, 2, 4})
          for (bool bias : {false, true})
            for (int64_t batch : {1, 3}) {
              int64_t o = groups == 4 ? 8 : 4;
              std::vector<Operand> ops = {param({B, 4, 6, 7}), param({o, 4 / groups, 3, 2})};
              if (bias) ops.push_back(param({o}));
              Attrs a{{"stride", hw(stride, stride)},
                      {"pad", hw(pad, pad)},
                      {"dilation", hw(dilation, dilation)},
                      {"groups", groups}};
              INFO("stride ", stride, " pad ", pad, " dilation ", dilation, " groups ", groups,
                   " bias ", bias, " batch ", batch);
              CHECK(op_gradient_error(OpKind::Conv2d, ops, a, batch) < kTol);
              ++cases;
            }
  CHECK(cases == 144);
}

TEST_CASE("grad: conv2d with asymmetric stride, padding and dilation") {
  struct Case {
    Shape x, w;
    Attrs attrs;
  };
  const Case cases[] = {
      {{B, 2, 5, 8}, {3, 2, 2, 3}, Attrs{{"stride", hw(2, 1)}, {"pad", hw(0, 2)}}},
      {{B, 2, 7, 4}, {2, 2, 3, 1}, Attrs{{"dilation", hw(2, 1)}, {"stride", hw(1, 3)}}},
      {{B, 3, 6, 6},
       {6, 1, 3, 3},
       Attrs{{"groups", int64_t(3)},
             {"stride", hw(2, 2)},
             {"pad", hw(1, 2)},
             {"dilation", hw(1, 2)}}},
      // The kernel covers the whole padded image: one output position.
      {{B, 1, 3, 4}, {2, 1, 5, 6}, Attrs{{"pad", hw(1, 1)}}},
  };
  for (const Case& c : cases)
    for (int64_t batch : {1, 2}) {
      INFO("x ", to_string(c.x), " w ", to_string(c.w), " batch ", batch);
      CHECK(op_gradient_error(OpKind::Conv2d, {param(c.x), param(c.w), param({c.w[0]})}, c.attrs,
                              batch) < kTol);
    }
}

TEST_CASE("grad: conv2d of a data input differentiates the weights only") {
  Attrs a{{"stride", hw(2, 2)}, {"pad", hw(1, 1)}};
  CHECK(op_gradient_error(OpKind::Conv2d, {input({B, 2, 5, 5}), param({3, 2, 3, 3}), param({3})}, a,
                          2) < kTol);
}

TEST_CASE("grad: conv2d's backward graph is two backward ops and a bias reduction") {
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 2, 5, 5}}, Attrs{{"name", "x"}});
  ValueId w = b.leaf(OpKind::Param, {DType::f32, Shape{4, 2, 3, 3}}, Attrs{{"name", "w"}});
  ValueId bias = b.leaf(OpKind::Param, {DType::f32, Shape{4}}, Attrs{{"name", "b"}});
  ValueId y = b.op(OpKind::Conv2d, {x, w, bias}, Attrs{{"stride", hw(2, 2)}});
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {y}), {}};
  Differentiated d = differentiate(g);
  REQUIRE(d.grads.size() == 3);
  const Node& dx = d.graph.node(d.grads[0].value);
  const Node& dw = d.graph.node(d.grads[1].value);
  const Node& db = d.graph.node(d.grads[2].value);
  CHECK(dx.op == OpKind::Conv2dBackwardInput);
  CHECK(dx.attrs.get_ints("input_shape") == std::vector<int64_t>{-1, 2, 5, 5});
  CHECK(dx.attrs.get_ints("stride") == hw(2, 2));
  CHECK(dw.op == OpKind::Conv2dBackwardWeight);
  CHECK(dw.attrs.get_ints("weight_shape") == std::vector<int64_t>{4, 2, 3, 3});
  CHECK(db.op == OpKind::ReduceSum);
  CHECK(db.attrs.get_ints("axes") == std::vector<int64_t>{0, 2, 3});
}

TEST_CASE("grad: maxpool and avgpool on tiling, overlapping and padded windows") {
  const uint64_t seed = 11; // op_gradient_error's default
  REQUIRE(min_plane_gap(seed, {2, 2, 5, 6}) > 1e-4);
  for (const PoolCase& c : kPools)
    for (int64_t batch : {1, 2}) {
      INFO(c.what, " at batch ", batch);
      CHECK(op_gradient_error(OpKind::MaxPool, {param({B, 2, 5, 6})}, c.attrs, batch, true, seed) <
            kTol);
      CHECK(op_gradient_error(OpKind::AvgPool, {param({B, 2, 5, 6})}, c.attrs, batch, true, seed) <
            kTol);
      // PyTorch's divisor: the kernel area, padding counted as zeros.
      Attrs include_pad = c.attrs;
      include_pad.set("count_include_pad", int64_t{1});
      CHECK(op_gradient_error(OpKind::AvgPool, {param({B, 2, 5, 6})}, include_pad, batch, true,
                              seed) < kTol);
    }
}

TEST_CASE("grad: global_avgpool") {
  for (int64_t batch : {1, 3}) {
    INFO("batch ", batch);
    CHECK(op_gradient_error(OpKind::GlobalAvgPool, {param({B, 3, 4, 5})}, {}, batch) < kTol);
    CHECK(op_gradient_error(OpKind::GlobalAvgPool, {param({B, 2, 1, 1})}, {}, batch) < kTol);
  }
}

// conv2d_transpose's output extent: (H - 1) s - 2 p + d (k - 1) + op + 1.
int64_t transposed(int64_t h, int64_t k, int64_t s, int64_t p, int64_t d, int64_t op) {
  return (h - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

TEST_CASE("grad: conv2d_backward_input as conv2d_transpose, against central differences") {
  struct Case {
    const char* what;
    Shape a, w; // a [batch, C_in, H, W], w [C_in, filters/groups, KH, KW]
    Ints stride, pad, dilation, output_padding;
    int64_t groups = 1;
  };
  const Case cases[] = {
      {"stride 2, pad 1, output_padding 1",
       {B, 3, 3, 4},
       {3, 2, 3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1}},
      {"stride 3, output_padding 2, 2x3 kernel",
       {B, 2, 3, 2},
       {2, 3, 2, 3},
       {3, 3},
       {0, 0},
       {1, 1},
       {2, 2}},
      {"stride [2,3], pad [0,1]", {B, 2, 3, 3}, {2, 2, 3, 3}, {2, 3}, {0, 1}, {1, 1}, {0, 1}},
      // output_padding 1 at stride 1 is allowed by the dilation: the gradient
      // of a is conv2d(dy, w) sliced back to a's extent.
      {"dilation 2, stride 1, output_padding 1",
       {B, 2, 4, 3},
       {2, 3, 3, 2},
       {1, 1},
       {1, 0},
       {2, 2},
       {1, 1}},
      {"dilation 2, stride 2, output_padding 1",
       {B, 2, 3, 3},
       {2, 2, 3, 3},
       {2, 2},
       {1, 1},
       {2, 2},
       {1, 1}},
      {"groups 2, stride 2", {B, 4, 3, 3}, {4, 1, 3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 0}, 2},
  };
  for (const Case& c : cases)
    for (int64_t batch : {1, 2}) {
      Ints out = {
          B, c.w[1] * c.groups,
          transposed(c.a[2], c.w[2], c.stride[0], c.pad[0], c.dilation[0], c.output_padding[0]),
          transposed(c.a[3], c.w[3], c.stride[1], c.pad[1], c.dilation[1], c.output_padding[1])};
      Attrs attrs{{"stride", c.stride},
                  {"pad", c.pad},
                  {"dilation", c.dilation},
                  {"groups", c.groups},
                  {"input_shape", out}};
      if (c.output_padding != Ints{0, 0}) attrs.set("output_padding", c.output_padding);
      INFO(c.what, " at batch ", batch);
      CHECK(op_gradient_error(OpKind::Conv2dBackwardInput, {param(c.a), param(c.w)}, attrs, batch) <
            kTol);
    }
}

TEST_CASE("grad: conv2d_backward_input's gradient is conv2d and conv2d_backward_weight") {
  Graph g;
  GraphBuilder b(g);
  ValueId a = b.leaf(OpKind::Param, {DType::f32, Shape{B, 2, 3, 3}}, Attrs{{"name", "a"}});
  ValueId w = b.leaf(OpKind::Param, {DType::f32, Shape{2, 4, 3, 3}}, Attrs{{"name", "w"}});
  // Dilation 2 at stride 1 with output_padding 1: conv2d(dy, w) has one row
  // and column more than a, which a slice per axis removes.
  ValueId y = b.op(OpKind::Conv2dBackwardInput, {a, w},
                   Attrs{{"dilation", hw(2, 2)},
                         {"output_padding", hw(1, 1)},
                         {"input_shape", Ints{B, 4, 8, 8}}});
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {y}), {}};
  Differentiated d = differentiate(g);
  REQUIRE(d.grads.size() == 2);
  const Node& da = d.graph.node(d.grads[0].value);
  const Node& dw = d.graph.node(d.grads[1].value);
  REQUIRE(da.op == OpKind::Slice);
  const Node& inner = d.graph.node(da.inputs[0]);
  REQUIRE(inner.op == OpKind::Slice);
  CHECK(d.graph.node(inner.inputs[0]).op == OpKind::Conv2d);
  CHECK(da.type.shape == Shape{B, 2, 3, 3});
  CHECK(dw.op == OpKind::Conv2dBackwardWeight);
  CHECK(dw.attrs.get_ints("weight_shape") == Ints{2, 4, 3, 3});
  CHECK(dw.attrs.get_ints("output_padding") == hw(1, 1));
}

TEST_CASE("autodiff names a backward op when a second derivative would be needed") {
  Graph g;
  g.source_file = "second.nn";
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 1, 3, 3}}, Attrs{{"name", "x"}});
  ValueId dy = b.leaf(OpKind::Param, {DType::f32, Shape{B, 1, 2, 2}}, Attrs{{"name", "dy"}});
  ValueId dw = b.op(OpKind::Conv2dBackwardWeight, {x, dy},
                    Attrs{{"weight_shape", std::vector<int64_t>{1, 1, 2, 2}}}, SourceLoc{4, 7});
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {dw}), {}};
  std::string message;
  try {
    differentiate(g);
  } catch (const UserError& e) {
    message = e.what();
  }
  CHECK(contains(message, "second.nn:4:7"));
  CHECK(contains(message, "cannot differentiate 'conv2d_backward_weight'"));
}
