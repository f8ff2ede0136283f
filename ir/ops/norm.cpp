// Normalization and regularization layers: batch normalization and inverted
// dropout. Both behave differently in training and in inference (ctx.training);
// the train/test specialization pass later rewrites them for inference (batch
// norm folded into the preceding weights, dropout removed). Each op's shape
// rule, reference implementation, FLOPs rule and gradient rule sit together.
// The gradient rules are the training-mode derivatives: the inference forms
// are rewritten away (passes/specialize.h) and never differentiated. Layer
// normalization, below them, is the same in both modes.
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/common.h"
#include "ir/random.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <type_traits>

namespace netc {

namespace {

// ---- batchnorm --------------------------------------------------------------
// Per channel c = index along `axis`, statistics over every other axis (M
// elements per channel):
//   training:  mu = (1/M) sum x,  var = (1/M) sum (x - mu)^2   (biased)
//   inference: mu = running_mean, var = running_var
//   out = gamma (x - mu) / sqrt(var + eps) + beta
// The running statistics' update (running = momentum running + (1 - momentum)
// batch statistic) is a separate graph step; this op never writes state.

// `axis` normalized to [0, rank); a negative axis counts from the end.
int norm_axis(const Attrs& attrs, int rank) {
  int64_t axis = attrs.get_int("axis", 1);
  if (axis < -rank || axis >= rank)
    throw ShapeError(fmt::format("axis {} is out of range for a rank-{} input", axis, rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

TensorType shape_batchnorm(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& x = in[0];
  if (!is_float(x.dtype))
    throw ShapeError(fmt::format("the input must be f32 or f64, found {}", to_string(x)));
  if (x.shape.rank() != 2 && x.shape.rank() != 4)
    throw ShapeError(
        fmt::format("the input must be [N,C] or [N,C,H,W], found {}", to_string(x.shape)));
  int axis = norm_axis(attrs, x.shape.rank());
  int64_t c = x.shape[axis];
  if (c == kBatch)
    throw ShapeError(fmt::format("axis {} of the input {} is the batch dimension; it cannot be "
                                 "the channel axis",
                                 axis, to_string(x.shape)));
  static const char* const kNames[] = {"", "gamma", "beta", "running_mean", "running_var"};
  for (size_t i = 1; i < 5; ++i)
    if (in[i].shape != Shape{c} || in[i].dtype != x.dtype)
      throw ShapeError(fmt::format("{} must be {}[{}] for the input {} (axis {}), found {}",
                                   kNames[i], dtype_name(x.dtype), c, to_string(x), axis,
                                   to_string(in[i])));
  double eps = attrs.get_float("eps", 1e-5), momentum = attrs.get_float("momentum", 0.9);
  if (!(eps >= 0)) throw ShapeError(fmt::format("eps must be >= 0, found {}", eps));
  if (!(momentum >= 0 && momentum <= 1))
    throw ShapeError(fmt::format("momentum must be in [0,1], found {}", momentum));
  return x;
}

template <class T>
void ref_batchnorm(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>& ctx) {
  const Tensor<T>&x = *in[0], &gamma = *in[1], &beta = *in[2];
  int axis = norm_axis(n.attrs, x.rank());
  double eps = n.attrs.get_float("eps", 1e-5);
  // x viewed as [outer, C, inner]: element (o, c, i) is at (o C + c) inner + i.
  int64_t C = x.dim(axis), inner = 1, outer = 1;
  for (int d = 0; d < x.rank(); ++d)
    if (d < axis)
      outer *= x.dim(d);
    else if (d > axis)
      inner *= x.dim(d);
  auto at = [&](int64_t o, int64_t c, int64_t i) { return (o * C + c) * inner + i; };
  // Statistics accumulate in at least double: M = N H W can be large in float.
  using Acc = std::conditional_t<(sizeof(T) > sizeof(double)), T, double>;
  for (int64_t c = 0; c < C; ++c) {
    Acc mu = static_cast<Acc>((*in[3])[c]), var = static_cast<Acc>((*in[4])[c]);
    if (ctx.training) {
      Acc m = static_cast<Acc>(outer * inner), sum = 0, sq = 0;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) sum += static_cast<Acc>(x[at(o, c, i)]);
      mu = sum / m;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          Acc d = static_cast<Acc>(x[at(o, c, i)]) - mu;
          sq += d * d;
        }
      var = sq / m;
    }
    T inv_std = static_cast<T>(1 / std::sqrt(var + static_cast<Acc>(eps)));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t k = at(o, c, i);
        out[k] = gamma[c] * ((x[k] - static_cast<T>(mu)) * inv_std) + beta[c];
      }
  }
}

// About 5 per element: subtract, scale, multiply, add, plus the statistics.
int64_t flops_batchnorm(const Node&, std::span<const TensorType> in) {
  return 5 * in[0].shape.static_elements();
}

// Training mode (batch statistics; inference-mode batch norm is rewritten into
// x * s + shift before autodiff, so this is the rule that matters). With the
// means over every axis but the channel's (m elements per channel, the batch
// included, which reduce_mean counts at run time):
//   xhat = (x - mu) / sqrt(var + eps)
//   dbeta  = sum(dy)            dgamma = sum(dy * xhat)
//   dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat))
// (mu and var depend on x: d mu/dx = 1/m, d var/dx = 2 (x - mu)/m give the two
// mean terms). The running statistics get no gradient.
std::vector<ValueId> grad_batchnorm(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId x = n.inputs[0], gamma = n.inputs[1];
  const TensorType xt = gb.type(x);
  int axis = norm_axis(n.attrs, xt.shape.rank());
  std::vector<int64_t> axes, channel_shape(static_cast<size_t>(xt.shape.rank()), 1);
  for (int d = 0; d < xt.shape.rank(); ++d)
    if (d != axis) axes.push_back(d);
  channel_shape[static_cast<size_t>(axis)] = xt.shape[axis];
  auto mean = [&](ValueId v) { // [1,..,C,..,1]
    return gb.op(OpKind::ReduceMean, {v}, Attrs{{"axes", axes}, {"keepdims", int64_t(1)}});
  };
  auto sum = [&](ValueId v) { // [C]
    return gb.op(OpKind::ReduceSum, {v}, Attrs{{"axes", axes}, {"keepdims", int64_t(0)}});
  };
  ValueId xc = gb.sub(x, mean(x));
  ValueId var_eps = gb.add(mean(gb.mul(xc, xc)), gb.constant(n.attrs.get_float("eps", 1e-5)));
  ValueId inv_std = gb.div(gb.constant(1.0), gb.op(OpKind::Sqrt, {var_eps}));
  ValueId xhat = gb.mul(xc, inv_std);
  ValueId dy_xhat = gb.mul(dy, xhat);
  ValueId gamma_c = gb.op(OpKind::Reshape, {gamma}, Attrs{{"shape", channel_shape}});
  ValueId centered = gb.sub(gb.sub(dy, mean(dy)), gb.mul(xhat, mean(dy_xhat)));
  ValueId dx = gb.mul(gb.mul(gamma_c, inv_std), centered);
  return {dx, sum(dy_xhat), sum(dy), kNoGrad, kNoGrad};
}

// ---- dropout ----------------------------------------------------------------
// Inverted dropout with keep probability p (a runtime scalar input):
//   training:  mask[e] = uniform01(seed, stream, step, e) < p,  out = x mask / p
//   inference: out = x
// e is the flat row-major index into x. The mask is a pure function of (seed,
// stream, step, e), so the backward pass recomputes it instead of storing it,
// and every dropout has its own stream so that equal-shaped layers draw
// independent masks.

int64_t dropout_stream(const Attrs& attrs) {
  int64_t stream = attrs.get_int("stream");
  if (stream < 0 || stream > int64_t{UINT32_MAX})
    throw ShapeError(fmt::format("stream must be in [0, 2^32), found {}", stream));
  return stream;
}

TensorType shape_dropout(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType &x = in[0], &keep = in[1];
  if (!is_float(x.dtype))
    throw ShapeError(fmt::format("the input must be f32 or f64, found {}", to_string(x)));
  if (keep.shape.rank() != 0 || keep.dtype != x.dtype)
    throw ShapeError(fmt::format("the keep probability must be a {}[] scalar for the input {}, "
                                 "found {}",
                                 dtype_name(x.dtype), to_string(x), to_string(keep)));
  dropout_stream(attrs);
  return x;
}

// Calls f(e, kept) for every element e of out, kept = uniform01(...) < keep:
// the one mask of dropout and dropout_mask. keep is checked only here, where
// it is used: inference ignores it (and the specialized inference graph has no
// dropout to check it).
template <class T, class F>
void for_each_mask_element(const Node& n, T keep, Tensor<T>& out, RefContext<T>& ctx, F f) {
  if (!(keep > 0 && keep <= 1))
    throw ShapeError(fmt::format("the keep probability must be in (0,1], found {}", keep));
  // Compare in float, as the f32 kernel does: uniform01 is a multiple of 2^-24
  // and a double keep could fall strictly between it and keep's f32 rounding.
  float keep_f32 = static_cast<float>(keep);
  auto stream = static_cast<uint32_t>(dropout_stream(n.attrs));
  auto step = static_cast<uint32_t>(ctx.step);
  for (int64_t e = 0; e < out.size(); ++e)
    f(e, uniform01(ctx.seed, stream, step, static_cast<uint32_t>(e)) < keep_f32);
}

template <class T>
void ref_dropout(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>& ctx) {
  const Tensor<T>& x = *in[0];
  if (!ctx.training) {
    out.data = x.data;
    return;
  }
  T keep = (*in[1])[0];
  for_each_mask_element(n, keep, out, ctx,
                        [&](int64_t e, bool kept) { out[e] = kept ? x[e] / keep : T(0); });
}

int64_t flops_dropout(const Node&, std::span<const TensorType> in) {
  return in[0].shape.static_elements();
}

// Training mode: out = x * m with m = dropout_mask(x, keep) fixed for a given
// (seed, step), so
//   dx = dy * dropout_mask(x, keep)
// recomputed from the counter-based generator instead of stored (SPEC section
// 4). keep is a hyperparameter: no gradient. The mask node has exactly the
// form the training specialization writes, so CSE can share the two.
std::vector<ValueId> grad_dropout(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId mask = gb.op(OpKind::DropoutMask, n.inputs, Attrs{{"stream", n.attrs.get_int("stream")}});
  return {gb.mul(dy, mask), kNoGrad};
}

// ---- dropout_mask(x, keep) {stream} ---------------------------------------------
// The training mask of dropout, already scaled; x only gives the shape:
//   m[e] = (uniform01(seed, stream, step, e) < keep) / keep
// with ref_dropout's generator and float comparison (for_each_mask_element),
// so the two keep exactly the same elements. Unlike dropout it ignores ctx.training: the
// training specialization writes dropout as x * dropout_mask(x, keep), after
// which no op depends on the mode. Piecewise constant in x: no gradient.

template <class T>
void ref_dropout_mask(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>& ctx) {
  T keep = (*in[1])[0];
  for_each_mask_element(n, keep, out, ctx,
                        [&](int64_t e, bool kept) { out[e] = kept ? T(1) / keep : T(0); });
}

// ---- layernorm(x, gamma, beta) {axes, eps} ------------------------------------
// PyTorch's nn.LayerNorm: over the trailing axes `axes` (k of them, M elements
// per row; the leading axes index the rows),
//   mu = (1/M) sum x,  var = (1/M) sum (x - mu)^2   (biased)
//   out = (x - mu) / sqrt(var + eps) * gamma + beta
// gamma and beta have the normalized shape (the trailing k dimensions), so
// they broadcast onto x as they are. The same in training and inference.

// The normalized axes, [rank - k, rank) in order; anything else throws.
std::vector<int64_t> layernorm_axes(const Attrs& attrs, const TensorType& x) {
  const std::vector<int64_t>& given = attrs.get_ints("axes");
  int rank = x.shape.rank();
  if (given.empty()) throw ShapeError("axes must name at least one axis");
  std::vector<int64_t> axes;
  for (int64_t a : given) {
    if (a < -rank || a >= rank)
      throw ShapeError(fmt::format("axis {} is out of range for {} (expected {}..{})", a,
                                   to_string(x), -rank, rank - 1));
    axes.push_back(a < 0 ? a + rank : a);
  }
  std::sort(axes.begin(), axes.end());
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != rank - int64_t(axes.size()) + int64_t(i))
      throw ShapeError(fmt::format("axes {} of {} are not the trailing axes; layernorm "
                                   "normalizes over the last axes (-1, or (-2, -1), ...)",
                                   list_string(given), to_string(x)));
  for (int64_t a : axes)
    if (x.shape[int(a)] == kBatch)
      throw ShapeError(fmt::format("axis {} of {} is the batch dimension; layernorm normalizes "
                                   "over static axes",
                                   a, to_string(x)));
  return axes;
}

TensorType shape_layernorm(const Attrs& attrs, std::span<const TensorType> in) {
  const TensorType& x = in[0];
  require_float(x);
  std::vector<int64_t> axes = layernorm_axes(attrs, x);
  Shape normalized(std::vector<int64_t>(x.shape.dims.begin() + axes.front(), x.shape.dims.end()));
  static const char* const kNames[] = {"", "gamma", "beta"};
  for (size_t i = 1; i < 3; ++i)
    if (in[i].shape != normalized || in[i].dtype != x.dtype)
      throw ShapeError(fmt::format("{} must be {}{} for the input {} (axes {}), found {}",
                                   kNames[i], dtype_name(x.dtype), to_string(normalized),
                                   to_string(x), list_string(axes), to_string(in[i])));
  double eps = attrs.get_float("eps", 1e-5);
  if (!(eps >= 0)) throw ShapeError(fmt::format("eps must be >= 0, found {}", eps));
  return x;
}

template <class T>
void ref_layernorm(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const Tensor<T>&x = *in[0], &gamma = *in[1], &beta = *in[2];
  // Rows of `m` contiguous elements: gamma and beta index within a row.
  int64_t m = gamma.size(), rows = x.size() / m;
  T eps = static_cast<T>(n.attrs.get_float("eps", 1e-5));
  // Statistics accumulate in at least double, as batchnorm's.
  using Acc = std::conditional_t<(sizeof(T) > sizeof(double)), T, double>;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = &x[r * m];
    Acc sum = 0, sq = 0;
    for (int64_t j = 0; j < m; ++j) sum += static_cast<Acc>(row[j]);
    Acc mu = sum / static_cast<Acc>(m);
    for (int64_t j = 0; j < m; ++j) {
      Acc d = static_cast<Acc>(row[j]) - mu;
      sq += d * d;
    }
    Acc var = sq / static_cast<Acc>(m);
    T inv_std = static_cast<T>(1 / std::sqrt(var + static_cast<Acc>(eps)));
    for (int64_t j = 0; j < m; ++j)
      out[r * m + j] = (row[j] - static_cast<T>(mu)) * inv_std * gamma[j] + beta[j];
  }
}

// About 7 per element: two sums, subtract, square, scale, gamma, beta.
int64_t flops_layernorm(const Node&, std::span<const TensorType> in) {
  return 7 * in[0].shape.static_elements();
}

// Composed from primitives, like batchnorm's (the statistics are reduce_mean
// over the normalized axes, which fusion turns into reduction kernels with the
// pointwise math as their prologue and epilogue). With g = dy gamma and the
// means over the normalized axes (M elements):
//   xhat = (x - mu) / sqrt(var + eps)
//   dx = (g - mean(g) - xhat mean(g xhat)) / sqrt(var + eps)
//   dgamma = sum over the rows of dy xhat,   dbeta = sum over the rows of dy
// (mu and var depend on x: d mu/dx = 1/M, d var/dx = 2 (x - mu)/M give the
// two mean terms).
std::vector<ValueId> grad_layernorm(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId x = n.inputs[0], gamma = n.inputs[1], beta = n.inputs[2];
  std::vector<int64_t> axes = layernorm_axes(n.attrs, gb.type(x));
  auto mean = [&](ValueId v) { // keepdims: broadcasts back onto x
    return gb.op(OpKind::ReduceMean, {v}, Attrs{{"axes", axes}, {"keepdims", int64_t(1)}});
  };
  ValueId xc = gb.sub(x, mean(x));
  ValueId var_eps = gb.add(mean(gb.mul(xc, xc)), gb.constant(n.attrs.get_float("eps", 1e-5)));
  ValueId inv_std = gb.div(gb.constant(1.0), gb.op(OpKind::Sqrt, {var_eps}));
  ValueId xhat = gb.mul(xc, inv_std);
  ValueId g = gb.mul(dy, gamma);
  ValueId centered = gb.sub(gb.sub(g, mean(g)), gb.mul(xhat, mean(gb.mul(g, xhat))));
  return {gb.mul(inv_std, centered), gb.unbroadcast(gb.mul(dy, xhat), gb.type(gamma)),
          gb.unbroadcast(dy, gb.type(beta))};
}

const OpDef kNormOps[] = {
    {OpKind::BatchNorm, 5, 5, shape_batchnorm, NETC_REF(ref_batchnorm), flops_batchnorm,
     grad_batchnorm},
    {OpKind::Dropout, 2, 2, shape_dropout, NETC_REF(ref_dropout), flops_dropout, grad_dropout},
    // One comparison per element; same operands and checks as dropout.
    {OpKind::DropoutMask, 2, 2, shape_dropout, NETC_REF(ref_dropout_mask), flops_dropout,
     no_gradient, "the mask reads only its input's shape, and is piecewise constant in keep"},
    {OpKind::LayerNorm, 3, 3, shape_layernorm, NETC_REF(ref_layernorm), flops_layernorm,
     grad_layernorm},
};

} // namespace

std::span<const OpDef> norm_op_defs() { return kNormOps; }

} // namespace netc
