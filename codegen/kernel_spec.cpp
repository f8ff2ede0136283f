#include "codegen/kernel_spec.h"

#include "ir/error.h"
#include "ir/op_registry.h"
#include "passes/plan.h"

#include <algorithm>
#include <set>

namespace netc::codegen {

std::string_view schedule_name(Schedule s) {
  switch (s) {
  case Schedule::pointwise: return "elementwise";
  case Schedule::staged: return "reduction";
  case Schedule::matmul: return "matmul";
  case Schedule::conv: return "conv";
  case Schedule::generic: return "generic";
  case Schedule::none: return "unscheduled";
  }
  internal_error("bad schedule");
}

bool KernelSpec::is_channels_last(ValueId v) const {
  return std::find(channels_last.begin(), channels_last.end(), v) != channels_last.end();
}

KernelSpec program_kernel_spec(const CompiledProgram& program, const FusedKernel& k) {
  KernelSpec spec{program.prefix + "_" + k.name,      k.nodes, k.inputs, k.outputs,
                  writes_in_place(program.memory, k), k.kind};
  for (const std::vector<ValueId>* values : {&k.inputs, &k.outputs})
    for (ValueId v : *values)
      if (program.fusion.is_channels_last(v)) spec.channels_last.push_back(v);
  return spec;
}

namespace {

bool is_named_leaf(OpKind kind) { return op_traits(kind).role == FusionRole::named_leaf; }

// How strongly a kind claims a kernel: a matmul's or conv's recipe owns the
// whole loop nest, so it wins over the generic kinds (codegen tests build
// kernels that fusion would not, a matmul with its loss for one).
int claim(KernelKind k) {
  switch (k) {
  case KernelKind::elementwise: return 0;
  case KernelKind::reduction:
  case KernelKind::window: return 1;
  case KernelKind::conv: return 2;
  case KernelKind::matmul: return 3;
  }
  internal_error("bad kernel kind");
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
  for (ValueId v : spec.nodes) {
    KernelKind k = op_traits(g.node(v).op).kernel;
    if (claim(k) > claim(spec.kind)) spec.kind = k;
  }
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
