// ONNX -> IR: data movement, and the constant folding of the shape
// arithmetic around it. PyTorch exports x.flatten(1) as
//   Shape(x) -> Gather(0) -> Unsqueeze -> Concat(.., [-1]) -> Reshape(x, ..)
// Every step but the last folds here, the batch extent riding along as
// kFoldedBatch, so Reshape sees a constant target with a batch entry.
#include "frontend/onnx/import_context.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace netc::onnx_import {

namespace {

// The dims of an input as a folded shape vector would hold them.
std::vector<int64_t> dims_of(NodeContext& c, int i) {
  if (const Folded* f = c.folded(i)) return f->dims;
  return c.type(i).shape.dims;
}

int64_t normalize(NodeContext& c, int64_t axis, int64_t rank, std::string_view what) {
  if (axis < -rank || axis >= rank)
    c.unsupported(fmt::format("{} {} is out of range for rank {}", what, axis, rank));
  return axis < 0 ? axis + rank : axis;
}

// Axes given as an attribute before `input_from` and as an optional
// constant input from that opset on.
std::vector<int64_t> axes_of(NodeContext& c, int64_t input_from, int input) {
  if (c.opset() >= input_from)
    return c.has_input(input) ? c.constant(input, "the axes").ints() : std::vector<int64_t>{};
  return c.attr_ints("axes");
}

Folded reshaped(Folded f, std::vector<int64_t> dims) {
  f.dims = std::move(dims);
  return f;
}

// ---- Identity, Constant, Shape, Size, Cast -----------------------------------------

void map_identity(NodeContext& c) { c.set_output(0, c.tensor(0)); }
void fold_identity(NodeContext& c) { c.set_output(0, c.constant(0, "an input")); }

void fold_constant(NodeContext& c) {
  if (c.has_attr("value")) return c.set_output(0, c.attr_tensor("value"));
  Folded f;
  if (c.has_attr("value_float")) {
    f.data = {c.attr_float("value_float", 0)};
  } else if (c.has_attr("value_floats")) {
    f.data = c.attr_floats("value_floats");
    f.dims = {static_cast<int64_t>(f.data.size())};
  } else if (c.has_attr("value_int")) {
    f = folded_ints({c.attr_int("value_int", 0)}, {});
  } else if (c.has_attr("value_ints")) {
    std::vector<int64_t> v = c.attr_ints("value_ints");
    f = folded_ints(v, {static_cast<int64_t>(v.size())});
  } else {
    c.unsupported("a Constant without a value, value_float(s) or value_int(s) attribute");
  }
  c.set_output(0, f);
}

// Shape(x) of a static shape; the batch dimension folds to kFoldedBatch.
// Opset 15's start and end slice the result.
void map_shape(NodeContext& c) {
  std::vector<int64_t> dims = dims_of(c, 0);
  int64_t rank = static_cast<int64_t>(dims.size());
  auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = clamp(c.attr_int("start", 0)), end = clamp(c.attr_int("end", rank));
  Folded f = folded_ints({}, {std::max<int64_t>(0, end - start)});
  for (int64_t i = start; i < end; ++i)
    f.data.push_back(dims[size_t(i)] == kBatch ? kFoldedBatch : double(dims[size_t(i)]));
  c.set_output(0, f);
}

void map_size(NodeContext& c) {
  std::vector<int64_t> dims = dims_of(c, 0);
  if (std::count(dims.begin(), dims.end(), kBatch))
    c.unsupported("Size of a tensor with a batch dimension depends on the batch extent");
  c.set_output(
      0, folded_ints({std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<>())},
                     {}));
}

void map_cast(NodeContext& c) {
  std::optional<DType> to = ir_dtype(static_cast<int32_t>(c.attr_int("to", 0)));
  if (!to || c.type(0).dtype != *to)
    c.unsupported("Cast of a runtime tensor to another dtype is not supported");
  c.set_output(0, c.tensor(0));
}

void fold_cast(NodeContext& c) {
  std::optional<DType> to = ir_dtype(static_cast<int32_t>(c.attr_int("to", 0)));
  if (!to) c.unsupported("Cast to an element type netc has no dtype for");
  Folded f = c.constant(0, "an input");
  if (!is_float(*to) && f.has_batch() == false)
    for (double& v : f.data) v = std::trunc(v);
  f.dtype = *to;
  c.set_output(0, f);
}

// ---- Gather of constants (of runtime tensors: onnx_ops_select.cpp) ---------------------

void map_gather(NodeContext& c) {
  if (!c.folded(0) || !c.folded(1)) return map_gather_runtime(c); // onnx_ops_select.cpp
  const Folded& data = c.constant(0, "an input");
  const Folded& idx = c.constant(1, "the indices");
  int64_t rank = static_cast<int64_t>(data.dims.size());
  if (rank == 0) c.unsupported("Gather from a scalar");
  int64_t axis = normalize(c, c.attr_int("axis", 0), rank, "axis");
  int64_t outer = 1, inner = 1, extent = data.dims[size_t(axis)];
  for (int64_t i = 0; i < axis; ++i) outer *= data.dims[size_t(i)];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= data.dims[size_t(i)];
  Folded out;
  out.dtype = data.dtype;
  out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
  out.dims.insert(out.dims.end(), idx.dims.begin(), idx.dims.end());
  out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1, data.dims.end());
  for (int64_t o = 0; o < outer; ++o)
    for (double iv : idx.data) {
      int64_t k = static_cast<int64_t>(iv);
      if (k < 0) k += extent;
      if (k < 0 || k >= extent) c.unsupported(fmt::format("index {} is out of range", iv));
      for (int64_t i = 0; i < inner; ++i)
        out.data.push_back(data.data[size_t((o * extent + k) * inner + i)]);
    }
  c.set_output(0, out);
}

// ---- Unsqueeze, Squeeze, Reshape, Flatten ------------------------------------------------

// Axes are positions in the output; the new unit axes go there.
std::vector<int64_t> unsqueezed(NodeContext& c, const std::vector<int64_t>& dims) {
  std::vector<int64_t> axes = axes_of(c, 13, 1);
  int64_t rank = static_cast<int64_t>(dims.size() + axes.size());
  for (int64_t& a : axes) a = normalize(c, a, rank, "axis");
  std::vector<int64_t> out;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i)
    out.push_back(std::count(axes.begin(), axes.end(), i) ? 1 : dims.at(next++));
  return out;
}

void map_unsqueeze(NodeContext& c) {
  ValueId x = c.tensor(0);
  c.set_output(0, c.reshape(x, unsqueezed(c, c.type_of(x).shape.dims)));
}
void fold_unsqueeze(NodeContext& c) {
  const Folded& f = c.constant(0, "an input");
  c.set_output(0, reshaped(f, unsqueezed(c, f.dims)));
}

std::vector<int64_t> squeezed(NodeContext& c, const std::vector<int64_t>& dims) {
  std::vector<int64_t> axes = axes_of(c, 13, 1);
  int64_t rank = static_cast<int64_t>(dims.size());
  for (int64_t& a : axes) {
    a = normalize(c, a, rank, "axis");
    if (dims[size_t(a)] != 1)
      c.unsupported(fmt::format("axis {} has extent {}, not 1", a, dims[size_t(a)]));
  }
  std::vector<int64_t> out;
  for (int64_t i = 0; i < rank; ++i) {
    bool drop = axes.empty() ? dims[size_t(i)] == 1 : std::count(axes.begin(), axes.end(), i) > 0;
    if (!drop) out.push_back(dims[size_t(i)]);
  }
  return out;
}

void map_squeeze(NodeContext& c) {
  ValueId x = c.tensor(0);
  c.set_output(0, c.reshape(x, squeezed(c, c.type_of(x).shape.dims)));
}
void fold_squeeze(NodeContext& c) {
  const Folded& f = c.constant(0, "an input");
  c.set_output(0, reshaped(f, squeezed(c, f.dims)));
}

// The target of Reshape: kFoldedBatch entries are the batch dimension, 0
// copies the input's extent (unless allowzero), -1 takes what is left. A
// model exported at a fixed batch names it as a number: when the input has a
// batch dimension and the target none, the target's first entry is the batch.
std::vector<int64_t> reshape_target(NodeContext& c, const std::vector<int64_t>& in,
                                    const Folded& shape) {
  std::vector<int64_t> out;
  int infer = -1;
  bool allow_zero = c.attr_int("allowzero", 0) != 0;
  for (size_t i = 0; i < shape.data.size(); ++i) {
    double v = shape.data[i];
    if (v == kFoldedBatch) {
      out.push_back(kBatch);
    } else if (v == 0 && !allow_zero) {
      if (i >= in.size()) c.unsupported("a 0 in the shape past the input's rank");
      out.push_back(in[i]);
    } else if (v == -1) {
      if (infer >= 0) c.unsupported("the shape has two -1 entries");
      infer = static_cast<int>(i);
      out.push_back(1);
    } else if (v <= 0) {
      c.unsupported(fmt::format("the shape has the entry {}", v));
    } else {
      out.push_back(folded_int(v));
    }
  }
  bool in_batch = std::count(in.begin(), in.end(), kBatch) > 0;
  if (in_batch && !std::count(out.begin(), out.end(), kBatch) && !out.empty() && infer != 0)
    out[0] = kBatch;
  if (infer >= 0) {
    int64_t have = 1, known = 1;
    for (int64_t d : in)
      if (d != kBatch) have *= d;
    for (int64_t d : out)
      if (d != kBatch) known *= d;
    if (known == 0 || have % known != 0)
      c.unsupported(fmt::format("cannot infer the -1 entry of shape [{}] from [{}]",
                                fmt::join(shape.ints(), ","), fmt::join(in, ",")));
    out[size_t(infer)] = have / known;
  }
  return out;
}

void map_reshape(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> dims = c.type_of(x).shape.dims;
  c.set_output(0, c.reshape(x, reshape_target(c, dims, c.constant(1, "the shape"))));
}
void fold_reshape(NodeContext& c) {
  const Folded& f = c.constant(0, "an input");
  c.set_output(0, reshaped(f, reshape_target(c, f.dims, c.constant(1, "an input"))));
}

// Flatten(axis): [prod(dims[:axis]), prod(dims[axis:])].
void map_flatten(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  int64_t axis = c.attr_int("axis", 1);
  if (axis < -rank || axis > rank) c.unsupported(fmt::format("axis {} is out of range", axis));
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t d = dims[size_t(i)];
    if (d == kBatch) {
      if (i != 0 || axis == 0) c.unsupported("flattening would merge the batch dimension");
      outer = kBatch;
    } else if (i < axis) {
      if (outer == kBatch && d != 1) c.unsupported("flattening would merge the batch dimension");
      if (outer != kBatch) outer *= d;
    } else {
      inner *= d;
    }
  }
  c.set_output(0, c.reshape(x, {outer, inner}));
}

// ---- Transpose, Concat, Slice, Split ------------------------------------------------------

void map_transpose(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> perm = c.attr_ints("perm");
  if (perm.empty())
    for (int64_t i = c.type_of(x).shape.rank(); i-- > 0;) perm.push_back(i);
  std::vector<int64_t> identity(perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  c.set_output(0, perm == identity ? x : c.op(OpKind::Transpose, {x}, Attrs{{"perm", perm}}));
}

void map_concat(NodeContext& c) {
  std::vector<ValueId> in;
  for (int i = 0; i < c.num_inputs(); ++i)
    if (c.has_input(i)) in.push_back(c.tensor(i));
  // Before opset 4 the axis defaulted to 1; it is required since.
  int64_t axis = c.attr_int("axis", c.opset() < 4 ? 1 : 0);
  c.set_output(0, in.size() == 1 ? in[0] : c.op(OpKind::Concat, in, Attrs{{"axis", axis}}));
}

// Concatenation of constants, for shape vectors (any rank, along `axis`).
void fold_concat(NodeContext& c) {
  const Folded& first = c.constant(0, "an input");
  int64_t rank = static_cast<int64_t>(first.dims.size());
  int64_t axis = normalize(c, c.attr_int("axis", 0), rank, "axis");
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= first.dims[size_t(i)];
  Folded out = first;
  out.data.clear();
  out.dims[size_t(axis)] = 0;
  for (int i = 0; i < c.num_inputs(); ++i) {
    const Folded& f = c.constant(i, "an input");
    if (f.dims.size() != first.dims.size())
      c.unsupported(fmt::format("input {} has rank {}, input 0 rank {}", i, f.dims.size(),
                                first.dims.size()));
    out.dims[size_t(axis)] += f.dims[size_t(axis)];
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int i = 0; i < c.num_inputs(); ++i) {
      const Folded& f = c.constant(i, "an input");
      int64_t chunk = f.elements() / std::max<int64_t>(outer, 1);
      out.data.insert(out.data.end(), f.data.begin() + o * chunk, f.data.begin() + (o + 1) * chunk);
    }
  c.set_output(0, out);
}

struct SliceSpec {
  std::vector<int64_t> starts, ends, axes, steps;
};

SliceSpec slice_spec(NodeContext& c, int64_t rank) {
  SliceSpec s;
  if (c.opset() < 10) {
    s.starts = c.attr_ints("starts");
    s.ends = c.attr_ints("ends");
    s.axes = c.attr_ints("axes");
  } else {
    s.starts = c.constant(1, "the starts").ints();
    s.ends = c.constant(2, "the ends").ints();
    if (c.has_input(3)) s.axes = c.constant(3, "the axes").ints();
    if (c.has_input(4)) s.steps = c.constant(4, "the steps").ints();
  }
  if (s.axes.empty())
    for (size_t i = 0; i < s.starts.size(); ++i) s.axes.push_back(static_cast<int64_t>(i));
  if (s.steps.empty()) s.steps.assign(s.starts.size(), 1);
  if (s.ends.size() != s.starts.size() || s.axes.size() != s.starts.size() ||
      s.steps.size() != s.starts.size())
    c.unsupported("starts, ends, axes and steps differ in length");
  for (int64_t& a : s.axes) a = normalize(c, a, rank, "axis");
  return s;
}

// ONNX's clamping of a slice bound: negative counts from the end, then
// [0, extent] (for step > 0).
int64_t clamp_bound(int64_t v, int64_t extent) {
  if (v < 0) v += extent;
  return std::clamp<int64_t>(v, 0, extent);
}

void map_slice(NodeContext& c) {
  ValueId x = c.tensor(0);
  SliceSpec s = slice_spec(c, c.type_of(x).shape.rank());
  for (size_t i = 0; i < s.axes.size(); ++i) {
    int64_t extent = c.type_of(x).shape[int(s.axes[i])];
    if (extent == kBatch) c.unsupported("slicing the batch dimension");
    if (int64_t step = s.steps[i]; step != 1) {
      // Other steps pick the elements start, start + step, ... before end,
      // with ONNX's clamping: both bounds to [0, n] going up; going down the
      // start to [0, n-1] and the end to [-1, n-1].
      if (step == 0) c.unsupported("step 0");
      int64_t start = s.starts[i] < 0 ? s.starts[i] + extent : s.starts[i];
      int64_t end = s.ends[i] < 0 ? s.ends[i] + extent : s.ends[i];
      int64_t hi = step > 0 ? extent : extent - 1;
      start = std::clamp<int64_t>(start, 0, hi);
      end = std::clamp<int64_t>(end, step > 0 ? 0 : -1, hi);
      std::vector<int64_t> idx;
      for (int64_t k = start; step > 0 ? k < end : k > end; k += step) idx.push_back(k);
      if (idx.empty()) c.unsupported("an empty slice (netc tensors have positive extents)");
      x = select_along(c, x, s.axes[i], idx); // onnx_ops_select.cpp
      continue;
    }
    int64_t start = clamp_bound(s.starts[i], extent), end = clamp_bound(s.ends[i], extent);
    if (end <= start) c.unsupported("an empty slice (netc tensors have positive extents)");
    if (start == 0 && end == extent) continue;
    x = c.op(OpKind::Slice, {x}, Attrs{{"axis", s.axes[i]}, {"start", start}, {"end", end}});
  }
  c.set_output(0, x);
}

// Slices of a 1-D constant (shape vectors), any step.
void fold_slice(NodeContext& c) {
  const Folded& f = c.constant(0, "an input");
  if (f.dims.size() != 1) return map_slice(c);
  SliceSpec s = slice_spec(c, 1);
  Folded out = f;
  if (!s.axes.empty()) {
    int64_t n = f.dims[0], step = s.steps[0];
    if (step == 0) c.unsupported("step 0");
    int64_t start = s.starts[0], end = s.ends[0];
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = step > 0 ? std::clamp<int64_t>(start, 0, n) : std::clamp<int64_t>(start, -1, n - 1);
    end = step > 0 ? std::clamp<int64_t>(end, 0, n) : std::clamp<int64_t>(end, -1, n - 1);
    out.data.clear();
    for (int64_t i = start; step > 0 ? i < end : i > end; i += step)
      out.data.push_back(f.data[size_t(i)]);
    out.dims = {static_cast<int64_t>(out.data.size())};
  }
  c.set_output(0, out);
}

// Split along an axis into the given sizes (an attribute before opset 13,
// an input from 13), or into equal parts, one per output.
void map_split(NodeContext& c) {
  ValueId x = c.tensor(0);
  const Shape s = c.type_of(x).shape;
  int64_t axis = normalize(c, c.attr_int("axis", 0), s.rank(), "axis");
  int64_t extent = s[int(axis)];
  if (extent == kBatch) c.unsupported("splitting the batch dimension");
  std::vector<int64_t> sizes = c.opset() >= 13 ? (c.has_input(1) ? c.constant(1, "the split").ints()
                                                                 : std::vector<int64_t>{})
                                               : c.attr_ints("split");
  int n = c.num_outputs();
  if (sizes.empty()) {
    if (extent % n != 0)
      c.unsupported(fmt::format("{} does not split into {} equal parts", extent, n));
    sizes.assign(size_t(n), extent / n);
  }
  if (static_cast<int>(sizes.size()) != n)
    c.unsupported("the split sizes and the outputs differ in number");
  int64_t start = 0;
  for (int i = 0; i < n; ++i) {
    int64_t end = start + sizes[size_t(i)];
    if (sizes[size_t(i)] <= 0 || end > extent) c.unsupported("split sizes out of range");
    c.set_output(
        i, end - start == extent
               ? x
               : c.op(OpKind::Slice, {x}, Attrs{{"axis", axis}, {"start", start}, {"end", end}}));
    start = end;
  }
}

// ---- Expand, ConstantOfShape (Pad: onnx_ops_select.cpp) ------------------------------

// Expand: numpy broadcasting of x and the given shape, both ways.
void map_expand(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> in = c.type_of(x).shape.dims;
  std::vector<int64_t> shape;
  for (double v : c.constant(1, "the shape").data)
    shape.push_back(v == kFoldedBatch ? kBatch : int64_t(v));
  size_t rank = std::max(in.size(), shape.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < rank - in.size() ? 1 : in[i - (rank - in.size())];
    int64_t b = i < rank - shape.size() ? 1 : shape[i - (rank - shape.size())];
    if (a != b && a != 1 && b != 1) c.unsupported("the shape does not broadcast with the input");
    out[i] = a == 1 ? b : a;
  }
  c.set_output(0, out == in ? x : c.op(OpKind::Broadcast, {x}, Attrs{{"shape", out}}));
}

void map_constant_of_shape(NodeContext& c) {
  const Folded& shape = c.constant(0, "the shape");
  double value = 0;
  DType dtype = DType::f32;
  if (c.has_attr("value")) {
    Folded v = c.attr_tensor("value");
    if (v.elements() != 1) c.unsupported("value must hold one element");
    value = v.data[0];
    dtype = v.dtype;
  }
  std::vector<int64_t> dims;
  for (double d : shape.data) dims.push_back(d == kFoldedBatch ? kBatch : int64_t(d));
  if (!shape.has_batch()) {
    Folded f;
    f.dtype = dtype;
    f.dims = dims;
    f.data.assign(
        size_t(std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<>())), value);
    return c.set_output(0, f);
  }
  c.set_output(0, c.op(OpKind::Broadcast, {c.scalar(value, dtype)}, Attrs{{"shape", dims}}));
}

// EyeLike: ones on the k-th diagonal of a 2-D tensor of x's shape, in the
// dtype attribute's type (x's by default): a constant, whatever x holds.
void map_eye_like(NodeContext& c) {
  std::vector<int64_t> dims = dims_of(c, 0);
  if (dims.size() != 2 || dims[0] == kBatch)
    c.unsupported("EyeLike of a tensor that is not a static matrix");
  std::optional<DType> dtype =
      c.has_attr("dtype")
          ? ir_dtype(static_cast<int32_t>(c.attr_int("dtype", 0)))
          : std::optional<DType>(c.folded(0) ? c.folded(0)->dtype : c.type(0).dtype);
  if (!dtype) c.unsupported("a dtype netc has no type for");
  int64_t k = c.attr_int("k", 0);
  Folded f;
  f.dtype = *dtype;
  f.dims = dims;
  for (int64_t i = 0; i < dims[0]; ++i)
    for (int64_t j = 0; j < dims[1]; ++j) f.data.push_back(j - i == k ? 1.0 : 0.0);
  c.set_output(0, f);
}

// Range(start, limit, delta) of constants: ceil((limit - start) / delta)
// elements start + i delta.
void fold_range(NodeContext& c) {
  double start = c.scalar(0, "start"), limit = c.scalar(1, "limit"), delta = c.scalar(2, "delta");
  if (delta == 0) c.unsupported("delta 0");
  double count = std::ceil((limit - start) / delta);
  if (!(count >= 1 && count <= 1e7))
    c.unsupported(fmt::format("{} elements (netc tensors have 1 or more)", count));
  Folded f;
  f.dtype = c.constant(0, "start").dtype;
  f.dims = {static_cast<int64_t>(count)};
  for (int64_t i = 0; i < f.dims[0]; ++i) f.data.push_back(start + double(i) * delta);
  c.set_output(0, f);
}

const OpMapping kShapeMappings[] = {
    {"Identity", {}, map_identity, fold_identity},
    {"Constant",
     {"value", "value_float", "value_floats", "value_int", "value_ints"},
     fold_constant,
     fold_constant},
    {"Shape", {"start", "end"}, map_shape, map_shape},
    {"Size", {}, map_size, map_size},
    {"Cast", {"to"}, map_cast, fold_cast},
    {"Gather", {"axis"}, map_gather, map_gather},
    {"Unsqueeze", {"axes"}, map_unsqueeze, fold_unsqueeze},
    {"Squeeze", {"axes"}, map_squeeze, fold_squeeze},
    {"Reshape", {"allowzero"}, map_reshape, fold_reshape},
    {"Flatten", {"axis"}, map_flatten},
    {"Transpose", {"perm"}, map_transpose},
    {"Concat", {"axis"}, map_concat, fold_concat},
    {"Slice", {"starts", "ends", "axes"}, map_slice, fold_slice},
    {"Split", {"axis", "split"}, map_split},
    {"Expand", {}, map_expand},
    {"ConstantOfShape", {"value"}, map_constant_of_shape, map_constant_of_shape},
    {"EyeLike", {"dtype", "k"}, map_eye_like, map_eye_like},
    {"Range", {}, fold_range, fold_range},
};

} // namespace

std::span<const OpMapping> shape_mappings() { return kShapeMappings; }

} // namespace netc::onnx_import
