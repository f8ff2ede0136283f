// Gradient rule of upsample (nearest and bilinear, align_corners=False)
// against central differences in double (relative error < 1e-6): odd image
// sizes, scales 2 and 3, unequal scales per axis, batch 1 and 2.
#include "grad_check.h"

#include "ir/gradient.h"

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

using Ints = std::vector<int64_t>;

} // namespace

TEST_CASE("grad: upsample nearest and bilinear at odd shapes, scales 2, 3 and (2, 3)") {
  int cases = 0;
  for (const char* mode : {"nearest", "bilinear"})
    for (Ints scale : {Ints{2, 2}, Ints{3, 3}, Ints{2, 3}, Ints{1, 2}})
      for (int64_t batch : {1, 2}) {
        Attrs attrs{{"scale", scale}, {"mode", std::string(mode)}};
        INFO(mode, " scale [", scale[0], ",", scale[1], "] batch ", batch);
        CHECK(op_gradient_error(OpKind::Upsample, {param({B, 2, 3, 5})}, attrs, batch) < kTol);
        // A 1x1 image: every bilinear output reads the one pixel.
        CHECK(op_gradient_error(OpKind::Upsample, {param({B, 1, 1, 1})}, attrs, batch) < kTol);
        ++cases;
      }
  CHECK(cases == 16);
}

TEST_CASE("grad: upsample's gradient is upsample_backward with the input shape") {
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 2, 3, 5}}, Attrs{{"name", "x"}});
  ValueId y = b.op(OpKind::Upsample, {x}, Attrs{{"scale", Ints{2, 3}}, {"mode", "bilinear"}});
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {y}), {}};
  Differentiated d = differentiate(g);
  REQUIRE(d.grads.size() == 1);
  const Node& dx = d.graph.node(d.grads[0].value);
  CHECK(dx.op == OpKind::UpsampleBackward);
  CHECK(dx.attrs.get_ints("input_shape") == Ints{B, 2, 3, 5});
  CHECK(dx.attrs.get_str("mode") == "bilinear");
}
