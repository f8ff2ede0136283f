// ONNX -> IR: SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss (opset
// 12 on). Both pick, for every position (n, d1..dk) of an [N, C, d1..dk]
// input, the entry of class t = labels[n, d1..dk], weight it by w[t] (1
// without weights; 0 when t = ignore_index) and negate it:
//   loss[n, d..] = -w[t] lp[n, t, d..]
// with lp = log_softmax(scores, axis 1) for SCE and lp = input for NLL. The
// pick is a product with the rows' class mask M[n, c, d..] = [c = t] and a
// sum over the class axis (exact: one nonzero term per sum). Reductions:
//   none: loss; sum: sum(loss); mean: sum(loss) / sum(w[t]) with weights or
//   an ignore_index, else the plain mean over the N d1..dk positions.
// The mask comes from the labels in one of two ways:
//   - labels known at import time (a constant, or an input the conformance
//     runner binds): M is a constant, built here; any ignore_index works.
//   - labels fed at run time (i32/i64): M = one_hot(labels). A label must
//     then be a class index (one_hot rejects others as a data error), so an
//     ignore_index outside [0, C) can never match, and one inside [0, C) is
//     a class whose mask column is zeroed.
// The common PyTorch case (2-D scores, runtime labels, mean, no log_prob
// output, no usable ignore_index, constant non-negative weights) maps to the
// fused softmax_cross_entropy op, whose definition is the same.
#include "frontend/onnx/import_context.h"

#include <cmath>
#include <fmt/format.h>
#include <optional>

namespace netc::onnx_import {

namespace {

enum class Reduction { none, sum, mean };

Reduction reduction_of(const NodeContext& c) {
  std::string r = c.attr_str("reduction", "mean");
  if (r == "none") return Reduction::none;
  if (r == "sum") return Reduction::sum;
  if (r == "mean") return Reduction::mean;
  c.unsupported(fmt::format("reduction '{}' is not one of none, sum, mean", r));
}

// The shape the labels must have: the scores' shape without the class axis.
std::vector<int64_t> label_dims(const std::vector<int64_t>& scores) {
  std::vector<int64_t> d = {scores[0]};
  d.insert(d.end(), scores.begin() + 2, scores.end());
  return d;
}

// A constant tensor made by the importer (not an ONNX name): defined under a
// name derived from the node's first output, then made a leaf like any
// folded value.
ValueId constant_tensor(NodeContext& c, Folded f, const std::string& suffix) {
  // (A node may have no outputs: found by fuzzing, output(0) aborted in protobuf.)
  std::string base = c.num_outputs() > 0 ? c.node().output(0) : c.node().name();
  std::string name = base + "." + suffix;
  OnnxValue v;
  v.folded = std::move(f);
  c.importer().define(name, std::move(v));
  return c.importer().materialize(name, OpKind::Param);
}

// The class mask M[n, c, d..] = [c = t] (0 where t = ignore_index) of labels
// known at import time.
ValueId folded_mask(NodeContext& c, const Folded& labels, const std::vector<int64_t>& dims,
                    std::optional<int64_t> ignore) {
  int64_t C = dims[1], inner = 1;
  for (size_t i = 2; i < dims.size(); ++i) inner *= dims[i];
  Folded m;
  m.dims = dims;
  m.data.assign(size_t(labels.elements() * C), 0.0);
  for (int64_t p = 0; p < labels.elements(); ++p) {
    int64_t t = folded_int(labels.data[size_t(p)]);
    if (ignore && t == *ignore) continue;
    if (t < 0 || t >= C)
      c.unsupported(fmt::format("label {} (element {}) is not a class index in [0, {}) nor the "
                                "ignore_index",
                                t, p, C));
    int64_t n = p / inner, d = p % inner;
    m.data[size_t((n * C + t) * inner + d)] = 1.0;
  }
  return constant_tensor(c, std::move(m), "class_mask");
}

// The class mask of labels fed at run time: one_hot, moved to [N, C, d..].
ValueId runtime_mask(NodeContext& c, ValueId labels, const std::vector<int64_t>& dims,
                     std::optional<int64_t> ignore) {
  int64_t C = dims[1];
  ValueId m = c.op(OpKind::OneHot, {labels},
                   Attrs{{"num_classes", C}, {"dtype", std::string(dtype_name(DType::f32))}});
  if (dims.size() > 2) { // [N, d1..dk, C] -> [N, C, d1..dk]
    std::vector<int64_t> perm = {0, int64_t(dims.size()) - 1};
    for (int64_t i = 1; i + 1 < int64_t(dims.size()); ++i) perm.push_back(i);
    m = c.op(OpKind::Transpose, {m}, Attrs{{"perm", perm}});
  }
  if (ignore && *ignore >= 0 && *ignore < C) {
    Folded keep;
    keep.dims = std::vector<int64_t>(dims.size() - 1, 1);
    keep.dims[0] = C;
    keep.data.assign(size_t(C), 1.0);
    keep.data[size_t(*ignore)] = 0.0;
    m = c.op(OpKind::Mul, {m, constant_tensor(c, std::move(keep), "ignore_mask")});
  }
  return m;
}

// Labels that are a graph input declare their class count, as a `.nn` label
// `class(C)` does: random inputs (`netc run`) then draw class indices, and
// the IR's class-count check (ir/class_labels.h) applies.
void declare_classes(NodeContext& c, ValueId labels, int64_t C) {
  Node& n = c.importer().builder().graph().nodes[size_t(labels)];
  if (n.op == OpKind::Input && !is_float(n.type.dtype) && !n.attrs.has("num_classes"))
    n.attrs.set("num_classes", C);
}

// Whether PyTorch's fused loss op computes this node exactly.
bool fused_applies(NodeContext& c, const std::vector<int64_t>& dims, Reduction r,
                   std::optional<int64_t> ignore, bool labels_folded) {
  if (dims.size() != 2 || r != Reduction::mean || labels_folded || c.wants_output(1)) return false;
  if (ignore && *ignore >= 0 && *ignore < dims[1]) return false;
  if (!c.has_input(2)) return true;
  const Folded* w = c.folded(2);
  if (!w) return false;
  bool positive = false;
  for (double x : w->data) {
    if (!(x >= 0 && std::isfinite(x))) return false;
    positive |= x > 0;
  }
  return positive;
}

// Both ops; `softmax` says whether the input is scores (SCE) or
// log-probabilities (NLL).
void map_loss(NodeContext& c, bool softmax) {
  if (c.opset() < 12) c.unsupported("the op exists from opset 12");
  ValueId x = c.tensor(0);
  const TensorType xt = c.type_of(x);
  const std::vector<int64_t> dims = xt.shape.dims;
  if (!is_float(xt.dtype)) c.unsupported("the scores must be a float tensor");
  if (dims.size() < 2)
    c.unsupported(fmt::format("the input is {}; it needs [N, C, d1..dk]", to_string(xt)));
  int64_t C = dims[1];
  if (C == kBatch) c.unsupported("the class axis cannot be the batch dimension");
  Reduction r = reduction_of(c);
  std::optional<int64_t> ignore;
  if (c.has_attr("ignore_index")) ignore = c.attr_int("ignore_index", 0);

  const Folded* folded_labels = c.folded(1);
  std::vector<int64_t> want = label_dims(dims);
  if (folded_labels && folded_labels->dims != want)
    c.unsupported(fmt::format("the labels have shape {}; the input {} needs {}",
                              to_string(Shape(folded_labels->dims)), to_string(xt),
                              to_string(Shape(want))));
  if (folded_labels && is_float(folded_labels->dtype))
    c.unsupported("the labels must be integer class indices");
  if (c.has_input(2)) { // (a constant's shape, without making it a leaf the fused op never reads)
    std::vector<int64_t> wdims = c.folded(2) ? c.folded(2)->dims : c.type(2).shape.dims;
    if (wdims != std::vector<int64_t>{C})
      c.unsupported(fmt::format("the weights have shape {}; they need one per class ({})",
                                to_string(Shape(wdims)), C));
  }

  if (!folded_labels) declare_classes(c, c.tensor(1), C);
  if (softmax && fused_applies(c, dims, r, ignore, folded_labels != nullptr)) {
    Attrs attrs;
    if (c.has_input(2)) attrs.set("weights", c.folded(2)->data);
    c.set_output(0, c.op(OpKind::SoftmaxCrossEntropy, {x, c.tensor(1)}, attrs));
    return;
  }

  ValueId lp = softmax ? c.op(OpKind::LogSoftmax, {x}, Attrs{{"axis", int64_t{1}}}) : x;
  ValueId mask;
  if (folded_labels) {
    mask = folded_mask(c, *folded_labels, dims, ignore);
  } else {
    ValueId labels = c.tensor(1);
    const TensorType& lt = c.type_of(labels);
    if (lt.dtype != DType::i32 && lt.dtype != DType::i64)
      c.unsupported(
          fmt::format("the labels are {}; they must be integer class indices", to_string(lt)));
    if (lt.shape.dims != want)
      c.unsupported(fmt::format("the labels are {}; the input {} needs {}", to_string(lt),
                                to_string(xt), to_string(Shape(want))));
    mask = runtime_mask(c, labels, dims, ignore);
  }
  // M w[c]: the weights along the class axis, [C, 1, ..., 1].
  ValueId weight = mask;
  if (c.has_input(2)) {
    std::vector<int64_t> wdims(dims.size() - 1, 1);
    wdims[0] = C;
    weight = c.op(OpKind::Mul, {mask, c.reshape(c.tensor(2), wdims)});
  }
  Attrs class_sum{{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}};
  ValueId loss =
      c.op(OpKind::Neg, {c.op(OpKind::ReduceSum, {c.op(OpKind::Mul, {lp, weight})}, class_sum)});
  Attrs all{{"keepdims", int64_t{0}}};
  if (r == Reduction::sum) loss = c.op(OpKind::ReduceSum, {loss}, all);
  if (r == Reduction::mean) {
    if (c.has_input(2) || ignore)
      loss = c.op(OpKind::Div,
                  {c.op(OpKind::ReduceSum, {loss}, all), c.op(OpKind::ReduceSum, {weight}, all)});
    else
      loss = c.op(OpKind::ReduceMean, {loss}, all);
  }
  c.set_output(0, loss);
  if (softmax) c.set_output(1, lp);
}

void map_sce(NodeContext& c) { map_loss(c, true); }
void map_nll(NodeContext& c) { map_loss(c, false); }

const OpMapping kLossMappings[] = {
    {"SoftmaxCrossEntropyLoss", {"reduction", "ignore_index"}, map_sce},
    {"NegativeLogLikelihoodLoss", {"reduction", "ignore_index"}, map_nll},
};

} // namespace

std::span<const OpMapping> loss_mappings() { return kLossMappings; }

} // namespace netc::onnx_import
