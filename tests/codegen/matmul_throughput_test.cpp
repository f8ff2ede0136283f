// A measurement, not an assertion: GFLOP/s of the MLP's matmuls (forward with
// the fused bias + relu epilogue, weight gradient X^T dY, input gradient
// dY W^T) at batch 128, to compare with HALIDE-NOTES (~220 GFLOP/s on 2
// threads). Skipped by default; run it alone on a quiet machine:
//   HL_NUM_THREADS=2 test_codegen --no-skip -tc='matmul throughput*'
#include "cg_test_helpers.h"

#include <cstdlib>
#include <fmt/format.h>
#include <string>

using namespace netc;
using namespace netc::cg_test;

namespace {

struct Shape3 {
  const char* name;
  int64_t m, k, n;
  int kind; // 0: X W + b, relu; 1: X^T dY; 2: dY W^T
};

void measure(const Shape3& s) {
  Builder g;
  ValueId out;
  constexpr int64_t batch = 128;
  if (s.kind == 0) { // [B,K] x [K,N]
    ValueId x = g.input("x", f32({B, s.k})), w = g.param("w", f32({s.k, s.n}));
    ValueId b = g.param("b", f32({s.n}));
    out = g.op(OpKind::Relu, {g.op(OpKind::Add, {g.op(OpKind::MatMul, {x, w}), b})});
  } else if (s.kind == 1) { // [B,M]^T x [B,N]: K = batch
    ValueId x = g.input("x", f32({B, s.m})), dy = g.input("dy", f32({B, s.n}));
    out = g.op(OpKind::MatMul, {x, dy}, Attrs{{"transpose_a", int64_t(1)}});
  } else { // [B,K] x [N,K]^T
    ValueId dy = g.input("dy", f32({B, s.k})), w = g.param("w", f32({s.n, s.k}));
    out = g.op(OpKind::MatMul, {dy, w}, Attrs{{"transpose_b", int64_t(1)}});
  }
  std::vector<ValueId> nodes;
  for (ValueId v = 0; v <= out; ++v)
    if (!g.g.node(v).inputs.empty()) nodes.push_back(v);
  KernelSpec spec = codegen::make_kernel_spec(g.g, nodes, {out});
  codegen::JitKernel k(g.g, spec, {.no_asserts = true});
  std::vector<Tensor<float>> ins;
  for (ValueId v : spec.inputs)
    ins.emplace_back(g.g.node(v).type.shape.concrete(batch), 0.5f);
  std::vector<const Tensor<float>*> in_ptrs;
  for (auto& t : ins)
    in_ptrs.push_back(&t);
  Tensor<float> result(g.g.node(out).type.shape.concrete(batch));
  Tensor<float>* out_ptr = &result;
  k.bind(batch, in_ptrs, std::span(&out_ptr, 1));
  codegen::KernelTiming t = codegen::time_kernel(k, 7, 0.03);
  double flops = 2.0 * double(s.m) * double(s.k) * double(s.n);
  MESSAGE(fmt::format("{:<22} {:>4}x{:>3}x{:>3}  {:6.1f} GFLOP/s (min {:6.1f} us, median {:6.1f} "
                      "us), compile {:.2f} s  [{}]",
                      s.name, s.m, s.k, s.n, flops / t.min_s * 1e-9, t.min_s * 1e6,
                      t.median_s * 1e6, k.compile_seconds(), k.schedule_notes()));
}

} // namespace

TEST_CASE("matmul throughput of the MLP's shapes" * doctest::skip()) {
  const char* threads = std::getenv("HL_NUM_THREADS");
  MESSAGE("HL_NUM_THREADS=" << std::string(threads ? threads : "(unset: all cores)"));
  for (const Shape3& s :
       {Shape3{"fc1 fwd X.W+b, relu", 128, 784, 256, 0},
        Shape3{"fc1 dW = X^T.dY", 784, 128, 256, 1}, Shape3{"fc1 dX = dY.W^T", 128, 256, 784, 2},
        Shape3{"fc2 fwd X.W+b, relu", 128, 256, 128, 0},
        Shape3{"fc2 dW = X^T.dY", 256, 128, 128, 1}, Shape3{"fc2 dX = dY.W^T", 128, 128, 256, 2},
        Shape3{"fc3 fwd (logits)", 128, 128, 10, 0}})
    measure(s);
}
