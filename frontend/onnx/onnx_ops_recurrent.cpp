// ONNX -> IR: RNN, GRU and LSTM, unrolled over the (static) sequence length
// into T copies of one cell that share the direction's weights, as the .nn
// frontend's rnn/lstm/gru layers are (frontend/recurrent.cpp); training an
// imported model is then plain autodiff of the unrolled graph.
//
// ONNX's layout (layout=0): X [T, B, I], W [D, G*H, I], R [D, G*H, H],
// B [D, 2*G*H] (W's biases, then R's), initial_h / initial_c [D, B, H],
// P [D, 3*H] (LSTM peepholes i, o, f); outputs Y [T, D, B, H], Y_h and
// Y_c [D, B, H]. layout=1 puts the batch first: X [B, T, I], Y [B, T, D, H],
// states [B, D, H]. D is 2 for direction=bidirectional (forward, then
// reverse), else 1. Gate order: LSTM i, o, f, c; GRU z, r, h (not PyTorch's
// i, f, g, o and r, z, n).
//
// Each direction projects every step's input at once (one batched matmul
// X W^T, biases added), then unrolls the h-dependent part step by step. A
// missing initial state is zero, so the first step's h-terms are left out.
#include "frontend/onnx/import_context.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace netc::onnx_import {

namespace {

enum class Cell { Rnn, Gru, Lstm };

int gate_count(Cell c) { return c == Cell::Lstm ? 4 : c == Cell::Gru ? 3 : 1; }

// An activation of the `activations` attribute, with the alpha and beta it
// consumed from activation_alpha / activation_beta.
struct Activation {
  std::string name; // lower case
  double alpha = 0, beta = 0;
};

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The defaults of the activations that take parameters (those of the ONNX op
// of the same name); an activation that takes none consumes no value.
struct ActivationDefaults {
  std::string_view name;
  int params; // 0, 1 (alpha) or 2 (alpha, beta)
  double alpha, beta;
};
constexpr ActivationDefaults kActivations[] = {
    {"sigmoid", 0, 0, 0},         {"tanh", 0, 0, 0},         {"relu", 0, 0, 0},
    {"affine", 2, 1.0, 0.0},      {"leakyrelu", 1, 0.01, 0}, {"scaledtanh", 2, 1.0, 1.0},
    {"hardsigmoid", 2, 0.2, 0.5}, {"elu", 1, 1.0, 0},        {"softsign", 0, 0, 0},
    {"softplus", 0, 0, 0},
};

// Reads `activations` (or the cell's defaults: RNN tanh; GRU sigmoid, tanh;
// LSTM sigmoid, tanh, tanh) for every direction. activation_alpha / _beta are
// consumed in order by the activations that take them, as ONNX Runtime reads
// them.
std::vector<Activation> read_activations(NodeContext& c, Cell cell, int64_t dirs) {
  size_t per_dir = cell == Cell::Lstm ? 3 : cell == Cell::Gru ? 2 : 1;
  std::vector<std::string> names;
  if (c.has_attr("activations")) {
    const auto& a = c.node();
    for (const auto& at : a.attribute())
      if (at.name() == "activations")
        for (const auto& s : at.strings()) names.push_back(lower(s));
    if (names.size() != per_dir * size_t(dirs))
      c.unsupported(fmt::format("'activations' has {} entries; {} direction(s) need {}",
                                names.size(), dirs, per_dir * size_t(dirs)));
  } else {
    std::vector<std::string> one = cell == Cell::Lstm
                                       ? std::vector<std::string>{"sigmoid", "tanh", "tanh"}
                                   : cell == Cell::Gru ? std::vector<std::string>{"sigmoid", "tanh"}
                                                       : std::vector<std::string>{"tanh"};
    for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), one.begin(), one.end());
  }
  std::vector<double> alphas = c.attr_floats("activation_alpha"),
                      betas = c.attr_floats("activation_beta");
  size_t ai = 0, bi = 0;
  std::vector<Activation> out;
  for (const std::string& n : names) {
    auto def = std::find_if(std::begin(kActivations), std::end(kActivations),
                            [&](const ActivationDefaults& d) { return d.name == n; });
    if (def == std::end(kActivations))
      c.unsupported(fmt::format("activation '{}' is not supported (Sigmoid, Tanh, Relu, Affine, "
                                "LeakyRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus are)",
                                n));
    Activation a{n, def->alpha, def->beta};
    if (def->params >= 1 && ai < alphas.size()) a.alpha = alphas[ai++];
    if (def->params >= 2 && bi < betas.size()) a.beta = betas[bi++];
    out.push_back(a);
  }
  return out;
}

// One node's geometry and the helpers its unrolling uses.
struct Recurrence {
  NodeContext& c;
  Cell cell;
  bool batch_first;      // layout=1
  int64_t T, B, I, H, G; // steps, batch, input size, hidden size, gates
  int64_t dirs;
  DType dtype;
  std::optional<double> clip;
  bool linear_before_reset;
  std::vector<Activation> acts; // per_dir per direction

  ValueId op(OpKind k, std::vector<ValueId> in, Attrs a = {}) const {
    return c.op(k, std::move(in), std::move(a));
  }
  ValueId scalar(double v) const { return c.scalar(v, dtype); }
  ValueId slice(ValueId v, int64_t axis, int64_t start, int64_t end) const {
    if (start == 0 && c.type_of(v).shape[int(axis)] == end) return v;
    return op(OpKind::Slice, {v}, Attrs{{"axis", axis}, {"start", start}, {"end", end}});
  }
  // Gate k (of n) of a [.., G*H] value: columns [k H, (k + n) H).
  ValueId gate(ValueId v, int64_t k, int64_t n = 1) const {
    return slice(v, c.type_of(v).shape.rank() - 1, k * H, (k + n) * H);
  }
  ValueId add(ValueId a, ValueId b) const { return op(OpKind::Add, {a, b}); }
  ValueId mul(ValueId a, ValueId b) const { return op(OpKind::Mul, {a, b}); }
  // x w^T for a [.., K] x and an [N, K] weight block.
  ValueId matmul_t(ValueId x, ValueId w) const {
    return op(OpKind::MatMul, {x, w}, Attrs{{"transpose_b", int64_t{1}}});
  }
  // Direction d's slab of a [D, ...] tensor (or a [B, D, ...] state with
  // layout=1), without the direction axis.
  ValueId direction(ValueId v, int64_t axis, int64_t d) const {
    Shape s = c.type_of(v).shape;
    std::vector<int64_t> dims;
    for (int i = 0; i < s.rank(); ++i)
      if (i != axis) dims.push_back(s[i]);
    return c.reshape(slice(v, axis, d, d + 1), dims);
  }

  // The `clip` attribute: [-clip, clip] on the input of every activation, as
  // ONNX's text says (LSTM's h(c) included; no conformance case has clip).
  ValueId clipped(ValueId x) const {
    if (!clip) return x;
    return op(OpKind::Maximum, {op(OpKind::Minimum, {x, scalar(*clip)}), scalar(-*clip)});
  }

  ValueId activate(const Activation& a, ValueId pre) const {
    ValueId x = clipped(pre);
    const std::string& n = a.name;
    if (n == "sigmoid") return op(OpKind::Sigmoid, {x});
    if (n == "tanh") return op(OpKind::Tanh, {x});
    if (n == "relu") return op(OpKind::Relu, {x});
    if (n == "affine") return add(mul(x, scalar(a.alpha)), scalar(a.beta));
    if (n == "leakyrelu") return op(OpKind::LeakyRelu, {x}, Attrs{{"alpha", a.alpha}});
    if (n == "elu") return op(OpKind::Elu, {x}, Attrs{{"alpha", a.alpha}});
    if (n == "scaledtanh") return mul(op(OpKind::Tanh, {mul(x, scalar(a.beta))}), scalar(a.alpha));
    if (n == "hardsigmoid") {
      ValueId lin = add(mul(x, scalar(a.alpha)), scalar(a.beta));
      return op(OpKind::Maximum, {op(OpKind::Minimum, {lin, scalar(1.0)}), scalar(0.0)});
    }
    if (n == "softsign") return op(OpKind::Div, {x, add(op(OpKind::Abs, {x}), scalar(1.0))});
    // softplus(x) = log(exp(x) + 1)
    return op(OpKind::Log, {add(op(OpKind::Exp, {x}), scalar(1.0))});
  }
};

struct DirectionResult {
  std::vector<ValueId> hs; // h after each step, indexed by the input step it read
  ValueId h_last, c_last;
};

// One direction: in time order, or reversed (its outputs still line up with
// the input steps, as ONNX's Y has them).
DirectionResult run_direction(const Recurrence& r, int64_t d, ValueId xw, std::optional<ValueId> h,
                              std::optional<ValueId> cstate, ValueId R, std::optional<ValueId> rb,
                              std::optional<ValueId> P, bool reverse) {
  NodeContext& c = r.c;
  const size_t per_dir = r.cell == Cell::Lstm ? 3 : r.cell == Cell::Gru ? 2 : 1;
  const Activation* act = &r.acts[size_t(d) * per_dir];
  int64_t time_axis = r.batch_first ? 1 : 0;
  std::optional<ValueId> p_i, p_o, p_f, one;
  if (P) p_i = r.gate(*P, 0), p_o = r.gate(*P, 1), p_f = r.gate(*P, 2);
  if (r.cell == Cell::Gru) one = r.scalar(1.0);
  // GRU: z and r read R's first 2H rows; the h gate's block is apart (with
  // linear_before_reset=0 it multiplies r * h, not h).
  std::optional<ValueId> r_zr, r_h, rb_h;
  if (r.cell == Cell::Gru) {
    r_zr = r.slice(R, 0, 0, 2 * r.H);
    r_h = r.slice(R, 0, 2 * r.H, 3 * r.H);
    if (rb && r.linear_before_reset) rb_h = r.gate(*rb, 2);
  }
  DirectionResult out;
  out.hs.resize(size_t(r.T));
  for (int64_t i = 0; i < r.T; ++i) {
    int64_t t = reverse ? r.T - 1 - i : i;
    ValueId xt = c.reshape(r.slice(xw, time_axis, t, t + 1), {r.B, r.G * r.H});
    switch (r.cell) {
    case Cell::Rnn: { // h = f(x W^T + h R^T + Wb + Rb)
      ValueId pre = h ? r.add(xt, r.matmul_t(*h, R)) : xt;
      h = r.activate(act[0], pre);
      break;
    }
    case Cell::Lstm: {
      // i = f(.. + P_i c), f = f(.. + P_f c), g = g(..), c' = f c + i g,
      // o = f(.. + P_o c'), h = o h(c')
      ValueId pre = h ? r.add(xt, r.matmul_t(*h, R)) : xt;
      ValueId pi = r.gate(pre, 0), po = r.gate(pre, 1), pf = r.gate(pre, 2), pc = r.gate(pre, 3);
      if (cstate && p_i) pi = r.add(pi, r.mul(*p_i, *cstate));
      if (cstate && p_f) pf = r.add(pf, r.mul(*p_f, *cstate));
      ValueId ig = r.activate(act[0], pi), fg = r.activate(act[0], pf);
      ValueId cg = r.activate(act[1], pc);
      ValueId icg = r.mul(ig, cg);
      cstate = cstate ? r.add(r.mul(fg, *cstate), icg) : icg;
      if (p_o) po = r.add(po, r.mul(*p_o, *cstate));
      ValueId og = r.activate(act[0], po);
      h = r.mul(og, r.activate(act[2], *cstate));
      break;
    }
    case Cell::Gru: {
      // z, r = f(x W_{z,r}^T + h R_{z,r}^T + biases)
      // h~ = g(x W_h^T + (r h) R_h^T + Rb_h + Wb_h)      linear_before_reset=0
      // h~ = g(x W_h^T + r (h R_h^T + Rb_h) + Wb_h)      linear_before_reset=1
      // h' = (1 - z) h~ + z h
      ValueId zr = r.gate(xt, 0, 2);
      if (h) zr = r.add(zr, r.matmul_t(*h, *r_zr));
      ValueId z = r.activate(act[0], r.gate(zr, 0));
      ValueId rg = r.activate(act[0], r.gate(zr, 1));
      ValueId ph = r.gate(xt, 2);
      if (r.linear_before_reset) {
        std::optional<ValueId> lin;
        if (h) lin = r.matmul_t(*h, *r_h);
        if (rb_h) lin = lin ? r.add(*lin, *rb_h) : *rb_h;
        if (lin) ph = r.add(ph, r.mul(rg, *lin));
      } else if (h) {
        ph = r.add(ph, r.matmul_t(r.mul(rg, *h), *r_h));
      }
      ValueId hn = r.activate(act[1], ph);
      ValueId keep_new = r.mul(r.op(OpKind::Sub, {*one, z}), hn);
      h = h ? r.add(keep_new, r.mul(z, *h)) : keep_new;
      break;
    }
    }
    out.hs[size_t(t)] = *h;
  }
  out.h_last = *h;
  if (cstate) out.c_last = *cstate;
  return out;
}

void map_recurrent(NodeContext& c, Cell cell) {
  if (c.attr_int("layout", 0) != 0 && c.attr_int("layout", 0) != 1)
    c.unsupported(fmt::format("layout {} is not 0 or 1", c.attr_int("layout", 0)));
  if (cell == Cell::Lstm && c.attr_int("input_forget", 0) != 0)
    c.unsupported("input_forget=1 (coupled input and forget gates) is not supported");
  std::string direction = c.attr_str("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    c.unsupported(
        fmt::format("direction '{}' is not forward, reverse or bidirectional", direction));
  bool batch_first = c.attr_int("layout", 0) == 1;
  ValueId X = c.tensor(0), W = c.tensor(1), R = c.tensor(2);
  const TensorType xt = c.type_of(X);
  if (!is_float(xt.dtype))
    c.unsupported(fmt::format("X must be a float tensor, found {}", to_string(xt)));
  if (xt.shape.rank() != 3)
    c.unsupported(fmt::format("X must have rank 3, found {}", to_string(xt)));
  int64_t time_axis = batch_first ? 1 : 0, batch_axis = batch_first ? 0 : 1;
  if (xt.shape[int(time_axis)] == kBatch)
    c.unsupported(fmt::format(
        "the sequence axis of X {} is the batch dimension: netc unrolls the sequence and needs "
        "its length; import with static shapes (onnx-test without --batch-axis)",
        to_string(xt)));
  int64_t dirs = direction == "bidirectional" ? 2 : 1;
  int64_t G = gate_count(cell);
  int64_t H = c.attr_int("hidden_size", 0);
  const Shape ws = c.type_of(W).shape;
  if (!c.has_attr("hidden_size") && ws.rank() == 3) H = ws[1] / G; // optional: W's rows say it
  if (!c.has_attr("hidden_size") && ws.rank() != 3)
    c.unsupported(fmt::format("hidden_size is missing and W {} does not give it", to_string(ws)));
  if (H < 1 || H > kMaxElements)
    c.unsupported(fmt::format("hidden_size {} is not in [1, 2^48]", H));
  // Every step is a copy of the cell in the graph: a sequence this long
  // would make a graph no compile finishes.
  constexpr int64_t kMaxSteps = 10000;
  if (xt.shape[int(time_axis)] > kMaxSteps)
    c.unsupported(fmt::format("the sequence has {} steps; netc unrolls at most {}",
                              xt.shape[int(time_axis)], kMaxSteps));
  int64_t I = xt.shape[2];
  auto expect = [&](ValueId v, const char* what, std::vector<int64_t> dims) {
    if (c.type_of(v).shape.dims != dims)
      c.unsupported(fmt::format("{} is {}; with hidden_size {} it must be {}", what,
                                to_string(c.type_of(v)), H, to_string(Shape(dims))));
  };
  expect(W, "W", {dirs, G * H, I});
  expect(R, "R", {dirs, G * H, H});
  Recurrence r{c,
               cell,
               batch_first,
               xt.shape[int(time_axis)],
               xt.shape[int(batch_axis)],
               I,
               H,
               G,
               dirs,
               xt.dtype,
               std::nullopt,
               c.attr_int("linear_before_reset", 0) != 0,
               {}};
  if (c.has_attr("clip")) r.clip = c.attr_float("clip", 0);
  r.acts = read_activations(c, cell, dirs);

  // sequence_lens: only the trivial form (every sequence as long as X).
  if (c.has_input(4)) {
    std::vector<int64_t> lens = c.constant(4, "sequence_lens").ints();
    for (int64_t l : lens)
      if (l != r.T)
        c.unsupported(fmt::format("sequence_lens [{}] with sequences shorter than T = {} is not "
                                  "supported (netc unrolls every sequence over all T steps)",
                                  fmt::join(lens, ","), r.T));
  }
  std::optional<ValueId> Bias, h0, c0, P;
  if (c.has_input(3)) {
    Bias = c.tensor(3);
    expect(*Bias, "B", {dirs, 2 * G * H});
  }
  std::vector<int64_t> state_dims =
      batch_first ? std::vector<int64_t>{r.B, dirs, H} : std::vector<int64_t>{dirs, r.B, H};
  int64_t state_axis = batch_first ? 1 : 0;
  // A state that is zero is left out like an absent one. PyTorch exports
  // its default h0 as zeros expanded to [D, B, H]: a folded constant, or
  // with a runtime batch a broadcast of the constant 0 (ConstantOfShape).
  auto zero = [&](int i) {
    std::vector<int64_t> dims;
    if (const Folded* f = c.folded(i)) {
      if (!std::all_of(f->data.begin(), f->data.end(), [](double v) { return v == 0; }))
        return false;
      dims = f->dims;
    } else {
      const Graph& g = c.importer().graph();
      const Node& n = g.node(c.tensor(i));
      if (n.op != OpKind::Broadcast || g.node(n.inputs[0]).op != OpKind::Constant ||
          g.node(n.inputs[0]).attrs.get_float("value") != 0)
        return false;
      dims = n.type.shape.dims;
    }
    if (dims != state_dims)
      c.unsupported(fmt::format("the initial state (input {}) is {}; it must be {}", i,
                                to_string(Shape(dims)), to_string(Shape(state_dims))));
    return true;
  };
  if (c.has_input(5) && !zero(5)) {
    h0 = c.tensor(5);
    expect(*h0, "initial_h", state_dims);
  }
  if (cell == Cell::Lstm && c.has_input(6) && !zero(6)) {
    c0 = c.tensor(6);
    expect(*c0, "initial_c", state_dims);
  }
  if (cell == Cell::Lstm && c.has_input(7)) {
    P = c.tensor(7);
    expect(*P, "P", {dirs, 3 * H});
  }

  std::vector<DirectionResult> results;
  for (int64_t d = 0; d < dirs; ++d) {
    ValueId Wd = r.direction(W, 0, d), Rd = r.direction(R, 0, d);
    // Every step's input part at once: [T, B, G H] (or [B, T, G H]).
    ValueId xw = r.matmul_t(X, Wd);
    std::optional<ValueId> rb;
    if (Bias) {
      ValueId b = r.direction(*Bias, 0, d);
      ValueId wb = r.slice(b, 0, 0, G * H);
      rb = r.slice(b, 0, G * H, 2 * G * H);
      // Both biases sum into the input part, except GRU's Rb_h with
      // linear_before_reset=1, which the reset gate scales.
      ValueId sum = r.add(wb, *rb);
      if (cell == Cell::Gru && r.linear_before_reset)
        sum = c.op(OpKind::Concat, {r.gate(sum, 0, 2), r.gate(wb, 2)}, Attrs{{"axis", int64_t{0}}});
      xw = r.add(xw, sum);
    }
    std::optional<ValueId> hd, cd, pd;
    if (h0) hd = r.direction(*h0, state_axis, d);
    if (c0) cd = r.direction(*c0, state_axis, d);
    if (P) pd = r.direction(*P, 0, d);
    bool reverse = direction == "reverse" || d == 1;
    results.push_back(run_direction(r, d, xw, hd, cd, Rd, rb, pd, reverse));
  }

  // Y [T, D, B, H] (layout=1: [B, T, D, H]): each step's h of each direction,
  // with unit axes for time and direction, concatenated.
  if (c.wants_output(0)) {
    std::vector<ValueId> steps;
    for (int64_t t = 0; t < r.T; ++t) {
      std::vector<ValueId> per_dir;
      for (const DirectionResult& dr : results)
        per_dir.push_back(batch_first ? c.reshape(dr.hs[size_t(t)], {r.B, 1, 1, H})
                                      : c.reshape(dr.hs[size_t(t)], {1, 1, r.B, H}));
      steps.push_back(per_dir.size() == 1 ? per_dir[0]
                                          : c.op(OpKind::Concat, per_dir,
                                                 Attrs{{"axis", int64_t{batch_first ? 2 : 1}}}));
    }
    c.set_output(0, steps.size() == 1 ? steps[0]
                                      : c.op(OpKind::Concat, steps,
                                             Attrs{{"axis", int64_t{batch_first ? 1 : 0}}}));
  }
  // Y_h, Y_c [D, B, H] (layout=1: [B, D, H]): the state after each
  // direction's last step.
  auto last_states = [&](bool cell_state) {
    std::vector<ValueId> parts;
    for (const DirectionResult& dr : results) {
      ValueId v = cell_state ? dr.c_last : dr.h_last;
      parts.push_back(batch_first ? c.reshape(v, {r.B, 1, H}) : c.reshape(v, {1, r.B, H}));
    }
    return parts.size() == 1 ? parts[0] : c.op(OpKind::Concat, parts, Attrs{{"axis", state_axis}});
  };
  if (c.wants_output(1)) c.set_output(1, last_states(false));
  if (cell == Cell::Lstm && c.wants_output(2)) c.set_output(2, last_states(true));
}

void map_rnn(NodeContext& c) { map_recurrent(c, Cell::Rnn); }
void map_gru(NodeContext& c) { map_recurrent(c, Cell::Gru); }
void map_lstm(NodeContext& c) { map_recurrent(c, Cell::Lstm); }

const OpMapping kRecurrentMappings[] = {
    {"RNN",
     {"activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size",
      "layout"},
     map_rnn},
    {"GRU",
     {"activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size",
      "layout", "linear_before_reset"},
     map_gru},
    {"LSTM",
     {"activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size",
      "layout", "input_forget"},
     map_lstm},
};

} // namespace

std::span<const OpMapping> recurrent_mappings() { return kRecurrentMappings; }

bool reads_sequence_first(const onnx::NodeProto& node, const std::string& name) {
  if (node.op_type() != "RNN" && node.op_type() != "GRU" && node.op_type() != "LSTM") return false;
  if (node.input_size() == 0 || node.input(0) != name) return false;
  for (const auto& a : node.attribute())
    if (a.name() == "layout") return a.i() == 0;
  return true;
}

} // namespace netc::onnx_import
