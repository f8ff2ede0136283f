// Elementwise ops: unary maps y = f(x) and binary maps z = f(x, y) with numpy
// broadcasting. All ops of one arity share their shape/type and FLOPs rules
// (defined first); below them each op is its math and its reference
// implementation, and the table at the end ties the pieces together.
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <cmath>

namespace netc {

namespace {

// ---- Shared rules -----------------------------------------------------------

// Unary: y has x's type; x must be float.
TensorType shape_unary(const Attrs&, std::span<const TensorType> in) {
  require_float(in[0]);
  return in[0];
}

// leaky_relu, elu: as unary, and `alpha`, when given, must be a number.
TensorType shape_unary_alpha(const Attrs& attrs, std::span<const TensorType> in) {
  attrs.get_float("alpha", 0.0);
  return shape_unary(attrs, in);
}

// Binary: both float of one dtype; the output has the broadcast shape.
TensorType shape_binary(const Attrs&, std::span<const TensorType> in) {
  require_same_float(in[0], in[1]);
  return {in[0].dtype, broadcast_shape(in[0], in[1])};
}

// One FLOP per output element of one example (a transcendental counts as one).
int64_t flops_per_output(const Node& n, std::span<const TensorType>) {
  return n.type.shape.static_elements();
}

template <class T, class F>
void map_unary(RefInputs<T> in, Tensor<T>& out, F f) {
  const Tensor<T>& x = *in[0];
  for (int64_t i = 0; i < out.size(); ++i)
    out[i] = f(x[i]);
}

// out[i] = f(x[bx(i)], y[by(i)]) where bx, by map an output element to the
// input elements that broadcast onto it.
template <class T, class F>
void map_binary(RefInputs<T> in, Tensor<T>& out, F f) {
  const Tensor<T>& x = *in[0];
  const Tensor<T>& y = *in[1];
  std::vector<int64_t> bx = broadcast_offsets(x.shape, out.shape);
  std::vector<int64_t> by = broadcast_offsets(y.shape, out.shape);
  for (int64_t i = 0; i < out.size(); ++i)
    out[i] = f(x[bx[size_t(i)]], y[by[size_t(i)]]);
}

constexpr double kLeakyReluAlpha = 0.01; // leaky_relu's default slope
constexpr double kEluAlpha = 1.0;        // elu's default saturation value

// ---- Unary ops ----------------------------------------------------------------

// neg: y = -x
template <class T>
void ref_neg(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return -x; });
}

// exp: y = e^x
template <class T>
void ref_exp(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::exp(x); });
}

// log: y = ln x (-inf at 0, NaN below)
template <class T>
void ref_log(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::log(x); });
}

// sqrt: y = x^(1/2)
template <class T>
void ref_sqrt(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::sqrt(x); });
}

// abs: y = |x|
template <class T>
void ref_abs(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::abs(x); });
}

// relu: y = max(x, 0)
template <class T>
void ref_relu(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return x > T(0) ? x : T(0); });
}

// leaky_relu {alpha = 0.01}: y = x > 0 ? x : alpha x
template <class T>
void ref_leaky_relu(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  T alpha = static_cast<T>(n.attrs.get_float("alpha", kLeakyReluAlpha));
  map_unary(in, out, [alpha](T x) { return x > T(0) ? x : alpha * x; });
}

// elu {alpha = 1}: y = x > 0 ? x : alpha (e^x - 1); expm1 keeps the digits of
// e^x - 1 for small |x|.
template <class T>
void ref_elu(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  T alpha = static_cast<T>(n.attrs.get_float("alpha", kEluAlpha));
  map_unary(in, out, [alpha](T x) { return x > T(0) ? x : alpha * std::expm1(x); });
}

// sigmoid: y = 1 / (1 + e^-x). For x < 0 the equal form e^x / (1 + e^x) is
// used, so that e^-x never overflows for large |x|.
template <class T>
void ref_sigmoid(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    T e = std::exp(x);
    return e / (T(1) + e);
  });
}

// tanh: y = (e^x - e^-x) / (e^x + e^-x)
template <class T>
void ref_tanh(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::tanh(x); });
}

// ---- Binary ops (broadcasting) ------------------------------------------------

// add: z = x + y
template <class T>
void ref_add(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return x + y; });
}

// sub: z = x - y
template <class T>
void ref_sub(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return x - y; });
}

// mul: z = x y
template <class T>
void ref_mul(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return x * y; });
}

// div: z = x / y
template <class T>
void ref_div(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return x / y; });
}

// pow: z = x^y (NaN for x < 0 and a non-integer y, as in C)
template <class T>
void ref_pow(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return std::pow(x, y); });
}

// maximum: z = max(x, y), NaN if either is NaN
template <class T>
void ref_maximum(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return max_nan(x, y); });
}

// minimum: z = min(x, y), NaN if either is NaN
template <class T>
void ref_minimum(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return min_nan(x, y); });
}

const OpDef kElementwiseOps[] = {
    {OpKind::Neg, 1, 1, shape_unary, NETC_REF(ref_neg), flops_per_output},
    {OpKind::Exp, 1, 1, shape_unary, NETC_REF(ref_exp), flops_per_output},
    {OpKind::Log, 1, 1, shape_unary, NETC_REF(ref_log), flops_per_output},
    {OpKind::Sqrt, 1, 1, shape_unary, NETC_REF(ref_sqrt), flops_per_output},
    {OpKind::Abs, 1, 1, shape_unary, NETC_REF(ref_abs), flops_per_output},
    {OpKind::Relu, 1, 1, shape_unary, NETC_REF(ref_relu), flops_per_output},
    {OpKind::LeakyRelu, 1, 1, shape_unary_alpha, NETC_REF(ref_leaky_relu), flops_per_output},
    {OpKind::Elu, 1, 1, shape_unary_alpha, NETC_REF(ref_elu), flops_per_output},
    {OpKind::Sigmoid, 1, 1, shape_unary, NETC_REF(ref_sigmoid), flops_per_output},
    {OpKind::Tanh, 1, 1, shape_unary, NETC_REF(ref_tanh), flops_per_output},
    {OpKind::Add, 2, 2, shape_binary, NETC_REF(ref_add), flops_per_output},
    {OpKind::Sub, 2, 2, shape_binary, NETC_REF(ref_sub), flops_per_output},
    {OpKind::Mul, 2, 2, shape_binary, NETC_REF(ref_mul), flops_per_output},
    {OpKind::Div, 2, 2, shape_binary, NETC_REF(ref_div), flops_per_output},
    {OpKind::Pow, 2, 2, shape_binary, NETC_REF(ref_pow), flops_per_output},
    {OpKind::Maximum, 2, 2, shape_binary, NETC_REF(ref_maximum), flops_per_output},
    {OpKind::Minimum, 2, 2, shape_binary, NETC_REF(ref_minimum), flops_per_output},
};

} // namespace

std::span<const OpDef> elementwise_op_defs() { return kElementwiseOps; }

} // namespace netc
