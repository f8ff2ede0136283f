// Convolution and pooling, NCHW at the IR level (codegen picks its own layout).
// Each op's shape rule, reference implementation, FLOPs rule and gradient rule
// sit together; the backward ops that the gradient rules build (dx and dW of a
// convolution, the pools' adjoints) follow at the end, with no gradient of
// their own (second derivatives are not supported).
//
// Every windowed op shares one output-size formula per spatial axis:
//   OH = (H + 2 ph - dh (KH - 1) - 1) / sh + 1      (floor division, OH >= 1)
// and reads input row  ih = oh sh - ph + kh dh  for window row kh; rows outside
// [0, H) are padding (zero for conv2d, never selected or counted by the pools).
#include "ir/gradient.h"
#include "ir/op_registry.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace netc {

namespace {

// ---- shared helpers ---------------------------------------------------------

struct Pair {
  int64_t h, w;
};

// A two-element list attribute such as stride [sh,sw], or its default.
Pair pair_attr(const Attrs& attrs, const std::string& name, Pair fallback, int64_t min_value) {
  if (!attrs.has(name)) return fallback;
  const std::vector<int64_t>& v = attrs.get_ints(name);
  if (v.size() != 2)
    throw ShapeError(fmt::format("attribute '{}' must have 2 values [h,w], found [{}]", name,
                                 fmt::join(v, ",")));
  // The upper bound keeps every index computation below far from int64 overflow.
  for (int64_t x : v)
    if (x < min_value || x > kMaxElements)
      throw ShapeError(fmt::format("attribute '{}' must be in [{}, 2^48], found [{},{}]", name,
                                   min_value, v[0], v[1]));
  return {v[0], v[1]};
}

// The window geometry of conv2d and the pools.
struct Window {
  Pair kernel, stride, pad, dilation;
  int64_t groups = 1;
};

Window conv_window(const Attrs& a, const Shape& w) {
  Window win{{w[2], w[3]},
             pair_attr(a, "stride", {1, 1}, 1),
             pair_attr(a, "pad", {0, 0}, 0),
             pair_attr(a, "dilation", {1, 1}, 1),
             a.get_int("groups", 1)};
  if (win.groups < 1) throw ShapeError(fmt::format("groups must be >= 1, found {}", win.groups));
  return win;
}

Window pool_window(const Attrs& a) {
  if (!a.has("kernel")) throw ShapeError("missing attribute 'kernel' ([kh,kw])");
  Pair kernel = pair_attr(a, "kernel", {0, 0}, 1);
  return {kernel, pair_attr(a, "stride", kernel, 1), pair_attr(a, "pad", {0, 0}, 0), {1, 1}, 1};
}

// x must be a float [N,C,H,W] with constant C, H, W (only N may be the batch).
void check_image(const TensorType& x, const char* what) {
  if (!is_float(x.dtype))
    throw ShapeError(fmt::format("{} must be f32 or f64, found {}", what, to_string(x)));
  bool ok = x.shape.rank() == 4;
  for (int i = 1; ok && i < 4; ++i)
    ok = x.shape[i] != kBatch;
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

// Input rows [lo, hi) read by window `o` along one axis, clipped to [0, size).
struct Range {
  int64_t lo, hi;
};
Range window_rows(int64_t o, int64_t size, int64_t k, int64_t stride, int64_t pad) {
  int64_t start = o * stride - pad;
  return {std::max<int64_t>(start, 0), std::min(start + k, size)};
}

// In-bounds window elements summed over all outputs of one axis (the pools'
// FLOPs: padding is never read).
int64_t rows_read(int64_t out, int64_t size, int64_t k, int64_t stride, int64_t pad) {
  int64_t n = 0;
  for (int64_t o = 0; o < out; ++o) {
    Range r = window_rows(o, size, k, stride, pad);
    n += r.hi - r.lo;
  }
  return n;
}

// Examples count as one: the batch extent drops out of FLOPs.
int64_t per_example(int64_t d) { return d == kBatch ? 1 : d; }

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
//   avgpool: out[n,c,oh,ow] = (sum over the window of x) / (window elements inside x)
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

// Calls visit(plane, output offset, window rows, window cols) for every output
// element of a pool over x [N,C,H,W] (N C planes) with output y [N,C,OH,OW].
template <class F>
void visit_windows(const Attrs& attrs, const std::vector<int64_t>& x, const std::vector<int64_t>& y,
                   F visit) {
  Window win = pool_window(attrs);
  int64_t planes = x[0] * x[1], H = x[2], W = x[3], OH = y[2], OW = y[3];
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        visit(p, (p * OH + oh) * OW + ow, window_rows(oh, H, win.kernel.h, win.stride.h, win.pad.h),
              window_rows(ow, W, win.kernel.w, win.stride.w, win.pad.w));
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
  for_each_window(n, *in[0], out, [](Range rh, Range rw, const T* plane, int64_t W) {
    T sum = 0;
    for (int64_t ih = rh.lo; ih < rh.hi; ++ih)
      for (int64_t iw = rw.lo; iw < rw.hi; ++iw)
        sum += plane[ih * W + iw];
    return sum / static_cast<T>((rh.hi - rh.lo) * (rw.hi - rw.lo));
  });
}

// Window elements read by a pool from x to y (padding is not read).
int64_t window_reads(const Attrs& attrs, const Shape& x, const Shape& y) {
  Window win = pool_window(attrs);
  return per_example(x[0]) * x[1] * rows_read(y[2], x[2], win.kernel.h, win.stride.h, win.pad.h) *
         rows_read(y[3], x[3], win.kernel.w, win.stride.w, win.pad.w);
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

// avgpool is linear: y[o] = sum_{i in window(o)} x[i] / |window(o) inside x|, so
//   dx[i] = sum_{o : i in window(o)} dy[o] / |window(o) inside x|   (avgpool_backward)
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
    for (int64_t i = 0; i < hw; ++i)
      sum += x[p * hw + i];
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

// ---- backward ops -------------------------------------------------------------
// Built by the gradient rules above. Each checks its operands by rebuilding the
// forward op's input types: the forward shape rule must accept them and give
// exactly dy's type. They have no gradient rule (no second derivatives).

// A 4-value shape attribute (input_shape, weight_shape); -1 marks the batch.
Shape shape_attr(const Attrs& attrs, const std::string& name) {
  const std::vector<int64_t>& v = attrs.get_ints(name);
  if (v.size() != 4)
    throw ShapeError(
        fmt::format("attribute '{}' must have 4 values, found [{}]", name, fmt::join(v, ",")));
  return checked_shape(v);
}

void check_dy(const TensorType& dy, const TensorType& y, const char* forward) {
  if (dy != y)
    throw ShapeError(
        fmt::format("dy is {} but the forward {} gives {}", to_string(dy), forward, to_string(y)));
}

// 2 per weight tap per element of the forward output y, as conv2d without bias.
int64_t conv_taps(const Shape& y, const Shape& w) {
  return 2 * per_example(y[0]) * y[1] * y[2] * y[3] * w[1] * w[2] * w[3];
}

// ---- conv2d_backward_input(dy, w) {stride, pad, dilation, groups, input_shape} --
// dx of conv2d gathered per input element (a transposed convolution): with
// g = c / Cg and cg = c - g Cg,
//   dx[n,c,ih,iw] = sum_{o in group g, kh, kw} w[o,cg,kh,kw] dy[n,o,oh,ow]
// over the taps that read x[ih,iw]: oh = (ih + ph - kh dh) / sh and
// ow = (iw + pw - kw dw) / sw, when the division is exact and lands inside dy.
TensorType shape_conv2d_backward_input(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &dy = in[0], &w = in[1];
  TensorType x{dy.dtype, shape_attr(attrs, "input_shape")};
  const TensorType forward[] = {x, w};
  check_dy(dy, shape_conv2d(attrs, forward), "conv2d");
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

// ---- conv2d_backward_weight(x, dy) {stride, pad, dilation, groups, weight_shape} --
// dW of conv2d, summed over the batch: with c = (o / Og) Cg + cg,
//   dw[o,cg,kh,kw] = sum_{n,oh,ow} dy[n,o,oh,ow] x[n, c, oh sh - ph + kh dh, ow sw - pw + kw dw]
// over the taps inside x.
TensorType shape_conv2d_backward_weight(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &x = in[0], &dy = in[1];
  TensorType w{x.dtype, shape_attr(attrs, "weight_shape")};
  const TensorType forward[] = {x, w};
  check_dy(dy, shape_conv2d(attrs, forward), "conv2d");
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
  check_dy(in[1], shape_pool(attrs, in.first(1)), "maxpool");
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

// ---- avgpool_backward(dy) {kernel, stride, pad, input_shape} ---------------------
//   dx[i] = sum over the windows o that contain i of dy[o] / (window o's elements inside x)
TensorType shape_avgpool_backward(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType forward[] = {{in[0].dtype, shape_attr(attrs, "input_shape")}};
  check_dy(in[0], shape_pool(attrs, forward), "avgpool");
  return forward[0];
}

template <class T>
void ref_avgpool_backward(const Node& n, RefInputs<T> in, Tensor<T>& dx, RefContext<T>&) {
  const Tensor<T>& dy = *in[0];
  int64_t W = dx.dim(3), HW = dx.dim(2) * W;
  visit_windows(n.attrs, dx.shape, dy.shape, [&](int64_t p, int64_t o, Range rh, Range rw) {
    T share = dy[o] / static_cast<T>((rh.hi - rh.lo) * (rw.hi - rw.lo));
    for (int64_t ih = rh.lo; ih < rh.hi; ++ih)
      for (int64_t iw = rw.lo; iw < rw.hi; ++iw)
        dx[p * HW + ih * W + iw] += share;
  });
}

// One add per window element written.
int64_t flops_avgpool_backward(const Node& n, std::span<const TensorType> in) {
  return window_reads(n.attrs, n.type.shape, in[0].shape);
}

const OpDef kConvOps[] = {
    {OpKind::Conv2d, 2, 3, shape_conv2d, NETC_REF(ref_conv2d), flops_conv2d, grad_conv2d},
    {OpKind::MaxPool, 1, 1, shape_pool, NETC_REF(ref_maxpool), flops_pool, grad_maxpool},
    {OpKind::AvgPool, 1, 1, shape_pool, NETC_REF(ref_avgpool), flops_pool, grad_avgpool},
    {OpKind::GlobalAvgPool, 1, 1, shape_global_avgpool, NETC_REF(ref_global_avgpool),
     flops_global_avgpool, grad_global_avgpool},
    // Backward ops: grad stays nullptr, so autodiff reports a second derivative.
    {OpKind::Conv2dBackwardInput, 2, 2, shape_conv2d_backward_input,
     NETC_REF(ref_conv2d_backward_input), flops_conv2d_backward_input},
    {OpKind::Conv2dBackwardWeight, 2, 2, shape_conv2d_backward_weight,
     NETC_REF(ref_conv2d_backward_weight), flops_conv2d_backward_weight},
    {OpKind::MaxPoolBackward, 2, 2, shape_maxpool_backward, NETC_REF(ref_maxpool_backward),
     flops_maxpool_backward},
    {OpKind::AvgPoolBackward, 1, 1, shape_avgpool_backward, NETC_REF(ref_avgpool_backward),
     flops_avgpool_backward},
};

} // namespace

std::span<const OpDef> conv_op_defs() { return kConvOps; }

} // namespace netc
