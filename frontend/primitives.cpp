// Primitive functions: each maps to one IR op (max and min to one of two),
// reading its attributes from literal arguments. Shape checks beyond argument
// syntax are the op's own shape rule, which GraphBuilder locates at the call.
// The functions that take just the op's inputs (exp(x), matmul(a, b)) come
// from the op table's surface column (ir/ops.def); the rows below are those
// with attributes or arguments of their own.
#include "frontend/model_builder.h"
#include "ir/op_traits.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace netc {

namespace {

// An axis in [-rank, rank), normalized to [0, rank), checked at the argument.
int64_t axis_of(ModelBuilder& b, const CallArgs& a, const Expr& e, int64_t axis,
                const TensorType& t) {
  int64_t rank = t.shape.rank();
  if (axis < -rank || axis >= rank)
    b.fail(e.loc, fmt::format("{}: axis {} is out of range for {} (expected {}..{})", a.func(),
                              axis, to_string(t), -rank, rank - 1));
  return axis < 0 ? axis + rank : axis;
}

// NAME(p1, ..., pn): the op named NAME on the arguments, in order. Two
// operands are evaluated as a pair, so that a number takes the other's dtype
// (pow(x, 2) for an f64 x).
ValueId plain_op(ModelBuilder& b, const CallArgs& a) {
  OpKind kind = *op_from_name(a.func());
  std::string_view surface = op_traits(kind).surface;
  size_t arity = 1 + size_t(std::count(surface.begin(), surface.end(), ','));
  std::vector<ValueId> inputs;
  if (arity == 2) {
    auto [x, y] = b.eval_pair(*a.at(0), *a.at(1));
    inputs = {x, y};
  } else {
    for (size_t i = 0; i < arity; ++i) inputs.push_back(b.eval(*a.at(i)));
  }
  return b.op(kind, std::move(inputs), {}, a.loc());
}

// "a, b" -> {{"a", true}, {"b", true}}: every input is a required parameter.
std::vector<ArgSpec> parameters(std::string_view surface) {
  std::vector<ArgSpec> out;
  for (size_t start = 0; start <= surface.size();) {
    size_t comma = std::min(surface.find(',', start), surface.size());
    std::string_view name = surface.substr(start, comma - start);
    while (name.starts_with(' ')) name.remove_prefix(1);
    out.push_back({name, true});
    start = comma + 1;
  }
  return out;
}

// leaky_relu(x, alpha=0.01), elu(x, alpha=1.0)
template <OpKind Kind>
ValueId with_alpha(ModelBuilder& b, const CallArgs& a) {
  double alpha = a.get_number("alpha", Kind == OpKind::LeakyRelu ? 0.01 : 1.0);
  return b.op(Kind, {b.tensor(a, "x")}, Attrs{{"alpha", alpha}}, a.loc());
}

// softmax(x, axis=-1), log_softmax(x, axis=-1)
template <OpKind Kind>
ValueId along_axis(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  int64_t axis = -1;
  if (const Expr* e = a.get("axis"))
    axis = axis_of(b, a, *e, a.read_int(*e, "axis"), b.type_of(x));
  else
    axis = axis_of(b, a, a.call(), axis, b.type_of(x));
  return b.op(Kind, {x}, Attrs{{"axis", axis}}, a.loc());
}

// gelu(x, approximate=none|tanh): PyTorch's nn.GELU(approximate=...)
ValueId gelu(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  std::string form = a.get_name("approximate", "none");
  if (form != "none" && form != "tanh")
    a.fail_arg(*a.get("approximate"), "approximate", "none or tanh");
  return b.op(OpKind::Gelu, {x}, Attrs{{"approximate", form}}, a.loc());
}

// one_hot(y, classes): integer labels of any shape to float rows [..., classes].
// The count is a literal so the shape is static; class_labels checks it
// against the label's declared class(N).
ValueId one_hot(ModelBuilder& b, const CallArgs& a) {
  ValueId y = b.tensor(a, "y");
  const Expr& c = a.required("classes");
  int64_t classes = a.read_int(c, "classes");
  if (classes < 1)
    b.fail(c.loc, fmt::format("{}: classes must be at least 1, found {}", a.func(), classes));
  return b.op(OpKind::OneHot, {y}, Attrs{{"num_classes", classes}}, a.loc());
}

// sum/mean/max/min over `axis` (an int or a tuple; absent = every axis).
ValueId reduce(ModelBuilder& b, const CallArgs& a, OpKind kind, ValueId x) {
  const TensorType& t = b.type_of(x);
  std::vector<int64_t> axes;
  if (const Expr* e = a.get("axis")) {
    for (int64_t ax : a.read_ints(*e, "axis")) {
      int64_t n = axis_of(b, a, *e, ax, t);
      if (std::find(axes.begin(), axes.end(), n) != axes.end())
        b.fail(e->loc, fmt::format("{}: axis {} is given twice", a.func(), n));
      axes.push_back(n);
    }
  } else {
    for (int64_t i = 0; i < t.shape.rank(); ++i) axes.push_back(i);
  }
  int64_t keepdims = a.get_bool("keepdims", false) ? 1 : 0;
  return b.op(kind, {x}, Attrs{{"axes", axes}, {"keepdims", keepdims}}, a.loc());
}

template <OpKind Kind>
ValueId reduction(ModelBuilder& b, const CallArgs& a) {
  return reduce(b, a, Kind, b.tensor(a, "x"));
}

// max(a, b) is elementwise; max(x, axis=...) and max(x) reduce.
template <OpKind Elementwise, OpKind Reduce>
ValueId extremum(ModelBuilder& b, const CallArgs& a) {
  const Expr* y = a.get("y");
  if (!y) return reduce(b, a, Reduce, b.tensor(a, "x"));
  for (std::string_view k : {"axis", "keepdims"})
    if (const Expr* e = a.get(k))
      b.fail(e->loc, fmt::format("{}: '{}' applies to {}(x, axis=...), not to the elementwise "
                                 "{}(a, b)",
                                 a.func(), k, a.func(), a.func()));
  auto [p, q] = b.eval_pair(a.required("x"), *y);
  return b.op(Elementwise, {p, q}, {}, a.loc());
}

// reshape(x, (batch, 784)): `batch` marks the runtime batch dimension.
ValueId reshape(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const Expr& s = a.required("shape");
  std::vector<const Expr*> items;
  if (s.kind == Expr::Kind::Tuple)
    for (const auto& item : s.args) items.push_back(item.get());
  else
    items.push_back(&s);
  std::vector<int64_t> dims;
  // A pairwise [batch, batch] matrix (distances within a batch) has two batch
  // dimensions, and so may its reshapes; any other value has at most one.
  const auto& in_dims = b.type_of(x).shape.dims;
  auto batch_dims = std::count(in_dims.begin(), in_dims.end(), kBatch);
  for (const Expr* item : items) {
    if (item->kind == Expr::Kind::Name && item->text == "batch") {
      if (std::count(dims.begin(), dims.end(), kBatch) >=
          std::max<decltype(batch_dims)>(batch_dims, 1))
        b.fail(item->loc, fmt::format("reshape: 'batch' can appear only as often as in the input "
                                      "({}), which is {}",
                                      batch_dims, to_string(b.type_of(x))));
      dims.push_back(kBatch);
      continue;
    }
    if (item->kind != Expr::Kind::Number || !item->is_int || item->int_value < 1)
      a.fail_arg(*item, "shape", "a tuple of positive integers and 'batch'");
    dims.push_back(item->int_value);
  }
  TensorType checked = b.make_type(b.type_of(x).dtype, dims, s.loc);
  return b.op(OpKind::Reshape, {x}, Attrs{{"shape", checked.shape.dims}}, a.loc());
}

ValueId transpose(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  std::vector<int64_t> perm = a.read_ints(a.required("perm"), "perm");
  return b.op(OpKind::Transpose, {x}, Attrs{{"perm", perm}}, a.loc());
}

ValueId concat(ModelBuilder& b, const CallArgs& a) {
  std::vector<ValueId> inputs = {b.tensor(a, "x")};
  for (const Expr* e : a.rest()) inputs.push_back(b.eval(*e));
  if (inputs.size() < 2) b.fail(a.loc(), "concat expects at least 2 tensors, found 1");
  const Expr& ax = a.required("axis");
  int64_t axis = axis_of(b, a, ax, a.read_int(ax, "axis"), b.type_of(inputs[0]));
  return b.op(OpKind::Concat, std::move(inputs), Attrs{{"axis", axis}}, a.loc());
}

// slice(x, axis=1, start=0, end=5): Python's x[start:end] along one axis.
ValueId slice(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const Expr& ax = a.required("axis");
  Attrs attrs{{"axis", axis_of(b, a, ax, a.read_int(ax, "axis"), b.type_of(x))}};
  for (std::string_view k : {"start", "end"})
    if (const Expr* e = a.get(k)) attrs.set(std::string(k), a.read_int(*e, k));
  return b.op(OpKind::Slice, {x}, std::move(attrs), a.loc());
}

// softmax_cross_entropy(logits, labels, label_smoothing=s, weights=(w0, ..., wC-1)):
// PyTorch's CrossEntropyLoss(weight=w, label_smoothing=s) with its mean
// (ir/ops/cross_entropy.h). Options are set only when given (s only when
// positive), so the IR of a plain call does not change.
ValueId softmax_cross_entropy(ModelBuilder& b, const CallArgs& a) {
  auto [x, y] = b.eval_pair(*a.at(0), *a.at(1));
  Attrs attrs;
  if (const Expr* e = a.get("label_smoothing")) {
    double s = a.read_number(*e, "label_smoothing");
    if (!(s >= 0 && s <= 1))
      a.fail(e->loc, fmt::format("{}: label_smoothing must be in [0, 1], found {}", a.func(),
                                 describe(*e)));
    if (s > 0) attrs.set("label_smoothing", s);
  }
  if (const Expr* e = a.get("weights")) {
    std::vector<const Expr*> items;
    if (e->kind == Expr::Kind::Tuple)
      for (const auto& item : e->args) items.push_back(item.get());
    else
      items.push_back(e);
    std::vector<double> weights;
    bool any_positive = false;
    for (const Expr* item : items) {
      double w = a.read_number(*item, "weights");
      if (!(w >= 0 && std::isfinite(w)))
        a.fail(item->loc, fmt::format("{}: class weights must be finite and >= 0, found {}",
                                      a.func(), describe(*item)));
      any_positive |= w > 0;
      weights.push_back(w);
    }
    const TensorType& xt = b.type_of(x);
    if (xt.shape.rank() == 2 && xt.shape[1] != kBatch &&
        static_cast<int64_t>(weights.size()) != xt.shape[1])
      a.fail(e->loc, fmt::format("{}: 'weights' has {} value{} but the logits {} have {} classes; "
                                 "give one weight per class",
                                 a.func(), weights.size(), weights.size() == 1 ? "" : "s",
                                 to_string(xt), xt.shape[1]));
    if (!any_positive)
      a.fail(e->loc, fmt::format("{}: at least one class weight must be positive", a.func()));
    attrs.set("weights", std::move(weights));
  }
  return b.op(OpKind::SoftmaxCrossEntropy, {x, y}, std::move(attrs), a.loc());
}

// upsample(x, 2, mode=nearest|bilinear), upsample(x, (2, 3)): integer factors
// only (PyTorch's nn.Upsample(scale_factor) with align_corners=False). The
// mode is set only when bilinear, so nearest reads as the op's default.
ValueId upsample(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const Expr& scale_expr = a.required("scale");
  std::vector<const Expr*> items = {&scale_expr};
  if (scale_expr.kind == Expr::Kind::Tuple) {
    items.clear();
    for (const auto& item : scale_expr.args) items.push_back(item.get());
  }
  for (const Expr* item : items)
    if (item->kind == Expr::Kind::Number && !item->is_int)
      a.fail(item->loc, fmt::format("{}: the scale must be an integer factor, found {}", a.func(),
                                    describe(*item)));
  std::array<int64_t, 2> scale = a.get_pair("scale", {1, 1});
  for (int64_t s : scale)
    if (s < 1)
      a.fail(scale_expr.loc,
             fmt::format("{}: the scale must be at least 1, found {}", a.func(), s));
  Attrs attrs{{"scale", std::vector<int64_t>{scale[0], scale[1]}}};
  if (const Expr* e = a.get("mode")) {
    std::string mode = a.read_name(*e, "mode");
    if (mode != "nearest" && mode != "bilinear") a.fail_arg(*e, "mode", "nearest or bilinear");
    if (mode == "bilinear") attrs.set("mode", mode);
  }
  return b.op(OpKind::Upsample, {x}, std::move(attrs), a.loc());
}

const Builtin kPrimitives[] = {
    // Elementwise math
    {"max",
     {{"x", true}, {"y"}, {"axis", false, true}, {"keepdims", false, true}},
     extremum<OpKind::Maximum, OpKind::ReduceMax>},
    {"min",
     {{"x", true}, {"y"}, {"axis", false, true}, {"keepdims", false, true}},
     extremum<OpKind::Minimum, OpKind::ReduceMin>},
    // Reductions
    {"sum", {{"x", true}, {"axis"}, {"keepdims"}}, reduction<OpKind::ReduceSum>},
    {"mean", {{"x", true}, {"axis"}, {"keepdims"}}, reduction<OpKind::ReduceMean>},
    // Data movement and linear algebra
    {"reshape", {{"x", true}, {"shape", true}}, reshape},
    {"transpose", {{"x", true}, {"perm", true}}, transpose},
    {"concat", {{"x", true}, {"axis", true, true}}, concat, true},
    {"slice", {{"x", true}, {"axis", true}, {"start"}, {"end"}}, slice},
    {"upsample", {{"x", true}, {"scale", true}, {"mode"}}, upsample},
    // Activations
    {"leaky_relu", {{"x", true}, {"alpha"}}, with_alpha<OpKind::LeakyRelu>},
    {"elu", {{"x", true}, {"alpha"}}, with_alpha<OpKind::Elu>},
    {"gelu", {{"x", true}, {"approximate"}}, gelu},
    {"softmax", {{"x", true}, {"axis"}}, along_axis<OpKind::Softmax>},
    {"one_hot", {{"y", true}, {"classes", true}}, one_hot},
    {"log_softmax", {{"x", true}, {"axis"}}, along_axis<OpKind::LogSoftmax>},
    // Losses (scalar means; docs/language.md says over what)
    {"softmax_cross_entropy",
     {{"logits", true},
      {"labels", true},
      {"label_smoothing", false, true},
      {"weights", false, true}},
     softmax_cross_entropy},
};

// The rows above, then one per op with a surface column.
std::vector<Builtin> make_primitives() {
  std::vector<Builtin> out(std::begin(kPrimitives), std::end(kPrimitives));
  for (int i = 0; i < kNumOps; ++i) {
    auto kind = static_cast<OpKind>(i);
    std::string_view surface = op_traits(kind).surface;
    if (!surface.empty()) out.push_back({op_name(kind), parameters(surface), plain_op});
  }
  return out;
}

} // namespace

std::span<const Builtin> primitive_builtins() {
  static const std::vector<Builtin> primitives = make_primitives();
  return primitives;
}

} // namespace netc
