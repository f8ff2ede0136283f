// Helpers shared by the op family files (and, later, by their gradient rules
// and Halide lowerings): dtype checks, axis normalization, numpy broadcasting
// on static shapes and on concrete indices, and the attribute decoding of ops
// whose attributes need normalizing (reduction axes, slice bounds).
//
// Shape rules throw ShapeError with messages that name the shapes involved;
// GraphBuilder prefixes the op's name, so these messages never do.
#pragma once

#include "ir/attrs.h"
#include "ir/gradient.h"
#include "ir/types.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

// Throws unless t is f32 or f64. `what` names the operand in the message:
// "logits must be a float tensor (f32 or f64), found i32[batch,10]".
void require_float(const TensorType& t, std::string_view what = "input");

// Throws unless both are float tensors of the same dtype:
// "inputs must have the same dtype, found f32[batch,10] and f64[10]".
void require_same_float(const TensorType& a, const TensorType& b);

// Maps an axis in [-rank, rank) to [0, rank); negative axes count from the
// end. `attr` names the attribute: "axis 2 is out of range for f32[batch,3]
// (expected -2..1)".
int normalize_axis(int64_t axis, const TensorType& t, std::string_view attr = "axis");

// numpy broadcasting, right-aligned: a missing leading dimension or a 1
// stretches to the other side's extent; the batch dimension only equals
// itself (a 1 broadcasts against it). "cannot broadcast f32[batch,10] with f32[5]".
Shape broadcast_shape(const TensorType& a, const TensorType& b);

// For each element of a row-major tensor of concrete shape `out`, the offset of
// the element of a tensor of concrete shape `in` that broadcasts onto it.
std::vector<int64_t> broadcast_offsets(const std::vector<int64_t>& in,
                                       const std::vector<int64_t>& out);

// The reduction axes of reduce_*: attribute `axes` (absent or empty = all
// axes), normalized and sorted; an out-of-range or duplicate axis throws.
std::vector<int> reduce_axes(const Attrs& attrs, const TensorType& t);

// The permutation of transpose {perm}, normalized; it must name every axis
// of t exactly once.
std::vector<int> transpose_perm(const Attrs& attrs, const TensorType& t);

// The bounds of slice {axis, start, end}, normalized the way Python does:
// negative start/end count from the end, then both clamp to [0, extent].
struct SliceBounds {
  int axis;
  int64_t start;
  int64_t end; // exclusive, > start
};
SliceBounds slice_bounds(const Attrs& attrs, const TensorType& t);

// A concrete row-major shape seen as [outer, extent, inner] around one axis:
// element (o, i, k) is at (o * extent + i) * inner + k. Softmax, concat and
// slice loop this way.
struct AxisSplit {
  int64_t outer;
  int64_t extent;
  int64_t inner;
};
AxisSplit split_at_axis(const std::vector<int64_t>& shape, int axis);

// max and min that propagate NaN (std::max drops a NaN in second place), so a
// NaN reaching maximum or reduce_max still shows in the result.
template <class T>
T max_nan(T a, T b) {
  return a > b || std::isnan(a) ? a : b;
}
template <class T>
T min_nan(T a, T b) {
  return a < b || std::isnan(a) ? a : b;
}

// "[1,-2]": a list attribute as the IR text format writes it, for messages.
std::string list_string(const std::vector<int64_t>& v);

// A 0/1 flag attribute (keepdims, transpose_a...); anything else throws.
bool flag_attr(const Attrs& attrs, const std::string& name);

// ---- For gradient rules -----------------------------------------------------

// The number of elements of a tensor with these dimensions, as a scalar IR
// value: a constant, times the runtime batch extent for each batch dimension.
// The gradients of means divide by it.
ValueId element_count(GradBuilder& gb, const std::vector<int64_t>& dims);

// v reshaped to `dims` unless it already has them: a reduction result without
// its reduced axes gets them back with extent 1, so binary ops broadcast it
// against the reduction's input with no explicit broadcast.
ValueId reshape_to(GradBuilder& gb, ValueId v, const std::vector<int64_t>& dims);

// The dimensions of t with `axes` set to 1 (the keepdims shape of a reduction).
std::vector<int64_t> kept_dims(const TensorType& t, const std::vector<int>& axes);

} // namespace netc
