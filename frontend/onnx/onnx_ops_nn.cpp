// ONNX -> IR: convolution, pooling, batch normalization and dropout. ONNX's
// windows are N-D with asymmetric pads; the IR's are 2-D and symmetric, so a
// 1-D window runs as a 2-D one of height 1, and asymmetric zero padding
// becomes explicit pad ops in front of the window op.
#include "frontend/onnx/import_context.h"

#include <fmt/format.h>
#include <limits>
#include <optional>
#include <random>

namespace netc::onnx_import {

std::vector<int64_t> spatial_attr(NodeContext& c, std::string_view name, int rank, int64_t fallback,
                                  int64_t pad_1d) {
  std::vector<int64_t> v = c.attr_ints(name);
  if (v.empty()) v.assign(size_t(rank), fallback);
  if (static_cast<int>(v.size()) != rank)
    c.unsupported(
        fmt::format("attribute '{}' has {} values for {} spatial axes", name, v.size(), rank));
  if (rank == 1) v.insert(v.begin(), pad_1d);
  return v;
}

ValueId from_image(NodeContext& c, ValueId y, int rank) {
  if (rank == 2) return y;
  const Shape s = c.type_of(y).shape;
  return c.reshape(y, {s[0], s[1], s[3]});
}

namespace {

// Per spatial axis (h, w): the padding before and after it.
struct Window2d {
  std::vector<int64_t> kernel, stride, dilation, pad_begin, pad_end;
  bool symmetric() const { return pad_begin == pad_end; }
};

// A 1-D window's [N,C,L] input as [N,C,1,L]: the IR's windows are 2-D.
ValueId as_image(NodeContext& c, ValueId x) {
  const Shape s = c.type_of(x).shape;
  if (s.rank() == 4) return x;
  if (s.rank() != 3)
    c.unsupported(fmt::format("only 1-D and 2-D windows are supported; the input is {}",
                              to_string(c.type_of(x))));
  return c.reshape(x, {s[0], s[1], 1, s[2]});
}

// The window's geometry, with pads resolved from auto_pad:
//   SAME_*: out = ceil(in / stride), total = max(0, (out - 1) stride + (k - 1) d + 1 - in),
//           SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the beginning.
Window2d window(NodeContext& c, const Shape& image, int rank, std::vector<int64_t> kernel) {
  Window2d w;
  w.kernel = std::move(kernel);
  w.stride = spatial_attr(c, "strides", rank, 1, 1);
  // Found by fuzzing: a stride of 0 divided by zero below (UBSan) before the
  // IR's shape rule could refuse it.
  for (int64_t s : w.stride)
    if (s < 1) c.unsupported(fmt::format("strides must be positive, found {}", s));
  w.dilation = spatial_attr(c, "dilations", rank, 1, 1);
  std::string auto_pad = c.attr_str("auto_pad", "NOTSET");
  std::vector<int64_t> pads = c.attr_ints("pads");
  if (pads.empty()) pads.assign(size_t(2 * rank), 0);
  if (static_cast<int>(pads.size()) != 2 * rank)
    c.unsupported(
        fmt::format("attribute 'pads' has {} values for {} spatial axes", pads.size(), rank));
  if (rank == 1) pads = {0, pads[0], 0, pads[1]};
  w.pad_begin = {pads[0], pads[1]};
  w.pad_end = {pads[2], pads[3]};
  if (auto_pad == "VALID") {
    w.pad_begin = w.pad_end = {0, 0};
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int a = 0; a < 2; ++a) {
      int64_t in = image[2 + a], s = w.stride[size_t(a)];
      int64_t out = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(
          0, (out - 1) * s + (w.kernel[size_t(a)] - 1) * w.dilation[size_t(a)] + 1 - in);
      int64_t small = total / 2;
      w.pad_begin[size_t(a)] = auto_pad == "SAME_UPPER" ? small : total - small;
      w.pad_end[size_t(a)] = total - w.pad_begin[size_t(a)];
    }
  } else if (auto_pad != "NOTSET") {
    c.unsupported(
        fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad));
  }
  return w;
}

// Zero padding in front of a window op: one pad op per axis.
ValueId pad_explicitly(NodeContext& c, ValueId x, const Window2d& w) {
  for (int a = 0; a < 2; ++a)
    if (w.pad_begin[size_t(a)] || w.pad_end[size_t(a)])
      x = c.op(OpKind::Pad, {x},
               Attrs{{"axis", int64_t{2 + a}},
                     {"before", w.pad_begin[size_t(a)]},
                     {"after", w.pad_end[size_t(a)]}});
  return x;
}

int spatial_rank(NodeContext& c) {
  int rank = c.type(0).shape.rank() - 2;
  if (rank != 1 && rank != 2)
    c.unsupported(fmt::format("{}-D windows are not supported (1-D and 2-D are)", rank));
  return rank;
}

// ---- Conv ------------------------------------------------------------------------

void map_conv(NodeContext& c) {
  int rank = spatial_rank(c);
  ValueId x = as_image(c, c.tensor(0));
  ValueId w = c.tensor(1);
  // Found by fuzzing: the kernel's extents were read from a weight of any rank.
  if (int wrank = c.type_of(w).shape.rank(); wrank != rank + 2)
    c.unsupported(
        fmt::format("the weight has rank {}; a {}-D conv needs rank {}", wrank, rank, rank + 2));
  if (rank == 1) {
    const Shape ws = c.type_of(w).shape;
    w = c.reshape(w, {ws[0], ws[1], 1, ws[2]});
  }
  const Shape ws = c.type_of(w).shape;
  Window2d win = window(c, c.type_of(x).shape, rank, {ws[2], ws[3]});
  if (!win.symmetric()) {
    x = pad_explicitly(c, x, win);
    win.pad_begin = win.pad_end = {0, 0};
  }
  Attrs attrs{{"stride", win.stride},
              {"pad", win.pad_begin},
              {"dilation", win.dilation},
              {"groups", c.attr_int("group", 1)}};
  std::vector<ValueId> inputs{x, w};
  if (c.has_input(2)) inputs.push_back(c.tensor(2));
  c.set_output(0, from_image(c, c.op(OpKind::Conv2d, inputs, attrs), rank));
}

// ---- pools ------------------------------------------------------------------------

// The output extent along one axis: floor((in + b + e - k) / s) + 1, or
// with ceil_mode the ceiling.
int64_t pool_extent(int64_t in, int64_t b, int64_t e, int64_t k, int64_t s, bool ceil) {
  int64_t span = in + b + e - k;
  return (ceil ? (span + s - 1) / s : span / s) + 1;
}

// The general form of a pool with asymmetric padding or ceil_mode: the
// padding made explicit (pad ops), then a pool without padding. The padded
// elements must not count: for max they hold the lowest float, masked in as
// x' = pad(x) + (1 - pad(ones)) lowest (exact: the valid elements add 0);
// an average is sum / count, avgpool(pad(x)) / avgpool(pad(ones)). Every
// window holds a valid element (ceil_mode's last window starts inside the
// input or its begin padding, as ONNX defines it).
// x padded by w's pads with the lowest float: pad(x) + (1 - pad(ones)) lowest.
ValueId pad_lowest(NodeContext& c, ValueId x, const Window2d& w) {
  const TensorType t = c.type_of(x);
  ValueId ones = c.op(OpKind::Broadcast, {c.scalar(1.0, t.dtype)}, Attrs{{"shape", t.shape.dims}});
  ValueId outside = c.op(OpKind::Sub, {c.scalar(1.0, t.dtype), pad_explicitly(c, ones, w)});
  ValueId lowest = c.scalar(-std::numeric_limits<float>::max(), t.dtype);
  return c.op(OpKind::Add, {pad_explicitly(c, x, w), c.op(OpKind::Mul, {outside, lowest})});
}

ValueId pool_by_padding(NodeContext& c, OpKind kind, ValueId x, const Window2d& w, bool ceil) {
  const TensorType t = c.type_of(x);
  Window2d padded = w;
  std::vector<int64_t> extent(2);
  for (size_t a = 0; a < 2; ++a) {
    int64_t in = t.shape[int(2 + a)], k = w.kernel[a], s = w.stride[a], b = w.pad_begin[a];
    extent[a] = pool_extent(in, b, w.pad_end[a], k, s, ceil);
    padded.pad_end[a] = std::max<int64_t>(0, (extent[a] - 1) * s + k - in - b);
  }
  Attrs attrs{{"kernel", w.kernel}, {"stride", w.stride}, {"pad", std::vector<int64_t>{0, 0}}};
  ValueId y;
  if (kind == OpKind::MaxPool) {
    y = c.op(kind, {pad_lowest(c, x, padded)}, attrs);
  } else {
    ValueId ones =
        c.op(OpKind::Broadcast, {c.scalar(1.0, t.dtype)}, Attrs{{"shape", t.shape.dims}});
    attrs.set("count_include_pad", int64_t{1});
    y = c.op(OpKind::Div, {c.op(kind, {pad_explicitly(c, x, padded)}, attrs),
                           c.op(kind, {pad_explicitly(c, ones, padded)}, attrs)});
  }
  for (size_t a = 0; a < 2; ++a)
    if (c.type_of(y).shape[int(2 + a)] != extent[a])
      y = c.op(OpKind::Slice, {y},
               Attrs{{"axis", int64_t(2 + a)}, {"start", int64_t{0}}, {"end", extent[a]}});
  return y;
}

// A pool whose padding is not symmetric, or that rounds up (ceil_mode),
// runs with the symmetric padding p = max(begin, end') of the IR op, where
// end' = what the wanted output extent needs; its output is then cropped.
// With stride s, output row i of the padded-by-p pool starts at i s - p, the
// wanted row j at j s - begin: they are the rows i = j + (p - begin) / s, so
// the crop works when s divides p - begin. Padding never counts (max, and
// average with count_include_pad=0), so the wider pad changes no value.
ValueId pool_by_crop(NodeContext& c, OpKind kind, ValueId x, const Window2d& w, bool ceil) {
  const Shape image = c.type_of(x).shape;
  std::vector<int64_t> pad(2), offset(2), extent(2);
  for (size_t a = 0; a < 2; ++a) {
    int64_t in = image[int(2 + a)], k = w.kernel[a], s = w.stride[a], b = w.pad_begin[a];
    extent[a] = pool_extent(in, b, w.pad_end[a], k, s, ceil);
    int64_t end = std::max(w.pad_end[a], (extent[a] - 1) * s + k - in - b);
    pad[a] = std::max(b, end);
    if ((pad[a] - b) % s != 0 || pad[a] >= k) return pool_by_padding(c, kind, x, w, ceil);
    offset[a] = (pad[a] - b) / s;
  }
  ValueId y = c.op(kind, {x}, Attrs{{"kernel", w.kernel}, {"stride", w.stride}, {"pad", pad}});
  for (size_t a = 0; a < 2; ++a) {
    int64_t have = c.type_of(y).shape[int(2 + a)];
    if (offset[a] == 0 && extent[a] == have) continue;
    if (offset[a] + extent[a] > have) c.unsupported("the padded pool does not cover the output");
    y = c.op(OpKind::Slice, {y},
             Attrs{{"axis", int64_t(2 + a)}, {"start", offset[a]}, {"end", offset[a] + extent[a]}});
  }
  return y;
}

// A dilated max pool (the IR's pools are dense): the maximum over the k_h
// k_w strided views of the input padded with the lowest float, view (i, j)
// holding the elements (i d_h + r s_h, j d_w + q s_w) of output (r, q).
ValueId max_pool_dilated(NodeContext& c, ValueId x, const Window2d& w, bool ceil) {
  const Shape image = c.type_of(x).shape;
  Window2d padded = w;
  std::vector<int64_t> extent(2);
  for (size_t a = 0; a < 2; ++a) {
    int64_t in = image[int(2 + a)], s = w.stride[a], b = w.pad_begin[a];
    int64_t span = (w.kernel[a] - 1) * w.dilation[a] + 1;
    extent[a] = pool_extent(in, b, w.pad_end[a], span, s, ceil);
    padded.pad_end[a] = std::max<int64_t>(0, (extent[a] - 1) * s + span - in - b);
  }
  ValueId px = pad_lowest(c, x, padded);
  std::optional<ValueId> y;
  for (int64_t i = 0; i < w.kernel[0]; ++i)
    for (int64_t j = 0; j < w.kernel[1]; ++j) {
      std::vector<int64_t> rows, cols;
      for (int64_t r = 0; r < extent[0]; ++r) rows.push_back(i * w.dilation[0] + r * w.stride[0]);
      for (int64_t q = 0; q < extent[1]; ++q) cols.push_back(j * w.dilation[1] + q * w.stride[1]);
      ValueId view = select_along(c, select_along(c, px, 2, rows), 3, cols);
      y = y ? c.op(OpKind::Maximum, {*y, view}) : view;
    }
  return *y;
}

template <OpKind Kind>
void map_pool(NodeContext& c) {
  int rank = spatial_rank(c);
  ValueId x = as_image(c, c.tensor(0));
  std::vector<int64_t> kernel = spatial_attr(c, "kernel_shape", rank, 0, 1);
  Window2d win = window(c, c.type_of(x).shape, rank, kernel);
  if (c.attr_int("storage_order", 0) != 0) c.unsupported("storage_order=1 is not supported");
  bool ceil = c.attr_int("ceil_mode", 0) != 0;
  if (win.dilation != std::vector<int64_t>{1, 1}) {
    if (Kind != OpKind::MaxPool) c.unsupported("dilated average pooling is not supported");
    return c.set_output(0, from_image(c, max_pool_dilated(c, x, win, ceil), rank));
  }
  bool include_pad = Kind == OpKind::AvgPool && c.attr_int("count_include_pad", 0) == 1;
  if (include_pad && !win.symmetric()) {
    // The zeros that count_include_pad=1 averages, made explicit.
    x = pad_explicitly(c, x, win);
    win.pad_begin = win.pad_end = {0, 0};
  }
  const Shape image = c.type_of(x).shape;
  bool rounds_up = false;
  for (size_t a = 0; a < 2; ++a)
    rounds_up |= pool_extent(image[int(2 + a)], win.pad_begin[a], win.pad_end[a], win.kernel[a],
                             win.stride[a], ceil) !=
                 pool_extent(image[int(2 + a)], win.pad_begin[a], win.pad_end[a], win.kernel[a],
                             win.stride[a], false);
  if (rounds_up && include_pad)
    c.unsupported("ceil_mode=1 with count_include_pad=1 where it adds a partial window");
  if (!win.symmetric() || rounds_up) {
    c.set_output(0, from_image(c, pool_by_crop(c, Kind, x, win, ceil), rank));
    return;
  }
  Attrs attrs{{"kernel", win.kernel}, {"stride", win.stride}, {"pad", win.pad_begin}};
  if (include_pad) attrs.set("count_include_pad", int64_t{1});
  c.set_output(0, from_image(c, c.op(Kind, {x}, attrs), rank));
}

// GlobalAveragePool keeps the spatial axes with extent 1.
void map_global_avgpool(NodeContext& c) {
  int rank = spatial_rank(c);
  ValueId x = as_image(c, c.tensor(0));
  const Shape s = c.type_of(x).shape;
  ValueId y = c.op(OpKind::GlobalAvgPool, {x});
  std::vector<int64_t> dims{s[0], s[1], 1};
  if (rank == 2) dims.push_back(1);
  c.set_output(0, c.reshape(y, dims));
}

void map_global_maxpool(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> axes;
  for (int a = 2; a < c.type_of(x).shape.rank(); ++a) axes.push_back(a);
  c.set_output(0, c.op(OpKind::ReduceMax, {x}, Attrs{{"axes", axes}, {"keepdims", int64_t{1}}}));
}

// ---- BatchNormalization -----------------------------------------------------------

// The inference form: scale and bias become params, the running mean and
// variance state. ONNX's momentum means what the IR's does (running =
// momentum running + (1 - momentum) batch statistic).
void map_batchnorm(NodeContext& c) {
  if (c.attr_int("training_mode", 0)) return map_batchnorm_training(c); // onnx_ops_norm.cpp
  if (c.opset() < 9 && c.attr_int("spatial", 1) != 1)
    c.unsupported("spatial=0 (per-pixel statistics) is not supported");
  ValueId x = c.tensor(0);
  Shape s = c.type_of(x).shape;
  if (s.rank() == 3) x = c.reshape(x, {s[0], s[1], s[2], 1});
  if (s.rank() != 2 && s.rank() != 3 && s.rank() != 4)
    c.unsupported(
        fmt::format("the input {} must be [N,C], [N,C,L] or [N,C,H,W]", to_string(c.type_of(x))));
  ValueId y = c.op(
      OpKind::BatchNorm,
      {x, c.tensor(1), c.tensor(2), c.tensor(3, OpKind::State), c.tensor(4, OpKind::State)},
      Attrs{{"eps", c.attr_float("epsilon", 1e-5)}, {"momentum", c.attr_float("momentum", 0.9)}});
  c.set_output(0, c.reshape(y, s.dims));
}

// ---- Dropout ----------------------------------------------------------------------

// numpy's legacy np.random.seed(seed); np.random.uniform(0, 1, n): MT19937
// seeded by init_genrand (std::mt19937's seeding), each double made of two
// 32-bit outputs (numpy's random_standard_uniform, 53 random bits).
std::vector<double> numpy_uniform(uint32_t seed, int64_t n) {
  std::mt19937 gen(seed);
  std::vector<double> u(static_cast<size_t>(n));
  for (double& v : u) {
    auto a = static_cast<uint32_t>(gen() >> 5);
    auto b = static_cast<uint32_t>(gen() >> 6);
    v = (a * 67108864.0 + b) / 9007199254740992.0;
  }
  return u;
}

// Training-mode dropout as ONNX's reference computes it (dropout.py:
// np.random.seed(seed); mask = uniform(0, 1, x.shape) >= ratio; y = mask * x
// / (1 - ratio)): the mask is drawn here, at import time, and becomes a
// frozen constant. Only for a model imported to be run (OnnxImportOptions::
// reference_dropout_masks): a model netc trains needs a fresh mask per step.
void map_dropout_seeded(NodeContext& c, ValueId x, double ratio) {
  if (!c.importer().options().reference_dropout_masks)
    c.unsupported("training_mode=true with a nonzero ratio draws a random mask (the reference "
                  "draws it with numpy's generator), which netc reproduces only for a model it "
                  "runs, not one it imports to train");
  if (!c.has_attr("seed"))
    c.unsupported("training_mode=true with a nonzero ratio and no seed draws an unreproducible "
                  "random mask");
  int64_t seed = c.attr_int("seed", 0);
  if (seed < 0 || seed > int64_t{0xffffffff})
    c.unsupported(fmt::format("seed {} is not in numpy's [0, 2^32 - 1]", seed));
  const TensorType& type = c.type_of(x);
  if (type.shape.has_batch())
    c.unsupported("training_mode=true draws a mask of x's shape, which has a batch dimension "
                  "known only at run time");
  // numpy: 1 - np.float32(ratio) is a float32, 1 / it a float64 that
  // rounds to float32 when it scales an f32 x (the leaf's dtype).
  double keep = 1.0 - ratio;
  if (type.dtype == DType::f32) keep = double(1.0f - float(ratio));
  double scale = 1.0 / keep;
  Folded mask{type.dtype, type.shape.dims, numpy_uniform(uint32_t(seed), type.shape.elements(1))};
  Folded scaled = mask;
  for (size_t i = 0; i < mask.data.size(); ++i) {
    mask.data[i] = mask.data[i] >= ratio ? 1.0 : 0.0;
    scaled.data[i] = mask.data[i] * scale;
  }
  c.set_output(0,
               c.op(OpKind::Mul, {x, c.constant_leaf(".dropout_scaled_mask", std::move(scaled))}));
  if (c.wants_output(1)) c.set_output(1, c.constant_leaf(".dropout_mask", std::move(mask)));
}

// netc's dropout op with a runtime keep probability: the identity at
// inference (the pipeline removes it), inverted dropout when an imported
// model is trained. The ratio is an attribute before opset 12, a constant
// input from 12 on; a training_mode input that is true asks for ONNX's own
// masks (map_dropout_seeded), unless the ratio is 0 (the identity). The
// optional mask output is then all true.
void map_dropout(NodeContext& c) {
  ValueId x = c.tensor(0);
  double ratio = c.attr_float("ratio", 0.5);
  if (c.opset() >= 12) {
    ratio = 0.5;
    if (c.has_input(1)) ratio = c.scalar(1, "the ratio");
  }
  if (!(ratio >= 0 && ratio < 1)) c.unsupported(fmt::format("ratio {} is not in [0, 1)", ratio));
  // With ratio 0 the training form keeps every element: the same op.
  if (c.opset() >= 12 && c.has_input(2) && c.scalar(2, "training_mode") != 0 && ratio != 0)
    return map_dropout_seeded(c, x, ratio);
  int64_t stream = c.importer().next_dropout_stream();
  DType t = c.type_of(x).dtype;
  ValueId keep = c.importer().builder().leaf(
      OpKind::Hyper, TensorType{t, Shape{}},
      Attrs{{"name", fmt::format("dropout{}.keep", stream)}, {"value", 1.0 - ratio}});
  c.set_output(0, c.op(OpKind::Dropout, {x, keep}, Attrs{{"stream", stream}}));
  // The mask of the identity: all true (booleans are f32 0/1 in netc).
  if (c.wants_output(1))
    c.set_output(
        1, c.op(OpKind::Broadcast, {c.scalar(1.0, t)}, Attrs{{"shape", c.type_of(x).shape.dims}}));
}

const OpMapping kNnMappings[] = {
    {"Conv", {"auto_pad", "dilations", "pads", "strides", "kernel_shape", "group"}, map_conv},
    {"MaxPool",
     {"auto_pad", "dilations", "pads", "strides", "kernel_shape", "ceil_mode", "storage_order"},
     map_pool<OpKind::MaxPool>},
    {"AveragePool",
     {"auto_pad", "pads", "strides", "kernel_shape", "ceil_mode", "count_include_pad"},
     map_pool<OpKind::AvgPool>},
    {"GlobalAveragePool", {}, map_global_avgpool},
    {"GlobalMaxPool", {}, map_global_maxpool},
    {"BatchNormalization", {"epsilon", "momentum", "spatial", "training_mode"}, map_batchnorm},
    {"Dropout", {"ratio", "seed"}, map_dropout},
};

} // namespace

std::span<const OpMapping> nn_mappings() { return kNnMappings; }

} // namespace netc::onnx_import
