#include "ir/gradient.h"

#include <algorithm>

namespace netc {

ValueId GradBuilder::op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs) {
  return b_.op(kind, std::move(inputs), std::move(attrs), loc_);
}

ValueId GradBuilder::constant(double value) {
  return b_.leaf(OpKind::Constant, TensorType{dtype_, Shape{}}, Attrs{{"value", value}}, loc_);
}

ValueId GradBuilder::batch_size() {
  return b_.leaf(OpKind::BatchSize, TensorType{dtype_, Shape{}}, Attrs{}, loc_);
}

ValueId GradBuilder::unbroadcast(ValueId grad, const TensorType& to) {
  const Shape from = type(grad).shape;
  if (from == to.shape) return grad;
  // Right-align `to` against `from`: leading axes of `from` that `to` lacks,
  // and axes where `to` has extent 1 but `from` does not, were stretched.
  int lead = from.rank() - to.shape.rank();
  std::vector<int64_t> axes;
  for (int d = 0; d < from.rank(); ++d)
    if (d < lead || (to.shape[d - lead] == 1 && from[d] != 1)) axes.push_back(d);
  ValueId summed =
      axes.empty() ? grad
                   : op(OpKind::ReduceSum, {grad}, Attrs{{"axes", axes}, {"keepdims", int64_t(0)}});
  if (type(summed).shape == to.shape) return summed;
  return op(OpKind::Reshape, {summed}, Attrs{{"shape", to.shape.dims}});
}

ValueId GradBuilder::expand_reduced(ValueId v, const std::vector<int>& axes, const TensorType& to) {
  // Put the reduced axes back with extent 1, then stretch them.
  std::vector<int64_t> kept = to.shape.dims;
  for (int a : axes) kept[static_cast<size_t>(a)] = 1;
  ValueId shaped =
      type(v).shape.dims == kept ? v : op(OpKind::Reshape, {v}, Attrs{{"shape", kept}});
  if (kept == to.shape.dims) return shaped;
  return op(OpKind::Broadcast, {shaped}, Attrs{{"shape", to.shape.dims}});
}

std::vector<ValueId> no_gradient(GradBuilder&, const Node& n, ValueId, ValueId) {
  return std::vector<ValueId>(n.inputs.size(), kNoGrad);
}

} // namespace netc
