// Kernels whose outputs are written over their own inputs (optimizer updates:
// the memory plan places a new weight or moment over the old one). Each
// element must be computed exactly once, from the old values: a vector tail
// shifted inwards would update elements twice, and an output recomputing an
// earlier output's value from its overwritten leaf would read the new value.
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

Tensor<float> filled(int64_t n, float start, float step) {
  Tensor<float> t({n});
  for (int64_t i = 0; i < n; ++i) t.data[size_t(i)] = start + step * float(i);
  return t;
}

struct UpdateGraph {
  Builder m;
  ValueId g, w, v, lr, v_new, w_new;
  // v' = 0.9 v + g; w' = w - lr v' over `n` elements.
  explicit UpdateGraph(int64_t n) {
    g = m.input("g", f32({n}));
    w = m.param("w", f32({n}));
    v = m.b.leaf(OpKind::State, f32({n}), Attrs{{"name", std::string("w.velocity")}});
    lr = m.b.leaf(OpKind::Hyper, f32({}), Attrs{{"name", std::string("lr")}, {"value", 0.5}});
    ValueId c = m.b.constant(0.9);
    v_new = m.op(OpKind::Add, {m.op(OpKind::Mul, {c, v}), g});
    w_new = m.op(OpKind::Sub, {w, m.op(OpKind::Mul, {lr, v_new})});
  }
};

} // namespace

TEST_CASE("in-place updates compute every element once, from the old values") {
  // 10 and 37 elements: not multiples of the 16 or 8 lanes.
  for (int64_t n : {10, 37}) {
    CAPTURE(n);
    UpdateGraph u(n);
    std::vector<ValueId> nodes; // everything after the leaves
    for (ValueId id = u.lr + 1; id <= u.w_new; ++id) nodes.push_back(id);
    KernelSpec spec = codegen::make_kernel_spec(u.m.g, nodes, {u.v_new, u.w_new});
    spec.writes_in_place = true;
    REQUIRE(spec.inputs == std::vector<ValueId>{u.g, u.w, u.v, u.lr});
    codegen::JitKernel k(u.m.g, spec);
    Tensor<float> g = filled(n, 1.0f, 0.25f), w = filled(n, 3.0f, -0.5f),
                  v = filled(n, -1.0f, 0.125f), lr({}, 0.5f);
    const Tensor<float> w0 = w, v0 = v;
    const Tensor<float>* in[] = {&g, &w, &v, &lr};
    Tensor<float>* out[] = {&v, &w}; // written over their own inputs
    k.bind(1, in, out);
    k.run();
    for (int64_t i = 0; i < n; ++i) {
      CAPTURE(i);
      float v_want = 0.9f * v0.data[size_t(i)] + g.data[size_t(i)];
      CHECK(v.data[size_t(i)] == doctest::Approx(v_want).epsilon(1e-6));
      CHECK(w.data[size_t(i)] == doctest::Approx(w0.data[size_t(i)] - 0.5f * v_want).epsilon(1e-6));
    }
  }
}
