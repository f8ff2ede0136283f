// A graph's fusion plan compiled kernel by kernel (JIT) and run in plan
// order, each kernel reading what earlier kernels wrote: the whole compiled
// computation in one process, without the launch plan's arena, so that a
// differential test sees every stored value (gradients included), not just
// the outputs. Errors therefore accumulate from kernel to kernel as in a real
// run (tests/codegen/model_kernels_test.cpp checks kernels in isolation).
#pragma once

#include "codegen/jit.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "passes/fusion.h"

#include <functional>
#include <vector>

namespace netc::fuzz {

class CompiledGraph {
public:
  // Compiles every kernel of `plan` (release kernels: no bounds assertions,
  // half the JIT time, as the model kernel tests do).
  CompiledGraph(const Graph& g, const FusionPlan& plan, bool training);

  // The value of a leaf (input, param, state, hyper) a kernel reads.
  using LeafFn = std::function<Tensor<float>(ValueId)>;

  // Runs every kernel at `batch`; returns the value of every ValueId that a
  // kernel stored or a view or leaf provided (other entries stay empty).
  std::vector<Tensor<float>> run(int64_t batch, const LeafFn& leaf,
                                 const codegen::StepScalars& scalars);

  size_t kernel_count() const { return kernels_.size(); }
  // Makes every run add 1e-2 (1 + |x|) to the first element of the middle
  // kernel's first output: a wrong kernel, for the test that the oracles
  // notice one (netc-fuzz-graphs --inject-fault).
  void inject_fault() { fault_ = true; }
  const Graph& graph() const { return g_; }

private:
  Graph g_;
  std::vector<ValueId> view_source_; // -1: not a view
  std::vector<codegen::JitKernel> kernels_;
  bool fault_ = false;
};

} // namespace netc::fuzz
