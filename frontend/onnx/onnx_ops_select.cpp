// ONNX -> IR: ops that pick elements of a runtime tensor at positions known
// at import time: Gather, GatherElements and GatherND with constant indices,
// ScatterElements, ScatterND and MaxUnpool with constant indices, OneHot,
// ReverseSequence with constant lengths, Pad
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

namespace {

int64_t normalize_axis(const NodeContext& c, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    c.unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return axis < 0 ? axis + rank : axis;
}

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

// ---- Gather ---------------------------------------------------------------------

// A constant folded tensor made a frozen param leaf, under a name derived
// from the node's output.
ValueId constant_leaf(NodeContext& c, const std::string& suffix, Folded f) {
  std::string name = c.node().output(0) + suffix;
  OnnxValue v;
  v.folded = std::move(f);
  c.importer().define(name, v);
  return c.importer().materialize(name, OpKind::Param);
}

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
  ValueId y = c.op(OpKind::MatMul, {xt, constant_leaf(c, ".one_hot", std::move(m))});
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
  ValueId onehot = constant_leaf(c, ".one_hot", std::move(mask));
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
  if (indices.dims.empty()) c.unsupported("scalar indices");
  int64_t k = indices.dims.back(), rank = static_cast<int64_t>(dims.size());
  if (k < 1 || k > rank)
    c.unsupported(fmt::format("index tuples of {} for data of rank {}", k, rank));
  int64_t flat = 1;
  for (int64_t a = 0; a < k; ++a) {
    if (dims[size_t(a)] == kBatch) c.unsupported("gathering along the batch dimension");
    flat *= dims[size_t(a)];
  }
  std::vector<int64_t> rest(dims.begin() + k, dims.end()), flat_dims{flat};
  flat_dims.insert(flat_dims.end(), rest.begin(), rest.end());
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
  std::vector<int64_t> out(indices.dims.begin(), indices.dims.end() - 1);
  out.insert(out.end(), rest.begin(), rest.end());
  c.set_output(0, c.reshape(select_along(c, c.reshape(x, flat_dims), 0, positions), out));
}

// ---- ScatterElements, Scatter, ScatterND -----------------------------------------------

// The flat position in the data of each update element, from constant
// indices. Writes go to positions known at import time, so with the data
// and the updates flattened to rows [1, N] and [1, U]:
//   written(S) = updates S        S [U, N] one-hot: S[u, p] = [update u lands on p]
//   none: y = data (1 - m) + written(S_last)   (m: the positions written; the last
//                                               write of a repeated position wins)
//   add:  y = data + written(S_all)
//   mul:  y = data prod_L (1 - m_L + written(S_L)), layer L holding the L-th
//         write of each position
void scatter_flat(NodeContext& c, const std::vector<int64_t>& target) {
  ValueId data = c.tensor(0), updates = c.tensor(2);
  const std::vector<int64_t> dims = c.type_of(data).shape.dims;
  DType t = c.type_of(data).dtype;
  int64_t n = 1, u = static_cast<int64_t>(target.size());
  for (int64_t d : dims) {
    if (d == kBatch) c.unsupported("scattering into a tensor with a batch dimension");
    n *= d;
  }
  std::string reduction = c.attr_str("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul")
    c.unsupported(fmt::format("reduction '{}' is not none, add or mul", reduction));
  // layer[i]: how many earlier writes went to the same position.
  std::vector<int64_t> layer(target.size()), hits(size_t(n), 0);
  for (size_t i = 0; i < target.size(); ++i) layer[i] = hits[size_t(target[i])]++;
  auto one_hot = [&](auto keep, const std::string& suffix) {
    Folded f;
    f.dims = {u, n};
    f.data.assign(size_t(u * n), 0.0);
    for (size_t i = 0; i < target.size(); ++i)
      if (keep(i)) f.data[i * size_t(n) + size_t(target[i])] = 1.0;
    return constant_leaf(c, suffix, std::move(f));
  };
  auto mask = [&](auto keep, const std::string& suffix) {
    Folded f;
    f.dims = {1, n};
    f.data.assign(size_t(n), 0.0);
    for (size_t i = 0; i < target.size(); ++i)
      if (keep(i)) f.data[size_t(target[i])] = 1.0;
    return constant_leaf(c, suffix, std::move(f));
  };
  ValueId row = c.reshape(data, {1, n}), written_from = c.reshape(updates, {1, u});
  auto written = [&](ValueId s) { return c.op(OpKind::MatMul, {written_from, s}); };
  auto one_minus = [&](ValueId v) { return c.op(OpKind::Sub, {c.scalar(1.0, t), v}); };
  ValueId y;
  if (reduction == "add") {
    y = c.op(OpKind::Add, {row, written(one_hot([](size_t) { return true; }, ".scatter"))});
  } else if (reduction == "none") {
    auto last = [&](size_t i) { return layer[i] == hits[size_t(target[i])] - 1; };
    y = c.op(OpKind::Add, {c.op(OpKind::Mul, {row, one_minus(mask(last, ".scatter_mask"))}),
                           written(one_hot(last, ".scatter"))});
  } else {
    y = row;
    int64_t layers = *std::max_element(hits.begin(), hits.end());
    for (int64_t l = 0; l < layers; ++l) {
      auto in_layer = [&](size_t i) { return layer[i] == l; };
      std::string suffix = fmt::format(".scatter{}", l);
      ValueId factor = c.op(OpKind::Add, {one_minus(mask(in_layer, suffix + "_mask")),
                                          written(one_hot(in_layer, suffix))});
      y = c.op(OpKind::Mul, {y, factor});
    }
  }
  c.set_output(0, c.reshape(y, dims));
}

// ScatterElements (and opset 9's Scatter): update element q lands at q with
// its `axis` coordinate replaced by indices[q].
void map_scatter_elements(NodeContext& c) {
  std::vector<int64_t> dims = c.type(0).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  if (!c.folded(1)) c.unsupported("the indices must be constants known at import time");
  const Folded& indices = c.constant(1, "the indices");
  if (static_cast<int64_t>(indices.dims.size()) != rank || c.type(2).shape.dims != indices.dims)
    c.unsupported("the indices and the updates must have the data's rank and one shape");
  int64_t axis = normalize_axis(c, c.attr_int("axis", 0), rank);
  std::vector<int64_t> idx = checked_indices(c, indices, dims[size_t(axis)]), target;
  std::vector<int64_t> at(size_t(rank), 0);
  for (int64_t i : idx) {
    int64_t p = 0;
    for (int64_t a = 0; a < rank; ++a) p = p * dims[size_t(a)] + (a == axis ? i : at[size_t(a)]);
    target.push_back(p);
    for (int64_t a = rank; a-- > 0;) {
      if (++at[size_t(a)] < indices.dims[size_t(a)]) break;
      at[size_t(a)] = 0;
    }
  }
  scatter_flat(c, target);
}

// ScatterND: each index tuple (the indices' last axis, k long) names a
// slice of the data's trailing axes, which the matching update fills.
void map_scatter_nd(NodeContext& c) {
  std::vector<int64_t> dims = c.type(0).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  if (!c.folded(1)) c.unsupported("the indices must be constants known at import time");
  const Folded& indices = c.constant(1, "the indices");
  if (indices.dims.empty()) c.unsupported("scalar indices");
  int64_t k = indices.dims.back();
  if (k < 1 || k > rank)
    c.unsupported(fmt::format("index tuples of {} for data of rank {}", k, rank));
  int64_t slice = 1;
  for (int64_t a = k; a < rank; ++a) slice *= dims[size_t(a)];
  std::vector<int64_t> ints = indices.ints(), target;
  for (size_t t = 0; t < ints.size(); t += size_t(k)) {
    int64_t p = 0;
    for (int64_t a = 0; a < k; ++a) {
      int64_t extent = dims[size_t(a)], i = ints[t + size_t(a)];
      if (i < -extent || i >= extent)
        c.unsupported(fmt::format("index {} is out of range for an axis of {}", i, extent));
      p = p * extent + (i < 0 ? i + extent : i);
    }
    for (int64_t e = 0; e < slice; ++e) target.push_back(p * slice + e);
  }
  if (c.type(2).shape.static_elements() != static_cast<int64_t>(target.size()))
    c.unsupported("the updates do not match the slices the indices name");
  scatter_flat(c, target);
}

// MaxUnpool with constant indices (flat positions in the unpooled tensor of
// the default shape (in - 1) stride + kernel - pads, as MaxPool's Indices
// give them): zeros with x written at those positions, x as a row times the
// one-hot [n, N] matrix. A larger output_shape pads that result with zeros
// at the end of each axis, as ONNX's reference does.
void map_max_unpool(NodeContext& c) {
  ValueId x = c.tensor(0);
  const std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size()), spatial = rank - 2;
  if (!c.folded(1)) c.unsupported("the indices must be constants known at import time");
  std::vector<int64_t> idx = c.constant(1, "the indices").ints();
  for (int64_t d : dims)
    if (d == kBatch) c.unsupported("unpooling a tensor with a batch dimension");
  std::vector<int64_t> kernel = c.attr_ints("kernel_shape"), strides = c.attr_ints("strides"),
                       pads = c.attr_ints("pads");
  if (spatial < 1 || static_cast<int64_t>(kernel.size()) != spatial)
    c.unsupported("kernel_shape must name every spatial axis");
  if (strides.empty()) strides.assign(size_t(spatial), 1);
  if (pads.empty()) pads.assign(size_t(2 * spatial), 0);
  if (static_cast<int64_t>(strides.size()) != spatial ||
      static_cast<int64_t>(pads.size()) != 2 * spatial)
    c.unsupported("strides or pads have the wrong length");
  std::vector<int64_t> shape{dims[0], dims[1]};
  for (int64_t a = 0; a < spatial; ++a)
    shape.push_back((dims[size_t(2 + a)] - 1) * strides[size_t(a)] + kernel[size_t(a)] -
                    pads[size_t(a)] - pads[size_t(a + spatial)]);
  int64_t n = 1, total = 1;
  for (int64_t d : dims) n *= d;
  for (int64_t d : shape) {
    if (d < 1) c.unsupported(fmt::format("an output extent of {}", d));
    total *= d;
  }
  if (static_cast<int64_t>(idx.size()) != n)
    c.unsupported("the indices and the input differ in size");
  Folded m;
  m.dims = {n, total};
  m.data.assign(size_t(n * total), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = idx[size_t(i)];
    if (p < 0 || p >= total)
      c.unsupported(fmt::format("index {} is outside the output's {} elements", p, total));
    m.data[size_t(i * total + p)] = 1.0;
  }
  ValueId y = c.reshape(
      c.op(OpKind::MatMul, {c.reshape(x, {1, n}), constant_leaf(c, ".unpool", std::move(m))}),
      shape);
  if (c.has_input(2)) {
    std::vector<int64_t> want = c.constant(2, "the output shape").ints();
    if (static_cast<int64_t>(want.size()) != rank) c.unsupported("output_shape has the wrong rank");
    for (int64_t a = 0; a < rank; ++a) {
      int64_t extra = want[size_t(a)] - shape[size_t(a)];
      if (extra < 0)
        c.unsupported(fmt::format("output_shape {} is smaller than the unpooled {} on axis {}",
                                  want[size_t(a)], shape[size_t(a)], a));
      if (extra > 0)
        y = c.op(OpKind::Pad, {y}, Attrs{{"axis", a}, {"before", int64_t{0}}, {"after", extra}});
    }
  }
  c.set_output(0, y);
}

// ---- OneHot, ReverseSequence ------------------------------------------------------------

// OneHot(indices, depth, values) along `axis` of the output: with the
// indices unsqueezed there, negative ones wrapped (i + depth [i < 0]), and
// k = 0..depth-1 along the axis,
//   y = off + (on - off) [i = k],   [i = k] = 1 - step(i - k) - step(k - i)
void map_one_hot(NodeContext& c) {
  ValueId idx;
  if (const Folded* f = c.folded(0); f && !is_float(f->dtype)) {
    Folded as_float = *f;
    as_float.dtype = DType::f32;
    idx = constant_leaf(c, ".indices", std::move(as_float));
  } else {
    idx = c.tensor(0);
  }
  ValueId values = c.tensor(2);
  const TensorType vt = c.type_of(values);
  if (vt.shape.dims != std::vector<int64_t>{2} || !is_float(vt.dtype))
    c.unsupported(fmt::format("values {} must be two floats (off, on)", to_string(vt)));
  double depth_value = c.scalar(1, "the depth");
  if (!(depth_value >= 1)) c.unsupported(fmt::format("depth {}", depth_value));
  int64_t depth = folded_int(depth_value);
  std::vector<int64_t> dims = c.type_of(idx).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size()) + 1;
  int64_t axis = normalize_axis(c, c.attr_int("axis", -1), rank);
  DType t = vt.dtype;
  std::vector<int64_t> unsqueezed = dims;
  unsqueezed.insert(unsqueezed.begin() + axis, 1);
  ValueId i = c.reshape(idx, unsqueezed);
  i = c.op(OpKind::Add, {i, c.op(OpKind::Mul, {c.scalar(double(depth), t),
                                               c.op(OpKind::Step, {c.op(OpKind::Neg, {i})})})});
  Folded range;
  range.dims.assign(size_t(rank), 1);
  range.dims[size_t(axis)] = depth;
  for (int64_t k = 0; k < depth; ++k) range.data.push_back(double(k));
  ValueId k = constant_leaf(c, ".range", std::move(range));
  auto step = [&](ValueId a, ValueId b) { return c.op(OpKind::Step, {c.op(OpKind::Sub, {a, b})}); };
  ValueId eq = c.op(OpKind::Sub, {c.op(OpKind::Sub, {c.scalar(1.0, t), step(i, k)}), step(k, i)});
  auto value = [&](int64_t at) {
    return c.op(OpKind::Slice, {values},
                Attrs{{"axis", int64_t{0}}, {"start", at}, {"end", at + 1}});
  };
  ValueId off = value(0), on = value(1);
  c.set_output(0, c.op(OpKind::Add, {off, c.op(OpKind::Mul, {c.op(OpKind::Sub, {on, off}), eq})}));
}

// x's elements moved by a constant map: y[p] = x[src[p]] over the flat
// positions, a matmul of x as a row with the one-hot [n, n] matrix.
ValueId permute_flat(NodeContext& c, ValueId x, const std::vector<int64_t>& src) {
  const std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t n = static_cast<int64_t>(src.size());
  Folded m;
  m.dims = {n, n};
  m.data.assign(size_t(n * n), 0.0);
  for (int64_t p = 0; p < n; ++p) m.data[size_t(src[size_t(p)] * n + p)] = 1.0;
  ValueId y = c.op(OpKind::MatMul, {c.reshape(x, {1, n}), constant_leaf(c, ".permutation", m)});
  return c.reshape(y, dims);
}

// ReverseSequence: along time_axis, the first sequence_lens[b] elements of
// each batch entry b reversed, the rest kept.
void map_reverse_sequence(NodeContext& c) {
  ValueId x = c.tensor(0);
  const std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  if (rank < 2) c.unsupported("the input needs a batch and a time axis");
  for (int64_t d : dims)
    if (d == kBatch) c.unsupported("the batch dimension of netc (the lengths are per entry)");
  int64_t batch_axis = normalize_axis(c, c.attr_int("batch_axis", 1), rank);
  int64_t time_axis = normalize_axis(c, c.attr_int("time_axis", 0), rank);
  if (!c.folded(1)) c.unsupported("the sequence lengths must be constants known at import time");
  std::vector<int64_t> lens = c.constant(1, "the sequence lengths").ints();
  if (static_cast<int64_t>(lens.size()) != dims[size_t(batch_axis)])
    c.unsupported("one sequence length per batch entry is required");
  std::vector<int64_t> src, at(size_t(rank), 0);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  for (int64_t p = 0; p < n; ++p) {
    std::vector<int64_t> from = at;
    int64_t len = lens[size_t(at[size_t(batch_axis)])], t = at[size_t(time_axis)];
    if (len < 0 || len > dims[size_t(time_axis)])
      c.unsupported(
          fmt::format("sequence length {} for a time axis of {}", len, dims[size_t(time_axis)]));
    if (t < len) from[size_t(time_axis)] = len - 1 - t;
    int64_t q = 0;
    for (int64_t a = 0; a < rank; ++a) q = q * dims[size_t(a)] + from[size_t(a)];
    src.push_back(q);
    for (int64_t a = rank; a-- > 0;) {
      if (++at[size_t(a)] < dims[size_t(a)]) break;
      at[size_t(a)] = 0;
    }
  }
  c.set_output(0, permute_flat(c, x, src));
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
    {"ScatterElements", {"axis", "reduction"}, map_scatter_elements},
    {"Scatter", {"axis"}, map_scatter_elements},
    {"ScatterND", {"reduction"}, map_scatter_nd},
    {"OneHot", {"axis"}, map_one_hot},
    {"MaxUnpool", {"kernel_shape", "strides", "pads"}, map_max_unpool},
    {"ReverseSequence", {"batch_axis", "time_axis"}, map_reverse_sequence},
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
