// ONNX -> IR: elementwise arithmetic, activations, Gemm/MatMul, softmax and
// the reductions. An op netc has maps 1:1; the others are composed from a few
// IR ops, each with its formula above it.
#include "frontend/onnx/import_context.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <limits>

namespace netc::onnx_import {

namespace {

// ---- folding --------------------------------------------------------------------

// numpy broadcasting of two folded tensors, elementwise f. Shape arithmetic
// on the batch extent is refused: its value is only known at run time.
Folded fold_broadcast(const Folded& a, const Folded& b,
                      const std::function<double(double, double)>& f, const NodeContext& c) {
  if (a.has_batch() || b.has_batch())
    c.unsupported("arithmetic on a shape that contains the batch extent");
  size_t rank = std::max(a.dims.size(), b.dims.size());
  auto dim = [&](const Folded& t, size_t i) {
    size_t off = rank - t.dims.size();
    return i < off ? int64_t{1} : t.dims[i - off];
  };
  Folded out;
  out.dtype = a.dtype;
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = dim(a, i), db = dim(b, i);
    if (da != db && da != 1 && db != 1)
      c.unsupported(fmt::format("constant operands of shapes [{}] and [{}] do not broadcast",
                                fmt::join(a.dims, ","), fmt::join(b.dims, ",")));
    out.dims.push_back(da == 1 ? db : da);
  }
  int64_t n = 1;
  for (int64_t d : out.dims) n *= d;
  out.data.resize(static_cast<size_t>(n));
  auto index_in = [&](const Folded& t, int64_t flat) {
    int64_t idx = 0, stride = 1;
    for (size_t i = rank; i-- > 0;) {
      int64_t coord = flat % out.dims[i];
      flat /= out.dims[i];
      int64_t d = dim(t, i);
      if (d != 1) idx += coord * stride;
      stride *= d;
    }
    return idx;
  };
  for (int64_t i = 0; i < n; ++i)
    out.data[size_t(i)] = f(a.data[size_t(index_in(a, i))], b.data[size_t(index_in(b, i))]);
  return out;
}

template <int Kind>
double arith(double x, double y, bool integer) {
  switch (Kind) {
  case 0: return x + y;
  case 1: return x - y;
  case 2: return x * y;
  default: return integer ? std::trunc(x / y) : x / y;
  }
}

template <int Kind>
void fold_arith(NodeContext& c) {
  const Folded &a = c.constant(0, "an input"), &b = c.constant(1, "an input");
  bool integer = !is_float(a.dtype);
  if (Kind == 3 && integer)
    for (double y : b.data)
      if (y == 0) c.unsupported("integer division by zero in a constant");
  c.set_output(0, fold_broadcast(
                      a, b, [&](double x, double y) { return arith<Kind>(x, y, integer); }, c));
}

// Neg and Abs of constants: the axis arithmetic of expanded functions.
template <int Kind>
void fold_sign(NodeContext& c) {
  Folded f = c.constant(0, "an input");
  if (f.has_batch()) c.unsupported("arithmetic on a shape that contains the batch extent");
  for (double& v : f.data) v = Kind == 0 ? -v : std::abs(v);
  c.set_output(0, f);
}

// ---- elementwise ------------------------------------------------------------------

template <OpKind Kind>
void map_binary(NodeContext& c) {
  c.set_output(0, c.op(Kind, {c.tensor(0), c.tensor(1)}));
}

template <OpKind Kind>
void map_unary(NodeContext& c) {
  c.set_output(0, c.op(Kind, {c.tensor(0)}));
}

// Sum, Max, Min, Mean: a left fold of the binary op over every input;
// Mean then scales by 1/n.
template <OpKind Kind, bool Mean = false>
void map_variadic(NodeContext& c) {
  ValueId acc = c.tensor(0);
  for (int i = 1; i < c.num_inputs(); ++i) acc = c.op(Kind, {acc, c.tensor(i)});
  if (Mean && c.num_inputs() > 1)
    acc = c.op(OpKind::Mul, {acc, c.scalar(1.0 / c.num_inputs(), c.type_of(acc).dtype)});
  c.set_output(0, acc);
}

DType dtype0(NodeContext& c) { return c.type(0).dtype; }

void map_leaky_relu(NodeContext& c) {
  c.set_output(
      0, c.op(OpKind::LeakyRelu, {c.tensor(0)}, Attrs{{"alpha", c.attr_float("alpha", 0.01)}}));
}

void map_elu(NodeContext& c) {
  c.set_output(0, c.op(OpKind::Elu, {c.tensor(0)}, Attrs{{"alpha", c.attr_float("alpha", 1.0)}}));
}

// selu(x) = gamma elu(x, alpha)
void map_selu(NodeContext& c) {
  ValueId e = c.op(OpKind::Elu, {c.tensor(0)},
                   Attrs{{"alpha", c.attr_float("alpha", 1.67326319217681884765625)}});
  c.set_output(0, c.op(OpKind::Mul,
                       {e, c.scalar(c.attr_float("gamma", 1.05070102214813232421875), dtype0(c))}));
}

// celu(x) = max(0, x) + min(0, alpha (exp(x / alpha) - 1))
void map_celu(NodeContext& c) {
  ValueId x = c.tensor(0);
  DType t = dtype0(c);
  double alpha = c.attr_float("alpha", 1.0);
  ValueId e = c.op(OpKind::Exp, {c.op(OpKind::Mul, {x, c.scalar(1.0 / alpha, t)})});
  ValueId neg = c.op(OpKind::Mul, {c.op(OpKind::Sub, {e, c.scalar(1.0, t)}), c.scalar(alpha, t)});
  c.set_output(0, c.op(OpKind::Add,
                       {c.op(OpKind::Relu, {x}), c.op(OpKind::Minimum, {neg, c.scalar(0.0, t)})}));
}

// hard_sigmoid(x) = max(0, min(1, alpha x + beta))
ValueId hard_sigmoid(NodeContext& c, ValueId x, double alpha, double beta) {
  DType t = c.type_of(x).dtype;
  ValueId lin = c.op(OpKind::Add, {c.op(OpKind::Mul, {x, c.scalar(alpha, t)}), c.scalar(beta, t)});
  return c.op(OpKind::Maximum, {c.op(OpKind::Minimum, {lin, c.scalar(1.0, t)}), c.scalar(0.0, t)});
}

void map_hard_sigmoid(NodeContext& c) {
  c.set_output(0,
               hard_sigmoid(c, c.tensor(0), c.attr_float("alpha", 0.2), c.attr_float("beta", 0.5)));
}

// hard_swish(x) = x hard_sigmoid(x, 1/6, 1/2)
void map_hard_swish(NodeContext& c) {
  ValueId x = c.tensor(0);
  c.set_output(0, c.op(OpKind::Mul, {x, hard_sigmoid(c, x, 1.0 / 6.0, 0.5)}));
}

// softplus(x) = log(exp(x) + 1)
ValueId softplus(NodeContext& c, ValueId x) {
  return c.op(OpKind::Log,
              {c.op(OpKind::Add, {c.op(OpKind::Exp, {x}), c.scalar(1.0, c.type_of(x).dtype)})});
}

void map_softplus(NodeContext& c) { c.set_output(0, softplus(c, c.tensor(0))); }

// mish(x) = x tanh(softplus(x))
void map_mish(NodeContext& c) {
  ValueId x = c.tensor(0);
  c.set_output(0, c.op(OpKind::Mul, {x, c.op(OpKind::Tanh, {softplus(c, x)})}));
}

// softsign(x) = x / (1 + |x|)
void map_softsign(NodeContext& c) {
  ValueId x = c.tensor(0);
  ValueId d = c.op(OpKind::Add, {c.op(OpKind::Abs, {x}), c.scalar(1.0, dtype0(c))});
  c.set_output(0, c.op(OpKind::Div, {x, d}));
}

// reciprocal(x) = 1 / x
void map_reciprocal(NodeContext& c) {
  c.set_output(0, c.op(OpKind::Div, {c.scalar(1.0, dtype0(c)), c.tensor(0)}));
}

// thresholded_relu(x) = x [x > alpha]
void map_thresholded_relu(NodeContext& c) {
  ValueId x = c.tensor(0);
  ValueId shifted = c.op(OpKind::Sub, {x, c.scalar(c.attr_float("alpha", 1.0), dtype0(c))});
  c.set_output(0, c.op(OpKind::Mul, {x, c.op(OpKind::Step, {shifted})}));
}

// prelu(x, slope) = max(x, 0) + slope min(x, 0)
void map_prelu(NodeContext& c) {
  ValueId x = c.tensor(0), slope = c.tensor(1);
  ValueId zero = c.scalar(0.0, dtype0(c));
  ValueId neg = c.op(OpKind::Mul, {slope, c.op(OpKind::Minimum, {x, zero})});
  c.set_output(0, c.op(OpKind::Add, {c.op(OpKind::Relu, {x}), neg}));
}

// clip(x, lo, hi) = min(max(x, lo), hi); bounds are attributes before
// opset 11 and optional constant inputs from 11 on.
void map_clip(NodeContext& c) {
  ValueId y = c.tensor(0);
  DType t = dtype0(c);
  auto bound = [&](int input, const char* attr, OpKind kind) {
    std::optional<double> v;
    if (c.opset() < 11) {
      if (c.has_attr(attr)) v = c.attr_float(attr, 0);
    } else if (c.has_input(input)) {
      const Folded* f = c.folded(input);
      if (f && f->elements() == 1) {
        v = f->data[0];
      } else {
        y = c.op(kind, {y, c.tensor(input)});
        return;
      }
    }
    if (v) y = c.op(kind, {y, c.scalar(*v, t)});
  };
  bound(1, "min", OpKind::Maximum);
  bound(2, "max", OpKind::Minimum);
  c.set_output(0, y);
}

// ---- matmul ---------------------------------------------------------------------

// Y = alpha A' B' + beta C, A' = transA ? A^T : A, B' likewise.
void map_gemm(NodeContext& c) {
  ValueId a = c.tensor(0), b = c.tensor(1);
  DType t = dtype0(c);
  if (c.attr_int("transA", 0))
    a = c.op(OpKind::Transpose, {a}, Attrs{{"perm", std::vector<int64_t>{1, 0}}});
  if (c.attr_int("transB", 0))
    b = c.op(OpKind::Transpose, {b}, Attrs{{"perm", std::vector<int64_t>{1, 0}}});
  ValueId y = c.op(OpKind::MatMul, {a, b});
  double alpha = c.attr_float("alpha", 1.0), beta = c.attr_float("beta", 1.0);
  if (alpha != 1.0) y = c.op(OpKind::Mul, {y, c.scalar(alpha, t)});
  if (c.has_input(2) && beta != 0.0) {
    ValueId bias = c.tensor(2);
    if (beta != 1.0) bias = c.op(OpKind::Mul, {bias, c.scalar(beta, t)});
    y = c.op(OpKind::Add, {y, bias});
  }
  c.set_output(0, y);
}

// numpy matmul: a vector operand is promoted to a matrix ([K] -> [1,K] on
// the left, [K,1] on the right) and its unit axis dropped from the result.
// A stack of static matrices times one matrix is flattened into one 2-D
// product (the 2-D kernel packs B); other stacks are the IR's batched
// matmul, whose leading axes broadcast numpy-style.
void map_matmul(NodeContext& c) {
  ValueId a = c.tensor(0), b = c.tensor(1);
  std::vector<int64_t> da = c.type_of(a).shape.dims, db = c.type_of(b).shape.dims;
  if (da.empty() || db.empty()) c.unsupported("MatMul of a scalar");
  if (db.size() == 1) b = c.reshape(b, {db[0], 1});
  if (da.size() == 1) a = c.reshape(a, {1, da[0]});
  bool flat = da.size() > 2 && db.size() <= 2 &&
              std::find(da.begin(), da.end() - 1, kBatch) == da.end() - 1;
  if (flat) {
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < da.size(); ++i) rows *= da[i];
    a = c.reshape(a, {rows, da.back()});
  }
  ValueId y = c.op(OpKind::MatMul, {a, b});
  std::vector<int64_t> out_dims;
  if (flat) {
    out_dims.assign(da.begin(), da.end() - 1);
    out_dims.push_back(c.type_of(y).shape.dims.back());
  } else {
    out_dims = c.type_of(y).shape.dims;
  }
  if (db.size() == 1) out_dims.pop_back();
  if (da.size() == 1) out_dims.erase(out_dims.end() - (db.size() == 1 ? 1 : 2));
  c.set_output(0, c.reshape(y, out_dims));
}

// ---- softmax ---------------------------------------------------------------------

// From opset 13 the op normalizes along one axis (default -1). Before, it
// flattened the input to 2-D at `axis` (default 1) and normalized each row:
// the same as one axis when axis is the last, otherwise a reshape around it.
template <OpKind Kind>
void map_softmax(NodeContext& c) {
  ValueId x = c.tensor(0);
  const Shape s = c.type_of(x).shape;
  int64_t rank = s.rank();
  int64_t axis = c.attr_int("axis", c.opset() >= 13 ? -1 : 1);
  if (axis < -rank || axis >= rank)
    c.unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  if (axis < 0) axis += rank;
  if (c.opset() >= 13 || axis == rank - 1) {
    c.set_output(0, c.op(Kind, {x}, Attrs{{"axis", axis}}));
    return;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t d = s[int(i)];
    if (d == kBatch && !(i == 0 && axis == 1))
      c.unsupported("the pre-13 2-D coercion would merge the batch dimension");
    if (d == kBatch)
      outer = kBatch;
    else if (i < axis)
      outer *= d;
    else
      inner *= d;
  }
  ValueId y = c.op(Kind, {c.reshape(x, {outer, inner})}, Attrs{{"axis", int64_t{1}}});
  c.set_output(0, c.reshape(y, s.dims));
}

// ---- reductions --------------------------------------------------------------------

// The axes of a reduction: the attribute, or from opset 13 (ReduceSum) the
// optional constant input 1; none means all unless noop_with_empty_axes.
// ReduceL1, L2, SumSquare, LogSum and LogSumExp compose ReduceSum:
//   l1 = sum |x|, l2 = sqrt(sum x^2), sum_square = sum x^2,
//   log_sum = log(sum x), log_sum_exp = log(sum exp(x))
enum class Reduce { sum, mean, max, min, l1, l2, sum_square, log_sum, log_sum_exp };

template <Reduce R>
void map_reduce(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> axes = c.attr_ints("axes");
  bool axes_input = R == Reduce::sum && c.opset() >= 13;
  if (axes_input && c.has_input(1)) axes = c.constant(1, "the axes").ints();
  if (axes.empty() && c.attr_int("noop_with_empty_axes", 0)) {
    c.set_output(0, x);
    return;
  }
  OpKind kind = R == Reduce::mean  ? OpKind::ReduceMean
                : R == Reduce::max ? OpKind::ReduceMax
                : R == Reduce::min ? OpKind::ReduceMin
                                   : OpKind::ReduceSum;
  if (R == Reduce::l1) x = c.op(OpKind::Abs, {x});
  if (R == Reduce::l2 || R == Reduce::sum_square) x = c.op(OpKind::Mul, {x, x});
  if (R == Reduce::log_sum_exp) x = c.op(OpKind::Exp, {x});
  Attrs attrs{{"keepdims", c.attr_int("keepdims", 1) ? int64_t{1} : int64_t{0}}};
  if (!axes.empty()) attrs.set("axes", axes);
  ValueId y = c.op(kind, {x}, attrs);
  if (R == Reduce::l2) y = c.op(OpKind::Sqrt, {y});
  if (R == Reduce::log_sum || R == Reduce::log_sum_exp) y = c.op(OpKind::Log, {y});
  c.set_output(0, y);
}

// ReduceProd: the IR has no product reduction (and log-sum-exp would lose
// the signs), so the product of the slices along each reduced axis, one
// multiply per element of the axis; extents up to 64.
void map_reduce_prod(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> dims = c.type_of(x).shape.dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<int64_t> axes = c.attr_ints("axes");
  if (axes.empty()) {
    if (c.attr_int("noop_with_empty_axes", 0)) return c.set_output(0, x);
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  std::vector<int64_t> kept = dims;
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      c.unsupported(fmt::format("axis {} is out of range for rank {}", a, rank));
    if (a < 0) a += rank;
    int64_t n = dims[size_t(a)];
    if (n == kBatch || n > 64)
      c.unsupported(fmt::format("a product over an axis of {} (netc multiplies up to 64 slices)",
                                n == kBatch ? std::string("batch") : std::to_string(n)));
    if (kept[size_t(a)] == 1) continue; // already reduced, or extent 1
    ValueId prod =
        c.op(OpKind::Slice, {x}, Attrs{{"axis", a}, {"start", int64_t{0}}, {"end", int64_t{1}}});
    for (int64_t k = 1; k < n; ++k)
      prod =
          c.op(OpKind::Mul,
               {prod, c.op(OpKind::Slice, {x}, Attrs{{"axis", a}, {"start", k}, {"end", k + 1}})});
    x = prod;
    kept[size_t(a)] = 1;
  }
  if (c.attr_int("keepdims", 1)) return c.set_output(0, x);
  std::vector<int64_t> out;
  for (int64_t a = 0; a < rank; ++a) {
    bool reduced = false;
    for (int64_t r : axes) reduced |= (r < 0 ? r + rank : r) == a;
    if (!reduced) out.push_back(dims[size_t(a)]);
  }
  c.set_output(0, c.reshape(x, out));
}

const std::vector<std::string_view> kReduceAttrs = {"axes", "keepdims", "noop_with_empty_axes"};

const OpMapping kMathMappings[] = {
    {"Add", {}, map_binary<OpKind::Add>, fold_arith<0>},
    {"Sub", {}, map_binary<OpKind::Sub>, fold_arith<1>},
    {"Mul", {}, map_binary<OpKind::Mul>, fold_arith<2>},
    {"Div", {}, map_binary<OpKind::Div>, fold_arith<3>},
    {"Pow", {}, map_binary<OpKind::Pow>},
    {"Sum", {}, map_variadic<OpKind::Add>},
    {"Max", {}, map_variadic<OpKind::Maximum>},
    {"Min", {}, map_variadic<OpKind::Minimum>},
    {"Mean", {}, map_variadic<OpKind::Add, true>},
    {"Neg", {}, map_unary<OpKind::Neg>, fold_sign<0>},
    {"Exp", {}, map_unary<OpKind::Exp>},
    {"Log", {}, map_unary<OpKind::Log>},
    {"Sqrt", {}, map_unary<OpKind::Sqrt>},
    {"Abs", {}, map_unary<OpKind::Abs>, fold_sign<1>},
    {"Relu", {}, map_unary<OpKind::Relu>},
    {"Sigmoid", {}, map_unary<OpKind::Sigmoid>},
    {"Tanh", {}, map_unary<OpKind::Tanh>},
    {"Erf", {}, map_unary<OpKind::Erf>},
    {"LeakyRelu", {"alpha"}, map_leaky_relu},
    {"Elu", {"alpha"}, map_elu},
    {"Selu", {"alpha", "gamma"}, map_selu},
    {"Celu", {"alpha"}, map_celu},
    {"HardSigmoid", {"alpha", "beta"}, map_hard_sigmoid},
    {"HardSwish", {}, map_hard_swish},
    {"Softplus", {}, map_softplus},
    {"Softsign", {}, map_softsign},
    {"Mish", {}, map_mish},
    {"Reciprocal", {}, map_reciprocal},
    {"ThresholdedRelu", {"alpha"}, map_thresholded_relu},
    {"PRelu", {}, map_prelu},
    {"Clip", {"min", "max"}, map_clip},
    {"Gemm", {"alpha", "beta", "transA", "transB"}, map_gemm},
    {"MatMul", {}, map_matmul},
    {"Softmax", {"axis"}, map_softmax<OpKind::Softmax>},
    {"LogSoftmax", {"axis"}, map_softmax<OpKind::LogSoftmax>},
    {"ReduceSum", kReduceAttrs, map_reduce<Reduce::sum>},
    {"ReduceMean", kReduceAttrs, map_reduce<Reduce::mean>},
    {"ReduceMax", kReduceAttrs, map_reduce<Reduce::max>},
    {"ReduceMin", kReduceAttrs, map_reduce<Reduce::min>},
    {"ReduceL1", kReduceAttrs, map_reduce<Reduce::l1>},
    {"ReduceL2", kReduceAttrs, map_reduce<Reduce::l2>},
    {"ReduceSumSquare", kReduceAttrs, map_reduce<Reduce::sum_square>},
    {"ReduceLogSum", kReduceAttrs, map_reduce<Reduce::log_sum>},
    {"ReduceLogSumExp", kReduceAttrs, map_reduce<Reduce::log_sum_exp>},
    {"ReduceProd", kReduceAttrs, map_reduce_prod},
};

} // namespace

std::span<const OpMapping> math_mappings() { return kMathMappings; }

} // namespace netc::onnx_import
