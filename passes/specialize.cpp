#include "passes/specialize.h"

#include "passes/cleanup.h"
#include "passes/rewrite.h"

#include <numeric>

namespace netc {

namespace {

std::vector<int> use_counts(const Graph& g) {
  std::vector<int> uses(static_cast<size_t>(g.size()), 0);
  for (const Node& n : g.nodes)
    for (ValueId i : n.inputs) ++uses[static_cast<size_t>(i)];
  for (const auto& o : g.outputs) ++uses[static_cast<size_t>(o.value)];
  if (g.loss) ++uses[static_cast<size_t>(g.loss->value)];
  for (const auto& u : g.updates) ++uses[static_cast<size_t>(u.value)];
  return uses;
}

// A per-channel vector [C] shaped to broadcast along `axis` of a rank-`rank`
// tensor: [C, 1, ..., 1] with one 1 per axis after `axis`.
ValueId per_channel(GraphBuilder& b, ValueId v, int rank, int axis, SourceLoc loc) {
  if (axis == rank - 1) return v;
  std::vector<int64_t> dims(static_cast<size_t>(rank - axis), 1);
  dims[0] = b.graph().node(v).type.shape[0];
  return b.op(OpKind::Reshape, {v}, Attrs{{"shape", dims}}, loc);
}

const std::string& leaf_name(const Graph& g, ValueId v) { return g.node(v).attrs.get_str("name"); }

// Batch norm with batch statistics, in primitives:
//   mu = mean(x), var = mean((x - mu)^2) over every axis but the channel's,
//   y = (x - mu) / sqrt(var + eps) * gamma + beta
// and the running-statistics updates
//   running_mean' = momentum * running_mean + (1 - momentum) * mu
//   running_var'  = momentum * running_var  + (1 - momentum) * var * m / (m - 1)
// where m counts the elements per channel (the batch included).
ValueId expand_batchnorm_training(GraphBuilder& b, const Node& n,
                                  std::vector<NamedValue>& updates) {
  const Graph& g = b.graph();
  SourceLoc loc = n.loc;
  ValueId x = n.inputs[0], gamma = n.inputs[1], beta = n.inputs[2];
  ValueId rmean = n.inputs[3], rvar = n.inputs[4];
  const Shape& xs = g.node(x).type.shape;
  int rank = xs.rank();
  int axis = static_cast<int>(n.attrs.get_int("axis", 1));
  if (axis < 0) axis += rank;
  double eps = n.attrs.get_float("eps", 1e-5), momentum = n.attrs.get_float("momentum", 0.9);
  std::vector<int64_t> axes;
  int64_t static_count = 1;
  bool batch_reduced = false;
  for (int d = 0; d < rank; ++d) {
    if (d == axis) continue;
    axes.push_back(d);
    if (xs[d] == kBatch)
      batch_reduced = true;
    else
      static_count *= xs[d];
  }
  Attrs mean_attrs{{"axes", axes}, {"keepdims", int64_t(1)}};
  auto op = [&](OpKind k, std::vector<ValueId> in, Attrs a = {}) {
    return b.op(k, std::move(in), std::move(a), loc);
  };
  ValueId mu = op(OpKind::ReduceMean, {x}, mean_attrs);
  ValueId xc = op(OpKind::Sub, {x, mu});
  ValueId var = op(OpKind::ReduceMean, {op(OpKind::Mul, {xc, xc})}, mean_attrs);
  ValueId inv_std =
      op(OpKind::Div,
         {b.constant(1.0, loc), op(OpKind::Sqrt, {op(OpKind::Add, {var, b.constant(eps, loc)})})});
  ValueId y =
      op(OpKind::Add,
         {op(OpKind::Mul, {op(OpKind::Mul, {xc, inv_std}), per_channel(b, gamma, rank, axis, loc)}),
          per_channel(b, beta, rank, axis, loc)});

  std::vector<int64_t> c_shape = g.node(rmean).type.shape.dims;
  ValueId mu_c = op(OpKind::Reshape, {mu}, Attrs{{"shape", c_shape}});
  ValueId var_c = op(OpKind::Reshape, {var}, Attrs{{"shape", c_shape}});
  ValueId count = b.constant(static_cast<double>(static_count), loc);
  if (batch_reduced)
    count = op(OpKind::Mul, {count, b.leaf(OpKind::BatchSize, {DType::f32, Shape{}}, {}, loc)});
  // m / max(m - 1, 1): a batch of one (prediction-sized training) keeps var as is.
  ValueId bessel =
      op(OpKind::Div, {count, op(OpKind::Maximum, {op(OpKind::Sub, {count, b.constant(1.0, loc)}),
                                                   b.constant(1.0, loc)})});
  ValueId keep = b.constant(momentum, loc), take = b.constant(1.0 - momentum, loc);
  auto blend = [&](ValueId old_value, ValueId batch_value) {
    return op(OpKind::Add,
              {op(OpKind::Mul, {old_value, keep}), op(OpKind::Mul, {batch_value, take})});
  };
  updates.push_back({leaf_name(g, rmean), blend(rmean, mu_c), loc});
  updates.push_back({leaf_name(g, rvar), blend(rvar, op(OpKind::Mul, {var_c, bessel})), loc});
  return y;
}

// The dense layer or biased conv feeding a batch norm, if it can absorb the
// normalization: add(matmul(h, W), b) with W [F, C] and b [C], or
// conv2d(x, W, b), where the pre-normalization value has no other use.
struct FoldTarget {
  ValueId weights;           // W (param or computed)
  ValueId bias;              // b
  ValueId input;             // h or x
  std::optional<Attrs> conv; // the conv's attributes, or nullopt for a dense layer
};

std::optional<FoldTarget> fold_target(const Graph& g, ValueId pre, int uses_of_pre) {
  if (uses_of_pre != 1) return std::nullopt; // the unnormalized value is needed elsewhere
  const Node& n = g.node(pre);
  if (n.op == OpKind::Conv2d && n.inputs.size() == 3)
    return FoldTarget{n.inputs[1], n.inputs[2], n.inputs[0], n.attrs};
  if (n.op != OpKind::Add) return std::nullopt;
  const Node& mm = g.node(n.inputs[0]);
  const TensorType& bias = g.node(n.inputs[1]).type;
  if (mm.op != OpKind::MatMul || mm.attrs.get_int("transpose_a", 0) ||
      mm.attrs.get_int("transpose_b", 0) || bias.shape.rank() != 1 ||
      bias.shape != Shape{mm.type.shape[1]})
    return std::nullopt;
  return FoldTarget{mm.inputs[1], n.inputs[1], mm.inputs[0], std::nullopt};
}

} // namespace

PassResult specialize_for_training(const Graph& g) {
  std::vector<NamedValue> updates;
  Rewritten r = rewrite(g, [&](GraphBuilder& b, const Node& n, ValueId) -> std::optional<ValueId> {
    switch (n.op) {
    case OpKind::Dropout: {
      ValueId mask = b.op(OpKind::DropoutMask, {n.inputs[0], n.inputs[1]},
                          Attrs{{"stream", n.attrs.get_int("stream")}}, n.loc);
      return b.op(OpKind::Mul, {n.inputs[0], mask},
                  n.attrs.has("layer") ? Attrs{{"layer", n.attrs.get_str("layer")}} : Attrs{},
                  n.loc);
    }
    case OpKind::BatchNorm: return expand_batchnorm_training(b, n, updates);
    default: return std::nullopt; // every other op means the same in both modes
    }
  });
  for (auto& u : updates) r.graph.updates.push_back(u);
  return {std::move(r.graph), r.changed};
}

PassResult specialize_for_inference(const Graph& g) {
  std::vector<int> uses = use_counts(g);
  Rewritten r =
      rewrite(g, [&](GraphBuilder& b, const Node& n, ValueId old) -> std::optional<ValueId> {
        if (n.op == OpKind::Dropout) return n.inputs[0]; // identity at test time
        if (n.op != OpKind::BatchNorm) return std::nullopt;
        SourceLoc loc = n.loc;
        auto op = [&](OpKind k, std::vector<ValueId> in, Attrs a = {}) {
          return b.op(k, std::move(in), std::move(a), loc);
        };
        ValueId x = n.inputs[0], gamma = n.inputs[1], beta = n.inputs[2];
        ValueId rmean = n.inputs[3], rvar = n.inputs[4];
        int rank = b.graph().node(x).type.shape.rank();
        int axis = static_cast<int>(n.attrs.get_int("axis", 1));
        if (axis < 0) axis += rank;
        double eps = n.attrs.get_float("eps", 1e-5);
        // s = gamma / sqrt(var + eps); shift = beta - mean * s
        ValueId s = op(OpKind::Div,
                       {gamma, op(OpKind::Sqrt, {op(OpKind::Add, {rvar, b.constant(eps, loc)})})});
        ValueId shift = op(OpKind::Sub, {beta, op(OpKind::Mul, {rmean, s})});
        ValueId pre_old = g.node(old).inputs[0];
        if (auto t = fold_target(b.graph(), x, uses[static_cast<size_t>(pre_old)])) {
          // W' = W * s (per output channel), b' = b * s + shift
          ValueId bias = op(OpKind::Add, {op(OpKind::Mul, {t->bias, s}), shift});
          if (t->conv) {
            int wrank = b.graph().node(t->weights).type.shape.rank();
            ValueId w = op(OpKind::Mul, {t->weights, per_channel(b, s, wrank, 0, loc)});
            return op(OpKind::Conv2d, {t->input, w, bias}, *t->conv);
          }
          ValueId w = op(OpKind::Mul, {t->weights, s});
          return op(OpKind::Add, {op(OpKind::MatMul, {t->input, w}), bias});
        }
        return op(OpKind::Add, {op(OpKind::Mul, {x, per_channel(b, s, rank, axis, loc)}),
                                per_channel(b, shift, rank, axis, loc)});
      });
  PassResult out = eliminate_dead_code(r.graph);
  out.changed = out.changed || r.changed;
  return out;
}

} // namespace netc
