// ONNX -> IR: LayerNormalization, MeanVarianceNormalization,
// InstanceNormalization, LRN, and BatchNormalization in training mode (batch
// statistics, with the updated running statistics as outputs).
// LayerNormalization's Y is the IR's layernorm op; the optional Mean and
// InvStdDev outputs, and the other normalizations, are composed from
// reductions:
//   mean = reduce_mean(x, axes)       var = reduce_mean((x - mean)^2, axes)
//   inv_std = 1 / sqrt(var + eps)     y = (x - mean) inv_std scale + bias
#include "frontend/onnx/import_context.h"

#include <fmt/format.h>
#include <optional>

namespace netc::onnx_import {

namespace {

struct Moments {
  ValueId mean, centered, var;
};

// The biased moments over `axes`, kept as extent-1 axes.
Moments moments(NodeContext& c, ValueId x, const std::vector<int64_t>& axes) {
  Attrs keep{{"axes", axes}, {"keepdims", int64_t{1}}};
  Moments m;
  m.mean = c.op(OpKind::ReduceMean, {x}, keep);
  m.centered = c.op(OpKind::Sub, {x, m.mean});
  m.var = c.op(OpKind::ReduceMean, {c.op(OpKind::Mul, {m.centered, m.centered})}, keep);
  return m;
}

ValueId inv_std(NodeContext& c, ValueId var, double eps) {
  DType t = c.type_of(var).dtype;
  return c.op(OpKind::Div,
              {c.scalar(1.0, t), c.op(OpKind::Sqrt, {c.op(OpKind::Add, {var, c.scalar(eps, t)})})});
}

// ---- LayerNormalization (opset 17) ----------------------------------------------------

// Normalizes over the axes [axis, rank); Scale and B have that trailing
// shape (or broadcast to it), B defaults to zeros. stash_type only names the
// precision of the statistics, which the IR keeps in double anyway.
void map_layer_norm(NodeContext& c) {
  ValueId x = c.tensor(0);
  const TensorType xt = c.type_of(x);
  int64_t rank = xt.shape.rank();
  int64_t axis = c.attr_int("axis", -1);
  if (axis < -rank || axis >= rank)
    c.unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  if (axis < 0) axis += rank;
  double eps = c.attr_float("epsilon", 1e-5);
  std::vector<int64_t> axes, normalized;
  for (int64_t a = axis; a < rank; ++a) {
    axes.push_back(a);
    normalized.push_back(xt.shape[int(a)]);
  }
  auto as_normalized = [&](ValueId v) {
    if (c.type_of(v).shape.dims == normalized) return v;
    return c.op(OpKind::Broadcast, {v}, Attrs{{"shape", normalized}});
  };
  ValueId scale = as_normalized(c.tensor(1));
  ValueId bias = c.has_input(2) ? as_normalized(c.tensor(2))
                                : c.op(OpKind::Broadcast, {c.scalar(0.0, xt.dtype)},
                                       Attrs{{"shape", normalized}});
  c.set_output(0, c.op(OpKind::LayerNorm, {x, scale, bias}, Attrs{{"axes", axes}, {"eps", eps}}));
  if (c.wants_output(1) || c.wants_output(2)) {
    Moments m = moments(c, x, axes);
    c.set_output(1, m.mean);
    c.set_output(2, inv_std(c, m.var, eps));
  }
}

// ---- MeanVarianceNormalization, InstanceNormalization ------------------------------------

// MVN (opset 9+): y = (x - mean) / (sqrt(var) + 1e-9) over `axes` (default
// 0, 2, 3), ONNX's function body with the variance of the centered values.
void map_mvn(NodeContext& c) {
  ValueId x = c.tensor(0);
  std::vector<int64_t> axes = c.attr_ints("axes");
  if (!c.has_attr("axes")) axes = {0, 2, 3};
  Moments m = moments(c, x, axes);
  DType t = c.type_of(x).dtype;
  ValueId std_dev = c.op(OpKind::Add, {c.op(OpKind::Sqrt, {m.var}), c.scalar(1e-9, t)});
  c.set_output(0, c.op(OpKind::Div, {m.centered, std_dev}));
}

// Per example and channel, over the spatial axes:
//   y = (x - mean) / sqrt(var + epsilon) scale[c] + B[c]
void map_instance_norm(NodeContext& c) {
  ValueId x = c.tensor(0);
  const TensorType xt = c.type_of(x);
  int64_t rank = xt.shape.rank();
  if (rank < 3)
    c.unsupported(fmt::format("the input {} has no spatial axes (N, C, D1, ...)", to_string(xt)));
  std::vector<int64_t> axes, per_channel{xt.shape[1]};
  for (int64_t a = 2; a < rank; ++a) {
    axes.push_back(a);
    per_channel.push_back(1);
  }
  Moments m = moments(c, x, axes);
  ValueId y = c.op(OpKind::Mul, {m.centered, inv_std(c, m.var, c.attr_float("epsilon", 1e-5))});
  y = c.op(OpKind::Mul, {y, c.reshape(c.tensor(1), per_channel)});
  c.set_output(0, c.op(OpKind::Add, {y, c.reshape(c.tensor(2), per_channel)}));
}

// Local response normalization across channels (axis 1):
//   y = x / (bias + alpha / size sum_{c' near c} x[c']^2)^beta
// the window c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2), cut at the
// edges: the squares padded with zeros on the channel axis, and `size`
// slices of them added.
void map_lrn(NodeContext& c) {
  ValueId x = c.tensor(0);
  const TensorType xt = c.type_of(x);
  if (xt.shape.rank() < 3)
    c.unsupported(fmt::format("the input {} is not N, C, D1, ...", to_string(xt)));
  int64_t size = c.attr_int("size", 0), channels = xt.shape[1];
  if (size < 1) c.unsupported(fmt::format("size {}", size));
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  ValueId sq = c.op(OpKind::Mul, {x, x});
  ValueId padded =
      c.op(OpKind::Pad, {sq}, Attrs{{"axis", int64_t{1}}, {"before", before}, {"after", after}});
  std::optional<ValueId> sum;
  for (int64_t k = 0; k < size; ++k) {
    ValueId part = c.op(OpKind::Slice, {padded},
                        Attrs{{"axis", int64_t{1}}, {"start", k}, {"end", k + channels}});
    sum = sum ? c.op(OpKind::Add, {*sum, part}) : part;
  }
  DType t = xt.dtype;
  double alpha = c.attr_float("alpha", 1e-4), beta = c.attr_float("beta", 0.75);
  ValueId base = c.op(OpKind::Add, {c.scalar(c.attr_float("bias", 1.0), t),
                                    c.op(OpKind::Mul, {*sum, c.scalar(alpha / double(size), t)})});
  c.set_output(0, c.op(OpKind::Div, {x, c.op(OpKind::Pow, {base, c.scalar(beta, t)})}));
}

} // namespace

// ---- BatchNormalization, training_mode=1 (opset 14+) -----------------------------------

// Statistics over every axis but the channels (1), biased variance, and
//   running_mean = input_mean momentum + mean (1 - momentum)
//   running_var  = input_var momentum + var (1 - momentum)
// as ONNX's reference computes them. Called by the BatchNormalization mapping.
void map_batchnorm_training(NodeContext& c) {
  ValueId x = c.tensor(0);
  const TensorType xt = c.type_of(x);
  int64_t rank = xt.shape.rank();
  if (rank < 2) c.unsupported(fmt::format("the input {} has no channel axis", to_string(xt)));
  int64_t channels = xt.shape[1];
  std::vector<int64_t> axes{0}, per_channel{channels};
  for (int64_t a = 2; a < rank; ++a) {
    axes.push_back(a);
    per_channel.push_back(1);
  }
  DType t = xt.dtype;
  double eps = c.attr_float("epsilon", 1e-5), momentum = c.attr_float("momentum", 0.9);
  Moments m = moments(c, x, axes);
  ValueId scale = c.reshape(c.tensor(1), per_channel), bias = c.reshape(c.tensor(2), per_channel);
  ValueId y = c.op(OpKind::Mul, {m.centered, inv_std(c, m.var, eps)});
  c.set_output(0, c.op(OpKind::Add, {c.op(OpKind::Mul, {y, scale}), bias}));
  auto running = [&](int input, ValueId batch_stat) {
    ValueId old = c.tensor(input, OpKind::State);
    ValueId now = c.reshape(batch_stat, c.type_of(old).shape.dims);
    return c.op(OpKind::Add, {c.op(OpKind::Mul, {old, c.scalar(momentum, t)}),
                              c.op(OpKind::Mul, {now, c.scalar(1 - momentum, t)})});
  };
  if (c.wants_output(1)) c.set_output(1, running(3, m.mean));
  if (c.wants_output(2)) c.set_output(2, running(4, m.var));
}

namespace {

const OpMapping kNormMappings[] = {
    {"LayerNormalization", {"axis", "epsilon", "stash_type"}, map_layer_norm},
    {"MeanVarianceNormalization", {"axes"}, map_mvn},
    {"InstanceNormalization", {"epsilon"}, map_instance_norm},
    {"LRN", {"alpha", "beta", "bias", "size"}, map_lrn},
};

} // namespace

std::span<const OpMapping> norm_mappings() { return kNormMappings; }

} // namespace netc::onnx_import
