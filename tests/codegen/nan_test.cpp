// NaN semantics follow the reference: maximum/minimum, reduce_max/min and
// maxpool propagate a NaN (Halide's own max/min would drop it), relu and step
// map it to 0 (x > 0 is false), arithmetic propagates it, and maxpool's
// backward routes dy to the window's first NaN. A NaN must stay visible so
// that a training step can stop on a non-finite loss or gradient.
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {
const Tol kExact{0, 0};
using Ints = std::vector<int64_t>;
} // namespace

TEST_CASE("NaNs propagate as in the reference") {
  Fill nans = with_nans(7);
  for (OpKind k : {OpKind::Maximum, OpKind::Minimum}) {
    check_op(k, {{f32({B, 20}), nans}, {f32({B, 20})}}, {}, kExact);
    check_op(k, {{f32({B, 20})}, {f32({B, 20}), nans}}, {}, kExact);
  }
  for (OpKind k : {OpKind::ReduceMax, OpKind::ReduceMin}) {
    check_op(k, {{f32({B, 20}), with_nans(45)}}, Attrs{{"axes", Ints{1}}}, kExact);
    check_op(k, {{f32({B, 20}), with_nans(45)}}, Attrs{{"axes", Ints{0}}}, kExact);
  }
  for (OpKind k : {OpKind::Neg, OpKind::Exp, OpKind::Log, OpKind::Sqrt, OpKind::Abs, OpKind::Relu,
                   OpKind::LeakyRelu, OpKind::Elu, OpKind::Sigmoid, OpKind::Tanh, OpKind::Step}) {
    INFO(op_name(k));
    check_op(k, {{f32({B, 20}), with_nans(7)}}, {}, {1e-7, 2e-6});
  }
  check_op(OpKind::Pow, {{f32({B, 20}), with_nans(7)}, {f32({B, 20}), with_nans(5)}}, {},
           {1e-6, 1e-5});
  check_op(OpKind::MaxPool, {{f32({B, 2, 6, 6}), with_nans(11)}},
           Attrs{{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"pad", Ints{1, 1}}}, kExact);
  check_op(OpKind::Softmax, {{f32({B, 10}), with_nans(23)}}, {}, {1e-6, 1e-5});
}

TEST_CASE("maxpool_backward routes dy to the first NaN of a window") {
  // 2x2 windows (unrolled) and 9x9 windows (an RDom stage).
  for (Attrs a :
       {Attrs{{"kernel", Ints{2, 2}}}, Attrs{{"kernel", Ints{9, 9}}, {"stride", Ints{3, 3}}}}) {
    Builder m;
    ValueId x = m.input("x", f32({B, 2, 12, 12}));
    ValueId y = m.op(OpKind::MaxPool, {x}, a);
    ValueId dy = m.input("dy", m.g.node(y).type);
    ValueId dx = m.op(OpKind::MaxPoolBackward, {x, dy}, a);
    // Overlapping windows add their dy in another order than the reference.
    for (auto [v, tol] : {std::pair{y, kExact}, std::pair{dx, Tol{1e-6, 1e-6}}})
      check_kernel(m.g, codegen::single_op_kernel(m.g, v), {{"x", with_nans(23)}}, tol,
                   {.batches = {1, 7}});
  }
}
