// ONNX -> IR: ops that pick elements of a runtime tensor at positions known
// at import time: Gather, GatherElements and GatherND with constant indices,
// Slice's steps (select_along), Compress with a constant condition, Pad
// (constant, reflect and edge modes), Tile (a concat of copies) and
// DepthToSpace / SpaceToDepth (reshapes around a transpose). The IR's gather op looks up
// rows by runtime integer ids; here the positions are constants, so
//   - Gather along an axis is a concat of slices of that axis (one slice per
//     run of consecutive indices), reshaped to put the indices' shape there;
//   - Pad's reflect and edge modes are the same "take" of the axis' elements
//     in the reflected or repeated order; constant padding with v is
//     pad0(x) + v (1 - pad0(ones));
//   - GatherElements is a product with a constant one-hot mask summed over
//     the axis: out[..., k] = sum_v [idx[..., k] = v] x[..., v].
#include "frontend/onnx/import_context.h"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>

namespace netc::onnx_import {

int64_t normalize_axis(const NodeContext& c, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    c.unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return axis < 0 ? axis + rank : axis;
}

// Indices in [-extent, extent), negative ones counting from the end.
std::vector<int64_t> checked_indices(const NodeContext& c, const Folded& f, int64_t extent) {
  std::vector<int64_t> out;
  for (int64_t k : f.ints()) {
    if (k < -extent || k >= extent)
      c.unsupported(fmt::format("index {} is out of range for an axis of {}", k, extent));
    out.push_back(k < 0 ? k + extent : k);
  }
  return out;
}

std::vector<int64_t> index_tuple_positions(const NodeContext& c, const Folded& indices,
                                           const std::vector<int64_t>& dims) {
  if (indices.dims.empty()) c.unsupported("scalar indices");
  int64_t k = indices.dims.back(), rank = static_cast<int64_t>(dims.size());
  if (k < 1 || k > rank)
    c.unsupported(fmt::format("index tuples of {} for data of rank {}", k, rank));
  std::vector<int64_t> ints = indices.ints(), positions;
  for (size_t t = 0; t < ints.size(); t += size_t(k)) {
    int64_t p = 0;
    for (int64_t a = 0; a < k; ++a) {
      int64_t extent = dims[size_t(a)], i = ints[t + size_t(a)];
      if (i < -extent || i >= extent)
        c.unsupported(fmt::format("index {} is out of range for an axis of {}", i, extent));
      p = p * extent + (i < 0 ? i + extent : i);
    }
    positions.push_back(p);
  }
  return positions;
}

namespace {

// x's elements along `axis` in the order `idx` (each in 0..extent-1): the
// concatenation of one slice per run of consecutive indices.
ValueId take(NodeContext& c, ValueId x, int64_t axis, const std::vector<int64_t>& idx) {
  int64_t extent = c.type_of(x).shape[int(axis)];
  if (extent == kBatch) c.unsupported("selecting along the batch dimension");
  std::vector<ValueId> parts;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i + 1;
    while (j < idx.size() && idx[j] == idx[j - 1] + 1) ++j;
    int64_t start = idx[i], end = idx[j - 1] + 1;
    parts.push_back(
        start == 0 && end == extent
            ? x
            : c.op(OpKind::Slice, {x}, Attrs{{"axis", axis}, {"start", start}, {"end", end}}));
    i = j;
  }
  if (parts.empty()) c.unsupported("an empty selection (netc tensors have positive extents)");
  return parts.size() == 1 ? parts[0] : c.op(OpKind::Concat, parts, Attrs{{"axis", axis}});
}

// ---- Gather ---------------------------------------------------------------------

std::vector<int64_t> moved_last(int64_t rank, int64_t axis) {
  std::vector<int64_t> perm;
  for (int64_t a = 0; a < rank; ++a)
    if (a != axis) perm.push_back(a);
  perm.push_back(axis);
  return perm;
}

ValueId transposed(NodeContext& c, ValueId x, const std::vector<int64_t>& perm) {
  std::vector<int64_t> identity(perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  return perm == identity ? x : c.op(OpKind::Transpose, {x}, Attrs{{"perm", perm}});
}

// Many scattered indices: a slice per run would make a kernel of thousands
// of slices (6480 indices in test_nllloss_NCd1d2d3d4d5_mean_weight_expanded
// took 55 s to compile). Instead a matmul with the one-hot [V, n] matrix
// M[v, p] = [idx[p] = v], with the axis moved last:
//   y[..., p] = sum_v x[..., v] M[v, p]
// exact (one product by 1, the others by 0) unless x holds an infinity or a
// NaN elsewhere along the axis. Returns y with the indices' n last.
ValueId take_by_matmul(NodeContext& c, ValueId x, int64_t axis, const std::vector<int64_t>& idx) {
  std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size()), extent = dims[size_t(axis)];
  int64_t n = static_cast<int64_t>(idx.size());
  Folded m;
  m.dims = {extent, n};
  m.data.assign(size_t(extent * n), 0.0);
  for (int64_t p = 0; p < n; ++p) m.data[size_t(idx[size_t(p)] * n + p)] = 1.0;
  ValueId xt = transposed(c, x, moved_last(rank, axis));
  if (rank == 1) xt = c.reshape(xt, {1, extent});
  ValueId y = c.op(OpKind::MatMul, {xt, c.constant_leaf(".one_hot", std::move(m))});
  return rank == 1 ? c.reshape(y, {n}) : y;
}

// Runs of consecutive indices beyond which the one-hot matmul is used.
constexpr int kMaxSlices = 16;

int runs(const std::vector<int64_t>& idx) {
  int r = idx.empty() ? 0 : 1;
  for (size_t i = 1; i < idx.size(); ++i) r += idx[i] != idx[i - 1] + 1;
  return r;
}

// Runtime ids into the rows of a static table: the IR's gather op (an
// embedding lookup), x as [V, D] and the result [ids..., rest...].
ValueId gather_rows(NodeContext& c, ValueId x, ValueId ids) {
  std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t rest = 1;
  for (size_t a = 1; a < dims.size(); ++a) rest *= dims[a];
  if (std::count(dims.begin(), dims.end(), kBatch))
    c.unsupported("Gather with runtime indices from a tensor with a batch dimension (netc's "
                  "gather op reads a static table)");
  ValueId y = c.op(OpKind::Gather, {c.reshape(x, {dims[0], rest}), ids});
  std::vector<int64_t> out = c.type_of(ids).shape.dims;
  out.insert(out.end(), dims.begin() + 1, dims.end());
  return c.reshape(y, out);
}

} // namespace

// The slices, or for many runs the one-hot product, whose result has the
// indices last: [pre, post, n] -> [pre, n, post].
ValueId select_along(NodeContext& c, ValueId x, int64_t axis, const std::vector<int64_t>& idx) {
  if (runs(idx) <= kMaxSlices) return take(c, x, axis, idx);
  ValueId y = take_by_matmul(c, x, axis, idx);
  int64_t rank = c.type_of(x).shape.rank(), post = rank - axis - 1;
  if (post == 0) return y;
  std::vector<int64_t> perm;
  for (int64_t a = 0; a < axis; ++a) perm.push_back(a);
  perm.push_back(rank - 1);
  for (int64_t a = 0; a < post; ++a) perm.push_back(axis + a);
  return transposed(c, y, perm);
}

namespace {

// out = data[:axis] + indices.shape + data[axis+1:]
void map_gather(NodeContext& c) {
  ValueId x = c.tensor(0);
  const std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  if (rank == 0) c.unsupported("Gather from a scalar");
  int64_t axis = normalize_axis(c, c.attr_int("axis", 0), rank);
  if (!c.folded(1)) {
    if (axis != 0 || is_float(c.type(1).dtype) || c.type(1).shape.rank() == 0)
      c.unsupported("runtime indices are supported along axis 0 only, as integer ids of rank 1 "
                    "or more (netc's gather op: rows of a table; negative ids are not)");
    return c.set_output(0, gather_rows(c, x, c.tensor(1)));
  }
  const Folded& indices = c.constant(1, "the indices");
  if (dims[size_t(axis)] == kBatch) c.unsupported("gathering along the batch dimension");
  std::vector<int64_t> idx = checked_indices(c, indices, dims[size_t(axis)]);
  std::vector<int64_t> out(dims.begin(), dims.begin() + axis);
  out.insert(out.end(), indices.dims.begin(), indices.dims.end());
  out.insert(out.end(), dims.begin() + axis + 1, dims.end());
  c.set_output(0, c.reshape(select_along(c, x, axis, idx), out));
}

// ---- GatherElements ----------------------------------------------------------------

void map_gather_elements(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  if (!c.folded(1)) c.unsupported("the indices must be constants known at import time");
  const Folded& indices = c.constant(1, "the indices");
  if (static_cast<int64_t>(indices.dims.size()) != rank)
    c.unsupported(fmt::format("the indices have rank {}, the data {}", indices.dims.size(), rank));
  int64_t axis = normalize_axis(c, c.attr_int("axis", 0), rank);
  int64_t extent = dims[size_t(axis)];
  if (extent == kBatch) c.unsupported("gathering along the batch dimension");
  // The other axes: the indices may cover a leading part of the data.
  for (int64_t a = 0; a < rank; ++a) {
    if (a == axis || indices.dims[size_t(a)] == dims[size_t(a)]) continue;
    if (dims[size_t(a)] == kBatch || indices.dims[size_t(a)] > dims[size_t(a)])
      c.unsupported(fmt::format("axis {}: the indices' extent {} does not fit the data's {}", a,
                                indices.dims[size_t(a)], dims[size_t(a)]));
    x = c.op(OpKind::Slice, {x},
             Attrs{{"axis", a}, {"start", int64_t{0}}, {"end", indices.dims[size_t(a)]}});
  }
  std::vector<int64_t> idx = checked_indices(c, indices, extent);
  // The mask [..., K, V] with the axis last: mask[p, v] = [idx at p = v],
  // p walking the indices in the transposed (axis-last) order.
  std::vector<int64_t> perm = moved_last(rank, axis);
  std::vector<int64_t> idx_t_dims;
  for (int64_t a : perm) idx_t_dims.push_back(indices.dims[size_t(a)]);
  std::vector<int64_t> strides(size_t(rank), 1);
  for (int64_t a = rank - 1; a > 0; --a)
    strides[size_t(a - 1)] = strides[size_t(a)] * indices.dims[size_t(a)];
  Folded mask;
  mask.dims = idx_t_dims;
  mask.dims.push_back(extent);
  mask.data.assign(idx.size() * size_t(extent), 0.0);
  std::vector<int64_t> at(size_t(rank), 0); // a position in the transposed indices
  for (size_t p = 0; p < idx.size(); ++p) {
    int64_t src = 0;
    for (int64_t a = 0; a < rank; ++a) src += at[size_t(a)] * strides[size_t(perm[size_t(a)])];
    mask.data[p * size_t(extent) + size_t(idx[size_t(src)])] = 1.0;
    for (int64_t a = rank; a-- > 0;) {
      if (++at[size_t(a)] < idx_t_dims[size_t(a)]) break;
      at[size_t(a)] = 0;
    }
  }
  ValueId onehot = c.constant_leaf(".one_hot", std::move(mask));
  ValueId xt = transposed(c, x, perm); // [..., V]
  std::vector<int64_t> row = c.type_of(xt).shape.dims;
  row.insert(row.end() - 1, 1); // [..., 1, V]
  ValueId picked = c.op(OpKind::ReduceSum, {c.op(OpKind::Mul, {onehot, c.reshape(xt, row)})},
                        Attrs{{"axes", std::vector<int64_t>{rank}}, {"keepdims", int64_t{0}}});
  std::vector<int64_t> inverse(static_cast<size_t>(rank));
  for (int64_t a = 0; a < rank; ++a) inverse[size_t(perm[size_t(a)])] = a;
  c.set_output(0, transposed(c, picked, inverse));
}

// ---- GatherND ---------------------------------------------------------------------

// GatherND (batch_dims 0) with constant indices [..., k]: each index tuple
// names a slice of the data's trailing axes, so the data's first k axes are
// flattened into one and gathered by the tuples' flat positions.
void map_gather_nd(NodeContext& c) {
  if (c.attr_int("batch_dims", 0) != 0) c.unsupported("batch_dims other than 0");
  ValueId x = c.tensor(0);
  const std::vector<int64_t> dims = c.type_of(x).shape.dims;
  if (!c.folded(1)) c.unsupported("the indices must be constants known at import time");
  const Folded& indices = c.constant(1, "the indices");
  std::vector<int64_t> positions = index_tuple_positions(c, indices, dims);
  int64_t k = indices.dims.back(), flat = 1;
  for (int64_t a = 0; a < k; ++a) {
    if (dims[size_t(a)] == kBatch) c.unsupported("gathering along the batch dimension");
    flat *= dims[size_t(a)];
  }
  std::vector<int64_t> rest(dims.begin() + k, dims.end()), flat_dims{flat};
  flat_dims.insert(flat_dims.end(), rest.begin(), rest.end());
  std::vector<int64_t> out(indices.dims.begin(), indices.dims.end() - 1);
  out.insert(out.end(), rest.begin(), rest.end());
  c.set_output(0, c.reshape(select_along(c, c.reshape(x, flat_dims), 0, positions), out));
}

// ---- Compress ----------------------------------------------------------------------

// Compress(x, condition) with a constant condition: the elements along the
// axis (of the flattened x without one) whose condition is true; a condition
// shorter than the axis drops the rest. The conformance runner binds the
// condition as a constant (the mapping's constant_inputs).
void map_compress(NodeContext& c) {
  ValueId x = c.tensor(0);
  if (!c.folded(1)) c.unsupported("the condition must be a constant known at import time");
  const Folded& cond = c.constant(1, "the condition");
  int64_t axis = 0;
  if (c.has_attr("axis")) {
    axis = normalize_axis(c, c.attr_int("axis", 0), c.type_of(x).shape.rank());
  } else {
    const std::vector<int64_t> dims = c.type_of(x).shape.dims;
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d == kBatch) c.unsupported("flattening a tensor with a batch dimension");
      n *= d;
    }
    x = c.reshape(x, {n});
  }
  int64_t extent = c.type_of(x).shape[int(axis)];
  if (extent == kBatch) c.unsupported("compressing the batch dimension");
  if (cond.elements() > extent)
    c.unsupported(fmt::format("a condition of {} for an axis of {}", cond.elements(), extent));
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < cond.elements(); ++i)
    if (cond.data[size_t(i)] != 0) idx.push_back(i);
  if (idx.empty()) c.unsupported("an empty result (netc tensors have positive extents)");
  c.set_output(0, select_along(c, x, axis, idx));
}

// ---- Pad ------------------------------------------------------------------------

// pads [b_0..b_{r-1}, e_0..e_{r-1}] (an attribute before opset 11, a constant
// input from 11); negative pads crop (constant mode). reflect mirrors without
// repeating the edge, edge repeats it.
void map_pad(NodeContext& c) {
  ValueId x = c.tensor(0);
  const TensorType xt = c.type_of(x);
  int64_t rank = xt.shape.rank();
  std::string mode = c.attr_str("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    c.unsupported(fmt::format("mode '{}' is not constant, reflect or edge", mode));
  std::vector<int64_t> pads;
  double value = 0;
  if (c.opset() < 11) {
    pads = c.opset() < 2 ? c.attr_ints("paddings") : c.attr_ints("pads");
    value = c.attr_float("value", 0);
  } else {
    pads = c.constant(1, "the pads").ints();
    if (c.has_input(2)) value = c.scalar(2, "the constant value");
    if (c.has_input(3)) c.unsupported("the axes input");
  }
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    c.unsupported(fmt::format("pads has {} values for rank {}", pads.size(), rank));
  ValueId ones = 0; // padded like x, for a nonzero constant
  bool fill = mode == "constant" && value != 0;
  if (fill)
    ones = c.op(OpKind::Broadcast, {c.scalar(1.0, xt.dtype)}, Attrs{{"shape", xt.shape.dims}});
  for (int64_t a = 0; a < rank; ++a) {
    int64_t before = pads[size_t(a)], after = pads[size_t(a + rank)];
    if (before == 0 && after == 0) continue;
    int64_t extent = c.type_of(x).shape[int(a)];
    if (extent == kBatch) c.unsupported("padding the batch dimension");
    if (mode != "constant") {
      if (before < 0 || after < 0) c.unsupported(fmt::format("negative pads in {} mode", mode));
      bool reflect = mode == "reflect";
      if (reflect && (before >= extent || after >= extent))
        c.unsupported(
            fmt::format("reflect pads [{}, {}] reach past an axis of {}", before, after, extent));
      std::vector<int64_t> idx;
      for (int64_t i = before; i > 0; --i) idx.push_back(reflect ? i : 0);
      for (int64_t i = 0; i < extent; ++i) idx.push_back(i);
      for (int64_t i = 1; i <= after; ++i) idx.push_back(reflect ? extent - 1 - i : extent - 1);
      x = select_along(c, x, a, idx);
      continue;
    }
    auto crop_and_pad = [&](ValueId v) {
      if (before < 0 || after < 0) {
        int64_t start = std::max<int64_t>(0, -before), end = extent - std::max<int64_t>(0, -after);
        if (end <= start) c.unsupported("negative pads crop the whole axis");
        v = c.op(OpKind::Slice, {v}, Attrs{{"axis", a}, {"start", start}, {"end", end}});
      }
      if (before > 0 || after > 0)
        v = c.op(OpKind::Pad, {v},
                 Attrs{{"axis", a},
                       {"before", std::max<int64_t>(0, before)},
                       {"after", std::max<int64_t>(0, after)}});
      return v;
    };
    x = crop_and_pad(x);
    if (fill) ones = crop_and_pad(ones);
  }
  if (fill) {
    ValueId outside = c.op(OpKind::Sub, {c.scalar(1.0, xt.dtype), ones});
    x = c.op(OpKind::Add, {x, c.op(OpKind::Mul, {outside, c.scalar(value, xt.dtype)})});
  }
  c.set_output(0, x);
}

// ---- Tile --------------------------------------------------------------------------

// Tile(x, repeats): along each axis, r copies of x concatenated.
void map_tile(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> repeats = c.constant(1, "the repeats").ints();
  int64_t rank = c.type_of(x).shape.rank();
  if (static_cast<int64_t>(repeats.size()) != rank)
    c.unsupported(fmt::format("{} repeats for rank {}", repeats.size(), rank));
  for (int64_t a = 0; a < rank; ++a) {
    int64_t r = repeats[size_t(a)];
    if (r < 1) c.unsupported(fmt::format("repeats {} (netc tensors have positive extents)", r));
    if (r == 1) continue;
    if (c.type_of(x).shape[int(a)] == kBatch) c.unsupported("tiling the batch dimension");
    x = c.op(OpKind::Concat, std::vector<ValueId>(size_t(r), x), Attrs{{"axis", a}});
  }
  c.set_output(0, x);
}

// ---- DepthToSpace, SpaceToDepth ------------------------------------------------------

// Blocks of b x b pixels to channels and back: a reshape to 6-D, a transpose
// and a reshape, the permutations of ONNX's definitions (DCR: the depth is
// [b, b, C'], CRD: [C', b, b]).
void map_space_depth(NodeContext& c, bool to_space) {
  ValueId x = c.tensor(0);
  const Shape s = c.type_of(x).shape;
  if (s.rank() != 4)
    c.unsupported(fmt::format("the input {} is not NCHW", to_string(c.type_of(x))));
  int64_t b = c.attr_int("blocksize", 0), n = s[0], ch = s[1], h = s[2], w = s[3];
  if (b < 1) c.unsupported(fmt::format("blocksize {}", b));
  std::vector<int64_t> six, perm, out;
  if (to_space) {
    if (ch % (b * b) != 0) c.unsupported(fmt::format("{} channels for blocksize {}", ch, b));
    bool crd = c.attr_str("mode", "DCR") == "CRD";
    six = crd ? std::vector<int64_t>{n, ch / (b * b), b, b, h, w}
              : std::vector<int64_t>{n, b, b, ch / (b * b), h, w};
    perm = crd ? std::vector<int64_t>{0, 1, 4, 2, 5, 3} : std::vector<int64_t>{0, 3, 4, 1, 5, 2};
    out = {n, ch / (b * b), h * b, w * b};
  } else {
    if (h % b != 0 || w % b != 0)
      c.unsupported(fmt::format("{}x{} pixels for blocksize {}", h, w, b));
    six = {n, ch, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
    out = {n, ch * b * b, h / b, w / b};
  }
  ValueId y = c.op(OpKind::Transpose, {c.reshape(x, six)}, Attrs{{"perm", perm}});
  c.set_output(0, c.reshape(y, out));
}

void map_depth_to_space(NodeContext& c) { map_space_depth(c, true); }
void map_space_to_depth(NodeContext& c) { map_space_depth(c, false); }

const OpMapping kSelectMappings[] = {
    {"GatherElements", {"axis"}, map_gather_elements},
    {"GatherND", {"batch_dims"}, map_gather_nd},
    {"Compress", {"axis"}, map_compress, nullptr, {1}},
    {"Pad", {"mode", "pads", "paddings", "value"}, map_pad},
    {"Tile", {}, map_tile},
    {"DepthToSpace", {"blocksize", "mode"}, map_depth_to_space},
    {"SpaceToDepth", {"blocksize"}, map_space_to_depth},
};

} // namespace

// Gather of a runtime tensor (shape vectors fold in onnx_ops_shape.cpp).
void map_gather_runtime(NodeContext& c) { map_gather(c); }

std::span<const OpMapping> select_mappings() { return kSelectMappings; }

} // namespace netc::onnx_import
