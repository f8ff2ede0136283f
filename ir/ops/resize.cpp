// Resizing of NCHW images by integer factors: upsample and its adjoint. Each
// op's shape rule, reference implementation, FLOPs rule and gradient rule sit
// together; the Halide lowerings are in codegen/ops/resize.cpp, which reads
// the same source geometry (ir/ops/resize.h).
#include "ir/ops/resize.h"
#include "ir/gradient.h"
#include "ir/op_registry.h"

#include <fmt/format.h>

namespace netc {

namespace {

using namespace resize_geometry;

// x must be a float [N,C,H,W] with constant C, H, W (only N may be the batch).
void check_image(const TensorType& x) {
  if (!is_float(x.dtype))
    throw ShapeError(fmt::format("the input must be f32 or f64, found {}", to_string(x)));
  bool ok = x.shape.rank() == 4;
  for (int i = 1; ok && i < 4; ++i) ok = x.shape[i] != kBatch;
  if (!ok)
    throw ShapeError(fmt::format("the input must be [N,C,H,W] with constant C, H, W, found {}",
                                 to_string(x.shape)));
}

Shape upsampled(const Shape& x, Scale s) {
  return checked_shape({x[0], x[1], x[2] * s.h, x[3] * s.w});
}

// ---- upsample(x) {scale: [sh,sw], mode: nearest|bilinear} ------------------------
// PyTorch's nn.Upsample(scale_factor=(sh,sw), mode) with align_corners=False:
//   nearest:  y[n,c,oh,ow] = x[n,c, oh / sh, ow / sw]          (floor division)
//   bilinear: y[n,c,oh,ow] = sum_{a,b in {0,1}} lh_a(oh) lw_b(ow) x[n,c, h_a(oh), w_b(ow)]
// with the source row src = (oh + 1/2) / sh - 1/2 clamped at 0, h_0 = floor(src),
// h_1 = min(h_0 + 1, H - 1), lh_1 = src - h_0, lh_0 = 1 - lh_1 (resize.h), and
// the same along w.
TensorType shape_upsample(const Attrs& attrs, std::span<const TensorType> in) {
  check_image(in[0]);
  Scale s = scale_attr(attrs);
  resize_mode(attrs); // validates it
  // The scale is bounded by 2^48, but their product with H need not be.
  if (in[0].shape[2] > kMaxElements / s.h || in[0].shape[3] > kMaxElements / s.w)
    throw ShapeError(fmt::format("scale [{},{}] makes {} too large", s.h, s.w, to_string(in[0])));
  return {in[0].dtype, upsampled(in[0].shape, s)};
}

template <class T>
void ref_upsample(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& x = *in[0];
  Scale s = scale_attr(n.attrs);
  bool bilinear = resize_mode(n.attrs) == Mode::bilinear;
  int64_t planes = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
  int64_t OH = out.dim(2), OW = out.dim(3);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const T* plane = &x[p * H * W];
        T& y = out[(p * OH + oh) * OW + ow];
        if (!bilinear) {
          y = plane[(oh / s.h) * W + ow / s.w];
          continue;
        }
        Taps<T> th = bilinear_taps<T>(oh, s.h, H), tw = bilinear_taps<T>(ow, s.w, W);
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b)
            y += th.weight[a] * tw.weight[b] * plane[th.row[a] * W + tw.row[b]];
      }
}

// nearest moves data (0); bilinear: two lerps along w and one along h, 3 each.
int64_t flops_upsample(const Node& n, std::span<const TensorType>) {
  if (resize_mode(n.attrs) == Mode::nearest) return 0;
  const Shape& y = n.type.shape;
  return 9 * (y[0] == kBatch ? 1 : y[0]) * y[1] * y[2] * y[3];
}

// y is linear in x: y[o] = sum_i A[o,i] x[i] with A the weights above, so
//   dx[i] = sum_o A[o,i] dy[o]          (upsample_backward)
std::vector<ValueId> grad_upsample(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  Attrs attrs = n.attrs;
  attrs.set("input_shape", gb.type(n.inputs[0]).shape.dims);
  return {gb.op(OpKind::UpsampleBackward, {dy}, attrs)};
}

// ---- upsample_backward(dy) {scale, mode, input_shape} ----------------------------
//   dx[n,c,ih,iw] = sum_{oh,ow} A[(oh,ow),(ih,iw)] dy[n,c,oh,ow]
// The reference scatters each dy element onto its sources (the plain adjoint
// of ref_upsample); the compiled kernel gathers over each pixel's output
// window instead, which is the independent check of the two.
TensorType shape_upsample_backward(const Attrs& attrs, std::span<const TensorType> in) {
  const std::vector<int64_t>& dims = attrs.get_ints("input_shape");
  if (dims.size() != 4)
    throw ShapeError(fmt::format("attribute 'input_shape' must have 4 values, found [{}]",
                                 fmt::join(dims, ",")));
  TensorType x{in[0].dtype, checked_shape(dims)};
  const TensorType forward[] = {x};
  TensorType y = shape_upsample(attrs, forward);
  if (y != in[0])
    throw ShapeError(
        fmt::format("dy is {} but the forward upsample gives {}", to_string(in[0]), to_string(y)));
  return x;
}

template <class T>
void ref_upsample_backward(const Node& n, RefInputs<T> in, Tensor<T>& dx, RefContext<T>&) {
  const Tensor<T>& dy = *in[0];
  Scale s = scale_attr(n.attrs);
  bool bilinear = resize_mode(n.attrs) == Mode::bilinear;
  int64_t planes = dx.dim(0) * dx.dim(1), H = dx.dim(2), W = dx.dim(3);
  int64_t OH = dy.dim(2), OW = dy.dim(3);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        T* plane = &dx[p * H * W];
        T g = dy[(p * OH + oh) * OW + ow];
        if (!bilinear) {
          plane[(oh / s.h) * W + ow / s.w] += g;
          continue;
        }
        Taps<T> th = bilinear_taps<T>(oh, s.h, H), tw = bilinear_taps<T>(ow, s.w, W);
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b)
            plane[th.row[a] * W + tw.row[b]] += th.weight[a] * tw.weight[b] * g;
      }
}

// One add per dy element (nearest); four multiply-adds (bilinear).
int64_t flops_upsample_backward(const Node& n, std::span<const TensorType> in) {
  const Shape& dy = in[0].shape;
  int64_t elements = (dy[0] == kBatch ? 1 : dy[0]) * dy[1] * dy[2] * dy[3];
  return resize_mode(n.attrs) == Mode::nearest ? elements : 8 * elements;
}

const OpDef kResizeOps[] = {
    {OpKind::Upsample, 1, 1, shape_upsample, NETC_REF(ref_upsample), flops_upsample, grad_upsample},
    {OpKind::UpsampleBackward, 1, 1, shape_upsample_backward, NETC_REF(ref_upsample_backward),
     flops_upsample_backward, nullptr, "a backward op: second derivatives are not supported"},
};

} // namespace

std::span<const OpDef> resize_op_defs() { return kResizeOps; }

} // namespace netc
