#include "codegen/ops/window.h"

namespace netc::codegen {

Halide::Func padded_copy(const Halide::Func& value, const Shape& xs, const std::string& name) {
  std::vector<Halide::Var> v = ir_vars(4);
  Halide::RDom r(0, int32_t(xs[3]), 0, int32_t(xs[2]), name + "_r");
  Halide::Expr inner = at(value, {v[0], v[1], r.y, r.x});
  Halide::Func pad(name);
  define(pad, v, Halide::cast(inner.type(), 0));
  pad(r.x, r.y, v[1], v[0]) = inner;
  return pad;
}

Halide::Func padded_input(const Halide::Func& x, const Shape& xs, const Halide::Expr& fill,
                          const std::string& name, bool likely_inside) {
  auto H = static_cast<int32_t>(xs[2]), W = static_cast<int32_t>(xs[3]);
  return pure_func(name, 4, [&](const Index& i) {
    Halide::Expr h = i[2], w = i[3];
    Halide::Expr inside = h >= 0 && h < H && w >= 0 && w < W;
    if (likely_inside) inside = Halide::likely(inside);
    Halide::Expr v = at(x, {i[0], i[1], Halide::clamp(h, 0, H - 1), Halide::clamp(w, 0, W - 1)});
    return Halide::select(inside, v, fill);
  });
}

} // namespace netc::codegen
