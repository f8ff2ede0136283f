// The Winograd F(2x2, 3x3) lowering (see winograd.h). The transforms are
// written out per position as sums of +-1 (B, A) or +-1/2, 1/4 (G) multiples,
// selected by the position's coordinates; the schedule unrolls those
// coordinates, so each select folds to one sum.
#include "codegen/ops/winograd.h"

#include "ir/ops/packed_conv.h"

#include <utility>

namespace netc::codegen {

namespace {

using Halide::Expr;

// Lavin & Gray's F(2, 3) matrices (ir/ops/packed_conv.h).
constexpr auto& kBT = kWinogradBT;
constexpr auto& kG = kWinogradG;
constexpr auto& kAT = kWinogradAT;

using Terms = std::vector<std::pair<double, Expr>>;

// sum_k c_k e_k over the nonzero c_k, +-1 as additions and subtractions.
Expr combine(const Terms& terms, Halide::Type t) {
  Expr sum;
  for (const auto& [c, e] : terms) {
    if (c == 0) continue;
    if (!sum.defined())
      sum = c == 1 ? e : c == -1 ? -e : constant(t, c) * e;
    else if (c == 1)
      sum = sum + e;
    else if (c == -1)
      sum = sum - e;
    else
      sum = sum + constant(t, c) * e;
  }
  return sum.defined() ? sum : constant(t, 0);
}

// cases[a][b] at (row, col) = (a, b).
Expr select_case(const Expr& row, const Expr& col, const std::vector<std::vector<Expr>>& cases) {
  Expr e = cases.back().back();
  for (size_t a = cases.size(); a-- > 0;)
    for (size_t b = cases[a].size(); b-- > 0;) {
      if (a + 1 == cases.size() && b + 1 == cases[a].size()) continue;
      e = Halide::select(row == int32_t(a) && col == int32_t(b), cases[a][b], e);
    }
  return e;
}

// The 2-D transform X d X^T of a K x K patch d(i, j) by the R x K matrix X,
// at position (a, b): sum_{i, j} X[a][i] X[b][j] d(i, j).
template <size_t R, size_t K, class Patch>
std::vector<std::vector<Expr>> transform(const double (&m)[R][K], Patch d, Halide::Type t) {
  std::vector<std::vector<Expr>> cases(R, std::vector<Expr>(R));
  for (size_t a = 0; a < R; ++a)
    for (size_t b = 0; b < R; ++b) {
      Terms terms;
      for (size_t i = 0; i < K; ++i)
        for (size_t j = 0; j < K; ++j)
          terms.emplace_back(m[a][i] * m[b][j], d(int32_t(i), int32_t(j)));
      cases[a][b] = combine(terms, t);
    }
  return cases;
}

} // namespace

Halide::Func winograd_kernel_transform(const LowerCtx& ctx, const ConvWeight& weight,
                                       const std::string& name) {
  return pure_func(name, 4, [&](const Index& i) {
    auto g = [&](int32_t kh, int32_t kw) { return weight(i[3], i[2], kh, kw); };
    return select_case(i[0], i[1], transform(kG, g, ctx.type()));
  });
}

void winograd_conv(const LowerCtx& ctx, const WinogradSpec& s, const Halide::Func& u,
                   const ConvBias& bias, Lowered& out) {
  Halide::Type t = ctx.type();
  int64_t TH = (s.out[2] + 1) / 2, TW = (s.out[3] + 1) / 2;
  out.wino_input = pure_func(ctx.name("wino_in"), 4, [&](const Index& i) {
    return at(s.src, {i[0], i[3], i[1] - s.oy, i[2] - s.ox});
  });
  out.wino_u = u;
  if (bias)
    out.wino_bias = pure_func(ctx.name("wino_b"), 1, [&](const Index& i) { return bias(i[0]); });
  // V (n, nu, xi, ty, tx, c) over the patch whose corner is input (2 ty, 2 tx).
  out.wino_v = pure_func(ctx.name("wino_v"), 6, [&](const Index& i) {
    auto d = [&](int32_t r, int32_t c) {
      return at(out.wino_input, {i[0], 2 * i[3] + r, 2 * i[4] + c, i[5]});
    };
    return select_case(i[2], i[1], transform(kBT, d, t));
  });
  // M (n, nu, xi, ty, tx, o) = sum_c U V.
  std::vector<Halide::Var> v = ir_vars(6);
  Halide::RDom r(0, int32_t(s.C), ctx.name("r"));
  Halide::Func m(ctx.name("wino_m"));
  define(m, v, constant(t, 0));
  define(m, v,
         at(m, as_index(v)) + at(out.wino_u, {v[2], v[1], r.x, v[5]}) *
                                  at(out.wino_v, {v[0], v[1], v[2], v[3], v[4], r.x}));
  out.wino_m = m;
  // Y (n, ty, tx, dy, dx, o) = bias + A^T M A.
  out.wino_y = pure_func(ctx.name("wino_y"), 6, [&](const Index& i) {
    auto mt = [&](int32_t xi, int32_t nu) {
      return at(m, {i[0], Expr(nu), Expr(xi), i[1], i[2], i[5]});
    };
    Expr y = select_case(i[3], i[4], transform(kAT, mt, t));
    return bias ? at(out.wino_bias, {i[5]}) + y : y;
  });
  out.value = pure_func(ctx.name(), 4, [&](const Index& i) {
    return at(out.wino_y, {i[0], i[2] / 2, i[3] / 2, i[2] % 2, i[3] % 2, i[1]});
  });
  if (!out.weights_prepacked) out.stages.push_back({out.wino_u, Shape{4, 4, s.C, s.O}});
  if (bias) out.stages.push_back({out.wino_bias, Shape{s.O}});
  out.stages.push_back({out.wino_input, Shape{kBatch, 2 * TH + 2, 2 * TW + 2, s.C}});
  out.stages.push_back({out.wino_v, Shape{kBatch, 4, 4, TH, TW, s.C}});
  out.stages.push_back({m, Shape{kBatch, 4, 4, TH, TW, s.O}});
  out.stages.push_back({out.wino_y, Shape{kBatch, TH, TW, 2, 2, s.O}});
}

} // namespace netc::codegen
