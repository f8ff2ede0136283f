// Measurements, not assertions: GFLOP/s of the MLP's matmuls (forward with
// the fused bias + relu epilogue, weight gradient X^T dY, input gradient
// dY W^T) and of HALIDE-NOTES' conv layer (3x3, pad 1, 32->64 channels,
// 14x14) at batch 128, to compare with HALIDE-NOTES (~220 GFLOP/s on 2
// threads). Skipped by default; run them alone on a quiet machine:
//   HL_NUM_THREADS=2 test_codegen --no-skip -tc='*throughput*'
#include "cg_test_helpers.h"

#include <cstdlib>
#include <fmt/format.h>
#include <string>

using namespace netc;
using namespace netc::cg_test;

namespace {

constexpr int64_t kBatchSize = 128;

// Times the kernel made of `nodes` that computes `out`, at batch 128.
void time_kernel_of(const Graph& g, std::vector<ValueId> nodes, ValueId out,
                    const std::string& name, double flops) {
  KernelSpec spec = codegen::make_kernel_spec(g, std::move(nodes), {out});
  codegen::JitKernel k(g, spec, {.no_asserts = true});
  std::vector<Tensor<float>> ins;
  for (ValueId v : spec.inputs) ins.emplace_back(g.node(v).type.shape.concrete(kBatchSize), 0.5f);
  std::vector<const Tensor<float>*> in_ptrs;
  for (auto& t : ins) in_ptrs.push_back(&t);
  Tensor<float> result(g.node(out).type.shape.concrete(kBatchSize));
  Tensor<float>* out_ptr = &result;
  k.bind(kBatchSize, in_ptrs, std::span(&out_ptr, 1));
  codegen::KernelTiming t = codegen::time_kernel(k, 7, 0.03);
  MESSAGE(fmt::format("{:<34} {:6.1f} GFLOP/s (min {:8.1f} us, median {:8.1f} us), compile "
                      "{:.2f} s  [{}]",
                      name, flops / t.min_s * 1e-9, t.min_s * 1e6, t.median_s * 1e6,
                      k.compile_seconds(), k.schedule_notes()));
}

struct MatmulShape {
  const char* name;
  int64_t m, k, n;
  int kind; // 0: relu(X W + b); 1: X^T dY (K = batch); 2: dY W^T
};

void measure_matmul(const MatmulShape& s) {
  Builder g;
  std::vector<ValueId> nodes;
  if (s.kind == 0) {
    ValueId x = g.input("x", f32({B, s.k})), w = g.param("w", f32({s.k, s.n}));
    ValueId b = g.param("b", f32({s.n}));
    nodes.push_back(g.op(OpKind::MatMul, {x, w}));
    nodes.push_back(g.op(OpKind::Add, {nodes.back(), b}));
    nodes.push_back(g.op(OpKind::Relu, {nodes.back()}));
  } else if (s.kind == 1) {
    ValueId x = g.input("x", f32({B, s.m})), dy = g.input("dy", f32({B, s.n}));
    nodes.push_back(g.op(OpKind::MatMul, {x, dy}, Attrs{{"transpose_a", int64_t(1)}}));
  } else {
    ValueId dy = g.input("dy", f32({B, s.k})), w = g.param("w", f32({s.n, s.k}));
    nodes.push_back(g.op(OpKind::MatMul, {dy, w}, Attrs{{"transpose_b", int64_t(1)}}));
  }
  double flops = 2.0 * double(s.m) * double(s.k) * double(s.n);
  time_kernel_of(g.g, nodes, nodes.back(), fmt::format("{} {}x{}x{}", s.name, s.m, s.k, s.n),
                 flops);
}

} // namespace

TEST_CASE("matmul throughput of the MLP's shapes" * doctest::skip()) {
  const char* threads = std::getenv("HL_NUM_THREADS");
  MESSAGE("HL_NUM_THREADS=" << std::string(threads ? threads : "(unset: all cores)"));
  for (const MatmulShape& s : {MatmulShape{"fc1 fwd relu(XW+b)", 128, 784, 256, 0},
                               MatmulShape{"fc1 dW=X^T dY", 784, 128, 256, 1},
                               MatmulShape{"fc1 dX=dY W^T", 128, 256, 784, 2},
                               MatmulShape{"fc2 fwd relu(XW+b)", 128, 256, 128, 0},
                               MatmulShape{"fc2 dW=X^T dY", 256, 128, 128, 1},
                               MatmulShape{"fc2 dX=dY W^T", 128, 128, 256, 2},
                               MatmulShape{"fc3 fwd (logits)", 128, 128, 10, 0}})
    measure_matmul(s);
}

TEST_CASE("conv throughput of HALIDE-NOTES' layer" * doctest::skip()) {
  using Ints = std::vector<int64_t>;
  Builder g;
  Attrs a{{"pad", Ints{1, 1}}};
  ValueId x = g.input("x", f32({B, 32, 14, 14})), w = g.param("w", f32({64, 32, 3, 3}));
  ValueId y = g.op(OpKind::Conv2d, {x, w}, a);
  ValueId dy = g.input("dy", g.g.node(y).type);
  Attrs ai = a, aw = a;
  ai.set("input_shape", Ints{-1, 32, 14, 14});
  aw.set("weight_shape", Ints{64, 32, 3, 3});
  ValueId dx = g.op(OpKind::Conv2dBackwardInput, {dy, w}, ai);
  ValueId dw = g.op(OpKind::Conv2dBackwardWeight, {x, dy}, aw);
  double flops = 2.0 * kBatchSize * 64 * 14 * 14 * 32 * 9; // 0.925 GFLOP
  time_kernel_of(g.g, {y}, y, "conv 3x3 32->64 14x14 fwd (NCHW)", flops);
  time_kernel_of(g.g, {dx}, dx, "conv dX", flops);
  time_kernel_of(g.g, {dw}, dw, "conv dW", flops);
}
