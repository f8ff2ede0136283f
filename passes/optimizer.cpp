#include "passes/optimizer.h"

#include <fmt/format.h>

namespace netc {

namespace {

class UpdateBuilder {
public:
  UpdateBuilder(Graph& g) : g_(g), b_(g) {}

  ValueId hyper(const std::string& name, double value) {
    if (auto v = g_.find_leaf(OpKind::Hyper, name)) return *v;
    return b_.leaf(OpKind::Hyper, {DType::f32, Shape{}}, Attrs{{"name", name}, {"value", value}});
  }
  ValueId state(const std::string& name, const TensorType& type) {
    return b_.leaf(
        OpKind::State, type,
        Attrs{{"name", name}, {"init", std::string("zeros")}, {"role", std::string("optimizer")}});
  }
  ValueId c(double v) { return b_.constant(v, loc_); }
  ValueId op(OpKind k, std::vector<ValueId> in, Attrs a = {}) {
    return b_.op(k, std::move(in), std::move(a), loc_);
  }
  ValueId add(ValueId a, ValueId b) { return op(OpKind::Add, {a, b}); }
  ValueId sub(ValueId a, ValueId b) { return op(OpKind::Sub, {a, b}); }
  ValueId mul(ValueId a, ValueId b) { return op(OpKind::Mul, {a, b}); }
  ValueId div(ValueId a, ValueId b) { return op(OpKind::Div, {a, b}); }
  // beta * old + (1 - beta) * x
  ValueId ewa(ValueId beta, ValueId old, ValueId x) {
    return add(mul(beta, old), mul(sub(c(1.0), beta), x));
  }
  void at(SourceLoc loc) { loc_ = loc; }
  void update(const std::string& name, ValueId v) { g_.updates.push_back({name, v, loc_}); }

private:
  Graph& g_;
  GraphBuilder b_;
  SourceLoc loc_;
};

// Rescales W so that each output unit's incoming weight vector has norm at
// most max_norm: the sum runs over every axis but the output one (axis 1 of a
// dense [in, out] W, axis 0 of a conv [out, in, kh, kw] W).
ValueId clip_max_norm(UpdateBuilder& u, ValueId w, const TensorType& t, ValueId max_norm) {
  int out_axis = t.shape.rank() == 2 ? 1 : 0;
  std::vector<int64_t> axes;
  for (int d = 0; d < t.shape.rank(); ++d)
    if (d != out_axis) axes.push_back(d);
  ValueId norm = u.op(OpKind::Sqrt, {u.op(OpKind::ReduceSum, {u.mul(w, w)},
                                          Attrs{{"axes", axes}, {"keepdims", int64_t(1)}})});
  ValueId scale = u.op(OpKind::Minimum, {u.c(1.0), u.div(max_norm, u.add(norm, u.c(1e-12)))});
  return u.mul(w, scale);
}

} // namespace

Graph append_optimizer(const Differentiated& d, const TrainConfig& config) {
  const OptimizerConfig& opt = config.optimizer;
  Graph g = d.graph;
  UpdateBuilder u(g);
  ValueId lr = u.hyper("lr", opt.lr);
  // The step counter counts completed steps; this step is t = step + 1.
  ValueId step = u.state("step", {DType::f32, Shape{}});
  ValueId t = u.add(step, u.c(1.0));
  u.update("step", t);

  bool adam = opt.kind == "adam" || opt.kind == "adamw";
  ValueId b1 = -1, b2 = -1, beta = -1, eps = -1, corr1 = -1, corr2 = -1, mu = -1;
  if (adam) {
    b1 = u.hyper("beta1", opt.beta1);
    b2 = u.hyper("beta2", opt.beta2);
    eps = u.hyper("eps", opt.eps);
    // Bias corrections 1 - beta^t, shared by every param.
    corr1 = u.sub(u.c(1.0), u.op(OpKind::Pow, {b1, t}));
    corr2 = u.sub(u.c(1.0), u.op(OpKind::Pow, {b2, t}));
  } else if (opt.kind == "momentum" || opt.kind == "rmsprop") {
    beta = u.hyper("beta", opt.beta);
    if (opt.kind == "rmsprop") eps = u.hyper("eps", opt.eps);
  } else if (opt.kind == "sgd") {
    // Whether there is a velocity at all is structural; its factor is a runtime scalar.
    if (opt.momentum > 0) mu = u.hyper("momentum", opt.momentum);
  } else {
    throw UserError(g.source_file, {}, fmt::format("unknown optimizer '{}'", opt.kind));
  }
  ValueId decay = opt.weight_decay > 0 ? u.hyper("weight_decay", opt.weight_decay) : -1;
  ValueId max_norm = config.max_norm > 0 ? u.hyper("max_norm", config.max_norm) : -1;

  for (const NamedValue& grad : d.grads) {
    ValueId w = *g.find_leaf(OpKind::Param, grad.name);
    const TensorType type = g.node(w).type;
    u.at(grad.loc);
    ValueId dw = grad.value, delta;
    // Coupled weight decay joins the gradient; AdamW's shrinks W itself.
    ValueId from = w;
    if (decay >= 0 && opt.kind == "adamw")
      from = u.sub(w, u.mul(u.mul(lr, decay), w));
    else if (decay >= 0)
      dw = u.add(dw, u.mul(decay, w));
    if (opt.kind == "sgd") {
      delta = dw;
      if (mu >= 0) {
        ValueId v = u.add(u.mul(mu, u.state(grad.name + ".velocity", type)), dw);
        u.update(grad.name + ".velocity", v);
        delta = opt.nesterov ? u.add(dw, u.mul(mu, v)) : v;
      }
    } else if (opt.kind == "momentum") {
      ValueId v = u.ewa(beta, u.state(grad.name + ".velocity", type), dw);
      u.update(grad.name + ".velocity", v);
      delta = opt.nesterov ? u.ewa(beta, v, dw) : v;
    } else if (opt.kind == "rmsprop") {
      ValueId s = u.ewa(beta, u.state(grad.name + ".sq_avg", type), u.mul(dw, dw));
      u.update(grad.name + ".sq_avg", s);
      delta = u.div(dw, u.add(u.op(OpKind::Sqrt, {s}), eps));
    } else { // adam, adamw
      ValueId v = u.ewa(b1, u.state(grad.name + ".m", type), dw);
      ValueId s = u.ewa(b2, u.state(grad.name + ".v", type), u.mul(dw, dw));
      u.update(grad.name + ".m", v);
      u.update(grad.name + ".v", s);
      delta = u.div(u.div(v, corr1), u.add(u.op(OpKind::Sqrt, {u.div(s, corr2)}), eps));
    }
    ValueId next = u.sub(from, u.mul(lr, delta));
    const Node& wn = g.node(w);
    if (max_norm >= 0 && wn.attrs.get_int("regularize", 0) && type.shape.rank() >= 2)
      next = clip_max_norm(u, next, type, max_norm);
    u.update(grad.name, next);
  }
  return g;
}

} // namespace netc
