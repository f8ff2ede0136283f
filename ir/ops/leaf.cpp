// Leaves: values that enter a step from outside the graph. Their types are
// declared (by the model or by a pass), so they have no shape rule; their
// reference implementations read the interpreter's context.
#include "ir/op_registry.h"

#include <fmt/format.h>

namespace netc {

namespace {

// input, param, state: look the value up by name and check its shape.
template <class T>
void ref_named(const Node& n, RefInputs<T>, Tensor<T>& out, RefContext<T>& ctx) {
  const std::string& name = n.attrs.get_str("name");
  const Tensor<T>* v = nullptr;
  if (ctx.values)
    if (auto it = ctx.values->find(name); it != ctx.values->end()) v = &it->second;
  if (!v) throw ShapeError(fmt::format("no value was given for {} '{}'", op_name(n.op), name));
  if (v->shape != out.shape)
    throw ShapeError(fmt::format("{} '{}' expects shape {}, the value has shape {}", op_name(n.op),
                                 name, to_string(Shape(out.shape)), to_string(Shape(v->shape))));
  out.data = v->data;
}

// hyper: a runtime scalar; the context may override the model's default.
template <class T>
void ref_hyper(const Node& n, RefInputs<T>, Tensor<T>& out, RefContext<T>& ctx) {
  const std::string& name = n.attrs.get_str("name");
  auto it = ctx.hypers.find(name);
  double v = it != ctx.hypers.end() ? it->second : n.attrs.get_float("value");
  for (auto& x : out.data) x = static_cast<T>(v);
}

template <class T>
void ref_constant(const Node& n, RefInputs<T>, Tensor<T>& out, RefContext<T>&) {
  for (auto& x : out.data) x = static_cast<T>(n.attrs.get_float("value"));
}

template <class T>
void ref_batch_size(const Node&, RefInputs<T>, Tensor<T>& out, RefContext<T>& ctx) {
  for (auto& x : out.data) x = static_cast<T>(ctx.batch);
}

int64_t no_flops(const Node&, std::span<const TensorType>) { return 0; }

const OpDef kLeafOps[] = {
    {OpKind::Input, 0, 0, nullptr, NETC_REF(ref_named), no_flops},
    {OpKind::Param, 0, 0, nullptr, NETC_REF(ref_named), no_flops},
    {OpKind::State, 0, 0, nullptr, NETC_REF(ref_named), no_flops},
    {OpKind::Hyper, 0, 0, nullptr, NETC_REF(ref_hyper), no_flops},
    {OpKind::Constant, 0, 0, nullptr, NETC_REF(ref_constant), no_flops},
    {OpKind::BatchSize, 0, 0, nullptr, NETC_REF(ref_batch_size), no_flops},
};

} // namespace

std::span<const OpDef> leaf_op_defs() { return kLeafOps; }

} // namespace netc
