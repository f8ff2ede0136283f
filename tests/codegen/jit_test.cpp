// The JIT's calling conventions: bind once and run many times on the same
// tensors (the results follow the tensors' contents), rebind at another batch
// extent, reject mismatched shapes, and time a bound kernel.
#include "cg_test_helpers.h"

#include "codegen/kernel.h"
#include "ir/error.h"

using namespace netc;
using namespace netc::cg_test;

TEST_CASE("a bound kernel reruns on its tensors' current contents") {
  Builder m;
  ValueId x = m.input("x", f32({B, 20})), w = m.param("w", f32({20, 3}));
  ValueId y = m.op(OpKind::MatMul, {x, w});
  codegen::JitKernel k(m.g, codegen::single_op_kernel(m.g, y), {.no_asserts = true});
  CHECK(k.kind() == KernelKind::matmul);
  CHECK(k.schedule_notes().starts_with("matmul"));
  CHECK(k.compile_seconds() > 0);
  for (int64_t batch : {5, 1, 9}) {
    Tensor<float> xt({batch, 20}, 1.0f), wt({20, 3}, 0.5f), yt({batch, 3});
    const Tensor<float>* ins[] = {&xt, &wt};
    Tensor<float>* outs[] = {&yt};
    k.bind(batch, ins, outs);
    k.run();
    CHECK(yt[0] == doctest::Approx(10.0));
    for (auto& v : xt.data) v = 2.0f;
    k.run();
    CHECK(yt[yt.size() - 1] == doctest::Approx(20.0));
  }
}

TEST_CASE("bind rejects tensors of the wrong shape or count") {
  Builder m;
  ValueId x = m.input("x", f32({B, 4}));
  ValueId y = m.op(OpKind::Relu, {x});
  codegen::JitKernel k(m.g, codegen::single_op_kernel(m.g, y));
  Tensor<float> good({3, 4}), bad({3, 5}), out({3, 4});
  const Tensor<float>* bad_in[] = {&bad};
  const Tensor<float>* good_in[] = {&good};
  Tensor<float>* outs[] = {&out};
  CHECK_THROWS_WITH_AS(k.bind(3, bad_in, outs),
                       doctest::Contains("input 0: tensor of shape [3,5], expected [3,4]"),
                       InternalError);
  CHECK_THROWS_WITH_AS(k.bind(2, good_in, outs),
                       doctest::Contains("input 0: tensor of shape [3,4], expected [2,4]"),
                       InternalError);
  CHECK_THROWS_WITH_AS(k.bind(3, {}, outs), doctest::Contains("given 0 and 1"), InternalError);
  CHECK_THROWS_WITH_AS(k.run(), doctest::Contains("runs before bind"), InternalError);
  k.bind(3, good_in, outs);
  codegen::KernelTiming t = codegen::time_kernel(k, 5);
  CHECK(t.samples == 5);
  CHECK(t.calls_per_sample >= 1);
  CHECK(t.min_s > 0);
  CHECK(t.min_s <= t.median_s);
}

TEST_CASE("kernel specs: inputs, outputs and FLOPs") {
  Builder m;
  ValueId x = m.input("x", f32({B, 8})), w = m.param("w", f32({8, 4}));
  ValueId mm = m.op(OpKind::MatMul, {x, w});
  ValueId c = m.b.constant(2.0);
  ValueId y = m.op(OpKind::Mul, {mm, c});
  ValueId z = m.op(OpKind::Exp, {y});
  m.g.outputs.push_back({"y", y, {}});
  KernelSpec spec = codegen::make_kernel_spec(m.g, {x, mm, y});
  CHECK(spec.nodes == std::vector<ValueId>{mm, c, y}); // the constant joins, the input leaves
  CHECK(spec.inputs == std::vector<ValueId>{x, w});
  CHECK(spec.outputs == std::vector<ValueId>{y}); // used by exp and as a graph output
  CHECK(codegen::kernel_flops(m.g, spec, 10) == 10 * (2 * 8 * 4 + 4));
  (void)z;
}
