// Convolution weights stored in the layout a kernel computes in (made only by
// passes/prepack.h, in inference graphs; no .nn surface). codegen's conv2d
// kernels read their weights in one of two layouts besides the IR's
// [O,C,KH,KW] (ir/ops/packed_conv.h): channels innermost (hwio) or Winograd's
// transformed kernel. A conv2d kernel reorders or transforms its weights on
// every call, which at batch 1 was ~40% of ResNet's 64-channel layers; in
// inference the weights change only with a checkpoint, so the pass rewrites
//   conv2d(x, W[, b])  ->  conv2d_packed(x, pack_conv_weight(W)[, b])
// and fusion puts pack_conv_weight in a prepare kernel, which the executor
// runs once per weights change (plan/launch_plan.h).
//
// pack_conv_weight {layout}: W[O,C,KH,KW] ->
//   hwio:     P[kh, kw, c, o] = W[o, c, kh, kw]
//   winograd: P[xi, nu, c, o] = sum_{i, j < 3} G[xi][i] G[nu][j] W[o, c, i, j]   (KH = KW = 3)
// conv2d_packed {layout, stride, pad} (x, P[, b]) is conv2d(x, W[, b]) for the
// W that P holds, with one group and no dilation (both layouts' conditions):
//   hwio:     the direct convolution, reading P;
//   winograd: per 2x2 output tile, Y = A^T [sum_c U[., ., c, o] .* (B^T d_c B)] A,
//             d_c the 4x4 patch of channel c at the tile (zero outside the
//             image), stride 1: the same sums as conv2d up to rounding, in
//             the order the kernel computes them.
// Neither is differentiable: they exist only after training.
#include "ir/ops/packed_conv.h"

#include "ir/op_registry.h"
#include "ir/ops/common.h"
#include "ir/ops/window.h"

#include <fmt/format.h>

namespace netc {

WeightLayout weight_layout(const Attrs& attrs) {
  const std::string& name = attrs.get_str("layout");
  if (name == "hwio") return WeightLayout::hwio;
  if (name == "winograd") return WeightLayout::winograd;
  throw ShapeError(fmt::format("layout must be hwio or winograd, found '{}'", name));
}

std::string_view layout_name(WeightLayout layout) {
  return layout == WeightLayout::hwio ? "hwio" : "winograd";
}

std::optional<WeightLayout> conv2d_kernel_layout(const Attrs& conv_attrs, const TensorType& x,
                                                 const Shape& w, const Shape& out) {
  conv_geometry::Window win = conv_geometry::conv_window(conv_attrs, w);
  if (conv_geometry::winograd_conv_ok(win, w[1], w[0], out, x.dtype)) return WeightLayout::winograd;
  if (conv_geometry::nhwc_conv_ok(win, w[1], w[0]) && x.dtype == DType::f32)
    return WeightLayout::hwio;
  return std::nullopt;
}

Shape packed_weight_shape(WeightLayout layout, const Shape& w) {
  if (layout == WeightLayout::hwio) return Shape{w[2], w[3], w[1], w[0]};
  return Shape{4, 4, w[1], w[0]};
}

Shape unpacked_weight_shape(WeightLayout layout, const Shape& p) {
  if (layout == WeightLayout::hwio) return Shape{p[3], p[2], p[0], p[1]};
  return Shape{p[3], p[2], 3, 3};
}

namespace {

constexpr std::string_view kInferenceOnly =
    "a prepacked-weights inference op: it exists only after training, in an inference graph";

void require_static4(const TensorType& t, std::string_view what) {
  require_float(t, what);
  if (t.shape.rank() != 4 || t.shape.has_batch())
    throw ShapeError(fmt::format("{} must be a static 4-d tensor, found {}", what, to_string(t)));
}

TensorType shape_pack_conv_weight(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& w = in[0];
  require_static4(w, "the weights");
  WeightLayout layout = weight_layout(attrs);
  if (layout == WeightLayout::winograd && (w.shape[2] != 3 || w.shape[3] != 3))
    throw ShapeError(
        fmt::format("the winograd layout needs a 3x3 kernel, found weights {}", to_string(w)));
  return {w.dtype, packed_weight_shape(layout, w.shape)};
}

// conv2d's shape rule on the weights P holds, after the layout's own conditions.
TensorType shape_conv2d_packed(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& p = in[1];
  require_static4(p, "the packed weights");
  WeightLayout layout = weight_layout(attrs);
  if (layout == WeightLayout::winograd && (p.shape[0] != 4 || p.shape[1] != 4))
    throw ShapeError(fmt::format("winograd weights must be [4,4,C,O], found {}", to_string(p)));
  conv_geometry::Window win =
      conv_geometry::conv_window(attrs, unpacked_weight_shape(layout, p.shape));
  if (win.groups != 1 || win.dilation.h != 1 || win.dilation.w != 1)
    throw ShapeError("packed weights take one group and no dilation");
  if (layout == WeightLayout::winograd && (win.stride.h != 1 || win.stride.w != 1))
    throw ShapeError("the winograd layout takes stride 1");
  std::vector<TensorType> unpacked(in.begin(), in.end());
  unpacked[1].shape = unpacked_weight_shape(layout, p.shape);
  return op_def(OpKind::Conv2d).shape(attrs, unpacked);
}

// f(oihw, hwio) for every tap of an [O,C,KH,KW] kernel: its offset in the
// IR's layout and in the hwio one.
template <class F>
void for_each_tap(int64_t O, int64_t C, int64_t KH, int64_t KW, F f) {
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw)
          f(((o * C + c) * KH + kh) * KW + kw, ((kh * KW + kw) * C + c) * O + o);
}

template <class T>
void ref_pack_conv_weight(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& w = *in[0];
  int64_t O = w.dim(0), C = w.dim(1), KH = w.dim(2), KW = w.dim(3);
  if (weight_layout(n.attrs) == WeightLayout::hwio) {
    for_each_tap(O, C, KH, KW, [&](int64_t oihw, int64_t hwio) { out[hwio] = w[oihw]; });
    return;
  }
  for (int64_t xi = 0; xi < 4; ++xi)
    for (int64_t nu = 0; nu < 4; ++nu)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t o = 0; o < O; ++o) {
          T sum = 0;
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j)
              sum += static_cast<T>(kWinogradG[xi][i] * kWinogradG[nu][j]) *
                     w[((o * C + c) * 3 + i) * 3 + j];
          out[((xi * 4 + nu) * C + c) * O + o] = sum;
        }
}

// Winograd F(2x2, 3x3) in plain loops, tile by tile.
template <class T>
void winograd_reference(const Node& n, const Tensor<T>& x, const Tensor<T>& u, const Tensor<T>* b,
                        Tensor<T>& out) {
  conv_geometry::Pair pad = conv_geometry::pair_attr(n.attrs, "pad", {0, 0}, 0);
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  int64_t O = out.dim(1), OH = out.dim(2), OW = out.dim(3);
  auto pixel = [&](int64_t i, int64_t c, int64_t h, int64_t w) {
    return h < 0 || h >= H || w < 0 || w >= W ? T(0) : x[((i * C + c) * H + h) * W + w];
  };
  for (int64_t i = 0; i < N; ++i)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t ty = 0; ty < (OH + 1) / 2; ++ty)
        for (int64_t tx = 0; tx < (OW + 1) / 2; ++tx) {
          T m[4][4] = {};
          for (int64_t c = 0; c < C; ++c) {
            T d[4][4], v[4][4] = {};
            for (int r = 0; r < 4; ++r)
              for (int s = 0; s < 4; ++s)
                d[r][s] = pixel(i, c, 2 * ty - pad.h + r, 2 * tx - pad.w + s);
            for (int a = 0; a < 4; ++a)
              for (int e = 0; e < 4; ++e)
                for (int r = 0; r < 4; ++r)
                  for (int s = 0; s < 4; ++s)
                    v[a][e] += static_cast<T>(kWinogradBT[a][r] * kWinogradBT[e][s]) * d[r][s];
            for (int a = 0; a < 4; ++a)
              for (int e = 0; e < 4; ++e) m[a][e] += u[((a * 4 + e) * C + c) * O + o] * v[a][e];
          }
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) {
              int64_t oh = 2 * ty + dy, ow = 2 * tx + dx;
              if (oh >= OH || ow >= OW) continue;
              T y = 0;
              for (int a = 0; a < 4; ++a)
                for (int e = 0; e < 4; ++e)
                  y += static_cast<T>(kWinogradAT[dy][a] * kWinogradAT[dx][e]) * m[a][e];
              out[((i * O + o) * OH + oh) * OW + ow] = (b ? (*b)[o] : T(0)) + y;
            }
        }
}

template <class T>
void ref_conv2d_packed(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>& ctx) {
  const Tensor<T>& p = *in[1];
  if (weight_layout(n.attrs) == WeightLayout::winograd) {
    winograd_reference(n, *in[0], p, in.size() == 3 ? in[2] : nullptr, out);
    return;
  }
  // hwio: conv2d's reference on the weights P holds (an exact reordering).
  Tensor<T> w(unpacked_weight_shape(WeightLayout::hwio, Shape(p.shape)).dims);
  for_each_tap(p.dim(3), p.dim(2), p.dim(0), p.dim(1),
               [&](int64_t oihw, int64_t hwio) { w[oihw] = p[hwio]; });
  std::vector<const Tensor<T>*> args(in.begin(), in.end());
  args[1] = &w;
  reference_of<T>(OpKind::Conv2d)(n, args, out, ctx);
}

// The direct convolution's FLOPs, as conv2d counts them (a Winograd kernel
// does fewer multiplies; bench/compare.py's rooflines count these).
int64_t flops_conv2d_packed(const Node& n, std::span<const TensorType> in) {
  std::vector<TensorType> unpacked(in.begin(), in.end());
  unpacked[1].shape = unpacked_weight_shape(weight_layout(n.attrs), in[1].shape);
  return op_def(OpKind::Conv2d).flops(n, unpacked);
}

int64_t flops_pack_conv_weight(const Node& n, std::span<const TensorType>) {
  // winograd: 9 multiply-adds per transformed element; hwio moves data only.
  return weight_layout(n.attrs) == WeightLayout::winograd ? 18 * n.type.shape.static_elements() : 0;
}

const OpDef kPackedConvOps[] = {
    {OpKind::PackConvWeight, 1, 1, shape_pack_conv_weight, NETC_REF(ref_pack_conv_weight),
     flops_pack_conv_weight, nullptr, kInferenceOnly},
    {OpKind::Conv2dPacked, 2, 3, shape_conv2d_packed, NETC_REF(ref_conv2d_packed),
     flops_conv2d_packed, nullptr, kInferenceOnly},
};

} // namespace

std::span<const OpDef> packed_conv_op_defs() { return kPackedConvOps; }

} // namespace netc
