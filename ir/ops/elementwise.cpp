// Elementwise ops: unary maps y = f(x) and binary maps z = f(x, y) with numpy
// broadcasting. All ops of one arity share their shape/type and FLOPs rules
// (defined first); below them each op is its math and its reference
// implementation, and the table at the end ties the pieces together.
//
// Gradient rules sit beneath the references, the derivative in the comment
// above each. They read the op's output y where that is cheaper than
// recomputing from x (exp' = y, sigmoid' = y (1 - y)). Binary rules sum each
// operand's gradient over the axes it was broadcast along (unbroadcast).
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/ops/common.h"

#include <cmath>
#include <numbers>
#include <string>

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
  for (int64_t i = 0; i < out.size(); ++i) out[i] = f(x[i]);
}

// out[i] = f(x[bx(i)], y[by(i)]) where bx, by map an output element to the
// input elements that broadcast onto it.
template <class T, class F>
void map_binary(RefInputs<T> in, Tensor<T>& out, F f) {
  const Tensor<T>& x = *in[0];
  const Tensor<T>& y = *in[1];
  std::vector<int64_t> bx = broadcast_offsets(x.shape, out.shape);
  std::vector<int64_t> by = broadcast_offsets(y.shape, out.shape);
  for (int64_t i = 0; i < out.size(); ++i) out[i] = f(x[bx[size_t(i)]], y[by[size_t(i)]]);
}

constexpr double kLeakyReluAlpha = 0.01; // leaky_relu's default slope
constexpr double kEluAlpha = 1.0;        // elu's default saturation value

// step(v) = [v > 0], the derivative of most piecewise-linear ops.
ValueId step(GradBuilder& gb, ValueId v) { return gb.op(OpKind::Step, {v}); }

// The gradients of a binary op, each summed back to its operand's shape.
std::vector<ValueId> to_operands(GradBuilder& gb, const Node& n, ValueId da, ValueId db) {
  return {gb.unbroadcast(da, gb.type(n.inputs[0])), gb.unbroadcast(db, gb.type(n.inputs[1]))};
}

// ---- Unary ops ----------------------------------------------------------------

// neg: y = -x
template <class T>
void ref_neg(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return -x; });
}

// dx = -dy
std::vector<ValueId> grad_neg(GradBuilder& gb, const Node&, ValueId, ValueId dy) {
  return {gb.neg(dy)};
}

// exp: y = e^x
template <class T>
void ref_exp(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::exp(x); });
}

// d e^x/dx = e^x = y
std::vector<ValueId> grad_exp(GradBuilder& gb, const Node&, ValueId y, ValueId dy) {
  return {gb.mul(dy, y)};
}

// log: y = ln x (-inf at 0, NaN below)
template <class T>
void ref_log(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::log(x); });
}

// d ln x/dx = 1/x
std::vector<ValueId> grad_log(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  return {gb.div(dy, n.inputs[0])};
}

// sqrt: y = x^(1/2)
template <class T>
void ref_sqrt(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::sqrt(x); });
}

// d sqrt(x)/dx = 1 / (2 sqrt x) = 0.5 / y
std::vector<ValueId> grad_sqrt(GradBuilder& gb, const Node&, ValueId y, ValueId dy) {
  return {gb.div(gb.mul(dy, gb.constant(0.5)), y)};
}

// abs: y = |x|
template <class T>
void ref_abs(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::abs(x); });
}

// d|x|/dx = sign x = step(x) - step(-x)  (0 at the kink x = 0)
std::vector<ValueId> grad_abs(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId x = n.inputs[0];
  return {gb.mul(dy, gb.sub(step(gb, x), step(gb, gb.neg(x))))};
}

// relu: y = max(x, 0)
template <class T>
void ref_relu(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return x > T(0) ? x : T(0); });
}

// d relu(x)/dx = step(x) = step(y): y > 0 exactly where x > 0, and reading y
// (which the next layer keeps anyway) lets x die after the forward pass.
std::vector<ValueId> grad_relu(GradBuilder& gb, const Node&, ValueId y, ValueId dy) {
  return {gb.mul(dy, step(gb, y))};
}

// leaky_relu {alpha = 0.01}: y = x > 0 ? x : alpha x
template <class T>
void ref_leaky_relu(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  T alpha = static_cast<T>(n.attrs.get_float("alpha", kLeakyReluAlpha));
  map_unary(in, out, [alpha](T x) { return x > T(0) ? x : alpha * x; });
}

// d/dx = x > 0 ? 1 : alpha = alpha + (1 - alpha) step(x). step(x), not step(y)
// as for relu: with alpha < 0 the negative side is positive too (elu alike).
std::vector<ValueId> grad_leaky_relu(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  double alpha = n.attrs.get_float("alpha", kLeakyReluAlpha);
  ValueId slope = gb.add(gb.mul(step(gb, n.inputs[0]), gb.constant(1 - alpha)), gb.constant(alpha));
  return {gb.mul(dy, slope)};
}

// elu {alpha = 1}: y = x > 0 ? x : alpha (e^x - 1); expm1 keeps the digits of
// e^x - 1 for small |x|.
template <class T>
void ref_elu(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  T alpha = static_cast<T>(n.attrs.get_float("alpha", kEluAlpha));
  map_unary(in, out, [alpha](T x) { return x > T(0) ? x : alpha * std::expm1(x); });
}

// d/dx = x > 0 ? 1 : alpha e^x, and alpha e^x = y + alpha there:
// s + (1 - s)(y + alpha) with s = step(x)
std::vector<ValueId> grad_elu(GradBuilder& gb, const Node& n, ValueId y, ValueId dy) {
  ValueId s = step(gb, n.inputs[0]);
  ValueId neg_side = gb.add(y, gb.constant(n.attrs.get_float("alpha", kEluAlpha)));
  ValueId slope = gb.add(s, gb.mul(gb.sub(gb.constant(1), s), neg_side));
  return {gb.mul(dy, slope)};
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

// d sigmoid(x)/dx = y (1 - y)
std::vector<ValueId> grad_sigmoid(GradBuilder& gb, const Node&, ValueId y, ValueId dy) {
  return {gb.mul(dy, gb.mul(y, gb.sub(gb.constant(1), y)))};
}

// tanh: y = (e^x - e^-x) / (e^x + e^-x)
template <class T>
void ref_tanh(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::tanh(x); });
}

// d tanh(x)/dx = 1 - y^2
std::vector<ValueId> grad_tanh(GradBuilder& gb, const Node&, ValueId y, ValueId dy) {
  return {gb.mul(dy, gb.sub(gb.constant(1), gb.mul(y, y)))};
}

// step: y = x > 0 ? 1 : 0 (0 for NaN). Piecewise constant, so its
// derivative is 0 almost everywhere: no_gradient.
template <class T>
void ref_step(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return x > T(0) ? T(1) : T(0); });
}

// erf: y = (2 / sqrt pi) int_0^x e^(-t^2) dt
template <class T>
void ref_erf(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return std::erf(x); });
}

// d erf(x)/dx = (2 / sqrt pi) e^(-x^2)
std::vector<ValueId> grad_erf(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId x = n.inputs[0];
  ValueId e = gb.op(OpKind::Exp, {gb.neg(gb.mul(x, x))});
  return {gb.mul(dy, gb.mul(e, gb.constant(2 / std::sqrt(std::numbers::pi))))};
}

// gelu {approximate = "none" | "tanh"}, PyTorch's nn.GELU(approximate=...):
//   none: y = x Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2
//   tanh: y = x (1 + tanh u) / 2,  u = sqrt(2 / pi) (x + 0.044715 x^3)
constexpr double kGeluCubic = 0.044715;

bool gelu_is_tanh(const Attrs& attrs) {
  std::string form = attrs.get_str("approximate", "none");
  if (form != "none" && form != "tanh")
    throw ShapeError("approximate must be \"none\" or \"tanh\", found \"" + form + "\"");
  return form == "tanh";
}

TensorType shape_gelu(const Attrs& attrs, std::span<const TensorType> in) {
  gelu_is_tanh(attrs);
  return shape_unary(attrs, in);
}

template <class T>
void ref_gelu(const Node& n, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  const T half(0.5), one(1);
  if (gelu_is_tanh(n.attrs)) {
    const T k = std::sqrt(T(2) / std::numbers::pi_v<T>), c(kGeluCubic);
    map_unary(in, out, [&](T x) { return half * x * (one + std::tanh(k * (x + c * x * x * x))); });
  } else {
    const T inv_sqrt2 = one / std::numbers::sqrt2_v<T>;
    map_unary(in, out, [&](T x) { return x * half * (one + std::erf(x * inv_sqrt2)); });
  }
}

// A few FLOPs per element: the polynomial, the transcendental, the products.
int64_t flops_gelu(const Node& n, std::span<const TensorType>) {
  return 8 * n.type.shape.static_elements();
}

// none: dy/dx = Phi(x) + x phi(x),  phi(x) = e^(-x^2 / 2) / sqrt(2 pi)
// tanh: dy/dx = (1 + t) / 2 + x (1 - t^2) u' / 2,  t = tanh u,
//       u' = sqrt(2 / pi) (1 + 3 * 0.044715 x^2)
std::vector<ValueId> grad_gelu(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId x = n.inputs[0], x2 = gb.mul(x, x);
  ValueId half = gb.constant(0.5), one = gb.constant(1);
  if (gelu_is_tanh(n.attrs)) {
    double k = std::sqrt(2 / std::numbers::pi);
    ValueId u = gb.mul(gb.constant(k), gb.add(x, gb.mul(gb.constant(kGeluCubic), gb.mul(x2, x))));
    ValueId t = gb.op(OpKind::Tanh, {u});
    ValueId du = gb.mul(gb.constant(k), gb.add(one, gb.mul(gb.constant(3 * kGeluCubic), x2)));
    ValueId outer = gb.mul(half, gb.add(one, t));
    ValueId inner = gb.mul(gb.mul(half, x), gb.mul(gb.sub(one, gb.mul(t, t)), du));
    return {gb.mul(dy, gb.add(outer, inner))};
  }
  ValueId erf = gb.op(OpKind::Erf, {gb.mul(x, gb.constant(1 / std::numbers::sqrt2))});
  ValueId cdf = gb.mul(half, gb.add(one, erf));
  ValueId pdf = gb.mul(gb.op(OpKind::Exp, {gb.mul(x2, gb.constant(-0.5))}),
                       gb.constant(1 / std::sqrt(2 * std::numbers::pi)));
  return {gb.mul(dy, gb.add(cdf, gb.mul(x, pdf)))};
}

// relu6: y = x > 0 ? min(x, 6) : 0 (NaN gives 0, as relu)
template <class T>
T relu6(T x) {
  return x > T(0) ? (x < T(6) ? x : T(6)) : T(0);
}

template <class T>
void ref_relu6(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return relu6(x); });
}

// dy/dx = [0 < x < 6], 0 at both kinks as PyTorch's hardtanh_backward; read
// from y (0 < y < 6 exactly there), as relu does.
std::vector<ValueId> grad_relu6(GradBuilder& gb, const Node&, ValueId y, ValueId dy) {
  return {gb.mul(dy, gb.mul(step(gb, y), step(gb, gb.sub(gb.constant(6), y))))};
}

// hard_sigmoid: y = relu6(x + 3) / 6, PyTorch's Hardsigmoid (NaN gives 0)
template <class T>
void ref_hard_sigmoid(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return relu6(x + T(3)) / T(6); });
}

// dy/dx = [-3 < x < 3] / 6 (0 at the kinks, as PyTorch)
std::vector<ValueId> grad_hard_sigmoid(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId x = n.inputs[0], three = gb.constant(3);
  ValueId inside = gb.mul(step(gb, gb.add(x, three)), step(gb, gb.sub(three, x)));
  // Divisions by 3 and 6 rather than products with 1/3 and 1/6: those constants
  // would be rounded to f32, and the double reference would carry the error.
  return {gb.mul(dy, gb.div(inside, gb.constant(6)))};
}

// hard_swish: y = x relu6(x + 3) / 6, PyTorch's Hardswish
template <class T>
void ref_hard_swish(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_unary(in, out, [](T x) { return x * relu6(x + T(3)) / T(6); });
}

// dy/dx = 0 for x < -3, x / 3 + 1/2 for -3 <= x <= 3, 1 for x > 3: PyTorch's
// hardswish_backward, kinks included. [x >= -3] = 1 - step(-3 - x),
// [x <= 3] = 1 - step(x - 3).
std::vector<ValueId> grad_hard_swish(GradBuilder& gb, const Node& n, ValueId, ValueId dy) {
  ValueId x = n.inputs[0], one = gb.constant(1), three = gb.constant(3);
  ValueId above = step(gb, gb.sub(x, three));
  ValueId middle = gb.mul(gb.sub(one, step(gb, gb.sub(gb.neg(three), x))), gb.sub(one, above));
  ValueId ramp = gb.add(gb.div(x, gb.constant(3)), gb.constant(0.5));
  return {gb.mul(dy, gb.add(gb.mul(middle, ramp), above))};
}

// ---- Binary ops (broadcasting) ------------------------------------------------

// add: z = x + y
template <class T>
void ref_add(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return x + y; });
}

// da = dz, db = dz
std::vector<ValueId> grad_add(GradBuilder& gb, const Node& n, ValueId, ValueId dz) {
  return to_operands(gb, n, dz, dz);
}

// sub: z = x - y
template <class T>
void ref_sub(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return x - y; });
}

// da = dz, db = -dz
std::vector<ValueId> grad_sub(GradBuilder& gb, const Node& n, ValueId, ValueId dz) {
  return to_operands(gb, n, dz, gb.neg(dz));
}

// mul: z = x y
template <class T>
void ref_mul(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return x * y; });
}

// z = a b: da = dz b, db = dz a
std::vector<ValueId> grad_mul(GradBuilder& gb, const Node& n, ValueId, ValueId dz) {
  return to_operands(gb, n, gb.mul(dz, n.inputs[1]), gb.mul(dz, n.inputs[0]));
}

// div: z = x / y
template <class T>
void ref_div(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return x / y; });
}

// z = a / b: da = dz / b, db = -dz a / b^2 = -(dz / b) z
std::vector<ValueId> grad_div(GradBuilder& gb, const Node& n, ValueId z, ValueId dz) {
  ValueId da = gb.div(dz, n.inputs[1]);
  return to_operands(gb, n, da, gb.neg(gb.mul(da, z)));
}

// pow: z = x^y (NaN for x < 0 and a non-integer y, as in C)
template <class T>
void ref_pow(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return std::pow(x, y); });
}

// z = a^b: da = dz b a^(b-1), db = dz ln(a) a^b = dz ln(a) z. a^(b-1) is not
// z / a, which would be 0/0 at a = 0.
std::vector<ValueId> grad_pow(GradBuilder& gb, const Node& n, ValueId z, ValueId dz) {
  ValueId a = n.inputs[0], b = n.inputs[1];
  ValueId a_pow = gb.op(OpKind::Pow, {a, gb.sub(b, gb.constant(1))});
  ValueId da = gb.mul(dz, gb.mul(b, a_pow));
  ValueId db = gb.mul(gb.mul(dz, z), gb.op(OpKind::Log, {a}));
  return to_operands(gb, n, da, db);
}

// maximum: z = max(x, y), NaN if either is NaN
template <class T>
void ref_maximum(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return max_nan(x, y); });
}

// z = max(a, b): da = dz [a > b] = dz step(a - b), db = dz - da (a tie goes to
// b, so maximum(x, 0) differentiates like relu)
std::vector<ValueId> grad_maximum(GradBuilder& gb, const Node& n, ValueId, ValueId dz) {
  ValueId da = gb.mul(dz, step(gb, gb.sub(n.inputs[0], n.inputs[1])));
  return to_operands(gb, n, da, gb.sub(dz, da));
}

// minimum: z = min(x, y), NaN if either is NaN
template <class T>
void ref_minimum(const Node&, RefInputs<T> in, Tensor<T>& out, RefContext<T>&) {
  map_binary(in, out, [](T x, T y) { return min_nan(x, y); });
}

// z = min(a, b): da = dz [a < b] = dz step(b - a), db = dz - da
std::vector<ValueId> grad_minimum(GradBuilder& gb, const Node& n, ValueId, ValueId dz) {
  ValueId da = gb.mul(dz, step(gb, gb.sub(n.inputs[1], n.inputs[0])));
  return to_operands(gb, n, da, gb.sub(dz, da));
}

const OpDef kElementwiseOps[] = {
    {OpKind::Neg, 1, 1, shape_unary, NETC_REF(ref_neg), flops_per_output, grad_neg},
    {OpKind::Exp, 1, 1, shape_unary, NETC_REF(ref_exp), flops_per_output, grad_exp},
    {OpKind::Log, 1, 1, shape_unary, NETC_REF(ref_log), flops_per_output, grad_log},
    {OpKind::Sqrt, 1, 1, shape_unary, NETC_REF(ref_sqrt), flops_per_output, grad_sqrt},
    {OpKind::Abs, 1, 1, shape_unary, NETC_REF(ref_abs), flops_per_output, grad_abs},
    {OpKind::Relu, 1, 1, shape_unary, NETC_REF(ref_relu), flops_per_output, grad_relu},
    {OpKind::LeakyRelu, 1, 1, shape_unary_alpha, NETC_REF(ref_leaky_relu), flops_per_output,
     grad_leaky_relu},
    {OpKind::Elu, 1, 1, shape_unary_alpha, NETC_REF(ref_elu), flops_per_output, grad_elu},
    {OpKind::Sigmoid, 1, 1, shape_unary, NETC_REF(ref_sigmoid), flops_per_output, grad_sigmoid},
    {OpKind::Tanh, 1, 1, shape_unary, NETC_REF(ref_tanh), flops_per_output, grad_tanh},
    {OpKind::Step, 1, 1, shape_unary, NETC_REF(ref_step), flops_per_output, no_gradient,
     "piecewise constant: its derivative is 0 almost everywhere"},
    {OpKind::Erf, 1, 1, shape_unary, NETC_REF(ref_erf), flops_per_output, grad_erf},
    {OpKind::Gelu, 1, 1, shape_gelu, NETC_REF(ref_gelu), flops_gelu, grad_gelu},
    {OpKind::Relu6, 1, 1, shape_unary, NETC_REF(ref_relu6), flops_per_output, grad_relu6},
    {OpKind::HardSigmoid, 1, 1, shape_unary, NETC_REF(ref_hard_sigmoid), flops_per_output,
     grad_hard_sigmoid},
    {OpKind::HardSwish, 1, 1, shape_unary, NETC_REF(ref_hard_swish), flops_per_output,
     grad_hard_swish},
    {OpKind::Add, 2, 2, shape_binary, NETC_REF(ref_add), flops_per_output, grad_add},
    {OpKind::Sub, 2, 2, shape_binary, NETC_REF(ref_sub), flops_per_output, grad_sub},
    {OpKind::Mul, 2, 2, shape_binary, NETC_REF(ref_mul), flops_per_output, grad_mul},
    {OpKind::Div, 2, 2, shape_binary, NETC_REF(ref_div), flops_per_output, grad_div},
    {OpKind::Pow, 2, 2, shape_binary, NETC_REF(ref_pow), flops_per_output, grad_pow},
    {OpKind::Maximum, 2, 2, shape_binary, NETC_REF(ref_maximum), flops_per_output, grad_maximum},
    {OpKind::Minimum, 2, 2, shape_binary, NETC_REF(ref_minimum), flops_per_output, grad_minimum},
};

} // namespace

std::span<const OpDef> elementwise_op_defs() { return kElementwiseOps; }

} // namespace netc
