// What a gradient rule builds the backward graph with: a GraphBuilder that
// stamps every node with the forward op's source location, plus the few
// helpers that many rules share (undoing a broadcast, the batch extent).
#pragma once

#include "ir/graph.h"
#include "ir/op_registry.h"

#include <vector>

namespace netc {

class GradBuilder {
public:
  // `dtype` is the forward op's float type: constants and the batch extent
  // are made in it, so that the rules of f64 graphs type-check.
  GradBuilder(GraphBuilder& b, SourceLoc loc, DType dtype = DType::f32)
      : b_(b), loc_(loc), dtype_(dtype) {}

  ValueId op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs = {});
  ValueId constant(double value);
  ValueId batch_size();
  // A copy: a reference into the graph would dangle once the rule adds nodes.
  TensorType type(ValueId v) const { return b_.graph().node(v).type; }

  ValueId add(ValueId a, ValueId b) { return op(OpKind::Add, {a, b}); }
  ValueId sub(ValueId a, ValueId b) { return op(OpKind::Sub, {a, b}); }
  ValueId mul(ValueId a, ValueId b) { return op(OpKind::Mul, {a, b}); }
  ValueId div(ValueId a, ValueId b) { return op(OpKind::Div, {a, b}); }
  ValueId neg(ValueId a) { return op(OpKind::Neg, {a}); }

  // The gradient of a value of type `to` that was broadcast to grad's shape:
  // sum over the stretched axes, then reshape to `to`. Identity if no
  // broadcast happened.
  ValueId unbroadcast(ValueId grad, const TensorType& to);
  // Broadcasts `v` (a reduction result, possibly without its reduced axes)
  // back to `to`, given the reduced axes of `to`.
  ValueId expand_reduced(ValueId v, const std::vector<int>& axes, const TensorType& to);

private:
  GraphBuilder& b_;
  SourceLoc loc_;
  DType dtype_;
};

// The gradient rule of ops that pass no gradient to any input.
std::vector<ValueId> no_gradient(GradBuilder& gb, const Node& n, ValueId y, ValueId dy);

} // namespace netc
