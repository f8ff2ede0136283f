// ONNX -> IR: comparisons, logical ops and Where. netc has no boolean
// dtype: a boolean computed at run time is an f32 (or f64) tensor of 0 and 1,
// built from the IR's step ([x > 0]), so
//   Greater(a, b) = step(a - b)            Less(a, b) = step(b - a)
//   Equal(a, b) = 1 - step(a - b) - step(b - a)
//   GreaterOrEqual = 1 - Less              LessOrEqual = 1 - Greater
//   Not(a) = 1 - a   And(a, b) = a b   Or(a, b) = max(a, b)   Xor(a, b) = |a - b|
//   Where(c, x, y) = c x + (1 - c) y
// and Sign, Shrink, Hardmax and ArgMax/ArgMin, built from the same steps. (IsNaN is not:
// the compiled kernels are built with Halide's float rules, under which a
// comparison with NaN promises nothing, and mapped that way it failed.)
// A boolean known at import time (a comparison of constants, a bool input
// bound as a constant) stays a folded integer tensor of 0 and 1, and every op
// here folds when all its inputs are constants.
#include "frontend/onnx/import_context.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <functional>

namespace netc::onnx_import {

namespace {

// ---- folding --------------------------------------------------------------------

// numpy broadcasting of folded tensors, f of one element of each.
Folded fold_nary(const NodeContext& c, const std::vector<const Folded*>& in, DType dtype,
                 const std::function<double(const std::vector<double>&)>& f) {
  size_t rank = 0;
  for (const Folded* t : in) {
    if (t->has_batch()) c.unsupported("arithmetic on a shape that contains the batch extent");
    rank = std::max(rank, t->dims.size());
  }
  auto dim = [&](const Folded& t, size_t i) {
    size_t off = rank - t.dims.size();
    return i < off ? int64_t{1} : t.dims[i - off];
  };
  Folded out;
  out.dtype = dtype;
  for (size_t i = 0; i < rank; ++i) {
    int64_t d = 1;
    for (const Folded* t : in) {
      int64_t e = dim(*t, i);
      if (e != 1 && d != 1 && e != d)
        c.unsupported(
            fmt::format("constant operands do not broadcast (axis {}: {} and {})", i, d, e));
      if (e != 1) d = e;
    }
    out.dims.push_back(d);
  }
  int64_t n = 1;
  for (int64_t d : out.dims) n *= d;
  out.data.resize(size_t(n));
  std::vector<double> args(in.size());
  for (int64_t flat = 0; flat < n; ++flat) {
    for (size_t k = 0; k < in.size(); ++k) {
      int64_t idx = 0, stride = 1, rest = flat;
      for (size_t i = rank; i-- > 0;) {
        int64_t coord = rest % out.dims[i];
        rest /= out.dims[i];
        int64_t d = dim(*in[k], i);
        if (d != 1) idx += coord * stride;
        stride *= d;
      }
      args[k] = in[k]->data[size_t(idx)];
    }
    out.data[size_t(flat)] = f(args);
  }
  return out;
}

enum class Logic { equal, less, greater, less_equal, greater_equal, not_, and_, or_, xor_ };

double logic_fold(Logic l, const std::vector<double>& v) {
  switch (l) {
  case Logic::equal: return v[0] == v[1];
  case Logic::less: return v[0] < v[1];
  case Logic::greater: return v[0] > v[1];
  case Logic::less_equal: return v[0] <= v[1];
  case Logic::greater_equal: return v[0] >= v[1];
  case Logic::not_: return v[0] == 0;
  case Logic::and_: return v[0] != 0 && v[1] != 0;
  case Logic::or_: return v[0] != 0 || v[1] != 0;
  case Logic::xor_: return (v[0] != 0) != (v[1] != 0);
  }
  return 0;
}

template <Logic L>
void fold_logic(NodeContext& c) {
  std::vector<const Folded*> in;
  for (int i = 0; i < c.num_inputs(); ++i) in.push_back(&c.constant(i, "an input"));
  // The result is a boolean: an integer 0/1 tensor, as ONNX's bool folds.
  c.set_output(0, fold_nary(c, in, DType::i32,
                            [](const std::vector<double>& v) { return logic_fold(L, v); }));
}

// ---- run time --------------------------------------------------------------------

// Input i as a float tensor. A folded integer tensor (a boolean mask, an
// integer constant) becomes its f32 copy, which is then a leaf like any other
// constant.
ValueId float_tensor(NodeContext& c, int i) {
  const Folded* f = c.folded(i);
  if (!f || is_float(f->dtype)) return c.tensor(i);
  Folded as_float = *f;
  as_float.dtype = DType::f32;
  return c.constant_leaf(fmt::format(".input{}_as_f32", i), std::move(as_float));
}

ValueId one_minus(NodeContext& c, ValueId x) {
  return c.op(OpKind::Sub, {c.scalar(1.0, c.type_of(x).dtype), x});
}

template <Logic L>
void map_logic(NodeContext& c) {
  ValueId a = float_tensor(c, 0);
  if constexpr (L == Logic::not_) {
    c.set_output(0, one_minus(c, a));
    return;
  } else {
    ValueId b = float_tensor(c, 1);
    auto step = [&](ValueId p, ValueId q) {
      return c.op(OpKind::Step, {c.op(OpKind::Sub, {p, q})});
    };
    ValueId y;
    switch (L) {
    case Logic::less: y = step(b, a); break;
    case Logic::greater: y = step(a, b); break;
    case Logic::less_equal: y = one_minus(c, step(a, b)); break;
    case Logic::greater_equal: y = one_minus(c, step(b, a)); break;
    case Logic::equal: y = c.op(OpKind::Sub, {one_minus(c, step(a, b)), step(b, a)}); break;
    case Logic::and_: y = c.op(OpKind::Mul, {a, b}); break;
    case Logic::or_: y = c.op(OpKind::Maximum, {a, b}); break;
    case Logic::xor_: y = c.op(OpKind::Abs, {c.op(OpKind::Sub, {a, b})}); break;
    case Logic::not_: break;
    }
    c.set_output(0, y);
  }
}

// ---- Where ---------------------------------------------------------------------

void fold_where(NodeContext& c) {
  const Folded &cond = c.constant(0, "the condition"), &x = c.constant(1, "an input"),
               &y = c.constant(2, "an input");
  c.set_output(0, fold_nary(c, {&cond, &x, &y}, x.dtype,
                            [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; }));
}

std::vector<int64_t> broadcast_dims(NodeContext& c, const std::vector<std::vector<int64_t>>& all) {
  size_t rank = 0;
  for (const auto& d : all) rank = std::max(rank, d.size());
  std::vector<int64_t> out(rank, 1);
  for (const auto& d : all)
    for (size_t i = 0; i < d.size(); ++i) {
      int64_t& o = out[rank - d.size() + i];
      if (d[i] == 1) continue;
      if (o != 1 && o != d[i]) c.unsupported("the condition and the inputs do not broadcast");
      o = d[i];
    }
  return out;
}

// A condition known at import time that is all true or all false picks one
// input (broadcast to the output's shape); otherwise the mask blends them.
// The blend multiplies: an infinity in the input not picked would give NaN.
void map_where(NodeContext& c) {
  ValueId x = c.tensor(1), y = c.tensor(2);
  std::vector<int64_t> cond_dims;
  const Folded* f = c.folded(0);
  cond_dims = f ? f->dims : c.type(0).shape.dims;
  std::vector<int64_t> out =
      broadcast_dims(c, {cond_dims, c.type_of(x).shape.dims, c.type_of(y).shape.dims});
  auto widened = [&](ValueId v) {
    return c.type_of(v).shape.dims == out ? v : c.op(OpKind::Broadcast, {v}, Attrs{{"shape", out}});
  };
  if (f && !f->data.empty()) {
    bool all_true = std::all_of(f->data.begin(), f->data.end(), [](double v) { return v != 0; });
    bool all_false = std::all_of(f->data.begin(), f->data.end(), [](double v) { return v == 0; });
    if (all_true) return c.set_output(0, widened(x));
    if (all_false) return c.set_output(0, widened(y));
  }
  ValueId cond = float_tensor(c, 0);
  ValueId picked =
      c.op(OpKind::Add, {c.op(OpKind::Mul, {cond, x}), c.op(OpKind::Mul, {one_minus(c, cond), y})});
  c.set_output(0, widened(picked));
}

// ---- Sign, Shrink: the same steps on one operand ---------------------------------------

// sign(x) = step(x) - step(-x)
void map_sign(NodeContext& c) {
  ValueId x = c.tensor(0);
  ValueId neg = c.op(OpKind::Neg, {x});
  c.set_output(0, c.op(OpKind::Sub, {c.op(OpKind::Step, {x}), c.op(OpKind::Step, {neg})}));
}

// shrink(x) = [x < -lambd] (x + bias) + [x > lambd] (x - bias)
void map_shrink(NodeContext& c) {
  ValueId x = c.tensor(0);
  DType t = c.type_of(x).dtype;
  ValueId lambd = c.scalar(c.attr_float("lambd", 0.5), t),
          bias = c.scalar(c.attr_float("bias", 0), t);
  ValueId below = c.op(OpKind::Step, {c.op(OpKind::Sub, {c.op(OpKind::Neg, {x}), lambd})});
  ValueId above = c.op(OpKind::Step, {c.op(OpKind::Sub, {x, lambd})});
  c.set_output(0, c.op(OpKind::Add, {c.op(OpKind::Mul, {below, c.op(OpKind::Add, {x, bias})}),
                                     c.op(OpKind::Mul, {above, c.op(OpKind::Sub, {x, bias})})}));
}

// ---- Hardmax, ArgMax, ArgMin ------------------------------------------------------------

int64_t axis_of(NodeContext& c, int64_t fallback, int64_t rank) {
  int64_t axis = c.attr_int("axis", fallback);
  if (axis < -rank || axis >= rank)
    c.unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return axis < 0 ? axis + rank : axis;
}

// 1 at the first (or last) maximum of x along the axis:
//   eq = [x >= max] = 1 - step(max - x)
//   mask = eq (1 - step(others)), others = the maxima before (after) along
// the axis, a matmul of eq (axis moved last) with the strictly upper (lower)
// triangular ones.
ValueId max_mask(NodeContext& c, ValueId x, int64_t axis, bool last_wins) {
  const TensorType xt = c.type_of(x);
  int64_t rank = xt.shape.rank(), n = xt.shape[int(axis)];
  if (n == kBatch) c.unsupported("a maximum over the batch dimension");
  ValueId max = c.op(OpKind::ReduceMax, {x},
                     Attrs{{"axes", std::vector<int64_t>{axis}}, {"keepdims", int64_t{1}}});
  ValueId eq = one_minus(c, c.op(OpKind::Step, {c.op(OpKind::Sub, {max, x})}));
  std::vector<int64_t> perm;
  for (int64_t a = 0; a < rank; ++a)
    if (a != axis) perm.push_back(a);
  perm.push_back(axis);
  std::vector<int64_t> inverse(perm.size());
  for (size_t a = 0; a < perm.size(); ++a) inverse[size_t(perm[a])] = int64_t(a);
  bool moved = axis != rank - 1;
  ValueId rows = moved ? c.op(OpKind::Transpose, {eq}, Attrs{{"perm", perm}}) : eq;
  Folded tri;
  tri.dims = {n, n};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) tri.data.push_back((last_wins ? i > j : i < j) ? 1.0 : 0.0);
  ValueId others = rank == 1 ? c.reshape(rows, {1, n}) : rows;
  others = c.op(OpKind::MatMul, {others, c.constant_leaf(".triangle", std::move(tri))});
  others = c.reshape(others, c.type_of(rows).shape.dims);
  if (moved) others = c.op(OpKind::Transpose, {others}, Attrs{{"perm", inverse}});
  return c.op(OpKind::Mul, {eq, one_minus(c, c.op(OpKind::Step, {others}))});
}

// Hardmax (opset 13: one axis, default -1).
void map_hardmax(NodeContext& c) {
  ValueId x = c.tensor(0);
  if (c.opset() < 13) c.unsupported("the pre-13 form (a 2-D coercion) is not supported");
  c.set_output(0, max_mask(c, x, axis_of(c, -1, c.type_of(x).shape.rank()), false));
}

// ArgMax / ArgMin (of -x): the index of the first (select_last_index: last)
// extreme, sum_k k mask[k] over the axis. netc has no integer tensors at run
// time: the index is an f32 holding an integer (exact below 2^24).
template <bool Min>
void map_arg_extreme(NodeContext& c) {
  ValueId x = c.tensor(0);
  const TensorType xt = c.type_of(x);
  int64_t rank = xt.shape.rank();
  int64_t axis = axis_of(c, 0, rank);
  if (Min) x = c.op(OpKind::Neg, {x});
  ValueId mask = max_mask(c, x, axis, c.attr_int("select_last_index", 0) != 0);
  Folded range;
  range.dims.assign(size_t(rank), 1);
  range.dims[size_t(axis)] = xt.shape[int(axis)];
  for (int64_t k = 0; k < xt.shape[int(axis)]; ++k) range.data.push_back(double(k));
  ValueId weighted = c.op(OpKind::Mul, {mask, c.constant_leaf(".range", std::move(range))});
  c.set_output(0, c.op(OpKind::ReduceSum, {weighted},
                       Attrs{{"axes", std::vector<int64_t>{axis}},
                             {"keepdims", c.attr_int("keepdims", 1) ? int64_t{1} : int64_t{0}}}));
}

const OpMapping kLogicMappings[] = {
    {"Equal", {}, map_logic<Logic::equal>, fold_logic<Logic::equal>},
    {"Less", {}, map_logic<Logic::less>, fold_logic<Logic::less>},
    {"Greater", {}, map_logic<Logic::greater>, fold_logic<Logic::greater>},
    {"LessOrEqual", {}, map_logic<Logic::less_equal>, fold_logic<Logic::less_equal>},
    {"GreaterOrEqual", {}, map_logic<Logic::greater_equal>, fold_logic<Logic::greater_equal>},
    {"Not", {}, map_logic<Logic::not_>, fold_logic<Logic::not_>},
    {"And", {}, map_logic<Logic::and_>, fold_logic<Logic::and_>},
    {"Or", {}, map_logic<Logic::or_>, fold_logic<Logic::or_>},
    {"Xor", {}, map_logic<Logic::xor_>, fold_logic<Logic::xor_>},
    {"Where", {}, map_where, fold_where},
    {"Sign", {}, map_sign},
    {"Shrink", {"lambd", "bias"}, map_shrink},
    {"Hardmax", {"axis"}, map_hardmax},
    {"ArgMax", {"axis", "keepdims", "select_last_index"}, map_arg_extreme<false>},
    {"ArgMin", {"axis", "keepdims", "select_last_index"}, map_arg_extreme<true>},
};

} // namespace

std::span<const OpMapping> logic_mappings() { return kLogicMappings; }

} // namespace netc::onnx_import
