// Gradient rules of gather (the embedding lookup) and of gather_backward
// (the scatter-add, whose own gradient is a gather) against central
// differences in double (relative error < 1e-6): odd shapes, batch 1 and 2,
// vocabularies smaller than the number of positions so that ids repeat.
#include "grad_check.h"

#include "ir/gradient.h"

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

} // namespace

TEST_CASE("grad: gather at odd shapes, batch 1 and 2, with repeated ids") {
  int cases = 0;
  for (int64_t batch : {1, 2}) {
    INFO("batch ", batch);
    // 5 or 10 positions over 3 rows: ids repeat, and the scatter must sum them.
    CHECK(op_gradient_error(OpKind::Gather, {param({3, 5}), labels({B, 5}, 3)}, {}, batch) < kTol);
    // ids [batch, 3, 2] (rank 3), a table of one column, 7 rows (some unused).
    CHECK(op_gradient_error(OpKind::Gather, {param({7, 1}), labels({B, 3, 2}, 7)}, {}, batch) <
          kTol);
    // One row: every id is 0.
    CHECK(op_gradient_error(OpKind::Gather, {param({1, 3}), labels({B, 4}, 1)}, {}, batch) < kTol);
    // gather_backward is linear in dy; its gradient is a gather.
    CHECK(op_gradient_error(OpKind::GatherBackward, {param({B, 5, 3}), labels({B, 5}, 3)},
                            Attrs{{"vocab", int64_t{3}}}, batch) < kTol);
    cases += 4;
  }
  CHECK(cases == 8);
}

TEST_CASE("grad: gather's gradient is gather_backward over the same ids") {
  Graph g;
  GraphBuilder b(g);
  ValueId table = b.leaf(OpKind::Param, {DType::f32, Shape{11, 4}}, Attrs{{"name", "E"}});
  ValueId ids = b.leaf(OpKind::Input, {DType::i32, Shape{B, 3}}, Attrs{{"name", "ids"}});
  ValueId y = b.op(OpKind::Gather, {table, ids});
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {y}), {}};
  Differentiated d = differentiate(g);
  REQUIRE(d.grads.size() == 1);
  const Node& dE = d.graph.node(d.grads[0].value);
  CHECK(dE.op == OpKind::GatherBackward);
  CHECK(dE.attrs.get_int("vocab") == 11);
  CHECK(dE.inputs[1] == ids);
  CHECK(dE.type == TensorType{DType::f32, Shape{11, 4}});
}
