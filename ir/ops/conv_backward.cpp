// The backward ops of the conv family, built by the gradient rules of conv2d,
// maxpool and avgpool (ir/ops/conv.cpp): dx and dW of a convolution and the
// pools' adjoints. Each op's shape rule, reference implementation and FLOPs
// rule sit together, as in the forward family file; their Halide lowerings are
// in codegen/ops/conv_backward.cpp.
//
// Each shape rule checks its operands by rebuilding the forward op's input
// types: the forward shape rule must accept them and give exactly dy's type.
//
// conv2d_backward_input is also the forward op of the conv2d_transpose layer
// (PyTorch's ConvTranspose2d: its weights [C_in, C_out/groups, KH, KW] are
// conv2d's [O, C/groups, KH, KW] read the other way), so it has a gradient
// rule; it takes an optional output_padding for that. The others have none
// (grad stays nullptr): second derivatives are not supported, and autodiff
// names the op if one would be needed.
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/window.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace netc {

namespace {

using namespace conv_geometry;

// A 4-value shape attribute (input_shape, weight_shape); -1 marks the batch.
Shape shape_attr(const Attrs& attrs, const std::string& name) {
  const std::vector<int64_t>& v = attrs.get_ints(name);
  if (v.size() != 4)
    throw ShapeError(
        fmt::format("attribute '{}' must have 4 values, found [{}]", name, fmt::join(v, ",")));
  return checked_shape(v);
}

// Throws unless dy has the type of the forward op's output on `inputs`, which
// the forward shape rule (with all of its checks) computes.
void check_dy(const TensorType& dy, OpKind forward, const Attrs& attrs,
              std::span<const TensorType> inputs) {
  TensorType y = op_def(forward).shape(attrs, inputs);
  if (dy != y)
    throw ShapeError(fmt::format("dy is {} but the forward {} gives {}", to_string(dy),
                                 op_name(forward), to_string(y)));
}

// output_padding [oph, opw] (absent: [0,0]): rows and columns added at the
// bottom and right of the forward input x beyond those the forward conv2d
// reads, as PyTorch's ConvTranspose2d(output_padding) adds them to its output
// to pick one of the input sizes that a strided conv maps to the same output
// size. It must be smaller than the stride or the dilation of its axis
// (PyTorch's rule). Returns x's shape with them removed: the input that the
// forward conv2d must map exactly onto dy.
Shape without_output_padding(const Attrs& attrs, Shape x) {
  Pair op = pair_attr(attrs, "output_padding", {0, 0}, 0);
  if (op.h == 0 && op.w == 0) return x;
  Pair stride = pair_attr(attrs, "stride", {1, 1}, 1);
  Pair dilation = pair_attr(attrs, "dilation", {1, 1}, 1);
  if (op.h >= std::max(stride.h, dilation.h) || op.w >= std::max(stride.w, dilation.w))
    throw ShapeError(fmt::format("output_padding [{},{}] must be smaller than the stride [{},{}] "
                                 "or the dilation [{},{}] of its axis",
                                 op.h, op.w, stride.h, stride.w, dilation.h, dilation.w));
  if (x[2] <= op.h || x[3] <= op.w)
    throw ShapeError(fmt::format("output_padding [{},{}] leaves nothing of the input {}", op.h,
                                 op.w, to_string(x)));
  x.dims[2] -= op.h;
  x.dims[3] -= op.w;
  return x;
}

// 2 per weight tap per element of the forward output y, as conv2d without bias.
int64_t conv_taps(const Shape& y, const Shape& w) {
  return 2 * per_example(y[0]) * y[1] * y[2] * y[3] * w[1] * w[2] * w[3];
}

// ---- conv2d_backward_input(dy, w) {stride, pad, dilation, groups, input_shape,
//                                    output_padding} --
// dx of conv2d gathered per input element (a transposed convolution): with
// g = c / Cg and cg = c - g Cg,
//   dx[n,c,ih,iw] = sum_{o in group g, kh, kw} w[o,cg,kh,kw] dy[n,o,oh,ow]
// over the taps that read x[ih,iw]: oh = (ih + ph - kh dh) / sh and
// ow = (iw + pw - kw dw) / sw, when the division is exact and lands inside dy.
TensorType shape_conv2d_backward_input(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &dy = in[0], &w = in[1];
  TensorType x{dy.dtype, shape_attr(attrs, "input_shape")};
  const TensorType forward[] = {{x.dtype, without_output_padding(attrs, x.shape)}, w};
  check_dy(dy, OpKind::Conv2d, attrs, forward);
  return x;
}

// The output row whose window tap k reads input row i (o s - p + k d = i), or -1.
int64_t tap_source(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                   int64_t out) {
  int64_t t = i + pad - k * dilation;
  if (t < 0 || t % stride != 0 || t / stride >= out) return -1;
  return t / stride;
}

template <class T>
void ref_conv2d_backward_input(const Node& n, RefInputs<T> in, Tensor<T>& dx, RefContext<T>&) {
  const Tensor<T>&dy = *in[0], &w = *in[1];
  Window win = conv_window(n.attrs, Shape(w.shape));
  int64_t N = dx.dim(0), C = dx.dim(1), H = dx.dim(2), W = dx.dim(3);
  int64_t O = dy.dim(1), OH = dy.dim(2), OW = dy.dim(3), KH = w.dim(2), KW = w.dim(3);
  int64_t Cg = C / win.groups, Og = O / win.groups;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw) {
          T acc = 0;
          int64_t g = c / Cg, cg = c % Cg;
          for (int64_t o = g * Og; o < (g + 1) * Og; ++o)
            for (int64_t kh = 0; kh < KH; ++kh) {
              int64_t oh = tap_source(ih, kh, win.stride.h, win.pad.h, win.dilation.h, OH);
              for (int64_t kw = 0; oh >= 0 && kw < KW; ++kw) {
                int64_t ow = tap_source(iw, kw, win.stride.w, win.pad.w, win.dilation.w, OW);
                if (ow < 0) continue;
                acc +=
                    w[((o * Cg + cg) * KH + kh) * KW + kw] * dy[((i * O + o) * OH + oh) * OW + ow];
              }
            }
          dx[((i * C + c) * H + ih) * W + iw] = acc;
        }
}

int64_t flops_conv2d_backward_input(const Node&, std::span<const TensorType> in) {
  return conv_taps(in[0].shape, in[1].shape);
}

// y = conv2d_backward_input(a, w) is linear in a and in w; with the tap
// relation ih = oh s - p + kh d (g = o / Og, c = g Cg + cg),
//   y[n,c,ih,iw] = sum_{o in group g, kh, kw} w[o,cg,kh,kw] a[n,o,oh,ow]
// so the adjoints are conv2d's two maps with the roles of x and y swapped:
//   da[n,o,oh,ow] = sum_{cg,kh,kw} w[o,cg,kh,kw] dy[n, g Cg + cg, oh s - p + kh d, ...]
//                 = conv2d(dy, w) with the same stride, padding, dilation, groups
//   dw[o,cg,kh,kw] = sum_{n,oh,ow} a[n,o,oh,ow] dy[n, g Cg + cg, oh s - p + kh d, ...]
//                 = conv2d_backward_weight(dy, a)
// With an output_padding of at least the stride, conv2d(dy, w) has more rows
// than a (the padded rows read by taps of rows past a's end): a slice keeps a's.
std::vector<ValueId> grad_conv2d_backward_input(GradBuilder& gb, const Node& n, ValueId,
                                                ValueId dy) {
  ValueId a = n.inputs[0], w = n.inputs[1];
  Attrs conv_attrs;
  for (const char* k : {"stride", "pad", "dilation", "groups"})
    if (const AttrValue* v = n.attrs.find(k)) conv_attrs.set(k, *v);
  ValueId da = gb.op(OpKind::Conv2d, {dy, w}, conv_attrs);
  const Shape a_shape = gb.type(a).shape;
  for (int axis : {2, 3})
    if (gb.type(da).shape[axis] != a_shape[axis])
      da = gb.op(OpKind::Slice, {da},
                 Attrs{{"axis", int64_t(axis)}, {"start", int64_t(0)}, {"end", a_shape[axis]}});
  Attrs dw_attrs = conv_attrs;
  if (const AttrValue* v = n.attrs.find("output_padding")) dw_attrs.set("output_padding", *v);
  dw_attrs.set("weight_shape", gb.type(w).shape.dims);
  return {da, gb.op(OpKind::Conv2dBackwardWeight, {dy, a}, dw_attrs)};
}

// ---- conv2d_backward_weight(x, dy) {stride, pad, dilation, groups, weight_shape,
//                                     output_padding} --
// dW of conv2d, summed over the batch: with c = (o / Og) Cg + cg,
//   dw[o,cg,kh,kw] = sum_{n,oh,ow} dy[n,o,oh,ow] x[n, c, oh sh - ph + kh dh, ow sw - pw + kw dw]
// over the taps inside x. output_padding (conv2d_transpose's dW) lets x have
// rows past those the taps read, as conv2d_backward_input's output does.
TensorType shape_conv2d_backward_weight(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &x = in[0], &dy = in[1];
  TensorType w{x.dtype, shape_attr(attrs, "weight_shape")};
  if (x.shape.rank() != 4)
    throw ShapeError(fmt::format("the input must be [N,C,H,W], found {}", to_string(x)));
  const TensorType forward[] = {{x.dtype, without_output_padding(attrs, x.shape)}, w};
  check_dy(dy, OpKind::Conv2d, attrs, forward);
  return w;
}

template <class T>
void ref_conv2d_backward_weight(const Node& n, RefInputs<T> in, Tensor<T>& dw, RefContext<T>&) {
  const Tensor<T>&x = *in[0], &dy = *in[1];
  Window win = conv_window(n.attrs, Shape(dw.shape));
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  int64_t O = dy.dim(1), OH = dy.dim(2), OW = dy.dim(3);
  int64_t Cg = dw.dim(1), KH = dw.dim(2), KW = dw.dim(3), Og = O / win.groups;
  for (int64_t o = 0; o < O; ++o)
    for (int64_t cg = 0; cg < Cg; ++cg)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw) {
          T acc = 0;
          int64_t c = (o / Og) * Cg + cg;
          for (int64_t i = 0; i < N; ++i)
            for (int64_t oh = 0; oh < OH; ++oh)
              for (int64_t ow = 0; ow < OW; ++ow) {
                int64_t ih = oh * win.stride.h - win.pad.h + kh * win.dilation.h;
                int64_t iw = ow * win.stride.w - win.pad.w + kw * win.dilation.w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue; // zero padding
                acc += dy[((i * O + o) * OH + oh) * OW + ow] * x[((i * C + c) * H + ih) * W + iw];
              }
          dw[((o * Cg + cg) * KH + kh) * KW + kw] = acc;
        }
}

int64_t flops_conv2d_backward_weight(const Node& n, std::span<const TensorType> in) {
  return conv_taps(in[1].shape, n.type.shape);
}

// ---- maxpool_backward(x, dy) {kernel, stride, pad} --------------------------------
//   dx[i] = sum of dy[o] over the windows o whose arg max is i
// The arg max is the window's first maximum in row-major order, or its first
// NaN: the element ref_maxpool returns. Windows may overlap, so dy accumulates.
TensorType shape_maxpool_backward(const Attrs& attrs, std::span<const TensorType> in) {
  check_dy(in[1], OpKind::MaxPool, attrs, in.first(1));
  return in[0];
}

template <class T>
void ref_maxpool_backward(const Node& n, RefInputs<T> in, Tensor<T>& dx, RefContext<T>&) {
  const Tensor<T>&x = *in[0], &dy = *in[1];
  int64_t W = x.dim(3), HW = x.dim(2) * W;
  visit_windows(n.attrs, x.shape, dy.shape, [&](int64_t p, int64_t o, Range rh, Range rw) {
    int64_t best = p * HW + rh.lo * W + rw.lo;
    for (int64_t ih = rh.lo; ih < rh.hi; ++ih)
      for (int64_t iw = rw.lo; iw < rw.hi; ++iw) {
        int64_t k = p * HW + ih * W + iw;
        if (x[k] > x[best] || (std::isnan(x[k]) && !std::isnan(x[best]))) best = k;
      }
    dx[best] += dy[o];
  });
}

// One per window element read (the arg max search), as the forward.
int64_t flops_maxpool_backward(const Node& n, std::span<const TensorType> in) {
  return window_reads(n.attrs, in[0].shape, in[1].shape);
}

// ---- avgpool_backward(dy) {kernel, stride, pad, count_include_pad, input_shape} --
//   dx[i] = sum over the windows o that contain i of dy[o] / D(o), D(o) being
//   avgpool's divisor: window o's elements inside x, or kh kw with
//   count_include_pad=1. Padding receives nothing either way.
TensorType shape_avgpool_backward(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType forward[] = {{in[0].dtype, shape_attr(attrs, "input_shape")}};
  check_dy(in[0], OpKind::AvgPool, attrs, forward);
  return forward[0];
}

template <class T>
void ref_avgpool_backward(const Node& n, RefInputs<T> in, Tensor<T>& dx, RefContext<T>&) {
  const Tensor<T>& dy = *in[0];
  int64_t W = dx.dim(3), HW = dx.dim(2) * W;
  Window win = pool_window(n.attrs);
  bool include_pad = count_include_pad(n.attrs);
  visit_windows(n.attrs, dx.shape, dy.shape, [&](int64_t p, int64_t o, Range rh, Range rw) {
    int64_t divisor = include_pad ? win.kernel.h * win.kernel.w : (rh.hi - rh.lo) * (rw.hi - rw.lo);
    T share = dy[o] / static_cast<T>(divisor);
    for (int64_t ih = rh.lo; ih < rh.hi; ++ih)
      for (int64_t iw = rw.lo; iw < rw.hi; ++iw) dx[p * HW + ih * W + iw] += share;
  });
}

// One add per window element written.
int64_t flops_avgpool_backward(const Node& n, std::span<const TensorType> in) {
  return window_reads(n.attrs, n.type.shape, in[0].shape);
}

// Autodiff emits these ops for gradients; gradients of gradients (double
// backward) are not supported.
constexpr std::string_view kBackwardOnly = "a backward op: second derivatives are not supported";

const OpDef kConvBackwardOps[] = {
    {OpKind::Conv2dBackwardInput, 2, 2, shape_conv2d_backward_input,
     NETC_REF(ref_conv2d_backward_input), flops_conv2d_backward_input, grad_conv2d_backward_input},
    {OpKind::Conv2dBackwardWeight, 2, 2, shape_conv2d_backward_weight,
     NETC_REF(ref_conv2d_backward_weight), flops_conv2d_backward_weight, nullptr, kBackwardOnly},
    {OpKind::MaxPoolBackward, 2, 2, shape_maxpool_backward, NETC_REF(ref_maxpool_backward),
     flops_maxpool_backward, nullptr, kBackwardOnly},
    {OpKind::AvgPoolBackward, 1, 1, shape_avgpool_backward, NETC_REF(ref_avgpool_backward),
     flops_avgpool_backward, nullptr, kBackwardOnly},
};

} // namespace

std::span<const OpDef> conv_backward_op_defs() { return kConvBackwardOps; }

} // namespace netc
