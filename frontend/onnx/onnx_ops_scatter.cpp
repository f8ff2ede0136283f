// ONNX -> IR: ops that write a runtime tensor's elements to positions known
// at import time: ScatterElements, Scatter and ScatterND with constant
// indices, MaxUnpool with constant indices, ReverseSequence with constant
// lengths, and OneHot. The IR has no scatter op; a write to constant
// positions is a matmul with a constant one-hot matrix (exact: one product
// by 1, the others by 0; an infinity or NaN in the input spreads as NaN).
#include "frontend/onnx/import_context.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc::onnx_import {

namespace {

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
    return c.constant_leaf(suffix, std::move(f));
  };
  auto mask = [&](auto keep, const std::string& suffix) {
    Folded f;
    f.dims = {1, n};
    f.data.assign(size_t(n), 0.0);
    for (size_t i = 0; i < target.size(); ++i)
      if (keep(i)) f.data[size_t(target[i])] = 1.0;
    return c.constant_leaf(suffix, std::move(f));
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
  if (!c.folded(1)) c.unsupported("the indices must be constants known at import time");
  const Folded& indices = c.constant(1, "the indices");
  std::vector<int64_t> positions = index_tuple_positions(c, indices, dims);
  int64_t slice = 1;
  for (size_t a = size_t(indices.dims.back()); a < dims.size(); ++a) slice *= dims[a];
  std::vector<int64_t> target;
  for (int64_t p : positions)
    for (int64_t e = 0; e < slice; ++e) target.push_back(p * slice + e);
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
      c.op(OpKind::MatMul, {c.reshape(x, {1, n}), c.constant_leaf(".unpool", std::move(m))}),
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
    idx = c.constant_leaf(".indices", std::move(as_float));
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
  ValueId k = c.constant_leaf(".range", std::move(range));
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
  ValueId y = c.op(OpKind::MatMul, {c.reshape(x, {1, n}), c.constant_leaf(".permutation", m)});
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

const OpMapping kScatterMappings[] = {
    {"ScatterElements", {"axis", "reduction"}, map_scatter_elements},
    {"Scatter", {"axis"}, map_scatter_elements},
    {"ScatterND", {"reduction"}, map_scatter_nd},
    {"MaxUnpool", {"kernel_shape", "strides", "pads"}, map_max_unpool},
    {"OneHot", {"axis"}, map_one_hot},
    {"ReverseSequence", {"batch_axis", "time_axis"}, map_reverse_sequence},
};

} // namespace

std::span<const OpMapping> scatter_mappings() { return kScatterMappings; }

} // namespace netc::onnx_import
