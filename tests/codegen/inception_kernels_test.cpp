// The small kernels of examples/inception.nn's training step at odd shapes
// (batch 1, odd images, channel counts that are not multiples of 16): the
// pool branch's padded avgpool and its backward fused with an add (on a
// zero-bordered copy of the window's source), the global pool over a
// concat of branches (row partials), and the weight gradients of 8-, 12-
// and 24-channel convolutions (the NHWC path on ymm/xmm channel vectors).
// Each is checked against the reference interpreter, and the schedule notes
// show that the path under test ran.
#include "cg_test_helpers.h"

#include "codegen/kernel.h"

using namespace netc;
using namespace netc::cg_test;

namespace {
using codegen::make_kernel_spec;
using Ints = std::vector<int64_t>;
const Tol kSum{1e-5, 1e-5};
const std::vector<int64_t> kSmallBatches = {1, 7, 16};

Attrs pool3(bool include_pad) {
  return Attrs{{"kernel", Ints{3, 3}},
               {"stride", Ints{1, 1}},
               {"pad", Ints{1, 1}},
               {"count_include_pad", int64_t{include_pad ? 1 : 0}}};
}

bool has(const std::string& notes, const std::string& what) {
  return notes.find(what) != std::string::npos;
}
} // namespace

TEST_CASE("avgpool 3x3 stride 1 pad 1 reads a zero-bordered copy") {
  for (const Shape& x : {Shape{B, 24, 7, 7}, Shape{B, 13, 14, 14}, Shape{B, 5, 9, 11}})
    for (bool include_pad : {false, true}) {
      CAPTURE(x.dims);
      CAPTURE(include_pad);
      std::string notes = check_op(OpKind::AvgPool, {{f32(x)}}, pool3(include_pad), kSum);
      CHECK(has(notes, "1 zero-bordered input copies"));
    }
  // Strided, asymmetric: the copy serves every tap pattern.
  std::string notes =
      check_op(OpKind::AvgPool, {{f32({B, 3, 10, 9})}},
               Attrs{{"kernel", Ints{3, 2}}, {"stride", Ints{2, 3}}, {"pad", Ints{1, 1}}}, kSum);
  CHECK(has(notes, "zero-bordered"));
}

TEST_CASE("avgpool_backward + add in one kernel, as the pool branch's gradient") {
  for (const Shape& x : {Shape{B, 24, 7, 7}, Shape{B, 13, 14, 14}, Shape{B, 3, 9, 8}})
    for (bool include_pad : {false, true}) {
      CAPTURE(x.dims);
      CAPTURE(include_pad);
      Builder m;
      Attrs a = pool3(include_pad);
      a.set("input_shape", x.dims);
      ValueId dy = m.input("dy", f32(x)), other = m.input("other", f32(x));
      ValueId dx = m.op(OpKind::AvgPoolBackward, {dy}, a);
      ValueId sum = m.op(OpKind::Add, {dx, other});
      std::string notes =
          check_kernel(m.g, make_kernel_spec(m.g, {dx, sum}), {}, kSum, {.batches = kSmallBatches});
      CHECK(has(notes, "1 zero-bordered input copies"));
    }
}

TEST_CASE("global_avgpool over a concat of relu'd branches: row partials") {
  // 7- and 14-wide rows take the row partials; a 3-wide row the plain sum.
  for (int64_t size : {7, 14, 3}) {
    CAPTURE(size);
    Builder m;
    ValueId a = m.input("a", f32({B, 5, size, size})), b = m.input("b", f32({B, 12, size, size}));
    ValueId s = m.input("s", f32({12, 1, 1}));
    ValueId ra = m.op(OpKind::Relu, {a});
    ValueId rb = m.op(OpKind::Relu, {m.op(OpKind::Mul, {b, s})});
    ValueId cat = m.op(OpKind::Concat, {ra, rb}, Attrs{{"axis", int64_t{1}}});
    ValueId pool = m.op(OpKind::GlobalAvgPool, {cat});
    KernelSpec spec = make_kernel_spec(m.g, {ra, m.g.node(rb).inputs[0], rb, cat, pool}, {pool});
    std::string notes = check_kernel(m.g, spec, {}, kSum, {.batches = kSmallBatches});
    CHECK(has(notes, size == 3 ? "1 stage(s)" : "2 stage(s)"));
  }
}

TEST_CASE("conv2d_backward_weight with 8, 12 and 24 output channels: NHWC path") {
  struct Case {
    Shape x, w;
    int64_t pad;
  };
  for (const Case& c :
       {Case{{B, 16, 7, 7}, {24, 16, 3, 3}, 1}, Case{{B, 64, 14, 14}, {8, 64, 1, 1}, 0},
        Case{{B, 8, 9, 9}, {12, 8, 3, 3}, 1}, Case{{B, 12, 7, 7}, {24, 12, 1, 1}, 0}}) {
    CAPTURE(c.w.dims);
    Builder m;
    Attrs attrs{{"pad", Ints{c.pad, c.pad}}};
    ValueId xv = m.input("x", f32(c.x)), wv = m.param("w", f32(c.w));
    ValueId y = m.op(OpKind::Conv2d, {xv, wv}, attrs);
    ValueId dy = m.input("dy", m.g.node(y).type);
    attrs.set("weight_shape", c.w.dims);
    ValueId dw = m.op(OpKind::Conv2dBackwardWeight, {xv, dy}, attrs);
    // Up to 16 x 196 products per element, summed in another order than
    // the reference's: inputs in [-1, 1) keep the rounding under 1e-4.
    std::string notes = check_kernel(m.g, codegen::single_op_kernel(m.g, dw),
                                     {{"x", uniform(-1, 1)}, {"dy", uniform(-1, 1)}}, {1e-4, 1e-5},
                                     {.batches = kSmallBatches});
    CHECK(has(notes, "dW: NHWC two-level"));
  }
}
