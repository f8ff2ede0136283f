#include "passes/plan.h"

#include "ir/error.h"
#include "ir/op_registry.h"

#include <fmt/format.h>
#include <map>

namespace netc {

namespace {

std::string fingerprint(const Graph& g) {
  // FNV-1a over the names and shapes of params and state: a checkpoint fits
  // a binary exactly when these agree.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const std::string& s) {
    for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  };
  for (OpKind k : {OpKind::Param, OpKind::State})
    for (ValueId v : g.leaves(k)) {
      const Node& n = g.node(v);
      mix(n.attrs.get_str("name") + to_string(n.type) + ";");
    }
  return fmt::format("{:016x}", h);
}

rt::ElemType elem_type(DType t) {
  if (t == DType::u8) return rt::ElemType::u8;
  if (t == DType::i8) return rt::ElemType::i8;
  return t == DType::i32 || t == DType::i64 ? rt::ElemType::i32 : rt::ElemType::f32;
}

class PlanBuilder {
public:
  explicit PlanBuilder(rt::Plan& plan) : p_(plan) {}

  int persistent(const Graph& g, ValueId v) {
    const Node& n = g.node(v);
    const std::string& name = n.attrs.get_str("name");
    if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
    rt::TensorSlot slot{name, n.type.shape.dims, elem_type(n.type.dtype), rt::Region::persistent,
                        p_.persistent_bytes};
    p_.persistent_bytes += (slot.bytes(1) + 63) / 64 * 64;
    int id = add(std::move(slot));
    by_name_[name] = id;
    if (n.op == OpKind::Hyper) {
      p_.hypers.push_back({name, id, n.attrs.get_float("value")});
    } else {
      rt::Init init;
      init.slot = id;
      init.scheme = n.attrs.get_str("init", "zeros");
      init.fan_in = n.attrs.get_int("fan_in", 1);
      init.fan_out = n.attrs.get_int("fan_out", 1);
      init.scale = n.attrs.get_float("scale", 0.0);
      init.is_state = n.op == OpKind::State;
      init.trainable = n.op == OpKind::Param && n.attrs.get_int("frozen", 0) == 0;
      if (init.trainable) p_.trainable_parameters += n.type.shape.static_elements();
      p_.inits.push_back(init);
    }
    return id;
  }

  rt::Program program(const CompiledProgram& c) {
    const Graph& g = c.graph;
    std::map<ValueId, int> slot_of;
    for (OpKind k : {OpKind::Param, OpKind::State, OpKind::Hyper})
      for (ValueId v : g.leaves(k)) slot_of[v] = persistent(g, v);
    for (const PlannedBuffer& b : c.memory.buffers) {
      const Node& n = g.node(b.value);
      if (!b.in_place_of.empty()) {
        slot_of[b.value] = by_name_.at(b.in_place_of);
        continue;
      }
      std::string name = n.attrs.get_str("name", fmt::format("%{} {}", b.value, op_name(n.op)));
      slot_of[b.value] = add({name, n.type.shape.dims, elem_type(n.type.dtype), rt::Region::arena,
                              b.offset, c.fusion.is_channels_last(b.value)});
    }
    rt::Program prog;
    for (const FusedKernel& k : c.fusion.kernels) {
      rt::KernelCall call;
      call.name = c.prefix + "_" + k.name;
      for (ValueId v : k.inputs) call.args.push_back(slot_of.at(v));
      for (ValueId v : k.outputs) {
        call.args.push_back(slot_of.at(v));
        const Node& n = g.node(v);
        call.sources.push_back(n.loc.line > 0
                                   ? fmt::format("{}:{} {}", n.loc.line, n.loc.col, op_name(n.op))
                                   : std::string());
      }
      call.num_inputs = static_cast<int>(k.inputs.size());
      call.scalars = {"batch", "seed", "step"}; // codegen/aot.cpp passes all three to every kernel
      std::tie(call.flops_fixed, call.flops_per_example) = kernel_flops(g, k.nodes);
      call.kind = kernel_kind_name(k.kind);
      for (ValueId v : k.nodes) {
        OpKind op = g.node(v).op;
        if (op == OpKind::Constant || op == OpKind::BatchSize) continue;
        if (!call.ops.empty()) call.ops += ' ';
        call.ops += op_name(op);
      }
      prog.kernels.push_back(std::move(call));
      if (g.updates.empty() && k.weights_only && prog.prepare + 1 == int(prog.kernels.size()))
        ++prog.prepare;
    }
    for (const NamedValue& u : g.updates) {
      int target = by_name_.at(u.name), value = slot_of.at(u.value);
      if (target != value) prog.updates.push_back({target, value});
    }
    for (ValueId v : g.leaves(OpKind::Input)) {
      const Attrs& a = g.node(v).attrs;
      prog.inputs.push_back({a.get_str("name"), slot_of.at(v), a.get_int("num_classes", 0),
                             a.get_str("role", "data") == "label"});
    }
    for (const NamedValue& o : g.outputs) prog.outputs.push_back({o.name, slot_of.at(o.value)});
    if (g.loss) prog.loss = slot_of.at(g.loss->value);
    p_.arena_bytes = std::max(p_.arena_bytes, c.memory.arena_bytes);
    p_.arena_bytes_without_reuse = std::max(p_.arena_bytes_without_reuse, c.memory.without_reuse);
    return prog;
  }

private:
  int add(rt::TensorSlot slot) {
    p_.slots.push_back(std::move(slot));
    return static_cast<int>(p_.slots.size()) - 1;
  }

  rt::Plan& p_;
  std::map<std::string, int> by_name_;
};

} // namespace

std::pair<int64_t, int64_t> kernel_flops(const Graph& g, std::span<const ValueId> nodes) {
  int64_t fixed = 0, per_example = 0;
  std::vector<TensorType> types;
  for (ValueId v : nodes) {
    const Node& n = g.node(v);
    if (!op_def(n.op).shape) continue; // leaves
    types.clear();
    bool batched = n.type.shape.has_batch();
    for (ValueId i : n.inputs) {
      types.push_back(g.node(i).type);
      batched = batched || types.back().shape.has_batch();
    }
    (batched ? per_example : fixed) += op_def(n.op).flops(n, types);
  }
  return {fixed, per_example};
}

CompiledProgram compiled_program(Mode mode, PipelineState finished) {
  if (!finished.fusion || !finished.memory)
    internal_error("compiled_program: the pipeline stopped before memplan");
  return {mode == Mode::train ? "train" : "infer", std::move(finished.graph),
          std::move(*finished.fusion), std::move(*finished.memory)};
}

// The plan's Init of each persistent tensor that has a start value points at
// its copy in plan.initial_values; a start value of another size is a bug of
// whoever made it (the importer checks initializers against their shapes).
void attach_start_values(rt::Plan& p, const std::map<std::string, Tensor<float>>& values) {
  for (rt::Init& init : p.inits) {
    const rt::TensorSlot& slot = p.slots.at(static_cast<size_t>(init.slot));
    auto it = values.find(slot.name);
    if (it == values.end()) continue;
    if (it->second.size() != slot.elements(1))
      internal_error(fmt::format("the start value of '{}' has {} elements, its tensor {}",
                                 slot.name, it->second.size(), slot.elements(1)));
    init.values_offset = static_cast<int64_t>(p.initial_values.size());
    p.initial_values.insert(p.initial_values.end(), it->second.data.begin(), it->second.data.end());
  }
  p.initial_values_count = static_cast<int64_t>(p.initial_values.size());
  if (!p.initial_values.empty()) p.initial_values_hash = rt::hash_values(p.initial_values);
}

PlanBundle build_plan(const Graph& parsed, int64_t max_batch, bool gradient_outputs,
                      const std::map<std::string, Tensor<float>>& start_values,
                      std::shared_ptr<const Calibration> quantize) {
  if (max_batch <= 0) max_batch = default_max_batch(parsed);
  PlanBundle b;
  PipelineOptions options{.last = "memplan", .max_batch = max_batch};
  options.quantize = std::move(quantize);
  b.infer = compiled_program(Mode::infer, run_pipeline(parsed, Mode::infer, options));
  options.quantize = nullptr;
  if (parsed.loss) {
    options.gradient_outputs = gradient_outputs;
    b.train = compiled_program(Mode::train, run_pipeline(parsed, Mode::train, options));
  }
  rt::Plan& p = b.plan;
  p.model = parsed.name;
  p.source_file = parsed.source_file;
  p.max_batch = max_batch;
  p.config = parsed.train;
  PlanBuilder builder(p);
  // The training program first: it names every param and state, so both
  // programs share their persistent slots.
  if (parsed.loss) p.train = builder.program(b.train);
  p.infer = builder.program(b.infer);
  p.fingerprint = fingerprint(parsed.loss ? b.train.graph : b.infer.graph);
  attach_start_values(p, start_values);
  return b;
}

} // namespace netc
