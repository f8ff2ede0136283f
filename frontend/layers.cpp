// Layers: calls that create named parameters (LAYER.W, LAYER.b, ...) and
// expand into primitive ops. Every node and leaf a layer makes carries the
// attribute layer=NAME, which the summary and the dumps group by.
#include "frontend/model_builder.h"
#include "ir/class_labels.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc {

namespace {

// A float tensor of the given rank whose dimension `channel` is static; the
// message says what the layer expects and what it got.
const TensorType& check_input(ModelBuilder& b, const CallArgs& a, ValueId x,
                              std::initializer_list<int> ranks, std::string_view layout,
                              std::string_view advice = "") {
  const TensorType& t = b.type_of(x);
  bool rank_ok = false;
  for (int r : ranks) rank_ok |= t.shape.rank() == r;
  if (!rank_ok)
    b.fail(a.loc(), fmt::format("{} expects a {} input, found {}{}", a.func(), layout, to_string(t),
                                advice));
  if (!is_float(t.dtype))
    b.fail(a.loc(),
           fmt::format("{} expects a float input (f32 or f64), found {}", a.func(), to_string(t)));
  for (int i = 1; i < t.shape.rank(); ++i)
    if (t.shape[i] == kBatch)
      b.fail(a.loc(), fmt::format("{} expects the batch as the first dimension only, found {}",
                                  a.func(), to_string(t)));
  return t;
}

int64_t positive_int(const CallArgs& a, std::string_view name, int64_t fallback) {
  const Expr* e = a.get(name);
  int64_t v = e ? a.read_int(*e, name) : fallback;
  if (v < 1)
    a.fail(e->loc, fmt::format("{}: '{}' must be at least 1, found {}", a.func(), name, v));
  return v;
}

// An int n (n, n) or a pair (h, w), each at least `min`.
std::array<int64_t, 2> pair_arg(const CallArgs& a, std::string_view name,
                                std::array<int64_t, 2> fallback, int64_t min) {
  std::array<int64_t, 2> v = a.get_pair(name, fallback);
  for (int64_t x : v)
    if (x < min)
      a.fail(a.get(name)->loc,
             fmt::format("{}: '{}' must be at least {}, found {}", a.func(), name, min, x));
  return v;
}

std::vector<int64_t> list(std::array<int64_t, 2> v) { return {v[0], v[1]}; }

// A switch written true/false, or 1/0 as PyTorch users may write it.
bool flag_arg(const CallArgs& a, std::string_view name, bool fallback) {
  const Expr* e = a.get(name);
  if (!e) return fallback;
  if (e->kind == Expr::Kind::Number && e->is_int && (e->int_value == 0 || e->int_value == 1))
    return e->int_value == 1;
  if (e->kind == Expr::Kind::Name && (e->text == "true" || e->text == "false"))
    return e->text == "true";
  a.fail_arg(*e, name, "true, false, 1 or 0");
}

InitSpec init_arg(ModelBuilder& b, const CallArgs& a, std::string_view fallback) {
  const Expr* e = a.get("init");
  return e ? read_init(*e, b.file()) : InitSpec{std::string(fallback), std::nullopt};
}

// ---- dense ---------------------------------------------------------------------
// y = x W + b with W [F, units]: matmul then a broadcast add. On x of rank >= 3
// ([batch, T, F], torch.nn.Linear's semantics) W applies to the last axis and
// is shared over the leading ones: the batched matmul [batch, T, F] x [F, units]
// broadcasts W over batch and T, and its gradient sums dW over them. A reshape
// to [batch*T, F] would need a batch dimension times T, which shapes cannot
// say (the batch is one symbolic axis), so the rank-2 path stays as it was
// and the batched one is used only for rank >= 3.
ValueId dense(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  // Any rank from 2 up: the ranks list names the input's own rank when it is.
  int rank = std::max(b.type_of(x).shape.rank(), 2);
  const TensorType xt = check_input(b, a, x, {rank}, "[batch, features] or [batch, ..., features]");
  int64_t units = positive_int(a, "units", 0);
  InitSpec init = init_arg(b, a, "he");
  bool bias = a.get_bool("bias", true);
  int64_t features = xt.shape[xt.shape.rank() - 1];
  Layer l = b.begin_layer("dense", "dense", a);
  ValueId w = b.layer_leaf(l, OpKind::Param, "W", b.make_type(xt.dtype, {features, units}, l.loc),
                           param_attrs(init, features, units, true));
  ValueId y = b.op(OpKind::MatMul, {x, w}, {}, l.loc, l.name);
  if (!bias) return y;
  ValueId bv = b.layer_leaf(l, OpKind::Param, "b", b.make_type(xt.dtype, {units}, l.loc),
                            param_attrs({"zeros", {}}, features, units, false));
  return b.op(OpKind::Add, {y, bv}, {}, l.loc, l.name);
}

// ---- conv2d --------------------------------------------------------------------
// NCHW; W [O, C/groups, KH, KW]. pad=same keeps H and W at stride 1:
// p = (k - 1) / 2 * dilation, exact for odd kernels.
ValueId conv2d(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const TensorType xt = check_input(b, a, x, {4}, "[batch, channels, height, width]");
  int64_t filters = positive_int(a, "filters", 0);
  auto kernel = pair_arg(a, "kernel", {3, 3}, 1);
  auto stride = pair_arg(a, "stride", {1, 1}, 1);
  auto dilation = pair_arg(a, "dilation", {1, 1}, 1);
  int64_t groups = positive_int(a, "groups", 1);
  int64_t channels = xt.shape[1];
  if (channels % groups != 0 || filters % groups != 0)
    a.fail(a.get("groups")->loc,
           fmt::format("conv2d: groups={} must divide both the input channels ({}) and the "
                       "filters ({})",
                       groups, channels, filters));
  // Checked first: every product of kernel sizes below then stays in range.
  int64_t per_group = channels / groups;
  TensorType wt = b.make_type(xt.dtype, {filters, per_group, kernel[0], kernel[1]}, a.loc());
  int64_t area = kernel[0] * kernel[1];
  std::array<int64_t, 2> pad{0, 0};
  const Expr* pad_expr = a.get("pad");
  if (pad_expr && pad_expr->kind == Expr::Kind::Name) {
    if (pad_expr->text == "same") {
      if (stride != std::array<int64_t, 2>{1, 1})
        a.fail(pad_expr->loc, "conv2d: pad=same needs stride 1; give the padding as numbers");
      for (int i = 0; i < 2; ++i) {
        if (kernel[i] % 2 == 0)
          a.fail(pad_expr->loc,
                 fmt::format("conv2d: pad=same needs an odd kernel, found {}", kernel[i]));
        if (__builtin_mul_overflow((kernel[i] - 1) / 2, dilation[i], &pad[i]))
          a.fail(pad_expr->loc, "conv2d: pad=same gives a padding that is too large");
      }
    } else if (pad_expr->text != "valid") {
      a.fail_arg(*pad_expr, "pad", "an integer, a pair (h, w), same or valid");
    }
  } else {
    pad = pair_arg(a, "pad", {0, 0}, 0);
  }
  InitSpec init = init_arg(b, a, "he");
  bool bias = a.get_bool("bias", true);
  Layer l = b.begin_layer("conv2d", "conv", a);
  std::vector<ValueId> inputs = {
      x, b.layer_leaf(l, OpKind::Param, "W", wt,
                      param_attrs(init, per_group * area, filters * area, true))};
  if (bias)
    inputs.push_back(b.layer_leaf(l, OpKind::Param, "b", b.make_type(xt.dtype, {filters}, l.loc),
                                  param_attrs({"zeros", {}}, per_group * area, filters, false)));
  Attrs attrs{{"stride", list(stride)},
              {"pad", list(pad)},
              {"dilation", list(dilation)},
              {"groups", groups}};
  return b.op(OpKind::Conv2d, std::move(inputs), std::move(attrs), l.loc, l.name);
}

// ---- conv2d_transpose ----------------------------------------------------------
// PyTorch's ConvTranspose2d: W [C_in, filters, KH, KW], b [filters], and
//   OH = (H - 1) stride - 2 pad + dilation (KH - 1) + output_padding + 1
// It is conv2d's dx (conv2d_backward_input, ir/ops/conv_backward.cpp) with W
// in conv2d's [O, C, KH, KW] place, so it runs the same kernel as conv2d's
// backward pass. The bias is a broadcast add of b [filters, 1, 1], which
// fusion folds into that kernel's epilogue. The default init is he with
// PyTorch's fans for this weight layout: fan_in = filters KH KW (dim 1 times
// the kernel area, as torch.nn.init computes it), fan_out = C_in KH KW.
ValueId conv2d_transpose(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const TensorType xt = check_input(b, a, x, {4}, "[batch, channels, height, width]");
  int64_t filters = positive_int(a, "filters", 0);
  auto kernel = pair_arg(a, "kernel", {3, 3}, 1);
  auto stride = pair_arg(a, "stride", {1, 1}, 1);
  auto pad = pair_arg(a, "pad", {0, 0}, 0);
  auto output_padding = pair_arg(a, "output_padding", {0, 0}, 0);
  auto dilation = pair_arg(a, "dilation", {1, 1}, 1);
  for (int i = 0; i < 2; ++i)
    if (output_padding[i] >= std::max(stride[i], dilation[i]))
      a.fail(a.get("output_padding")->loc,
             fmt::format("conv2d_transpose: output_padding {} must be smaller than the stride "
                         "({}) or the dilation ({})",
                         output_padding[i], stride[i], dilation[i]));
  int64_t channels = xt.shape[1];
  TensorType wt = b.make_type(xt.dtype, {channels, filters, kernel[0], kernel[1]}, a.loc());
  // The output size, checked here so that the message names the layer's
  // arguments rather than the op's input_shape attribute.
  std::array<int64_t, 2> out{};
  for (int i = 0; i < 2; ++i) {
    int64_t extent = xt.shape[2 + i], grown = 0, reach = 0, extra = 0, full = 0;
    // Any argument may be huge: every step is checked.
    if (__builtin_mul_overflow(extent - 1, stride[i], &grown) ||
        __builtin_mul_overflow(dilation[i], kernel[i] - 1, &reach) ||
        __builtin_add_overflow(reach, output_padding[i] + 1, &extra) ||
        __builtin_add_overflow(grown, extra, &full) || full > kMaxElements)
      b.fail(a.loc(), "conv2d_transpose: the output would be too large");
    // full < 2^48, so a padding past it cannot overflow the subtraction.
    out[i] = pad[i] >= full ? 0 : full - 2 * pad[i];
    if (out[i] < 1)
      b.fail(a.loc(), fmt::format("conv2d_transpose: the padding ({}) leaves no output: {} "
                                  "rows of {} give {} at kernel {}, stride {}, dilation {}",
                                  pad[i], i == 0 ? "height" : "width", extent, out[i], kernel[i],
                                  stride[i], dilation[i]));
  }
  TensorType yt = b.make_type(xt.dtype, {xt.shape[0], filters, out[0], out[1]}, a.loc());
  int64_t area = kernel[0] * kernel[1];
  InitSpec init = init_arg(b, a, "he");
  bool bias = a.get_bool("bias", true);
  Layer l = b.begin_layer("conv2d_transpose", "deconv", a);
  ValueId w = b.layer_leaf(l, OpKind::Param, "W", wt,
                           param_attrs(init, filters * area, channels * area, true));
  Attrs attrs{{"stride", list(stride)},
              {"pad", list(pad)},
              {"dilation", list(dilation)},
              {"input_shape", yt.shape.dims}};
  // Set only when used, as PyTorch's default is none.
  if (output_padding != std::array<int64_t, 2>{0, 0})
    attrs.set("output_padding", list(output_padding));
  ValueId y = b.op(OpKind::Conv2dBackwardInput, {x, w}, std::move(attrs), l.loc, l.name);
  if (!bias) return y;
  ValueId bv = b.layer_leaf(l, OpKind::Param, "b", b.make_type(xt.dtype, {filters}, l.loc),
                            param_attrs({"zeros", {}}, filters * area, channels * area, false));
  ValueId column = b.op(OpKind::Reshape, {bv},
                        Attrs{{"shape", std::vector<int64_t>{filters, 1, 1}}}, l.loc, l.name);
  return b.op(OpKind::Add, {y, column}, {}, l.loc, l.name);
}

// ---- pooling -------------------------------------------------------------------
template <OpKind Kind>
ValueId pool(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  check_input(b, a, x, {4}, "[batch, channels, height, width]");
  auto kernel = pair_arg(a, "kernel", {2, 2}, 1);
  auto stride = pair_arg(a, "stride", kernel, 1);
  auto pad = pair_arg(a, "pad", {0, 0}, 0);
  bool is_max = Kind == OpKind::MaxPool;
  Attrs attrs{{"kernel", list(kernel)}, {"stride", list(stride)}, {"pad", list(pad)}};
  // Set only when on, so that the IR of existing models does not change.
  if (!is_max && flag_arg(a, "count_include_pad", false))
    attrs.set("count_include_pad", int64_t{1});
  Layer l = b.begin_layer(is_max ? "maxpool" : "avgpool", is_max ? "maxpool" : "avgpool", a);
  return b.op(Kind, {x}, std::move(attrs), l.loc, l.name);
}

ValueId global_avgpool(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  check_input(b, a, x, {4}, "[batch, channels, height, width]");
  Layer l = b.begin_layer("global_avgpool", "gap", a);
  return b.op(OpKind::GlobalAvgPool, {x}, {}, l.loc, l.name);
}

// [batch, d1, d2, ...] -> [batch, d1 * d2 * ...]
ValueId flatten(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const TensorType& t = b.type_of(x);
  if (t.shape.rank() < 1)
    b.fail(a.loc(),
           fmt::format("flatten expects a tensor with a batch dimension, found {}", to_string(t)));
  for (int i = 1; i < t.shape.rank(); ++i)
    if (t.shape[i] == kBatch)
      b.fail(a.loc(), fmt::format("flatten expects the batch as the first dimension only, "
                                  "found {}",
                                  to_string(t)));
  int64_t rest = 1;
  for (int i = 1; i < t.shape.rank(); ++i) rest *= t.shape[i];
  Layer l = b.begin_layer("flatten", "flatten", a);
  return b.op(OpKind::Reshape, {x}, Attrs{{"shape", std::vector<int64_t>{t.shape[0], rest}}}, l.loc,
              l.name);
}

// ---- batchnorm -----------------------------------------------------------------
// Per channel (axis 1): gamma, beta trainable; running mean and variance are
// state, updated in training and used at inference.
ValueId batchnorm(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const TensorType xt = check_input(b, a, x, {2, 4}, "[batch, features] or [batch, C, H, W]");
  double eps = a.get_number("eps", 1e-5);
  if (!(eps > 0))
    a.fail(a.get("eps")->loc,
           fmt::format("batchnorm: eps must be positive, found {}", describe(*a.get("eps"))));
  double momentum = a.get_number("momentum", 0.9);
  if (!(momentum >= 0 && momentum <= 1))
    a.fail(a.get("momentum")->loc, fmt::format("batchnorm: momentum must be in [0, 1], found {}",
                                               describe(*a.get("momentum"))));
  int64_t c = xt.shape[1];
  Layer l = b.begin_layer("batchnorm", "bn", a);
  TensorType vec = b.make_type(xt.dtype, {c}, l.loc);
  ValueId gamma =
      b.layer_leaf(l, OpKind::Param, "gamma", vec, param_attrs({"ones", {}}, c, c, false));
  ValueId beta =
      b.layer_leaf(l, OpKind::Param, "beta", vec, param_attrs({"zeros", {}}, c, c, false));
  ValueId mean = b.layer_leaf(l, OpKind::State, "running_mean", vec, Attrs{{"init", "zeros"}});
  ValueId var = b.layer_leaf(l, OpKind::State, "running_var", vec, Attrs{{"init", "ones"}});
  return b.op(OpKind::BatchNorm, {x, gamma, beta, mean, var},
              Attrs{{"eps", eps}, {"momentum", momentum}, {"axis", int64_t{1}}}, l.loc, l.name);
}

// ---- layernorm -----------------------------------------------------------------
// PyTorch's nn.LayerNorm over the trailing axes (-1, or a tuple of the last
// axes); gamma (ones) and beta (zeros) have the normalized shape.
ValueId layernorm(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const TensorType xt = b.type_of(x);
  if (!is_float(xt.dtype))
    b.fail(a.loc(),
           fmt::format("layernorm expects a float input (f32 or f64), found {}", to_string(xt)));
  double eps = a.get_number("eps", 1e-5);
  if (!(eps > 0))
    a.fail(a.get("eps")->loc,
           fmt::format("layernorm: eps must be positive, found {}", describe(*a.get("eps"))));
  std::vector<int64_t> axes{-1};
  int64_t rank = xt.shape.rank(), first = rank;
  const Expr* ax = a.get("axes");
  if (ax) axes = a.read_ints(*ax, "axes");
  SourceLoc where = ax ? ax->loc : a.loc();
  for (int64_t& v : axes) {
    if (v < -rank || v >= rank)
      a.fail(where, fmt::format("layernorm: axis {} is out of range for {} (expected {}..{})", v,
                                to_string(xt), -rank, rank - 1));
    if (v < 0) v += rank;
    first = std::min(first, v);
  }
  std::vector<int64_t> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != first + int64_t(i) || first + int64_t(sorted.size()) != rank)
      a.fail(where, fmt::format("layernorm: the axes must be the last ones of {} (-1, or (-2, "
                                "-1), ...)",
                                to_string(xt)));
  std::vector<int64_t> dims(xt.shape.dims.begin() + first, xt.shape.dims.end());
  for (int64_t d : dims)
    if (d == kBatch)
      a.fail(where, fmt::format("layernorm: cannot normalize over the batch dimension of {}",
                                to_string(xt)));
  int64_t m = 1;
  for (int64_t d : dims) m *= d;
  Layer l = b.begin_layer("layernorm", "ln", a);
  TensorType t = b.make_type(xt.dtype, dims, l.loc);
  ValueId gamma =
      b.layer_leaf(l, OpKind::Param, "gamma", t, param_attrs({"ones", {}}, m, m, false));
  ValueId beta = b.layer_leaf(l, OpKind::Param, "beta", t, param_attrs({"zeros", {}}, m, m, false));
  return b.op(OpKind::LayerNorm, {x, gamma, beta}, Attrs{{"axes", sorted}, {"eps", eps}}, l.loc,
              l.name);
}

// ---- dropout -------------------------------------------------------------------
// The keep probability is a runtime scalar (Hyper leaf LAYER.keep), so it can
// be tuned, and set to 1 for gradient checking, without recompiling.
ValueId dropout(ModelBuilder& b, const CallArgs& a) {
  ValueId x = b.tensor(a, "x");
  const Expr& keep_expr = a.required("keep");
  double keep = a.read_number(keep_expr, "keep");
  if (!(keep > 0 && keep <= 1))
    a.fail(keep_expr.loc, fmt::format("keep must be in (0, 1], found {}", describe(keep_expr)));
  DType dtype = b.type_of(x).dtype;
  if (!is_float(dtype))
    b.fail(a.loc(), fmt::format("dropout expects a float input (f32 or f64), found {}",
                                to_string(b.type_of(x))));
  Layer l = b.begin_layer("dropout", "dropout", a);
  ValueId k =
      b.layer_leaf(l, OpKind::Hyper, "keep", TensorType{dtype, Shape{}}, Attrs{{"value", keep}});
  if (l.reused && b.graph().node(k).attrs.get_float("value") != keep)
    a.fail(keep_expr.loc, fmt::format("dropout layer '{}' was created with keep={}; a reuse "
                                      "cannot change it",
                                      l.name, b.graph().node(k).attrs.get_float("value")));
  return b.op(OpKind::Dropout, {x, k}, Attrs{{"stream", b.next_dropout_stream()}}, l.loc, l.name);
}

// ---- embedding -------------------------------------------------------------------
// torch.nn.Embedding(vocab, dim): E [vocab, dim], initialized normal(1) as
// torch does; y[s..., :] = E[ids[s...], :] for integer ids of any shape
// (`input ids : class(vocab)[batch, T]` -> [batch, T, dim]). The ids must be
// declared with their count, which must be the vocabulary: the compiled
// binary checks every id it is given against it before any kernel runs.
ValueId embedding(ModelBuilder& b, const CallArgs& a) {
  ValueId ids = b.tensor(a, "ids");
  const TensorType it = b.type_of(ids);
  int64_t vocab = positive_int(a, "vocab", 0), dim = positive_int(a, "dim", 0);
  if (it.dtype != DType::i32 && it.dtype != DType::i64)
    b.fail(a.loc(), fmt::format("embedding expects integer ids, found {}; declare them as "
                                "`input ids : class({})[batch, ...]`",
                                to_string(it), vocab));
  if (it.shape.rank() == 0)
    b.fail(a.loc(),
           fmt::format("embedding expects ids with at least one axis, found {}", to_string(it)));
  std::optional<DeclaredClasses> declared = declared_classes(b.graph(), ids);
  const Expr* vocab_arg = a.get("vocab");
  SourceLoc where = vocab_arg ? vocab_arg->loc : a.loc();
  if (!declared)
    a.fail(where, fmt::format("embedding: the ids {} have no declared count; declare them as "
                              "`input ids : class({})[batch, ...]` so that every id is checked "
                              "against the vocabulary",
                              to_string(it), vocab));
  if (declared->count != vocab) {
    const Node& leaf = b.graph().node(declared->leaf);
    a.fail(where, fmt::format("embedding: vocab is {}, but the ids '{}' are declared class({}) "
                              "(line {}); ids up to {} would index outside the table",
                              vocab, leaf.attrs.get_str("name", "?"), declared->count,
                              leaf.loc.line, declared->count - 1));
  }
  InitSpec init = init_arg(b, a, "normal");
  if (init.scheme == "normal" && !a.get("init")) init.scale = 1.0;
  Layer l = b.begin_layer("embedding", "emb", a);
  ValueId table = b.layer_leaf(l, OpKind::Param, "E", b.make_type(DType::f32, {vocab, dim}, l.loc),
                               param_attrs(init, vocab, dim, true));
  return b.op(OpKind::Gather, {table, ids}, {}, l.loc, l.name);
}

constexpr ArgSpec kName{"name", false, true};
constexpr ArgSpec kFrozen{"frozen", false, true};

const Builtin kLayers[] = {
    {"dense", {{"x", true}, {"units", true}, {"init"}, {"bias"}, kName, kFrozen}, dense},
    {"conv2d",
     {{"x", true},
      {"filters", true},
      {"kernel"},
      {"stride"},
      {"pad"},
      {"dilation"},
      {"groups"},
      {"init"},
      {"bias"},
      kName,
      kFrozen},
     conv2d},
    {"conv2d_transpose",
     {{"x", true},
      {"filters", true},
      {"kernel"},
      {"stride"},
      {"pad"},
      {"output_padding"},
      {"dilation"},
      {"init"},
      {"bias"},
      kName,
      kFrozen},
     conv2d_transpose},
    {"maxpool", {{"x", true}, {"kernel", true}, {"stride"}, {"pad"}, kName}, pool<OpKind::MaxPool>},
    {"avgpool",
     {{"x", true},
      {"kernel", true},
      {"stride"},
      {"pad"},
      {"count_include_pad", false, true},
      kName},
     pool<OpKind::AvgPool>},
    {"global_avgpool", {{"x", true}, kName}, global_avgpool},
    {"flatten", {{"x", true}, kName}, flatten},
    {"batchnorm", {{"x", true}, {"eps"}, {"momentum"}, kName, kFrozen}, batchnorm},
    {"dropout", {{"x", true}, {"keep", true}, kName}, dropout},
    {"layernorm", {{"x", true}, {"axes"}, {"eps"}, kName, kFrozen}, layernorm},
    {"embedding",
     {{"ids", true}, {"vocab", true}, {"dim", true}, {"init"}, kName, kFrozen},
     embedding},
    {"rnn",
     {{"x", true},
      {"units", true},
      {"activation"},
      {"return"},
      {"reverse"},
      {"bidirectional"},
      {"init"},
      kName,
      kFrozen},
     rnn_layer},
    {"lstm",
     {{"x", true},
      {"units", true},
      {"return"},
      {"reverse"},
      {"bidirectional"},
      {"init"},
      kName,
      kFrozen},
     lstm_layer},
    {"gru",
     {{"x", true},
      {"units", true},
      {"return"},
      {"reverse"},
      {"bidirectional"},
      {"init"},
      kName,
      kFrozen},
     gru_layer},
};

} // namespace

std::span<const Builtin> layer_builtins() { return kLayers; }

} // namespace netc
