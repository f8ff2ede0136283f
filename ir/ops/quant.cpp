// Quantized inference ops (passes/quantize.h makes them; no .nn surface).
// Post-training static quantization with
//   activations  x ~ scale (q - zp),       q u8, one (scale, zp) per tensor
//   weights      w ~ wscale[n] qw,         qw i8 in [-127, 127], per column n
// so that a dense layer y = x W becomes
//   y[m,n] = scale wscale[n] (sum_k q[m,k] qw[k,n] - zp sum_k qw[k,n])
// where the sum is an exact int32 dot product of u8 x i8 (AVX-512 VNNI's
// vpdpbusd: 4 products per 32-bit lane). quantize_weight packs K in groups
// of four ([K4, N, 4]) so that one 64-byte load feeds 16 columns x 4 k.
//
// A convolution conv2d(x, W) (W f32[O,C,KH,KW]) is the same sum over the taps
// k of each kernel row, flattened as k = kw C + c (the NHWC order of a row's
// pixels) and padded to a multiple of 4 with zero weights: the pass packs W
// into the matrix [KH ceil(KW C/4) 4, O] and quantizes that with
// quantize_weight, so conv2d_i8's weight is i8[KH, ceil(KW C/4), O, 4] and one
// 64-byte load feeds 16 output channels x 4 taps. The taps past the row
// (k >= KW C) must be zero, as the packing makes them: the kernel multiplies
// them with whatever pixels follow, the reference skips them. Padding outside the image
// reads the zero point, the quantized 0.0, so the same per-channel
// zp * sum(qw) term removes it exactly, borders included.
//
// Every rounding is done in f32, as the kernels do, so the f32 reference is
// the exact oracle of the kernels: round half to even (std::nearbyint,
// Halide::round), x * (1 / scale) with 1 / scale rounded to f32 once.
// None is differentiable: they exist only in inference graphs.
#include "ir/op_registry.h"
#include "ir/ops/common.h"
#include "ir/ops/window.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace netc {

namespace {

constexpr std::string_view kInferenceOnly =
    "a quantized inference op: it exists only after training, in an inference graph";

void require_dtype(const TensorType& t, DType want, std::string_view what) {
  if (t.dtype != want)
    throw ShapeError(fmt::format("{} must be {}, found {}", what, dtype_name(want), to_string(t)));
}

int64_t packed_k(int64_t k) { return (k + 3) / 4; }

// The f32 reciprocal the kernels multiply by.
float inv_scale(const Attrs& a) { return static_cast<float>(1.0 / a.get_float("scale")); }

TensorType shape_quantize(const Attrs& a, std::span<const TensorType> in) {
  require_dtype(in[0], DType::f32, "the input");
  if (!(a.get_float("scale") > 0)) throw ShapeError("scale must be positive");
  int64_t zp = a.get_int("zero_point");
  if (zp < 0 || zp > 255) throw ShapeError(fmt::format("zero_point {} is not in 0..255", zp));
  return {DType::u8, in[0].shape};
}

// The weight matrix of a dense layer: f32[K, N] with static K and N.
void require_weight(const TensorType& w) {
  require_dtype(w, DType::f32, "the weight");
  if (w.shape.rank() != 2 || w.shape.has_batch())
    throw ShapeError(
        fmt::format("the weight must be a static matrix [K, N], found {}", to_string(w)));
}

TensorType shape_quantize_weight(const Attrs&, std::span<const TensorType> in) {
  require_weight(in[0]);
  return {DType::i8, Shape{packed_k(in[0].shape[0]), in[0].shape[1], 4}};
}

TensorType shape_weight_scale(const Attrs&, std::span<const TensorType> in) {
  require_weight(in[0]);
  return {DType::f32, Shape{in[0].shape[1]}};
}

void require_packed(const TensorType& w) {
  require_dtype(w, DType::i8, "the packed weight");
  if (w.shape.rank() != 3 || w.shape.has_batch() || w.shape[2] != 4)
    throw ShapeError(fmt::format("the packed weight must be i8[K4, N, 4], found {}", to_string(w)));
}

TensorType shape_weight_colsum(const Attrs&, std::span<const TensorType> in) {
  require_packed(in[0]);
  return {DType::i32, Shape{in[0].shape[1]}};
}

// u8[M,K] x i8[ceil(K/4), N, 4] -> i32[M,N]
TensorType shape_matmul_i8(const Attrs&, std::span<const TensorType> in) {
  require_dtype(in[0], DType::u8, "the activations");
  require_packed(in[1]);
  const Shape &a = in[0].shape, &b = in[1].shape;
  if (a.rank() != 2 || a[1] == kBatch)
    throw ShapeError(fmt::format("the activations must be [M, K], found {}", to_string(in[0])));
  if (packed_k(a[1]) != b[0])
    throw ShapeError(fmt::format("K = {} needs {} groups of 4, the weight has {}: {} x {}", a[1],
                                 packed_k(a[1]), b[0], to_string(in[0]), to_string(in[1])));
  return {DType::i32, Shape{a[0], b[1]}};
}

// The geometry of conv2d_i8: {kernel [KH,KW], stride, pad}, dilation 1.
conv_geometry::Window conv_i8_window(const Attrs& a) {
  if (!a.has("kernel")) throw ShapeError("missing attribute 'kernel' ([kh,kw])");
  return {conv_geometry::pair_attr(a, "kernel", {0, 0}, 1),
          conv_geometry::pair_attr(a, "stride", {1, 1}, 1),
          conv_geometry::pair_attr(a, "pad", {0, 0}, 0),
          {1, 1},
          1};
}

// Groups of 4 taps in one kernel row of KW pixels x C channels.
int64_t row_groups(int64_t kw, int64_t c) { return packed_k(kw * c); }

// u8[N,C,H,W] x i8[KH, ceil(KW C/4), O, 4] -> i32[N,O,OH,OW]
TensorType shape_conv2d_i8(const Attrs& a, std::span<const TensorType> in) {
  require_dtype(in[0], DType::u8, "the activations");
  require_dtype(in[1], DType::i8, "the packed weight");
  const Shape &x = in[0].shape, &w = in[1].shape;
  if (x.rank() != 4 || x[1] == kBatch || x[2] == kBatch || x[3] == kBatch)
    throw ShapeError(fmt::format("the activations must be [N,C,H,W], found {}", to_string(in[0])));
  conv_geometry::Window win = conv_i8_window(a);
  if (w.rank() != 4 || w.has_batch() || w[3] != 4 || w[0] != win.kernel.h ||
      w[1] != row_groups(win.kernel.w, x[1]))
    throw ShapeError(fmt::format(
        "the packed weight of a {}x{} kernel over {} channels must be i8[{}, {}, O, 4], found {}",
        win.kernel.h, win.kernel.w, x[1], win.kernel.h, row_groups(win.kernel.w, x[1]),
        to_string(in[1])));
  int64_t zp = a.get_int("zero_point");
  if (zp < 0 || zp > 255) throw ShapeError(fmt::format("zero_point {} is not in 0..255", zp));
  int64_t ph = x[2] + 2 * win.pad.h, pw = x[3] + 2 * win.pad.w;
  if (win.kernel.h > ph || win.kernel.w > pw)
    throw ShapeError(
        fmt::format("the {}x{} kernel does not fit in the input {} with padding [{},{}]",
                    win.kernel.h, win.kernel.w, to_string(in[0]), win.pad.h, win.pad.w));
  return {DType::i32, Shape{x[0], w[2], (ph - win.kernel.h) / win.stride.h + 1,
                            (pw - win.kernel.w) / win.stride.w + 1}};
}

TensorType shape_dequantize(const Attrs& a, std::span<const TensorType> in) {
  require_dtype(in[0], DType::i32, "the sums");
  require_dtype(in[1], DType::f32, "the weight scales");
  require_dtype(in[2], DType::i32, "the column sums");
  int axis = normalize_axis(a.get_int("axis", -1), in[0]);
  int64_t c = in[0].shape[axis];
  if (in[1].shape != Shape{c} || in[2].shape != Shape{c})
    throw ShapeError(fmt::format("scales {} and column sums {} must have the {} channels of {}",
                                 to_string(in[1]), to_string(in[2]), c, to_string(in[0])));
  if (!(a.get_float("scale") > 0)) throw ShapeError("scale must be positive");
  return {DType::f32, in[0].shape};
}

int64_t flops_elementwise(const Node& n, std::span<const TensorType>) {
  return n.type.shape.static_elements();
}

// One multiply-add per (m, k, n): the same count as the f32 matmul it
// replaces, so FLOP rates compare directly.
int64_t flops_matmul_i8(const Node& n, std::span<const TensorType> in) {
  return 2 * in[0].shape[1] * n.type.shape[1] * (n.type.shape[0] == kBatch ? 1 : n.type.shape[0]);
}

// The f32 convolution's count, 2 C KH KW per output element.
int64_t flops_conv2d_i8(const Node& n, std::span<const TensorType> in) {
  conv_geometry::Window win = conv_i8_window(n.attrs);
  const Shape& y = n.type.shape;
  return 2 * in[0].shape[1] * win.kernel.h * win.kernel.w * y[1] * y[2] * y[3] *
         (y[0] == kBatch ? 1 : y[0]);
}

int64_t flops_weights(const Node&, std::span<const TensorType> in) {
  return in[0].shape.static_elements();
}

template <class T>
void ref_quantize(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  float inv = inv_scale(n.attrs);
  auto zp = static_cast<float>(n.attrs.get_int("zero_point"));
  for (int64_t i = 0; i < out.size(); ++i) {
    float q = std::nearbyint(static_cast<float>((*in[0])[i]) * inv) + zp;
    out[i] = static_cast<T>(std::clamp(q, 0.0f, 255.0f));
  }
}

// max_k |w[k, n]| per column.
template <class T>
std::vector<float> column_amax(const Tensor<T>& w) {
  int64_t K = w.dim(0), N = w.dim(1);
  std::vector<float> amax(static_cast<size_t>(N), 0.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j)
      amax[size_t(j)] = std::max(amax[size_t(j)], std::abs(static_cast<float>(w[k * N + j])));
  return amax;
}

// qw = clamp(round(w * (127 / amax)), -127, 127); an all-zero column stays 0.
template <class T>
void ref_quantize_weight(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& w = *in[0];
  int64_t K = w.dim(0), N = w.dim(1);
  std::vector<float> amax = column_amax(w);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) {
      float a = amax[size_t(j)], inv = a > 0 ? 127.0f / a : 0.0f;
      float q = std::clamp(std::nearbyint(static_cast<float>(w[k * N + j]) * inv), -127.0f, 127.0f);
      out[((k / 4) * N + j) * 4 + k % 4] = static_cast<T>(q);
    }
}

template <class T>
void ref_weight_scale(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  std::vector<float> amax = column_amax(*in[0]);
  // amax * (1/127), not amax / 127: Halide turns a division by a constant
  // into this product, and the reference must round the same way.
  for (size_t j = 0; j < amax.size(); ++j)
    out[int64_t(j)] = static_cast<T>(amax[j] * (1.0f / 127.0f));
}

template <class T>
void ref_weight_colsum(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& w = *in[0];
  int64_t K4 = w.dim(0), N = w.dim(1);
  for (int64_t j = 0; j < N; ++j) {
    int64_t s = 0;
    for (int64_t k = 0; k < K4; ++k)
      for (int64_t l = 0; l < 4; ++l) s += static_cast<int64_t>(w[(k * N + j) * 4 + l]);
    out[j] = static_cast<T>(s);
  }
}

// The int32-accumulate reference: exact sums in int64 (they fit int32 for
// K < 66,000), converted to T once.
template <class T>
void ref_matmul_i8(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>&a = *in[0], &b = *in[1];
  int64_t M = a.dim(0), K = a.dim(1), N = b.dim(1);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < N; ++j) {
      int64_t s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += static_cast<int64_t>(a[m * K + k]) *
             static_cast<int64_t>(b[((k / 4) * N + j) * 4 + k % 4]);
      out[m * N + j] = static_cast<T>(s);
    }
}

// The int32-accumulate reference of the convolution, straight from its
// definition: sum over (c, kh, kw) of x (zero_point outside the image) times
// the packed weight of tap k = kw C + c of row kh, in int64.
template <class T>
void ref_conv2d_i8(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>&x = *in[0], &w = *in[1];
  conv_geometry::Window win = conv_i8_window(n.attrs);
  auto zp = n.attrs.get_int("zero_point");
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  int64_t KG = w.dim(1), O = w.dim(2), OH = out.dim(2), OW = out.dim(3);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t s = 0;
          for (int64_t kh = 0; kh < win.kernel.h; ++kh)
            for (int64_t kw = 0; kw < win.kernel.w; ++kw)
              for (int64_t c = 0; c < C; ++c) {
                int64_t ih = oh * win.stride.h - win.pad.h + kh;
                int64_t iw = ow * win.stride.w - win.pad.w + kw;
                bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                auto q = inside ? static_cast<int64_t>(x[((i * C + c) * H + ih) * W + iw]) : zp;
                int64_t k = kw * C + c;
                s += q * static_cast<int64_t>(w[((kh * KG + k / 4) * O + o) * 4 + k % 4]);
              }
          out[((i * O + o) * OH + oh) * OW + ow] = static_cast<T>(s);
        }
}

// (acc - zp colsum[c]) * (scale * wscale[c]), in f32 like the kernel.
template <class T>
void ref_dequantize(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>& acc = *in[0];
  int axis = static_cast<int>(n.attrs.get_int("axis", -1));
  if (axis < 0) axis += acc.rank();
  AxisSplit s = split_at_axis(acc.shape, axis);
  auto scale = static_cast<float>(n.attrs.get_float("scale"));
  auto zp = static_cast<int64_t>(n.attrs.get_int("zero_point"));
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t c = 0; c < s.extent; ++c)
      for (int64_t i = 0; i < s.inner; ++i) {
        int64_t e = (o * s.extent + c) * s.inner + i;
        auto q = static_cast<int64_t>(acc[e]) - zp * static_cast<int64_t>((*in[2])[c]);
        float f =
            static_cast<float>(static_cast<int32_t>(q)) * (scale * static_cast<float>((*in[1])[c]));
        out[e] = static_cast<T>(f);
      }
}

const OpDef kQuantOps[] = {
    {OpKind::Quantize, 1, 1, shape_quantize, NETC_REF(ref_quantize), flops_elementwise, nullptr,
     kInferenceOnly},
    {OpKind::QuantizeWeight, 1, 1, shape_quantize_weight, NETC_REF(ref_quantize_weight),
     flops_weights, nullptr, kInferenceOnly},
    {OpKind::WeightScale, 1, 1, shape_weight_scale, NETC_REF(ref_weight_scale), flops_weights,
     nullptr, kInferenceOnly},
    {OpKind::WeightColsum, 1, 1, shape_weight_colsum, NETC_REF(ref_weight_colsum), flops_weights,
     nullptr, kInferenceOnly},
    {OpKind::MatMulI8, 2, 2, shape_matmul_i8, NETC_REF(ref_matmul_i8), flops_matmul_i8, nullptr,
     kInferenceOnly},
    {OpKind::Conv2dI8, 2, 2, shape_conv2d_i8, NETC_REF(ref_conv2d_i8), flops_conv2d_i8, nullptr,
     kInferenceOnly},
    {OpKind::Dequantize, 3, 3, shape_dequantize, NETC_REF(ref_dequantize), flops_elementwise,
     nullptr, kInferenceOnly},
};

} // namespace

std::span<const OpDef> quant_op_defs() { return kQuantOps; }

} // namespace netc
