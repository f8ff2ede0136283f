// Convolution and pooling, NCHW at the IR level (codegen picks its own layout).
// Each op's shape rule, reference implementation, FLOPs rule and gradient rule
// sit together. The backward ops that the gradient rules build (dx and dW of a
// convolution, the pools' adjoints) live in ir/ops/conv_backward.cpp; the
// window geometry that both files share (output size, rows read, padding) is
// in ir/ops/window.h.
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/window.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace netc {

namespace {

using namespace conv_geometry;

// ---- shared shape checks -------------------------------------------------------

// x must be a float [N,C,H,W] with constant C, H, W (only N may be the batch).
void check_image(const TensorType& x, const char* what) {
  if (!is_float(x.dtype))
    throw ShapeError(fmt::format("{} must be f32 or f64, found {}", what, to_string(x)));
  bool ok = x.shape.rank() == 4;
  for (int i = 1; ok && i < 4; ++i) ok = x.shape[i] != kBatch;
  if (!ok)
    throw ShapeError(fmt::format("{} must be [N,C,H,W] with constant C, H, W, found {}", what,
                                 to_string(x.shape)));
}

// [N, channels, OH, OW], or an error naming the input, kernel and padding
// when the (dilated) kernel does not fit in the padded input.
Shape window_output(const Shape& x, int64_t channels, const Window& win) {
  // The kernel's extent d (K - 1) + 1 must fit in the padded input H + 2p;
  // tested by division so that a huge dilation cannot overflow.
  int64_t padded_h = x[2] + 2 * win.pad.h, padded_w = x[3] + 2 * win.pad.w;
  if (win.kernel.h - 1 > (padded_h - 1) / win.dilation.h ||
      win.kernel.w - 1 > (padded_w - 1) / win.dilation.w)
    throw ShapeError(fmt::format("the {}x{} kernel (dilation [{},{}]) does not fit in the input {} "
                                 "with padding [{},{}]",
                                 win.kernel.h, win.kernel.w, win.dilation.h, win.dilation.w,
                                 to_string(x), win.pad.h, win.pad.w));
  int64_t oh = (padded_h - win.dilation.h * (win.kernel.h - 1) - 1) / win.stride.h + 1;
  int64_t ow = (padded_w - win.dilation.w * (win.kernel.w - 1) - 1) / win.stride.w + 1;
  return checked_shape({x[0], channels, oh, ow});
}

// ---- conv2d -----------------------------------------------------------------
// Cross-correlation (as in PyTorch), groups split C and O into `groups` blocks;
// with G = groups, Cg = C/G, Og = O/G and g = o / Og:
//   out[n,o,oh,ow] = b[o] + sum_{cg<Cg, kh, kw} w[o,cg,kh,kw]
//                    * x[n, g Cg + cg, oh sh - ph + kh dh, ow sw - pw + kw dw]
// with x = 0 outside the image. Depthwise convolution is G = C.

TensorType shape_conv2d(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &x = in[0], &w = in[1];
  check_image(x, "the input");
  if (w.shape.rank() != 4 || w.shape.has_batch())
    throw ShapeError(
        fmt::format("the weights must be [O,C/groups,KH,KW], found {}", to_string(w.shape)));
  if (w.dtype != x.dtype)
    throw ShapeError(fmt::format("the input {} and the weights {} must have the same dtype",
                                 to_string(x), to_string(w)));
  Window win = conv_window(attrs, w.shape);
  int64_t c = x.shape[1], o = w.shape[0];
  if (c % win.groups != 0 || o % win.groups != 0)
    throw ShapeError(fmt::format("groups={} must divide the input channels of {} ({}) and the "
                                 "output channels of the weights {} ({})",
                                 win.groups, to_string(x.shape), c, to_string(w.shape), o));
  if (w.shape[1] != c / win.groups)
    throw ShapeError(fmt::format("the input {} has {} channels but the weights {} expect {} "
                                 "(groups={})",
                                 to_string(x.shape), c, to_string(w.shape), w.shape[1] * win.groups,
                                 win.groups));
  if (in.size() == 3 && (in[2].shape != Shape{o} || in[2].dtype != x.dtype))
    throw ShapeError(fmt::format("the bias must be {}[{}] to match the weights {}, found {}",
                                 dtype_name(x.dtype), o, to_string(w.shape), to_string(in[2])));
  return {x.dtype, window_output(x.shape, o, win)};
}

template <class T>
void ref_conv2d(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>&x = *in[0], &w = *in[1];
  const Tensor<T>* b = in.size() == 3 ? in[2] : nullptr;
  Window win = conv_window(n.attrs, Shape(w.shape));
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  int64_t O = out.dim(1), OH = out.dim(2), OW = out.dim(3), KH = w.dim(2), KW = w.dim(3);
  int64_t Cg = C / win.groups, Og = O / win.groups;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          T acc = b ? (*b)[o] : T(0);
          for (int64_t cg = 0; cg < Cg; ++cg)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t ih = oh * win.stride.h - win.pad.h + kh * win.dilation.h;
                int64_t iw = ow * win.stride.w - win.pad.w + kw * win.dilation.w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue; // zero padding
                int64_t c = (o / Og) * Cg + cg;
                acc += w[((o * Cg + cg) * KH + kh) * KW + kw] * x[((i * C + c) * H + ih) * W + iw];
              }
          out[((i * O + o) * OH + oh) * OW + ow] = acc;
        }
}

// 2 (multiply + add) per weight tap per output, plus one add per output for the bias.
int64_t flops_conv2d(const Node& n, std::span<const TensorType> in) {
  const Shape& y = n.type.shape;
  const Shape& w = in[1].shape;
  int64_t outputs = per_example(y[0]) * y[1] * y[2] * y[3];
  return 2 * outputs * w[1] * w[2] * w[3] + (in.size() == 3 ? outputs : 0);
}

// y is linear in x and in w, so each gradient is the adjoint of the map that
// takes it to y (G groups, Og = O/G outputs per group, g = c / Cg):
//   dx[n,c,ih,iw] = sum_{og,kh,kw} w[g Og + og, c - g Cg, kh, kw] dy[n, g Og + og, oh, ow]
//                   over (oh, ow) with oh sh - ph + kh dh = ih, ow sw - pw + kw dw = iw
//                   (a transposed convolution: conv2d_backward_input)
//   dw[o,cg,kh,kw] = sum_{n,oh,ow} dy[n,o,oh,ow] x[n, g Cg + cg, oh sh - ph + kh dh, ...]
//                   (conv2d_backward_weight; padding contributes 0)
//   db[o] = sum_{n,oh,ow} dy[n,o,oh,ow]
std::vector<ValueId> grad_conv2d(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId x = n.inputs[0], w = n.inputs[1];
  Attrs dx_attrs = n.attrs, dw_attrs = n.attrs;
  dx_attrs.set("input_shape", gb.type(x).shape.dims);
  dw_attrs.set("weight_shape", gb.type(w).shape.dims);
  std::vector<ValueId> grads = {gb.op(OpKind::Conv2dBackwardInput, {dy, w}, dx_attrs),
                                gb.op(OpKind::Conv2dBackwardWeight, {x, dy}, dw_attrs)};
  if (n.inputs.size() == 3)
    grads.push_back(
        gb.op(OpKind::ReduceSum, {dy},
              Attrs{{"axes", std::vector<int64_t>{0, 2, 3}}, {"keepdims", int64_t(0)}}));
  return grads;
}

// ---- maxpool / avgpool ------------------------------------------------------
//   maxpool: out[n,c,oh,ow] = max over the window of x (padding is -inf, never chosen)
//   avgpool: out[n,c,oh,ow] = (sum over the window of x) / D, where D is
//            the number of window elements inside x (the default), or the
//            kernel area kh kw with count_include_pad=1 (PyTorch's default:
//            padding counts as zeros).
// Padding must be smaller than the kernel so that every window overlaps the
// image: a window of padding only would have no maximum and nothing to average.

TensorType shape_pool(const Attrs& attrs, std::span<const TensorType> in) {
  check_image(in[0], "the input");
  Window win = pool_window(attrs);
  if (win.pad.h >= win.kernel.h || win.pad.w >= win.kernel.w)
    throw ShapeError(fmt::format("padding [{},{}] must be smaller than the kernel [{},{}]",
                                 win.pad.h, win.pad.w, win.kernel.h, win.kernel.w));
  return {in[0].dtype, window_output(in[0].shape, in[0].shape[1], win)};
}

// A maximum ignores padding whatever is counted: the attribute is avgpool's alone.
TensorType shape_maxpool(const Attrs& attrs, std::span<const TensorType> in) {
  if (attrs.has("count_include_pad"))
    throw ShapeError("attribute 'count_include_pad' applies to avgpool only");
  return shape_pool(attrs, in);
}

TensorType shape_avgpool(const Attrs& attrs, std::span<const TensorType> in) {
  count_include_pad(attrs); // validates it
  return shape_pool(attrs, in);
}

// out = reduce(window rows, window cols, input plane, W) for every output element.
template <class T, class F>
void for_each_window(const Node& n, const Tensor<T>& x, Tensor<T>& out, F reduce) {
  int64_t HW = x.dim(2) * x.dim(3);
  visit_windows(n.attrs, x.shape, out.shape, [&](int64_t p, int64_t o, Range rh, Range rw) {
    out[o] = reduce(rh, rw, &x[p * HW], x.dim(3));
  });
}

template <class T>
void ref_maxpool(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  for_each_window(n, *in[0], out, [](Range rh, Range rw, const T* plane, int64_t W) {
    T best = -std::numeric_limits<T>::infinity();
    for (int64_t ih = rh.lo; ih < rh.hi; ++ih)
      for (int64_t iw = rw.lo; iw < rw.hi; ++iw) {
        T v = plane[ih * W + iw];
        if (std::isnan(v)) return v; // a NaN propagates, as in PyTorch
        best = std::max(best, v);
      }
    return best;
  });
}

template <class T>
void ref_avgpool(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  Window win = pool_window(n.attrs);
  bool include_pad = count_include_pad(n.attrs);
  for_each_window(n, *in[0], out, [&](Range rh, Range rw, const T* plane, int64_t W) {
    T sum = 0;
    for (int64_t ih = rh.lo; ih < rh.hi; ++ih)
      for (int64_t iw = rw.lo; iw < rw.hi; ++iw) sum += plane[ih * W + iw];
    int64_t divisor = include_pad ? win.kernel.h * win.kernel.w : (rh.hi - rh.lo) * (rw.hi - rw.lo);
    return sum / static_cast<T>(divisor);
  });
}

// One per window element read.
int64_t flops_pool(const Node& n, std::span<const TensorType> in) {
  return window_reads(n.attrs, in[0].shape, n.type.shape);
}

// maxpool is a selection: y[o] = x[a(o)] with a(o) the window's arg max (the
// first one on ties, as the forward scan keeps it), so
//   dx[i] = sum_{o : a(o) = i} dy[o]          (maxpool_backward; windows may overlap)
std::vector<ValueId> grad_maxpool(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  return {gb.op(OpKind::MaxPoolBackward, {n.inputs[0], dy}, n.attrs)};
}

// avgpool is linear: y[o] = sum_{i in window(o)} x[i] / D(o), so
//   dx[i] = sum_{o : i in window(o)} dy[o] / D(o)   (avgpool_backward)
// with the same divisor D (count_include_pad travels in the attributes).
std::vector<ValueId> grad_avgpool(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  Attrs attrs = n.attrs;
  attrs.set("input_shape", gb.type(n.inputs[0]).shape.dims);
  return {gb.op(OpKind::AvgPoolBackward, {dy}, attrs)};
}

// ---- global_avgpool ---------------------------------------------------------
//   out[n,c] = (1 / HW) sum_{h,w} x[n,c,h,w]

TensorType shape_global_avgpool(const Attrs&, std::span<const TensorType> in) {
  check_image(in[0], "the input");
  return {in[0].dtype, checked_shape({in[0].shape[0], in[0].shape[1]})};
}

template <class T>
void ref_global_avgpool(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& x = *in[0];
  int64_t hw = x.dim(2) * x.dim(3);
  for (int64_t p = 0; p < out.size(); ++p) {
    T sum = 0;
    for (int64_t i = 0; i < hw; ++i) sum += x[p * hw + i];
    out[p] = sum / static_cast<T>(hw);
  }
}

int64_t flops_global_avgpool(const Node&, std::span<const TensorType> in) {
  return in[0].shape.static_elements();
}

//   dx[n,c,h,w] = dy[n,c] / HW: dy reshaped to [N,C,1,1], broadcast to x's
//   shape, divided by HW (no op of its own).
std::vector<ValueId> grad_global_avgpool(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  const TensorType x = gb.type(n.inputs[0]);
  ValueId spread = gb.expand_reduced(dy, {2, 3}, x);
  return {gb.div(spread, gb.constant(static_cast<double>(x.shape[2] * x.shape[3])))};
}

const OpDef kConvOps[] = {
    {OpKind::Conv2d, 2, 3, shape_conv2d, NETC_REF(ref_conv2d), flops_conv2d, grad_conv2d},
    {OpKind::MaxPool, 1, 1, shape_maxpool, NETC_REF(ref_maxpool), flops_pool, grad_maxpool},
    {OpKind::AvgPool, 1, 1, shape_avgpool, NETC_REF(ref_avgpool), flops_pool, grad_avgpool},
    {OpKind::GlobalAvgPool, 1, 1, shape_global_avgpool, NETC_REF(ref_global_avgpool),
     flops_global_avgpool, grad_global_avgpool},
};

} // namespace

std::span<const OpDef> conv_op_defs() { return kConvOps; }

} // namespace netc
