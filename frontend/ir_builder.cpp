// Statements, names and expressions. Calls dispatch to the builtin tables of
// layers.cpp and primitives.cpp; l1()/l2() regularization lives here because
// it reads the whole graph built so far.
#include "frontend/ir_builder.h"

#include "frontend/model_builder.h"
#include "frontend/train_block.h"
#include "ir/init.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc {

bool is_reserved(std::string_view name) {
  return name == "batch" || name == "true" || name == "false";
}

const Builtin* find_builtin(std::string_view name) {
  for (auto table : {layer_builtins(), primitive_builtins()})
    for (const Builtin& b : table)
      if (b.name == name) return &b;
  return nullptr;
}

namespace {

std::vector<std::string> function_names() {
  std::vector<std::string> names = {"l1", "l2"};
  for (auto table : {layer_builtins(), primitive_builtins()})
    for (const Builtin& b : table) names.emplace_back(b.name);
  return names;
}

std::string hint(const std::string& word, const std::vector<std::string>& candidates) {
  std::string m = suggest(word, candidates);
  return m.empty() ? "" : fmt::format("; did you mean '{}'?", m);
}

DType float_like(const TensorType& t) { return is_float(t.dtype) ? t.dtype : DType::f32; }

bool is_regularization(const Expr& e) {
  return e.kind == Expr::Kind::Call && (e.text == "l1" || e.text == "l2");
}

bool has_regularization(const Expr& e) {
  if (is_regularization(e)) return true;
  for (const auto& a : e.args)
    if (has_regularization(*a)) return true;
  for (const KeywordArg& k : e.kwargs)
    if (has_regularization(*k.value)) return true;
  return false;
}

// An expression that is a tensor wherever it appears: a call of a builtin, an
// operator (not a literal number, whose dtype its context picks). Names,
// numbers and tuples may instead be attributes (init=he, axis=1, (2, 2)).
bool is_tensor_expression(const Expr& e) {
  if (e.kind == Expr::Kind::Binary) return true;
  if (e.kind == Expr::Kind::Neg) return !literal_number(e);
  return e.kind == Expr::Kind::Call && find_builtin(e.text);
}

} // namespace

// ---- initializers -----------------------------------------------------------

InitSpec read_init(const Expr& e, const std::string& file) {
  const auto& names = init_scheme_names();
  auto needs_scale = [](std::string_view s) {
    return s == "normal" || s == "uniform" || s == "constant";
  };
  if (e.kind != Expr::Kind::Name && e.kind != Expr::Kind::Call)
    throw UserError(
        file, e.loc,
        fmt::format("expected an initializer such as he or normal(0.02), found {}", describe(e)));
  if (std::find(names.begin(), names.end(), e.text) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    std::string m = suggest(e.text, names);
    throw UserError(
        file, e.loc,
        fmt::format("unknown initializer '{}'; {}", e.text,
                    m.empty() ? "expected one of " + list : fmt::format("did you mean '{}'?", m)));
  }
  InitSpec init{e.text, std::nullopt};
  if (e.kind == Expr::Kind::Name) {
    if (needs_scale(init.scheme))
      throw UserError(
          file, e.loc,
          fmt::format("initializer '{}' needs a scale, as in {}(0.02)", e.text, e.text));
    return init;
  }
  if (!needs_scale(init.scheme)) {
    (void)CallArgs(e, std::span<const ArgSpec>(), file); // rejects any argument
    return init;
  }
  static constexpr ArgSpec kScale[] = {{"scale", true}};
  CallArgs a(e, kScale, file);
  double scale = a.read_number(a.required("scale"), "scale");
  if (init.scheme != "constant" && !(scale > 0))
    a.fail(a.required("scale").loc, fmt::format("{}: the scale must be positive, found {}", e.text,
                                                describe(a.required("scale"))));
  init.scale = scale;
  return init;
}

Attrs param_attrs(const InitSpec& init, int64_t fan_in, int64_t fan_out, bool regularize) {
  Attrs a{{"init", init.scheme},
          {"fan_in", fan_in},
          {"fan_out", fan_out},
          {"regularize", int64_t{regularize}}};
  if (init.scale) a.set("scale", *init.scale);
  return a;
}

// ---- the builder --------------------------------------------------------------

void ModelBuilder::fail(SourceLoc loc, const std::string& message) const {
  throw UserError(file_, loc, message);
}

TensorType ModelBuilder::make_type(DType dtype, std::vector<int64_t> dims, SourceLoc loc) const {
  try {
    return TensorType{dtype, checked_shape(std::move(dims))};
  } catch (const ShapeError& e) {
    fail(loc, e.what());
  }
}

void ModelBuilder::build(const Module& m) {
  if (m.stmts.empty())
    fail({1, 1}, "the model is empty: expected statements such as 'input', 'output' and 'loss'");
  collect_defs(m);
  for (const Stmt& s : m.stmts) std::visit([&](const auto& st) { statement(st); }, s);
  if (g_.outputs.empty() && !g_.loss)
    fail(m.end, "the model has no 'output' and no 'loss', so it computes nothing");
  check_regularized_params();
  // After every statement: the train block may come before the inputs.
  const TrainStmt* train = nullptr;
  const InputStmt* data = nullptr;
  for (const Stmt& s : m.stmts) {
    if (const auto* t = std::get_if<TrainStmt>(&s); t && !train) train = t;
    if (const auto* in = std::get_if<InputStmt>(&s); in && !in->is_label && !data) data = in;
  }
  if (train && data) check_augment_input(*train, g_.train, *data, file_);
}

void ModelBuilder::statement(const ModelStmt& s) {
  if (model_loc_.line)
    fail(s.loc, fmt::format("the model is already named '{}' (line {})", g_.name, model_loc_.line));
  model_loc_ = s.loc;
  g_.name = s.name;
}

void ModelBuilder::statement(const InputStmt& s) {
  DType dtype = s.type.num_classes ? DType::i32 : *dtype_from_name(s.type.dtype);
  std::vector<int64_t> dims;
  for (size_t i = 0; i < s.type.dims.size(); ++i) {
    const DimSpec& d = s.type.dims[i];
    if (d.is_batch && i > 0) fail(d.loc, "'batch' can only be the first dimension");
    dims.push_back(d.is_batch ? kBatch : d.value);
  }
  TensorType type = make_type(dtype, std::move(dims), s.type.loc);
  Attrs attrs{{"name", s.name}, {"role", std::string(s.is_label ? "label" : "data")}};
  if (s.type.num_classes) attrs.set("num_classes", *s.type.num_classes);
  ValueId v = gb_.leaf(OpKind::Input, type, attrs, s.loc);
  define(s.name, s.loc, v, s.is_label ? Binding::Kind::Label : Binding::Kind::Input);
  check_new_leaf_name(s.name, s.loc);
  leaf_names_[s.name] = {v, s.loc};
}

void ModelBuilder::statement(const ParamStmt& s) {
  DType dtype = *dtype_from_name(s.type.dtype);
  if (!is_float(dtype))
    fail(s.type.loc, fmt::format("a param must be f32 or f64, found {}", s.type.dtype));
  std::vector<int64_t> dims;
  for (const DimSpec& d : s.type.dims) {
    if (d.is_batch) fail(d.loc, "a param cannot have a 'batch' dimension: its shape is fixed");
    dims.push_back(d.value);
  }
  TensorType type = make_type(dtype, dims, s.type.loc);
  InitSpec init = read_init(*s.init, file_);
  // The layer conventions: [in, out] for matmul weights, [out, in, kh, kw]
  // for convolution kernels; vectors (biases, scales) are not regularized.
  int64_t fan_in = 1, fan_out = 1;
  if (dims.size() == 1) {
    fan_in = fan_out = dims[0];
  } else if (dims.size() == 2) {
    fan_in = dims[0];
    fan_out = dims[1];
  } else if (dims.size() > 2) {
    int64_t receptive = type.shape.static_elements() / (dims[0] * dims[1]);
    fan_in = dims[1] * receptive;
    fan_out = dims[0] * receptive;
  }
  Attrs attrs = param_attrs(init, fan_in, fan_out, dims.size() >= 2);
  attrs.set("name", s.name);
  attrs.set("frozen", int64_t{s.frozen});
  ValueId v = gb_.leaf(OpKind::Param, type, attrs, s.loc);
  define(s.name, s.loc, v, Binding::Kind::Param);
  check_new_leaf_name(s.name, s.loc);
  leaf_names_[s.name] = {v, s.loc};
}

void ModelBuilder::statement(const AssignStmt& s) {
  ValueId v = eval(*s.value);
  define(s.name, s.loc, v, Binding::Kind::Variable);
}

void ModelBuilder::statement(const OutputStmt& s) {
  for (const NamedValue& o : g_.outputs)
    if (o.name == s.name)
      fail(s.loc, fmt::format("output '{}' is already defined at line {}", s.name, o.loc.line));
  ValueId v;
  if (s.value) {
    v = eval(*s.value);
    define(s.name, s.loc, v, Binding::Kind::Output);
  } else {
    Expr name;
    name.kind = Expr::Kind::Name;
    name.text = s.name;
    name.loc = s.loc;
    v = lookup(name);
    // An output's name is final: rebinding it later would be confusing.
    auto it = names_.find(s.name);
    if (it != names_.end() && it->second.kind == Binding::Kind::Variable)
      it->second.kind = Binding::Kind::Output;
  }
  g_.outputs.push_back(NamedValue{s.name, v, s.loc});
}

void ModelBuilder::statement(const LossStmt& s) {
  if (loss_loc_.line)
    fail(s.loc, fmt::format("the loss is already defined at line {}; a model has one loss "
                            "(add the terms: loss a + 0.5 * b)",
                            loss_loc_.line));
  loss_loc_ = s.loc;
  in_loss_ = true;
  // l1()/l2() sum the weights that exist when they are built, so the rest of
  // the loss goes first: `loss l2(1e-4) + ce(dense(h, 10), y)` regularizes
  // the dense layer it creates, whatever the order of the terms.
  if (has_regularization(*s.value)) evaluate_unregularized(*s.value);
  ValueId v = eval(*s.value);
  in_loss_ = false;
  evaluated_.clear();
  const TensorType& t = type_of(v);
  if (t.shape.rank() != 0)
    fail(s.value->loc, fmt::format("the loss must be a scalar, found {} (reduce it, e.g. with "
                                   "mean(...))",
                                   to_string(t)));
  if (!is_float(t.dtype))
    fail(s.value->loc, fmt::format("the loss must be f32 or f64, found {}", to_string(t)));
  g_.loss = NamedValue{"loss", v, s.loc};
}

void ModelBuilder::statement(const TrainStmt& s) {
  if (train_loc_.line)
    fail(s.loc,
         fmt::format("a model has one train block (the first is at line {})", train_loc_.line));
  train_loc_ = s.loc;
  g_.train = build_train_config(s, file_);
}

// ---- names ----------------------------------------------------------------------

void ModelBuilder::define(const std::string& name, SourceLoc loc, ValueId v, Binding::Kind kind) {
  if (is_reserved(name)) fail(loc, fmt::format("'{}' is reserved and cannot name a value", name));
  if (name.find('.') != std::string::npos)
    fail(loc,
         fmt::format("'{}': names with '.' are reserved for layer parameters (dense1.W)", name));
  auto it = names_.find(name);
  if (it != names_.end()) {
    const Binding& old = it->second;
    // Plain variables may be rebound (h = relu(h)); declarations are final.
    if (!(kind == Binding::Kind::Variable && old.kind == Binding::Kind::Variable)) {
      static constexpr const char* kWhat[] = {"a value", "an input", "a label", "a param",
                                              "an output"};
      fail(loc, fmt::format("'{}' is already defined as {} at line {}", name,
                            kWhat[static_cast<int>(old.kind)], old.loc.line));
    }
  }
  names_[name] = Binding{v, kind, loc};
}

void ModelBuilder::check_new_leaf_name(const std::string& name, SourceLoc loc) const {
  if (auto it = leaf_names_.find(name); it != leaf_names_.end())
    fail(loc, fmt::format("'{}' is already defined at line {}", name, it->second.loc.line));
}

ValueId ModelBuilder::lookup(const Expr& e) {
  if (auto it = names_.find(e.text); it != names_.end()) return it->second.value;
  // A block sees only its parameters and its own values: what it reads from
  // the model is visible at the call site.
  if (!in_block())
    if (auto it = leaf_names_.find(e.text); it != leaf_names_.end()) return it->second.value;
  if (is_reserved(e.text)) fail(e.loc, fmt::format("expected a tensor, found '{}'", e.text));
  if (find_builtin(e.text) || e.text == "l1" || e.text == "l2" || find_def(e.text) ||
      find_import(e.text))
    fail(e.loc, fmt::format("'{}' is a function; call it as {}(...)", e.text, e.text));
  if (in_block() && (outer_names_.front().count(e.text) || leaf_names_.count(e.text)))
    fail(e.loc, fmt::format("undefined name '{}' in block '{}': a block sees only its parameters "
                            "and its own values; pass '{}' as an argument",
                            e.text, running_defs_.back()->name, e.text));
  std::vector<std::string> candidates;
  for (const auto& [n, b] : names_) candidates.push_back(n);
  if (!in_block())
    for (const auto& [n, l] : leaf_names_) candidates.push_back(n);
  fail(e.loc, fmt::format("undefined name '{}'{}", e.text, hint(e.text, candidates)));
}

// ---- expressions ----------------------------------------------------------------

ValueId ModelBuilder::op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs, SourceLoc loc,
                         const std::string& layer) {
  if (!layer.empty()) attrs.set("layer", layer);
  return gb_.op(kind, std::move(inputs), std::move(attrs), loc);
}

ValueId ModelBuilder::constant(double value, DType dtype, SourceLoc loc) {
  return gb_.leaf(OpKind::Constant, TensorType{dtype, Shape{}}, Attrs{{"value", value}}, loc);
}

ValueId ModelBuilder::eval(const Expr& e, DType like) {
  if (auto it = evaluated_.find(&e); it != evaluated_.end()) return it->second;
  switch (e.kind) {
  case Expr::Kind::Number: return constant(e.number, like, e.loc);
  case Expr::Kind::Name: return lookup(e);
  case Expr::Kind::String:
  case Expr::Kind::Tuple: fail(e.loc, fmt::format("expected a tensor, found {}", describe(e)));
  case Expr::Kind::Neg:
    if (auto v = literal_number(e)) return constant(*v, like, e.loc);
    return op(OpKind::Neg, {eval(*e.args[0])}, {}, e.loc);
  case Expr::Kind::Binary: return eval_binary(e);
  case Expr::Kind::Call: return eval_call(e);
  }
  internal_error("bad expression kind");
}

std::pair<ValueId, ValueId> ModelBuilder::eval_pair(const Expr& lhs, const Expr& rhs) {
  if (literal_number(lhs) && !literal_number(rhs)) {
    ValueId b = eval(rhs);
    return {eval(lhs, float_like(type_of(b))), b};
  }
  ValueId a = eval(lhs);
  return {a, eval(rhs, float_like(type_of(a)))};
}

ValueId ModelBuilder::eval_binary(const Expr& e) {
  auto [a, b] = eval_pair(*e.args[0], *e.args[1]);
  OpKind kind = e.op == '+'   ? OpKind::Add
                : e.op == '-' ? OpKind::Sub
                : e.op == '*' ? OpKind::Mul
                              : OpKind::Div;
  return op(kind, {a, b}, {}, e.loc);
}

ValueId ModelBuilder::eval_call(const Expr& call) {
  if (call.text == "l1" || call.text == "l2") {
    if (in_block())
      fail(call.loc,
           fmt::format("{}() cannot appear inside a block; add it to the 'loss' statement",
                       call.text));
    if (!in_loss_)
      fail(call.loc,
           fmt::format("{}() is a regularization term; it can only appear in 'loss'", call.text));
    static constexpr ArgSpec kLambda[] = {{"lambda", true}};
    return regularization(CallArgs(call, kLambda, file_), call.text == "l1");
  }
  if (const DefStmt* def = find_def(call.text)) return eval_block_call(call, *def);
  if (auto it = imports_.find(call.text); it != imports_.end())
    return eval_import_call(call, it->second);
  const Builtin* b = find_builtin(call.text);
  if (!b) {
    if (names_.count(call.text))
      fail(call.loc, fmt::format("'{}' is a value, not a function", call.text));
    std::vector<std::string> candidates = function_names();
    for (const auto& [name, def] : defs_) candidates.push_back(name);
    fail(call.loc, fmt::format("unknown function '{}'{}", call.text, hint(call.text, candidates)));
  }
  return b->fn(*this, CallArgs(call, b->spec, file_, b->variadic));
}

// Evaluates, left to right, the largest parts of a loss expression that
// contain no l1()/l2() and are tensors wherever they stand; eval() then
// reuses their values. Nothing else changes: the same nodes, in the same
// order relative to each other.
void ModelBuilder::evaluate_unregularized(const Expr& e) {
  auto visit = [&](const Expr& part) {
    if (has_regularization(part))
      evaluate_unregularized(part);
    else if (is_tensor_expression(part) || (part.kind == Expr::Kind::Call && find_def(part.text)))
      evaluated_.emplace(&part, eval(part));
  };
  if (e.kind != Expr::Kind::Binary && e.kind != Expr::Kind::Neg && e.kind != Expr::Kind::Call)
    return;
  if (is_regularization(e)) return;
  for (const auto& a : e.args) visit(*a);
  for (const KeywordArg& k : e.kwargs) visit(*k.value);
}

// ---- regularization ---------------------------------------------------------------
// SPEC section 4: L2 adds lambda/(2m) sum_l ||W_l||_F^2, L1 adds lambda/(2m)
// sum_l |W_l|, over the trainable weights (regularize=1: not biases, not batch
// norm parameters; not frozen ones). m is the runtime batch size and lambda a
// runtime scalar, so neither needs a recompile.

ValueId ModelBuilder::regularization(const CallArgs& a, bool l1) {
  std::string kind = l1 ? "l1" : "l2";
  if (auto it = regularizers_.find(kind); it != regularizers_.end())
    fail(a.loc(),
         fmt::format("{}() appears twice in the loss (first at column {})", kind, it->second.col));
  const Expr& lambda_expr = a.required("lambda");
  double lambda = a.read_number(lambda_expr, "lambda");
  if (!(lambda >= 0))
    fail(lambda_expr.loc,
         fmt::format("{}: lambda must be at least 0, found {}", kind, describe(lambda_expr)));
  std::vector<ValueId> weights;
  for (ValueId p : g_.leaves(OpKind::Param)) {
    const Attrs& at = g_.node(p).attrs;
    if (at.get_int("regularize", 0) == 1 && at.get_int("frozen", 0) == 0) weights.push_back(p);
  }
  if (weights.empty())
    fail(a.loc(), fmt::format("{}() has no weights to regularize: the model has no trainable "
                              "weight matrix or kernel before or in the 'loss' statement",
                              kind));
  SourceLoc loc = a.loc();
  DType dtype = type_of(weights[0]).dtype;
  std::optional<ValueId> sum;
  for (ValueId w : weights) {
    ValueId t = l1 ? op(OpKind::Abs, {w}, {}, loc) : op(OpKind::Mul, {w, w}, {}, loc);
    std::vector<int64_t> axes;
    for (int i = 0; i < type_of(w).shape.rank(); ++i) axes.push_back(i);
    ValueId s = op(OpKind::ReduceSum, {t}, {{"axes", axes}, {"keepdims", int64_t{0}}}, loc);
    sum = sum ? op(OpKind::Add, {*sum, s}, {}, loc) : s;
  }
  std::string lambda_name = kind + ".lambda";
  check_new_leaf_name(lambda_name, loc);
  ValueId lam = gb_.leaf(OpKind::Hyper, TensorType{dtype, Shape{}},
                         Attrs{{"name", lambda_name}, {"value", lambda}}, loc);
  leaf_names_[lambda_name] = {lam, loc};
  if (!batch_size_) batch_size_ = gb_.leaf(OpKind::BatchSize, TensorType{dtype, Shape{}}, {}, loc);
  ValueId two_m = op(OpKind::Mul, {constant(2.0, dtype, loc), *batch_size_}, {}, loc);
  regularizers_[kind] = loc;
  regularized_params_ = weights.size();
  return op(OpKind::Div, {op(OpKind::Mul, {lam, *sum}, {}, loc), two_m}, {}, loc);
}

// A weight created after the loss statement would silently escape l1()/l2().
void ModelBuilder::check_regularized_params() const {
  if (regularizers_.empty()) return;
  size_t seen = 0;
  for (ValueId p : g_.leaves(OpKind::Param)) {
    const Node& n = g_.node(p);
    if (n.attrs.get_int("regularize", 0) != 1 || n.attrs.get_int("frozen", 0) != 0) continue;
    if (++seen <= regularized_params_) continue;
    // Inside the loss, only a layer whose input involves l1()/l2() comes after them.
    if (g_.loss && p < g_.loss->value)
      fail(n.loc, fmt::format("'{}' is created by a layer whose input depends on the "
                              "regularization term, so that term cannot include it; apply "
                              "l1()/l2() to the loss, not to a layer's input",
                              n.attrs.get_str("name")));
    fail(n.loc, fmt::format("'{}' is created after the 'loss' statement (line {}), so the "
                            "regularization term does not include it; move 'loss' after "
                            "the layers",
                            n.attrs.get_str("name"), loss_loc_.line));
  }
}

// ---- layers -----------------------------------------------------------------------

Layer ModelBuilder::begin_layer(std::string_view kind, std::string_view prefix, const CallArgs& a) {
  Layer l;
  l.kind = kind;
  l.loc = a.loc();
  const Expr* name_expr = a.declares("name") ? a.get("name") : nullptr;
  std::string local;
  if (name_expr) {
    local = a.read_name(*name_expr, "name");
    if (local.find('.') != std::string::npos || is_reserved(local))
      fail(name_expr->loc, fmt::format("'{}' cannot name a layer", local));
    scopes_.back().taken.insert(local);
  } else {
    local = next_local_name(prefix);
  }
  // Inside a block, name= is relative to the call: it shares within a call
  // and each call gets its own copy.
  l.name = scoped(local);
  const Expr* frozen_expr = a.declares("frozen") ? a.get("frozen") : nullptr;
  auto it = layers_.find(l.name);
  if (it == layers_.end()) {
    l.frozen = frozen_expr && a.read_bool(*frozen_expr, "frozen");
    layers_[l.name] = LayerRecord{l.kind, l.frozen, l.loc};
    return l;
  }
  const LayerRecord& old = it->second;
  if (old.kind != kind)
    fail(name_expr ? name_expr->loc : l.loc,
         fmt::format("layer name '{}' is already used by a {} layer (line {})", l.name, old.kind,
                     old.loc.line));
  l.reused = true;
  l.frozen = old.frozen;
  if (frozen_expr && a.read_bool(*frozen_expr, "frozen") != old.frozen)
    fail(frozen_expr->loc, fmt::format("layer '{}' was created with frozen={} (line {}); a reuse "
                                       "shares its parameters and cannot change that",
                                       l.name, old.frozen ? "true" : "false", old.loc.line));
  return l;
}

ValueId ModelBuilder::layer_leaf(const Layer& layer, OpKind kind, const std::string& suffix,
                                 TensorType type, Attrs attrs) {
  std::string full = layer.name + "." + suffix;
  if (layer.reused) {
    auto it = leaf_names_.find(full);
    if (it == leaf_names_.end())
      fail(layer.loc, fmt::format("layer '{}' is reused with different arguments: its first use "
                                  "(line {}) created no '{}'",
                                  layer.name, layers_.at(layer.name).loc.line, full));
    const TensorType& old = type_of(it->second.value);
    if (old != type)
      fail(layer.loc,
           fmt::format("layer '{}' is reused with a different shape: '{}' is {} (line {}), here "
                       "it would be {}",
                       layer.name, full, to_string(old), it->second.loc.line, to_string(type)));
    return it->second.value;
  }
  check_new_leaf_name(full, layer.loc);
  attrs.set("name", full);
  attrs.set("layer", layer.name);
  if (kind == OpKind::Param) attrs.set("frozen", int64_t{layer.frozen});
  ValueId v = gb_.leaf(kind, std::move(type), std::move(attrs), layer.loc);
  leaf_names_[full] = {v, layer.loc};
  return v;
}

Graph build_graph(const Module& m, const std::string& file, const std::string& default_name,
                  std::map<std::string, Tensor<float>>* imported_weights) {
  Graph g;
  g.name = default_name;
  g.source_file = file;
  ModelBuilder builder(g, file);
  builder.build(m);
  if (imported_weights) *imported_weights = std::move(builder.imported_weights());
  return g;
}

} // namespace netc
