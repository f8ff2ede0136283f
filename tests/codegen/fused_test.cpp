// Multi-op kernels, as the fusion pass will form them: elementwise chains with
// constants and the batch size, matmul + bias + relu (the recipe's fused
// epilogue), a dense layer feeding softmax cross-entropy, a kernel reading a
// value computed outside it, and a kernel with two outputs.
#include "cg_test_helpers.h"

#include "codegen/kernel.h"

using namespace netc;
using namespace netc::cg_test;

namespace {
const Tol kChain{1e-6, 1e-5};
using codegen::make_kernel_spec;
using Ints = std::vector<int64_t>;
} // namespace

TEST_CASE("an elementwise chain with constants and the batch size") {
  Builder m;
  ValueId x = m.input("x", f32({B, 45})), bias = m.param("bias", f32({45}));
  ValueId h = m.op(OpKind::Add, {x, bias});
  ValueId s = m.op(OpKind::Sigmoid, {h});
  ValueId c = m.b.constant(0.5);
  ValueId n = m.b.leaf(OpKind::BatchSize, f32({}), {});
  ValueId y = m.op(OpKind::Div, {m.op(OpKind::Mul, {s, c}), n});
  ValueId z = m.op(OpKind::Maximum, {y, m.op(OpKind::Tanh, {x})});
  KernelSpec spec = make_kernel_spec(m.g, {h, s, c, n, y - 1, y, z - 1, z});
  CHECK(spec.inputs == std::vector<ValueId>{x, bias});
  CHECK(spec.outputs == std::vector<ValueId>{z});
  CHECK(check_kernel(m.g, spec, {}, kChain).find("elementwise") == 0);
}

TEST_CASE("matmul + bias + relu: the fused epilogue") {
  for (auto [k, n] : {std::pair<int64_t, int64_t>{784, 256}, {256, 128}, {128, 10}}) {
    Builder m;
    ValueId x = m.input("x", f32({B, k})), w = m.param("w", f32({k, n}));
    ValueId b = m.param("b", f32({n}));
    ValueId mm = m.op(OpKind::MatMul, {x, w});
    ValueId h = m.op(OpKind::Add, {mm, b});
    ValueId y = m.op(OpKind::Relu, {h});
    KernelSpec spec = make_kernel_spec(m.g, {mm, h, y});
    std::string notes = check_kernel(m.g, spec, {{"x", uniform(-1, 1)}, {"w", uniform(-0.1, 0.1)}},
                                     {1e-5, 1e-5}, {.batches = {1, 7, 37, 128}});
    CHECK(notes.find("matmul:") == 0);
  }
}

TEST_CASE("the backward matmuls of a dense layer") {
  Builder m;
  ValueId x = m.input("x", f32({B, 100})), dy = m.input("dy", f32({B, 48}));
  ValueId w = m.param("w", f32({100, 48}));
  ValueId dw = m.op(OpKind::MatMul, {x, dy}, Attrs{{"transpose_a", int64_t(1)}});
  ValueId dx = m.op(OpKind::MatMul, {dy, w}, Attrs{{"transpose_b", int64_t(1)}});
  for (ValueId v : {dw, dx}) check_kernel(m.g, codegen::single_op_kernel(m.g, v), {}, {1e-5, 1e-5});
}

TEST_CASE("logits and softmax cross-entropy in one kernel, and split in two") {
  Builder m;
  ValueId h = m.input("h", f32({B, 64})), w = m.param("w", f32({64, 10}));
  ValueId b = m.param("b", f32({10})), y = m.input("y", i32({B}));
  ValueId logits = m.op(OpKind::Add, {m.op(OpKind::MatMul, {h, w}), b});
  ValueId loss = m.op(OpKind::SoftmaxCrossEntropy, {logits, y});
  std::map<std::string, Fill> fills{{"y", labels(10)}, {"w", uniform(-0.5, 0.5)}};
  // One kernel: not the matmul recipe (the loss needs stages), so generic.
  CHECK(check_kernel(m.g, make_kernel_spec(m.g, {logits - 1, logits, loss}), fills, {1e-5, 1e-5})
            .find("generic") != std::string::npos);
  // The loss alone, reading logits computed by another kernel.
  KernelSpec tail = make_kernel_spec(m.g, {loss});
  CHECK(tail.inputs == std::vector<ValueId>{y, logits}); // in ValueId order
  check_kernel(m.g, tail, fills, {1e-5, 1e-5});
}

TEST_CASE("softmax feeding an elementwise epilogue: stages per row chunk") {
  Builder m;
  ValueId x = m.input("x", f32({B, 300}));
  ValueId p = m.op(OpKind::Softmax, {x});
  ValueId y = m.op(OpKind::Mul, {p, m.op(OpKind::LogSoftmax, {x})});
  std::string notes = check_kernel(m.g, make_kernel_spec(m.g, {p, y - 1, y}), {}, {1e-6, 1e-5});
  CHECK(notes.find("per row chunk") != std::string::npos);
}

TEST_CASE("a kernel with two outputs, one also used inside") {
  Builder m;
  ValueId x = m.input("x", f32({B, 20}));
  ValueId e = m.op(OpKind::Exp, {x});
  ValueId s = m.op(OpKind::ReduceSum, {e}, Attrs{{"axes", std::vector<int64_t>{0}}});
  ValueId mean = m.op(OpKind::ReduceMean, {e});
  KernelSpec spec = make_kernel_spec(m.g, {e, s, mean}, {e, s, mean});
  check_kernel(m.g, spec, {}, {1e-5, 1e-5});
}

TEST_CASE("matmul kernels: pure producers inline, a non-elementwise epilogue falls back") {
  Builder m;
  ValueId x = m.input("x", f32({B, 24})), w = m.param("w", f32({24, 24}));
  ValueId wt = m.op(OpKind::Transpose, {w}, Attrs{{"perm", std::vector<int64_t>{1, 0}}});
  ValueId mm = m.op(OpKind::MatMul, {m.op(OpKind::Relu, {x}), wt});
  CHECK(check_kernel(m.g, make_kernel_spec(m.g, {wt, mm - 1, mm}), {}, {1e-5, 1e-5})
            .find("matmul:") == 0);
  Builder sq;
  ValueId a = sq.input("a", f32({24, 24})), b = sq.param("b", f32({24, 24}));
  ValueId p = sq.op(OpKind::MatMul, {a, b});
  ValueId pt = sq.op(OpKind::Transpose, {p}, Attrs{{"perm", std::vector<int64_t>{1, 0}}});
  ValueId sum = sq.op(OpKind::Add, {p, pt});
  std::string notes = check_kernel(sq.g, make_kernel_spec(sq.g, {p, pt, sum}), {}, {1e-5, 1e-5});
  CHECK(notes.find("not elementwise") != std::string::npos);
}

TEST_CASE("conv + bias + relu + pool in one kernel: NCHW and NHWC paths") {
  // As fusion forms them at inference; odd output sizes leave a row and a
  // column outside every 2x2 window.
  struct Case {
    int64_t c, o, size;
    OpKind pool;
  };
  for (Case c : {Case{1, 32, 13, OpKind::MaxPool}, Case{16, 32, 11, OpKind::MaxPool},
                 Case{16, 16, 14, OpKind::AvgPool}}) {
    CAPTURE(c.c);
    CAPTURE(c.size);
    Builder m;
    ValueId x = m.input("x", f32({B, c.c, c.size, c.size}));
    ValueId w = m.param("w", f32({c.o, c.c, 3, 3})), b = m.param("b", f32({c.o}));
    ValueId conv = m.op(OpKind::Conv2d, {x, w, b}, Attrs{{"pad", Ints{1, 1}}});
    ValueId relu = m.op(OpKind::Relu, {conv});
    ValueId pool = m.op(c.pool, {relu}, Attrs{{"kernel", Ints{2, 2}}});
    KernelSpec spec = make_kernel_spec(m.g, {conv, relu, pool});
    CHECK(spec.outputs == std::vector<ValueId>{pool});
    std::string notes = check_kernel(m.g, spec, {{"x", uniform(-1, 1)}, {"w", uniform(-0.3, 0.3)}},
                                     {1e-5, 1e-5}, {.batches = {1, 3, 8}});
    CHECK(notes.find("conv:") == 0);
    CHECK(notes.find("generic") == std::string::npos);
  }
}

// An lstm step's kernel writes f c and h = o tanh(f c + i g): both inline the
// gates. Outputs of one shape share one loop nest, so the gates are computed
// once per vector; outputs of different shapes keep their own loops.
TEST_CASE("sibling outputs of one shape in one loop nest") {
  Builder m;
  ValueId a = m.input("a", f32({B, 37})), b = m.input("b", f32({B, 37}));
  ValueId g = m.op(OpKind::Mul, {m.op(OpKind::Sigmoid, {a}), m.op(OpKind::Tanh, {b})});
  ValueId fc = m.op(OpKind::Mul, {g, a});
  ValueId h = m.op(OpKind::Tanh, {m.op(OpKind::Add, {g, fc})});
  KernelSpec spec = make_kernel_spec(m.g, {g - 2, g - 1, g, fc, h - 1, h}, {fc, h});
  REQUIRE(spec.outputs == std::vector<ValueId>{fc, h});
  std::string notes =
      check_kernel(m.g, spec, {{"a", uniform(-4, 4)}, {"b", uniform(-4, 4)}}, {1e-6, 1e-5});
  CHECK(notes.find("2 outputs in one loop nest") != std::string::npos);

  ValueId row_sum = m.op(OpKind::ReduceSum, {g}, Attrs{{"axes", std::vector<int64_t>{1}}});
  KernelSpec mixed = make_kernel_spec(m.g, {g - 2, g - 1, g, row_sum}, {g, row_sum});
  CHECK(check_kernel(m.g, mixed, {}, {1e-6, 1e-5}).find("one loop nest") == std::string::npos);
}
