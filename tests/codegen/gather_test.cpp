// gather and gather_backward against the reference. gather copies rows
// (exact); gather_backward's scatter walks the positions in the reference's
// order, so even repeated ids sum in the same order. An id outside the table
// stops the scatter kernel with a message naming it and its position.
#include "cg_test_helpers.h"

#include "codegen/jit.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kExact{1e-6, 1e-6};

Attrs vocab(int64_t v) { return Attrs{{"vocab", v}}; }

} // namespace

TEST_CASE("gather and gather_backward kernels at odd shapes, with repeated ids") {
  struct Case {
    int64_t V, D;
    Shape ids;
  };
  // 3 rows under [batch, 5] ids: repeats at every batch; D = 1, 5, 37 (a
  // vector and a guarded tail) and 64 (whole vectors); rank-3 ids.
  for (Case c :
       {Case{3, 5, {B, 5}}, Case{1000, 37, {B, 9}}, Case{7, 1, {B, 3, 2}}, Case{2, 64, {B}}}) {
    CAPTURE(c.V);
    CAPTURE(c.D);
    check_op(OpKind::Gather, {{f32({c.V, c.D})}, {i32(c.ids), labels(c.V)}}, {}, kExact);
    std::vector<int64_t> dy = c.ids.dims;
    dy.push_back(c.D);
    std::string notes = check_op(OpKind::GatherBackward,
                                 {{f32(Shape{dy})}, {i32(c.ids), labels(c.V)}}, vocab(c.V), kExact);
    CHECK(notes.find("stage(s) at root") != std::string::npos);
  }
}

TEST_CASE("gather_backward kernel: an id outside the table is a run-time error") {
  Builder m;
  ValueId dy = m.input("dy", f32({B, 3, 4}));
  ValueId ids = m.input("ids", i32({B, 3}));
  ValueId dE = m.op(OpKind::GatherBackward, {dy, ids}, vocab(5));
  codegen::JitKernel kernel(m.g, codegen::single_op_kernel(m.g, dE), {});
  Tensor<float> dyv({2, 3, 4}, 1.0f), idv({2, 3});
  idv.data = {0, 1, 4, 2, 5, 0}; // 5 at position [1, 1]
  std::vector<const Tensor<float>*> in{&dyv, &idv};
  std::string message;
  try {
    kernel.run(2, in);
  } catch (const std::exception& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("gather_backward: id 5 at position 1 1 is outside the table's rows 0..4") !=
        std::string::npos);
  // In range, the same kernel runs.
  idv.data = {0, 1, 4, 2, 4, 0};
  std::vector<Tensor<float>> out = kernel.run(2, in);
  CHECK(out[0].data[4 * 4] == 2.0f); // row 4: ids [0,2] and [1,1], dy all ones
}
