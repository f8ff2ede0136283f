#include "ir/ops/common.h"

#include "ir/error.h"
#include "ir/tensor.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc {

void require_float(const TensorType& t, std::string_view what) {
  if (!is_float(t.dtype))
    throw ShapeError(
        fmt::format("{} must be a float tensor (f32 or f64), found {}", what, to_string(t)));
}

void require_same_float(const TensorType& a, const TensorType& b) {
  require_float(a, "the first input");
  require_float(b, "the second input");
  if (a.dtype != b.dtype)
    throw ShapeError(fmt::format("inputs must have the same dtype, found {} and {}", to_string(a),
                                 to_string(b)));
}

int normalize_axis(int64_t axis, const TensorType& t, std::string_view attr) {
  int64_t rank = t.shape.rank();
  if (rank == 0)
    throw ShapeError(
        fmt::format("{} {} is out of range for the scalar {}", attr, axis, to_string(t)));
  if (axis < -rank || axis >= rank)
    throw ShapeError(fmt::format("{} {} is out of range for {} (expected {}..{})", attr, axis,
                                 to_string(t), -rank, rank - 1));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// Right-aligned: out[i] pairs a[i - (r - ra)] with b[i - (r - rb)]; a missing
// dimension acts as 1. Equal extents (batch included) pass, a 1 takes the
// other side's extent, anything else is a mismatch.
Shape broadcast_shape(const TensorType& a, const TensorType& b) {
  int ra = a.shape.rank(), rb = b.shape.rank(), r = std::max(ra, rb);
  std::vector<int64_t> out(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i) {
    int ia = i - (r - ra), ib = i - (r - rb);
    int64_t da = ia >= 0 ? a.shape[ia] : 1, db = ib >= 0 ? b.shape[ib] : 1;
    if (da == db || db == 1)
      out[size_t(i)] = da;
    else if (da == 1)
      out[size_t(i)] = db;
    else
      throw ShapeError(fmt::format("cannot broadcast {} with {}", to_string(a), to_string(b)));
  }
  return checked_shape(std::move(out));
}

std::vector<int64_t> broadcast_offsets(const std::vector<int64_t>& in,
                                       const std::vector<int64_t>& out) {
  if (in.size() > out.size()) internal_error("broadcast_offsets: input rank exceeds output rank");
  // Strides of `in` laid over the output's axes; a stretched axis has stride 0.
  size_t r = out.size(), lead = r - in.size();
  std::vector<int64_t> stride(r, 0);
  int64_t s = 1;
  for (size_t j = in.size(); j-- > 0;) {
    if (in[j] != 1 && in[j] != out[lead + j])
      internal_error("broadcast_offsets: shapes do not broadcast");
    stride[lead + j] = in[j] == 1 ? 0 : s;
    s *= in[j];
  }
  // Walk the output in row-major order, advancing the multi-index like an
  // odometer and the input offset with it.
  std::vector<int64_t> offsets(static_cast<size_t>(Tensor<float>::count(out)));
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (auto& o : offsets) {
    o = off;
    for (size_t d = r; d-- > 0;) {
      ++idx[d];
      off += stride[d];
      if (idx[d] < out[d]) break;
      off -= stride[d] * idx[d];
      idx[d] = 0;
    }
  }
  return offsets;
}

std::vector<int> reduce_axes(const Attrs& attrs, const TensorType& t) {
  std::vector<int64_t> given;
  if (attrs.has("axes")) given = attrs.get_ints("axes");
  std::vector<int> axes;
  if (given.empty()) {
    for (int i = 0; i < t.shape.rank(); ++i) axes.push_back(i);
    return axes;
  }
  for (int64_t a : given) {
    int n = normalize_axis(a, t, "axis");
    if (std::find(axes.begin(), axes.end(), n) != axes.end())
      throw ShapeError(fmt::format("axis {} appears twice in axes {} for {}", n, list_string(given),
                                   to_string(t)));
    axes.push_back(n);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

std::vector<int> transpose_perm(const Attrs& attrs, const TensorType& x) {
  const std::vector<int64_t>& given = attrs.get_ints("perm");
  if (static_cast<int>(given.size()) != x.shape.rank())
    throw ShapeError(fmt::format("perm {} has {} entries, but {} has rank {}", list_string(given),
                                 given.size(), to_string(x), x.shape.rank()));
  std::vector<int> perm;
  for (int64_t a : given) {
    int p = normalize_axis(a, x, "perm entry");
    if (std::find(perm.begin(), perm.end(), p) != perm.end())
      throw ShapeError(fmt::format("perm {} is not a permutation of the axes of {}: axis {} "
                                   "appears twice",
                                   list_string(given), to_string(x), p));
    perm.push_back(p);
  }
  return perm;
}

SliceBounds slice_bounds(const Attrs& attrs, const TensorType& t) {
  int axis = normalize_axis(attrs.get_int("axis"), t);
  int64_t extent = t.shape[axis];
  if (extent == kBatch)
    throw ShapeError(fmt::format("cannot slice the batch axis {} of {}", axis, to_string(t)));
  // Python's x[start:end]: a negative bound counts from the end, then clamps.
  auto clamp = [extent](int64_t v) {
    if (v < 0) v += extent;
    return std::clamp<int64_t>(v, 0, extent);
  };
  int64_t start = attrs.get_int("start", 0), end = attrs.get_int("end", extent);
  SliceBounds b{axis, clamp(start), clamp(end)};
  if (b.end <= b.start)
    throw ShapeError(
        fmt::format("slice [{}:{}] of axis {} of {} is empty", start, end, axis, to_string(t)));
  return b;
}

AxisSplit split_at_axis(const std::vector<int64_t>& shape, int axis) {
  AxisSplit s{1, shape[size_t(axis)], 1};
  for (int i = 0; i < axis; ++i) s.outer *= shape[size_t(i)];
  for (size_t i = size_t(axis) + 1; i < shape.size(); ++i) s.inner *= shape[i];
  return s;
}

std::string list_string(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(v[i]);
  }
  return out + "]";
}

bool flag_attr(const Attrs& attrs, const std::string& name) {
  int64_t v = attrs.get_int(name, 0);
  if (v != 0 && v != 1)
    throw ShapeError(fmt::format("attribute '{}' must be 0 or 1, found {}", name, v));
  return v == 1;
}

ValueId element_count(GradBuilder& gb, const std::vector<int64_t>& dims) {
  int64_t fixed = 1;
  ValueId batch = kNoGrad; // the product of the batch extents, if any
  for (int64_t d : dims) {
    if (d != kBatch)
      fixed *= d;
    else
      batch = batch == kNoGrad ? gb.batch_size() : gb.mul(batch, gb.batch_size());
  }
  if (batch == kNoGrad) return gb.constant(static_cast<double>(fixed));
  return fixed == 1 ? batch : gb.mul(batch, gb.constant(static_cast<double>(fixed)));
}

ValueId reshape_to(GradBuilder& gb, ValueId v, const std::vector<int64_t>& dims) {
  if (gb.type(v).shape.dims == dims) return v;
  return gb.op(OpKind::Reshape, {v}, Attrs{{"shape", dims}});
}

std::vector<int64_t> kept_dims(const TensorType& t, const std::vector<int>& axes) {
  std::vector<int64_t> dims = t.shape.dims;
  for (int a : axes) dims[size_t(a)] = 1;
  return dims;
}

} // namespace netc
