#include "codegen/kernel_spec.h"

#include "ir/error.h"
#include "ir/op_registry.h"
#include "passes/plan.h"

#include <algorithm>
#include <set>

namespace netc::codegen {

std::string_view kernel_kind_name(KernelKind k) {
  switch (k) {
  case KernelKind::Elementwise: return "elementwise";
  case KernelKind::Reduction: return "reduction";
  case KernelKind::MatMul: return "matmul";
  case KernelKind::Conv: return "conv";
  case KernelKind::Generic: return "generic";
  }
  internal_error("bad kernel kind");
}

bool is_inline_leaf(OpKind kind) { return kind == OpKind::Constant || kind == OpKind::BatchSize; }

namespace {

bool is_named_leaf(OpKind kind) {
  return kind == OpKind::Input || kind == OpKind::Param || kind == OpKind::State ||
         kind == OpKind::Hyper;
}

std::string default_name(const Graph& g, const std::vector<ValueId>& nodes) {
  if (nodes.empty()) return "kernel";
  ValueId last = nodes.back();
  return std::string(op_name(g.node(last).op)) + "_" + std::to_string(last);
}

} // namespace

KernelSpec make_kernel_spec(const Graph& g, std::vector<ValueId> nodes,
                            std::vector<ValueId> outputs, std::string name) {
  std::set<ValueId> inside;
  std::set<ValueId> inputs;
  for (ValueId v : nodes)
    if (is_named_leaf(g.node(v).op))
      inputs.insert(v);
    else
      inside.insert(v);
  // Constant and BatchSize operands are cheap Exprs: pull them in rather than
  // reading them from a buffer.
  for (ValueId v : std::set<ValueId>(inside))
    for (ValueId in : g.node(v).inputs)
      if (is_inline_leaf(g.node(in).op)) inside.insert(in);
  for (ValueId v : inside)
    for (ValueId in : g.node(v).inputs)
      if (!inside.count(in)) inputs.insert(in);

  KernelSpec spec;
  spec.nodes.assign(inside.begin(), inside.end()); // ValueIds are topological
  spec.inputs.assign(inputs.begin(), inputs.end());
  if (outputs.empty()) {
    std::set<ValueId> used_outside;
    for (ValueId v = 0; v < g.size(); ++v)
      if (!inside.count(v))
        for (ValueId in : g.node(v).inputs)
          if (inside.count(in)) used_outside.insert(in);
    auto mark = [&](const NamedValue& nv) {
      if (inside.count(nv.value)) used_outside.insert(nv.value);
    };
    for (const NamedValue& nv : g.outputs) mark(nv);
    for (const NamedValue& nv : g.updates) mark(nv);
    if (g.loss) mark(*g.loss);
    // A Constant pulled in is never an output of its own.
    for (ValueId v : used_outside)
      if (!is_inline_leaf(g.node(v).op)) outputs.push_back(v);
    if (outputs.empty() && !spec.nodes.empty()) outputs.push_back(spec.nodes.back());
  }
  spec.outputs = std::move(outputs);
  spec.name = name.empty() ? default_name(g, spec.nodes) : std::move(name);
  return spec;
}

KernelSpec single_op_kernel(const Graph& g, ValueId node, std::string name) {
  return make_kernel_spec(g, {node}, {node}, std::move(name));
}

int64_t kernel_flops(const Graph& g, const KernelSpec& spec, int64_t batch) {
  auto [fixed, per_example] = netc::kernel_flops(g, spec.nodes); // the plan's count
  return fixed + per_example * batch;
}

} // namespace netc::codegen
