// Recurrent layers: rnn, lstm and gru over x [batch, T, F], unrolled at
// compile time into T copies of one cell that share the layer's weights.
// Backpropagation through time is then plain autodiff of the unrolled graph.
//
// Parameters follow PyTorch's nn.RNN/LSTM/GRU one to one, except that the
// matrices are stored transposed, [in, G*H] like dense's W [F, units], so that
// every step is x_t W_ih + h W_hh with no transpose (G = 1 rnn, 4 lstm, 3 gru):
//   LAYER.W_ih [F, G*H] = weight_ih_l0^T    LAYER.b_ih [G*H] = bias_ih_l0
//   LAYER.W_hh [H, G*H] = weight_hh_l0^T    LAYER.b_hh [G*H] = bias_hh_l0
// and the reverse direction of a bidirectional layer adds `_reverse`, as
// PyTorch does. Gate order is PyTorch's: lstm i, f, g, o; gru r, z, n.
#include "frontend/model_builder.h"

#include <cmath>
#include <fmt/format.h>
#include <optional>

namespace netc {

namespace {

enum class Cell { Rnn, Lstm, Gru };

int gates(Cell c) { return c == Cell::Lstm ? 4 : c == Cell::Gru ? 3 : 1; }

// What one direction of the layer needs while unrolling.
struct Unroll {
  ModelBuilder& b;
  const Layer& layer;
  Cell cell;
  bool relu; // rnn's activation
  ValueId x; // [batch, T, F]
  int64_t steps, features, units;
  DType dtype;

  ValueId op(OpKind kind, std::vector<ValueId> in, Attrs attrs = {}) const {
    return b.op(kind, std::move(in), std::move(attrs), layer.loc, layer.name);
  }
  // Columns [k*H, (k+1)*H) of a gate block: gate k of a [batch, G*H] or [G*H] value.
  ValueId gate(ValueId v, int k, int n = 1) const {
    int64_t axis = b.type_of(v).shape.rank() - 1;
    return op(OpKind::Slice, {v},
              Attrs{{"axis", axis}, {"start", k * units}, {"end", (k + n) * units}});
  }
  // x[:, t, :] as [batch, F].
  ValueId step_input(int64_t t) const {
    ValueId s = op(OpKind::Slice, {x}, Attrs{{"axis", int64_t{1}}, {"start", t}, {"end", t + 1}});
    return op(OpKind::Reshape, {s}, Attrs{{"shape", std::vector<int64_t>{kBatch, features}}});
  }
};

struct Weights {
  ValueId w_ih, w_hh, b_ih, b_hh;
};

// PyTorch initializes every weight and bias of a recurrent layer with
// U(-1/sqrt(H), 1/sqrt(H)); init= replaces it for all four.
Weights make_weights(const Unroll& u, const InitSpec& init, const std::string& suffix) {
  int64_t g = gates(u.cell) * u.units;
  auto leaf = [&](const std::string& name, std::vector<int64_t> dims, int64_t fan_in, bool w) {
    return u.b.layer_leaf(u.layer, OpKind::Param, name + suffix,
                          u.b.make_type(u.dtype, std::move(dims), u.layer.loc),
                          param_attrs(init, fan_in, g, w));
  };
  return {leaf("W_ih", {u.features, g}, u.features, true),
          leaf("W_hh", {u.units, g}, u.units, true), leaf("b_ih", {g}, u.units, false),
          leaf("b_hh", {g}, u.units, false)};
}

// One direction over every step, in time order or reversed. Returns the
// hidden state after each step, indexed by the input step it read (so a
// reversed direction's outputs line up with the input, as in PyTorch).
std::vector<ValueId> run_direction(const Unroll& u, const Weights& w, bool reverse) {
  // The two bias vectors only ever appear summed where no gate separates
  // them (all of rnn and lstm, gru's r and z): add them once, not per step.
  ValueId bias = u.cell == Cell::Gru ? w.b_ih : u.op(OpKind::Add, {w.b_ih, w.b_hh});
  std::vector<ValueId> hs(size_t(u.steps));
  std::optional<ValueId> h, c; // zero before the first step: its h-terms are left out
  std::optional<ValueId> one;  // gru's 1 - z
  if (u.cell == Cell::Gru) one = u.b.constant(1.0, u.dtype, u.layer.loc);
  for (int64_t i = 0; i < u.steps; ++i) {
    int64_t t = reverse ? u.steps - 1 - i : i;
    // One matmul for all gates of the input part, one for the hidden part.
    ValueId xg = u.op(OpKind::Add, {u.op(OpKind::MatMul, {u.step_input(t), w.w_ih}), bias});
    std::optional<ValueId> hg;
    if (h) hg = u.op(OpKind::MatMul, {*h, w.w_hh});
    switch (u.cell) {
    case Cell::Rnn: { // h = act(x W_ih + b_ih + h W_hh + b_hh)
      ValueId pre = hg ? u.op(OpKind::Add, {xg, *hg}) : xg;
      h = u.op(u.relu ? OpKind::Relu : OpKind::Tanh, {pre});
      break;
    }
    case Cell::Lstm: { // c = f*c + i*g, h = o*tanh(c)
      ValueId pre = hg ? u.op(OpKind::Add, {xg, *hg}) : xg;
      ValueId i_gate = u.op(OpKind::Sigmoid, {u.gate(pre, 0)});
      ValueId f_gate = u.op(OpKind::Sigmoid, {u.gate(pre, 1)});
      ValueId g_gate = u.op(OpKind::Tanh, {u.gate(pre, 2)});
      ValueId o_gate = u.op(OpKind::Sigmoid, {u.gate(pre, 3)});
      ValueId ig = u.op(OpKind::Mul, {i_gate, g_gate});
      c = c ? u.op(OpKind::Add, {u.op(OpKind::Mul, {f_gate, *c}), ig}) : ig;
      h = u.op(OpKind::Mul, {o_gate, u.op(OpKind::Tanh, {*c})});
      break;
    }
    case Cell::Gru: {
      // r, z = sigmoid(x W_i{r,z} + b_i{r,z} + h W_h{r,z} + b_h{r,z})
      // n = tanh(x W_in + b_in + r * (h W_hn + b_hn)), h' = (1 - z) * n + z * h
      ValueId hb = hg ? u.op(OpKind::Add, {*hg, w.b_hh}) : w.b_hh;
      ValueId rz = u.op(OpKind::Sigmoid, {u.op(OpKind::Add, {u.gate(xg, 0, 2), u.gate(hb, 0, 2)})});
      ValueId r = u.gate(rz, 0), z = u.gate(rz, 1);
      ValueId n = u.op(OpKind::Tanh,
                       {u.op(OpKind::Add, {u.gate(xg, 2), u.op(OpKind::Mul, {r, u.gate(hb, 2)})})});
      ValueId keep_new = u.op(OpKind::Sub, {*one, z});
      ValueId hn = u.op(OpKind::Mul, {keep_new, n});
      h = h ? u.op(OpKind::Add, {hn, u.op(OpKind::Mul, {z, *h})}) : hn;
      break;
    }
    }
    hs[size_t(t)] = *h;
  }
  return hs;
}

ValueId recurrent(ModelBuilder& b, const CallArgs& a, Cell cell, std::string_view kind) {
  ValueId x = b.tensor(a, "x");
  const TensorType xt = b.type_of(x);
  if (xt.shape.rank() != 3)
    b.fail(a.loc(), fmt::format("{} expects a [batch, time, features] input, found {}{}", kind,
                                to_string(xt),
                                xt.shape.rank() == 2 ? "; reshape it to (batch, T, F) first" : ""));
  if (!is_float(xt.dtype))
    b.fail(a.loc(),
           fmt::format("{} expects a float input (f32 or f64), found {}", kind, to_string(xt)));
  if (xt.shape[1] == kBatch || xt.shape[2] == kBatch)
    b.fail(a.loc(), fmt::format("{} expects the batch as the first dimension only, found {}", kind,
                                to_string(xt)));
  const Expr& units_expr = a.required("units");
  int64_t units = a.read_int(units_expr, "units");
  if (units < 1)
    a.fail(units_expr.loc, fmt::format("{}: 'units' must be at least 1, found {}", kind, units));
  std::string ret = a.get_name("return", "last");
  if (ret != "last" && ret != "sequence")
    a.fail_arg(*a.get("return"), "return", "last or sequence");
  bool relu = false;
  if (cell == Cell::Rnn) {
    std::string act = a.get_name("activation", "tanh");
    if (act != "tanh" && act != "relu")
      a.fail_arg(*a.get("activation"), "activation", "tanh or relu");
    relu = act == "relu";
  }
  bool reverse = a.get_bool("reverse", false);
  bool bidirectional = a.get_bool("bidirectional", false);
  if (reverse && bidirectional)
    a.fail(a.get("reverse")->loc, "reverse=true and bidirectional=true exclude each other; "
                                  "bidirectional already runs a reversed direction");
  InitSpec init = a.get("init") ? read_init(*a.get("init"), b.file())
                                : InitSpec{"uniform", 1.0 / std::sqrt(double(units))};

  Layer l = b.begin_layer(kind, kind, a);
  Unroll u{b, l, cell, relu, x, xt.shape[1], xt.shape[2], units, xt.dtype};
  std::vector<std::vector<ValueId>> directions;
  directions.push_back(run_direction(u, make_weights(u, init, ""), reverse));
  if (bidirectional)
    directions.push_back(run_direction(u, make_weights(u, init, "_reverse"), true));

  // The last state of a direction is the one after its final step: h[T-1]
  // going forward, h[0] going backward (PyTorch's h_n).
  auto features_of = [&](int64_t t) {
    std::vector<ValueId> parts;
    for (const auto& hs : directions) parts.push_back(hs[size_t(t)]);
    return parts.size() == 1 ? parts[0] : u.op(OpKind::Concat, parts, Attrs{{"axis", int64_t{1}}});
  };
  int64_t width = units * int64_t(directions.size());
  if (ret == "last") {
    if (!bidirectional) return directions[0][size_t(reverse ? 0 : u.steps - 1)];
    return u.op(OpKind::Concat, {directions[0].back(), directions[1].front()},
                Attrs{{"axis", int64_t{1}}});
  }
  // Every step: each [batch, width] row set becomes [batch, 1, width], stacked along time.
  std::vector<ValueId> rows;
  for (int64_t t = 0; t < u.steps; ++t)
    rows.push_back(u.op(OpKind::Reshape, {features_of(t)},
                        Attrs{{"shape", std::vector<int64_t>{kBatch, 1, width}}}));
  return rows.size() == 1 ? rows[0] : u.op(OpKind::Concat, rows, Attrs{{"axis", int64_t{1}}});
}

} // namespace

ValueId rnn_layer(ModelBuilder& b, const CallArgs& a) { return recurrent(b, a, Cell::Rnn, "rnn"); }
ValueId lstm_layer(ModelBuilder& b, const CallArgs& a) {
  return recurrent(b, a, Cell::Lstm, "lstm");
}
ValueId gru_layer(ModelBuilder& b, const CallArgs& a) { return recurrent(b, a, Cell::Gru, "gru"); }

} // namespace netc
