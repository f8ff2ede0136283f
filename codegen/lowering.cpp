#include "codegen/lowering.h"

#include "codegen/vector_math.h"

#include "ir/error.h"

#include <array>
#include <fmt/format.h>
#include <limits>

namespace netc::codegen {

namespace {

// Gathers the family tables into one array indexed by OpKind. Unlike the op
// registry this does not fail on a missing op: ops.def grows ahead of the
// backend, and the lowering-completeness test names what is missing.
std::array<LowerRule, kNumOps> build_table() {
  std::array<LowerRule, kNumOps> table{};
  for (auto family :
       {leaf_lowerings, elementwise_lowerings, reduce_lowerings, shape_lowerings, matmul_lowerings,
        conv_lowerings, conv_backward_lowerings, resize_lowerings, gather_lowerings, norm_lowerings,
        activation_lowerings, loss_lowerings, quant_lowerings, packed_conv_lowerings}) {
    for (const OpLowering& l : family()) {
      auto i = static_cast<size_t>(l.kind);
      if (table[i]) internal_error(fmt::format("op '{}' has two lowerings", op_name(l.kind)));
      table[i] = l.lower;
    }
  }
  return table;
}

} // namespace

LowerRule find_lowering(OpKind kind) {
  static const std::array<LowerRule, kNumOps> table = build_table();
  return table[static_cast<size_t>(kind)];
}

Halide::Type LowerCtx::type() const { return halide_type(node.type.dtype); }

std::string LowerCtx::name(const std::string& part) const {
  if (part.empty()) return fmt::format("{}_{}", op_name(node.op), id);
  return fmt::format("{}_{}_{}", op_name(node.op), id, part);
}

Halide::Type halide_type(DType t) {
  switch (t) {
  case DType::f32: return Halide::Float(32);
  case DType::f64: return Halide::Float(64);
  case DType::i32: return Halide::Int(32);
  case DType::i64: return Halide::Int(64);
  case DType::u8: return Halide::UInt(8);
  case DType::i8: return Halide::Int(8);
  }
  internal_error("bad dtype");
}

std::vector<Halide::Var> ir_vars(int rank) {
  std::vector<Halide::Var> v;
  for (int a = 0; a < rank; ++a) v.emplace_back(fmt::format("x{}", a));
  return v;
}

Index as_index(const std::vector<Halide::Var>& vars) { return Index(vars.begin(), vars.end()); }

Halide::Expr at(const Halide::Func& f, const Index& idx) {
  std::vector<Halide::Expr> args(idx.rbegin(), idx.rend());
  return const_cast<Halide::Func&>(f)(args);
}

void define(Halide::Func& f, const std::vector<Halide::Var>& vars, const Halide::Expr& e) {
  std::vector<Halide::Var> args(vars.rbegin(), vars.rend());
  f(args) = e;
}

Halide::Expr extent(const Shape& s, int a, const Halide::Expr& batch) {
  int64_t d = s[a];
  return d == kBatch ? batch : Halide::Expr(static_cast<int32_t>(d));
}

Halide::Expr elements(const Shape& s, int from, int to, const Halide::Expr& batch) {
  Halide::Expr n = 1;
  int64_t product = 1;
  bool batched = false;
  for (int a = from; a < to; ++a) {
    if (s[a] == kBatch)
      batched = true;
    else
      product *= s[a];
  }
  n = Halide::Expr(static_cast<int32_t>(product));
  return batched ? n * batch : n;
}

Halide::Expr elements(const Shape& s, const Halide::Expr& batch) {
  return elements(s, 0, s.rank(), batch);
}

Index broadcast_index(const Shape& in, const Shape& out, const Index& idx) {
  int lead = out.rank() - in.rank();
  Index r;
  for (int a = 0; a < in.rank(); ++a) {
    bool stretched = in[a] == 1 && out[lead + a] != 1;
    r.push_back(stretched ? Halide::Expr(0) : idx[static_cast<size_t>(lead + a)]);
  }
  return r;
}

Halide::Expr constant(Halide::Type t, double v) { return Halide::cast(t, Halide::Expr(v)); }

Halide::Expr max_nan(const Halide::Expr& a, const Halide::Expr& b) {
  if (!a.type().is_float()) return Halide::max(a, b);
  return Halide::strict_float(
      Halide::select(Halide::is_nan(a), a, Halide::is_nan(b), b, Halide::max(a, b)));
}

Halide::Expr min_nan(const Halide::Expr& a, const Halide::Expr& b) {
  if (!a.type().is_float()) return Halide::min(a, b);
  return Halide::strict_float(
      Halide::select(Halide::is_nan(a), a, Halide::is_nan(b), b, Halide::min(a, b)));
}

AxisRDom axis_rdom(const Shape& s, const std::vector<int>& axes, const Halide::Expr& batch,
                   const std::string& name) {
  Halide::Region region;
  for (auto a = axes.rbegin(); a != axes.rend(); ++a) region.emplace_back(0, extent(s, *a, batch));
  AxisRDom out{Halide::RDom(region, name), {}};
  int n = static_cast<int>(axes.size());
  for (int i = 0; i < n; ++i) out.vars.push_back(out.r[n - 1 - i]);
  return out;
}

Halide::Expr ieee_exp(const Halide::Expr& x) {
  if (x.type().element_of() == Halide::Float(32)) return exp_f32(x);
  return Halide::strict_float(Halide::select(Halide::is_nan(x), x, Halide::exp(x)));
}

Halide::Expr ieee_log(const Halide::Expr& x) {
  return Halide::strict_float(Halide::select(Halide::is_nan(x), x, Halide::log(x)));
}

// C's pow: x^0 = 1 and 1^y = 1 even for NaNs; otherwise a NaN propagates;
// 0^y = inf for y < 0.
Halide::Expr ieee_pow(const Halide::Expr& x, const Halide::Expr& y) {
  Halide::Type t = x.type();
  Halide::Expr inf = constant(t, std::numeric_limits<double>::infinity());
  return Halide::strict_float(Halide::select(y == 0 || x == 1, constant(t, 1),
                                             Halide::is_nan(x) || Halide::is_nan(y), x + y,
                                             x == 0 && y < 0, inf, Halide::pow(x, y)));
}

} // namespace netc::codegen
