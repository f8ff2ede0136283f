// ONNX -> IR: the ops that enlarge images. ConvTranspose becomes the IR's
// transposed convolution (conv2d_backward_input, what the .nn
// conv2d_transpose layer uses); Resize and Upsample by integer factors
// become the IR's upsample (nearest, or bilinear at half-pixel centres).
// 1-D forms run as 2-D ones of height 1, as Conv does (onnx_ops_nn.cpp).
#include "frontend/onnx/import_context.h"

#include <cmath>
#include <fmt/format.h>

namespace netc::onnx_import {

namespace {

// [N,C,L] as [N,C,1,L]; [N,C,H,W] as it is. Returns the spatial rank.
int as_image(NodeContext& c, ValueId& x, std::string_view what) {
  const TensorType t = c.type_of(x);
  if (t.shape.rank() == 4) return 2;
  if (t.shape.rank() != 3)
    c.unsupported(fmt::format("{} of {}: only 1-D and 2-D images ([N,C,L], [N,C,H,W]) are "
                              "supported",
                              what, to_string(t)));
  x = c.reshape(x, {t.shape[0], t.shape[1], 1, t.shape[2]});
  return 1;
}

// ---- ConvTranspose -------------------------------------------------------------
// X [N,C,H,W], W [C, M/group, KH, KW], B [M]. Along each axis the full
// transposed convolution has F = s (in - 1) + (k - 1) d + 1 rows; ONNX adds
// output_padding rows at the end and removes pads (begin, end):
//   out = F + output_padding - begin - end
// or, given output_shape, derives the pads from it (total = max(0, F +
// output_padding - out), split as auto_pad says: SAME_UPPER puts the odd row
// at the end, otherwise at the beginning; ONNX Runtime's rule, which also
// zero-extends the end when out is larger than F + output_padding).
// auto_pad SAME_* asks for out = in s. The IR op takes symmetric pads and an
// output_padding smaller than the stride or the dilation; anything else
// runs as the full (unpadded) op, then zero rows at the end and a crop.
void map_conv_transpose(NodeContext& c) {
  ValueId x = c.tensor(0);
  int rank = as_image(c, x, "ConvTranspose");
  ValueId w = c.tensor(1);
  const Shape ws0 = c.type_of(w).shape;
  if (ws0.rank() != rank + 2)
    c.unsupported(fmt::format("the weight has rank {}; a {}-D ConvTranspose needs rank {}",
                              ws0.rank(), rank, rank + 2));
  if (rank == 1) w = c.reshape(w, {ws0[0], ws0[1], 1, ws0[2]});
  const Shape xs = c.type_of(x).shape, ws = c.type_of(w).shape;
  int64_t group = c.attr_int("group", 1);
  if (group < 1 || xs[1] != ws[0] || ws[0] % group != 0)
    c.unsupported(fmt::format("the weight {} does not fit the input {} with group {}",
                              to_string(ws), to_string(xs), group));
  std::vector<int64_t> kernel{ws[2], ws[3]};
  if (c.has_attr("kernel_shape") && spatial_attr(c, "kernel_shape", rank, 0, 1) != kernel)
    c.unsupported(fmt::format("kernel_shape [{}] contradicts the weight {}",
                              fmt::join(c.attr_ints("kernel_shape"), ","), to_string(ws0)));
  std::vector<int64_t> stride = spatial_attr(c, "strides", rank, 1, 1);
  std::vector<int64_t> dilation = spatial_attr(c, "dilations", rank, 1, 1);
  std::vector<int64_t> out_pad = spatial_attr(c, "output_padding", rank, 0, 0);
  std::vector<int64_t> pads = c.attr_ints("pads");
  if (pads.empty()) pads.assign(size_t(2 * rank), 0);
  if (static_cast<int>(pads.size()) != 2 * rank)
    c.unsupported(
        fmt::format("attribute 'pads' has {} values for {} spatial axes", pads.size(), rank));
  if (rank == 1) pads = {0, pads[0], 0, pads[1]};
  std::vector<int64_t> begin{pads[0], pads[1]}, end{pads[2], pads[3]};
  for (size_t a = 0; a < 2; ++a)
    if (stride[a] < 1 || dilation[a] < 1 || out_pad[a] < 0 || begin[a] < 0 || end[a] < 0 ||
        begin[a] > kMaxElements || end[a] > kMaxElements)
      c.unsupported("strides and dilations must be positive, pads and output_padding not "
                    "negative (and all below 2^48)");

  std::vector<int64_t> full(2), out(2);
  for (size_t a = 0; a < 2; ++a) {
    // Any attribute may be huge (a fuzzed model): every step is checked.
    int64_t grown = 0, reach = 0;
    if (stride[a] > kMaxElements || dilation[a] > kMaxElements || out_pad[a] > kMaxElements ||
        __builtin_mul_overflow(stride[a], xs[int(2 + a)] - 1, &grown) ||
        __builtin_mul_overflow(kernel[a] - 1, dilation[a], &reach) ||
        __builtin_add_overflow(grown, reach + 1, &full[a]) || full[a] > kMaxElements)
      c.unsupported("the strides, dilations or output_padding make the output too large");
  }
  std::string auto_pad = c.attr_str("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" &&
      auto_pad != "VALID")
    c.unsupported(
        fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad));
  std::vector<int64_t> wanted = c.attr_ints("output_shape");
  if (!wanted.empty()) {
    if (static_cast<int>(wanted.size()) == rank + 2)
      wanted.erase(wanted.begin(), wanted.begin() + 2);
    if (static_cast<int>(wanted.size()) != rank)
      c.unsupported(
          fmt::format("output_shape has {} values for {} spatial axes", wanted.size(), rank));
    if (rank == 1) wanted.insert(wanted.begin(), full[0] + out_pad[0]);
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    wanted = {xs[2] * stride[0], xs[3] * stride[1]};
    if (rank == 1) wanted[0] = full[0] + out_pad[0];
  }
  for (size_t a = 0; a < 2; ++a) {
    if (auto_pad == "VALID") begin[a] = end[a] = 0;
    if (!wanted.empty()) {
      if (wanted[a] < 1 || wanted[a] > kMaxElements)
        c.unsupported("output_shape must be in [1, 2^48]");
      int64_t total = std::max<int64_t>(0, full[a] + out_pad[a] - wanted[a]);
      begin[a] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end[a] = total - begin[a];
      out[a] = wanted[a];
    } else {
      out[a] = full[a] + out_pad[a] - begin[a] - end[a];
    }
    if (out[a] < 1) c.unsupported(fmt::format("the pads leave no output along spatial axis {}", a));
  }

  int64_t M = ws[1] * group;
  Attrs attrs{{"stride", stride}, {"dilation", dilation}, {"groups", group}};
  bool direct = true;
  for (size_t a = 0; a < 2; ++a)
    direct &= begin[a] == end[a] && out_pad[a] < std::max(stride[a], dilation[a]) &&
              out[a] == full[a] + out_pad[a] - 2 * begin[a];
  ValueId y;
  if (direct) {
    attrs.set("pad", begin);
    attrs.set("input_shape", std::vector<int64_t>{xs[0], M, out[0], out[1]});
    if (out_pad != std::vector<int64_t>{0, 0}) attrs.set("output_padding", out_pad);
    y = c.op(OpKind::Conv2dBackwardInput, {x, w}, attrs);
  } else {
    attrs.set("pad", std::vector<int64_t>{0, 0});
    attrs.set("input_shape", std::vector<int64_t>{xs[0], M, full[0], full[1]});
    y = c.op(OpKind::Conv2dBackwardInput, {x, w}, attrs);
    for (size_t a = 0; a < 2; ++a) {
      int64_t axis = int64_t(2 + a), stop = begin[a] + out[a];
      if (stop > full[a])
        y = c.op(OpKind::Pad, {y},
                 Attrs{{"axis", axis}, {"before", int64_t{0}}, {"after", stop - full[a]}});
      if (begin[a] != 0 || stop != c.type_of(y).shape[int(axis)])
        y = c.op(OpKind::Slice, {y}, Attrs{{"axis", axis}, {"start", begin[a]}, {"end", stop}});
    }
  }
  if (c.has_input(2)) {
    ValueId b = c.tensor(2);
    if (c.type_of(b).shape.dims != std::vector<int64_t>{M})
      c.unsupported(fmt::format("the bias {} must be [{}]", to_string(c.type_of(b)), M));
    y = c.op(OpKind::Add, {y, c.reshape(b, {M, 1, 1})});
  }
  c.set_output(0, from_image(c, y, rank));
}

// ---- Resize and Upsample ---------------------------------------------------------

// The integer factors [sh, sw] of a resize of x (rank 3 or 4) by `scales`
// (one per axis; N and C must stay 1). Refuses what netc's upsample cannot do.
std::vector<int64_t> integer_factors(NodeContext& c, const Shape& x, std::vector<double> scales) {
  if (static_cast<int>(scales.size()) != x.rank())
    c.unsupported(fmt::format("{} scales for an input of rank {}", scales.size(), x.rank()));
  if (scales[0] != 1 || scales[1] != 1)
    c.unsupported(fmt::format("scales [{}] resize the batch or channel axis; netc resizes only "
                              "the spatial axes of [N,C,H,W] or [N,C,L]",
                              fmt::join(scales, ",")));
  if (x.rank() == 3) scales.insert(scales.begin() + 2, 1.0);
  std::vector<int64_t> f;
  for (size_t a = 2; a < 4; ++a) {
    double s = scales[a];
    if (!(s >= 1) || s != std::floor(s) || s > 1e6)
      c.unsupported(fmt::format("scales [{}]: netc's upsample takes integer factors >= 1 "
                                "(downsampling and fractional factors are not supported)",
                                fmt::join(scales, ",")));
    f.push_back(static_cast<int64_t>(s));
  }
  return f;
}

// upsample {scale, mode} of a rank-3 or rank-4 x; the identity for 1x1.
ValueId upsample(NodeContext& c, ValueId x, std::vector<int64_t> factors, bool bilinear) {
  if (factors == std::vector<int64_t>{1, 1}) return x;
  int rank = as_image(c, x, "the resize");
  ValueId y =
      c.op(OpKind::Upsample, {x},
           Attrs{{"scale", factors}, {"mode", std::string(bilinear ? "bilinear" : "nearest")}});
  return from_image(c, y, rank);
}

// Resize (opset 10: X, scales; 11 on: X, roi, scales, sizes). With an
// integer factor s, output o's source coordinate is
//   half_pixel, pytorch_half_pixel:  (o + 1/2) / s - 1/2 = o / s - (s - 1) / 2s
//   asymmetric:                       o / s
//   tf_half_pixel_for_nn:             (o + 1/2) / s
// Nearest picks floor(o / s), netc's nearest, when the rounding lands there:
// half-pixel coordinates are within (s - 1) / 2s < 1/2 of floor(o / s), so
// the round_prefer_* modes do; asymmetric exceeds it by r / s (r = o mod s),
// so floor does, and round_prefer_floor for s <= 2 (r / s <= 1/2);
// tf_half_pixel_for_nn by (r + 1/2) / s in (0, 1), so floor does. Linear at half-pixel coordinates
// is netc's bilinear (the edge clamp is ONNX's edge padding too); pytorch_half_pixel differs only
// for an output of one pixel, which an integer factor >= 2 never makes. Opset 10's Resize samples
// asymmetrically.
void map_resize(NodeContext& c) {
  ValueId x = c.tensor(0);
  const Shape xs = c.type_of(x).shape;
  if (xs.rank() != 3 && xs.rank() != 4)
    c.unsupported(fmt::format("the input {} must be [N,C,L] or [N,C,H,W]", to_string(xs)));
  std::string mode = c.attr_str("mode", "nearest");
  std::string coord =
      c.opset() >= 11 ? c.attr_str("coordinate_transformation_mode", "half_pixel") : "asymmetric";
  // Opset 10 has no nearest_mode; it truncates (floor) as Upsample does.
  std::string nearest =
      c.opset() >= 11 ? c.attr_str("nearest_mode", "round_prefer_floor") : std::string("floor");
  if (coord == "tf_crop_and_resize")
    c.unsupported("coordinate_transformation_mode 'tf_crop_and_resize' (a crop by roi) is not "
                  "supported");
  if (mode == "cubic")
    c.unsupported("mode 'cubic' is not supported (netc's upsample is nearest or bilinear)");
  std::vector<double> scales;
  int scales_at = c.opset() >= 11 ? 2 : 1;
  const Folded* s = c.has_input(scales_at) ? &c.constant(scales_at, "scales") : nullptr;
  if (s && s->elements() > 0) {
    scales = s->data;
  } else if (c.opset() >= 11 && c.has_input(3)) {
    std::vector<int64_t> sizes = c.constant(3, "sizes").ints();
    if (static_cast<int>(sizes.size()) != xs.rank())
      c.unsupported(fmt::format("{} sizes for an input of rank {}", sizes.size(), xs.rank()));
    for (int a = 0; a < xs.rank(); ++a) {
      if (xs[a] == kBatch) {
        scales.push_back(1);
        continue;
      }
      if (sizes[size_t(a)] % xs[a] != 0)
        c.unsupported(fmt::format("sizes [{}] for {}: netc's upsample takes integer factors "
                                  "(fractional factors and downsampling are not supported)",
                                  fmt::join(sizes, ","), to_string(xs)));
      scales.push_back(double(sizes[size_t(a)] / xs[a]));
    }
  } else {
    c.unsupported("neither scales nor sizes is given");
  }
  std::vector<int64_t> f = integer_factors(c, xs, scales);
  bool half_pixel = coord == "half_pixel" || coord == "pytorch_half_pixel";
  if (mode == "nearest") {
    int64_t smax = std::max(f[0], f[1]);
    bool floors = half_pixel ? nearest == "round_prefer_floor" || nearest == "round_prefer_ceil"
                  : coord == "asymmetric"
                      ? nearest == "floor" || (nearest == "round_prefer_floor" && smax <= 2)
                  : coord == "tf_half_pixel_for_nn" ? nearest == "floor"
                                                    : smax == 1;
    if (!floors)
      c.unsupported(fmt::format("mode 'nearest' with coordinate_transformation_mode '{}' and "
                                "nearest_mode '{}' at factors [{},{}] does not pick floor(o / s); "
                                "netc's upsample does",
                                coord, nearest, f[0], f[1]));
    c.set_output(0, upsample(c, x, f, false));
    return;
  }
  if (mode != "linear")
    c.unsupported(fmt::format("mode '{}' is not nearest, linear or cubic", mode));
  if (!half_pixel && f != std::vector<int64_t>{1, 1})
    c.unsupported(fmt::format("mode 'linear' with coordinate_transformation_mode '{}': netc's "
                              "bilinear upsample samples at half-pixel centres (half_pixel, "
                              "pytorch_half_pixel)",
                              coord));
  c.set_output(0, upsample(c, x, f, true));
}

// Upsample (opsets 7 to 9; scales an attribute at 7, an input from 9): the
// asymmetric coordinate o / s, so nearest is floor(o / s), and linear is not
// netc's half-pixel bilinear.
void map_upsample(NodeContext& c) {
  ValueId x = c.tensor(0);
  const Shape xs = c.type_of(x).shape;
  if (xs.rank() != 3 && xs.rank() != 4)
    c.unsupported(fmt::format("the input {} must be [N,C,L] or [N,C,H,W]", to_string(xs)));
  std::vector<double> scales =
      c.has_input(1) ? c.constant(1, "scales").data : c.attr_floats("scales");
  std::vector<int64_t> f = integer_factors(c, xs, scales);
  std::string mode = c.attr_str("mode", "nearest");
  if (mode != "nearest" && f != std::vector<int64_t>{1, 1})
    c.unsupported(fmt::format("mode '{}': Upsample interpolates at asymmetric coordinates (o / "
                              "s); netc's bilinear upsample samples at half-pixel centres",
                              mode));
  c.set_output(0, upsample(c, x, f, false));
}

const OpMapping kResizeMappings[] = {
    {"ConvTranspose",
     {"auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads",
      "strides"},
     map_conv_transpose},
    {"Resize",
     {"coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside", "extrapolation_value",
      "mode", "nearest_mode"},
     map_resize,
     nullptr,
     {1, 2}},
    {"Upsample", {"mode", "scales"}, map_upsample, nullptr, {1}},
};

} // namespace

std::span<const OpMapping> resize_mappings() { return kResizeMappings; }

} // namespace netc::onnx_import
