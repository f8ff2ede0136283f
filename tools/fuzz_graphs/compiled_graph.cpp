#include "tools/fuzz_graphs/compiled_graph.h"

#include "ir/error.h"

#include <cmath>

namespace netc::fuzz {

CompiledGraph::CompiledGraph(const Graph& g, const FusionPlan& plan, bool training)
    : g_(g), view_source_(size_t(g.size()), -1) {
  for (const FusionPlan::View& view : plan.views) view_source_[size_t(view.value)] = view.source;
  for (const FusedKernel& fk : plan.kernels)
    kernels_.emplace_back(g_, codegen::KernelSpec{fk.name, fk.nodes, fk.inputs, fk.outputs},
                          codegen::KernelOptions{.training = training, .no_asserts = true});
}

std::vector<Tensor<float>> CompiledGraph::run(int64_t batch, const LeafFn& leaf,
                                              const codegen::StepScalars& scalars) {
  std::vector<Tensor<float>> values(size_t(g_.size()));
  std::vector<bool> have(size_t(g_.size()), false);
  // A view is its source's buffer under its own shape; anything else that
  // no kernel wrote is a leaf.
  std::function<const Tensor<float>&(ValueId)> get = [&](ValueId v) -> const Tensor<float>& {
    if (!have[size_t(v)]) {
      ValueId src = view_source_[size_t(v)];
      if (src >= 0) {
        Tensor<float> t = get(src);
        t.shape = g_.node(v).type.shape.concrete(batch);
        if (Tensor<float>::count(t.shape) != t.size())
          internal_error("a view changes the element count");
        values[size_t(v)] = std::move(t);
      } else {
        values[size_t(v)] = leaf(v);
      }
      have[size_t(v)] = true;
    }
    return values[size_t(v)];
  };
  for (size_t i = 0; i < kernels_.size(); ++i) {
    codegen::JitKernel& k = kernels_[i];
    std::vector<const Tensor<float>*> ins;
    for (ValueId v : k.spec().inputs) ins.push_back(&get(v));
    std::vector<Tensor<float>> outs = k.run(batch, ins, scalars);
    if (fault_ && i == kernels_.size() / 2 && !outs.empty() && outs[0].size() > 0)
      outs[0][0] += 1e-2F * (1 + std::abs(outs[0][0]));
    for (size_t o = 0; o < outs.size(); ++o) {
      ValueId v = k.spec().outputs[o];
      values[size_t(v)] = std::move(outs[o]);
      have[size_t(v)] = true;
    }
  }
  for (const NamedValue& out : g_.outputs) get(out.value);
  for (const NamedValue& u : g_.updates) get(u.value);
  if (g_.loss) get(g_.loss->value);
  return values;
}

} // namespace netc::fuzz
