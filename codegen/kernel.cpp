#include "codegen/kernel.h"

#include "codegen/schedule.h"
#include "ir/error.h"
#include "plan/launch_plan.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <map>

namespace netc::codegen {

Halide::Target kernel_target(const KernelOptions& options) {
  Halide::Target t = Halide::get_host_target();
  if (options.no_asserts) t = t.with_feature(Halide::Target::NoAsserts);
  return t;
}

namespace {

// A C identifier for buffer names ("dense1.W" -> "dense1_W"): AOT turns them
// into function arguments.
std::string identifier(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

std::string value_name(const Graph& g, ValueId v) {
  const Node& n = g.node(v);
  if (n.attrs.has("name") && std::holds_alternative<std::string>(*n.attrs.find("name")))
    return fmt::format("v{}_{}", v, identifier(n.attrs.get_str("name")));
  return fmt::format("v{}_{}", v, op_name(n.op));
}

// Declares a dense buffer of IR shape s on a buffer's dims: Halide dim d is
// IR axis r-1-d, the strides in the launch plan's storage order (row-major,
// or channels-last: rt::storage_axis), as the executor describes them.
// Batch extents are the runtime `batch`; the strides outside a batch
// dimension depend on it.
template <class Dims>
void declare_shape(Dims dim, const Shape& s, const Halide::Expr& batch, bool channels_last) {
  int r = s.rank();
  if (channels_last && r != 4) internal_error("a channels-last value of rank other than 4");
  Halide::Expr stride = 1;
  for (int k = 0; k < r; ++k) {
    int axis = rt::storage_axis(r, channels_last, k);
    Halide::Expr e = extent(s, axis, batch);
    dim(r - 1 - axis).set_bounds(0, e).set_stride(stride);
    stride = stride * e;
  }
}

} // namespace

LoweredKernel lower_kernel(const Graph& g, const KernelSpec& spec, const KernelOptions& options) {
  LoweredKernel k;
  k.spec = spec;
  k.kind = spec.kind;
  k.target = kernel_target(options);
  LowerOptions lower_options{options.training};
  std::map<ValueId, Halide::Func> values;
  std::map<ValueId, Lowered> ops;

  auto lower_node = [&](ValueId v, const Halide::ImageParam* param) {
    const Node& n = g.node(v);
    LowerRule rule = find_lowering(n.op);
    if (!rule) internal_error(fmt::format("op '{}' has no Halide lowering yet", op_name(n.op)));
    LowerCtx ctx{v, n, {}, {}, lower_options, k.scalars, param, !spec.channels_last.empty()};
    for (ValueId in : n.inputs) {
      auto it = values.find(in);
      if (it == values.end())
        internal_error(fmt::format("kernel '{}': %{} reads %{}, which is neither computed inside "
                                   "nor an input",
                                   spec.name, v, in));
      ctx.in.push_back(it->second);
      ctx.in_types.push_back(g.node(in).type);
    }
    Lowered l = rule(ctx);
    values[v] = l.value;
    return l;
  };

  for (ValueId v : spec.inputs) {
    const Node& n = g.node(v);
    Halide::ImageParam p(halide_type(n.type.dtype), n.type.shape.rank(), value_name(g, v));
    declare_shape([&](int d) { return p.dim(d); }, n.type.shape, k.scalars.batch,
                  spec.is_channels_last(v));
    k.inputs.push_back(p);
    bool named_leaf = n.inputs.empty() && !is_inline_leaf(n.op);
    if (named_leaf)
      lower_node(v, &k.inputs.back());
    else
      values[v] = Halide::Func(p);
  }
  std::map<ValueId, Halide::Func> outputs;
  auto make_output = [&](ValueId v) {
    auto it = values.find(v);
    if (it == values.end())
      internal_error(fmt::format("kernel '{}': output %{} is not computed", spec.name, v));
    const TensorType& t = g.node(v).type;
    Halide::Func out("out_" + value_name(g, v));
    std::vector<Halide::Var> vars = ir_vars(t.shape.rank());
    define(out, vars, at(it->second, as_index(vars)));
    declare_shape([&](int d) { return out.output_buffer().dim(d); }, t.shape, k.scalars.batch,
                  spec.is_channels_last(v));
    outputs.emplace(v, out);
    return out;
  };
  auto is_output = [&](ValueId v) {
    return std::find(spec.outputs.begin(), spec.outputs.end(), v) != spec.outputs.end();
  };
  for (ValueId v : spec.nodes) {
    ops.emplace(v, lower_node(v, nullptr));
    // Outputs run one after another, and an earlier one may already have
    // overwritten the leaf it updates: later readers take the value from the
    // output's buffer instead of recomputing it from that leaf (the memory
    // plan allows no other read of an overwritten leaf).
    if (spec.writes_in_place && is_output(v)) values[v] = make_output(v);
  }
  for (ValueId v : spec.outputs) {
    auto it = outputs.find(v);
    k.outputs.push_back(it != outputs.end() ? it->second : make_output(v));
  }

  if (options.schedule) {
    KernelFuncs funcs{g, k.spec, ops, k.outputs, k.scalars};
    k.schedule = schedule_kernel(funcs, k.schedule_notes);
  } else {
    k.schedule_notes = "unscheduled";
  }
  k.pipeline = Halide::Pipeline(k.outputs);
  return k;
}

} // namespace netc::codegen
