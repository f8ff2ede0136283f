// The ONNX mapping of each IR op, one case per op of ir/ops.def. The switch
// has no default, so a new op that lacks a line here is a compiler warning;
// ops ONNX inference has no use for (losses, gradients, training masks) say
// so explicitly by returning false, which the driver reports naming the op.
#include "codegen/onnx/export_context.h"

#include "ir/ops/common.h"
#include "ir/ops/resize.h"
#include "ir/ops/window.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace netc::onnx_export {

namespace {

using conv_geometry::Window;

// pads as ONNX writes them: all begins, then all ends.
std::vector<int64_t> pads_of(const Window& w) { return {w.pad.h, w.pad.w, w.pad.h, w.pad.w}; }

// The target of Reshape as ONNX reads it. The batch dimension is 0 ("copy
// the input's extent") where the input has the batch at the same index, as
// after a flatten; elsewhere -1, which Reshape infers (and so only once).
std::vector<int64_t> reshape_target(const Shape& from, std::vector<int64_t> dims) {
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] == kBatch && static_cast<int>(i) < from.rank() &&
        from[static_cast<int>(i)] == kBatch)
      dims[i] = 0;
  if (std::count(dims.begin(), dims.end(), kBatch) > 1)
    throw ShapeError("a reshape that moves two batch dimensions has no ONNX form (-1 is inferred "
                     "once)");
  return dims;
}

// A matmul operand with its last two axes swapped.
std::string swap_last_two(Emitter& e, const std::string& x, int rank) {
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) perm[static_cast<size_t>(i)] = i;
  std::swap(perm[static_cast<size_t>(rank - 2)], perm[static_cast<size_t>(rank - 1)]);
  onnx::NodeProto& t = e.add_node("Transpose", {x}, "");
  set_attr(t, "perm", perm);
  return t.output(0);
}

// gelu(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); the tanh form
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). ONNX has Gelu from opset 20.
void emit_gelu(Emitter& e, const std::string& x, bool tanh_form, const std::string& out) {
  std::string inner;
  if (tanh_form) {
    std::string cube = e.node("Mul", {e.node("Mul", {x, x}), x});
    std::string poly = e.node("Add", {x, e.node("Mul", {cube, e.scalar(0.044715)})});
    double c = std::sqrt(2.0 / std::numbers::pi);
    inner = e.node("Tanh", {e.node("Mul", {poly, e.scalar(c)})});
  } else {
    inner = e.node("Erf", {e.node("Mul", {x, e.scalar(1.0 / std::numbers::sqrt2)})});
  }
  std::string half_x = e.node("Mul", {x, e.scalar(0.5)});
  e.node("Mul", {half_x, e.node("Add", {inner, e.scalar(1.0)})}, out);
}

} // namespace

bool emit_op(Emitter& e, ValueId v, const std::string& out) {
  const Node& n = e.graph().node(v);
  const Attrs& a = n.attrs;
  auto in = [&](size_t i) { return e.name(n.inputs.at(i)); };
  auto in_type = [&](size_t i) { return e.graph().node(n.inputs.at(i)).type; };
  auto unary = [&](const char* op) { e.node(op, {in(0)}, out); };
  auto binary = [&](const char* op) { e.node(op, {in(0), in(1)}, out); };
  switch (n.op) {
  // Leaves are the driver's: graph inputs, initializers, the batch extent.
  case OpKind::Input:
  case OpKind::Param:
  case OpKind::State:
  case OpKind::Hyper:
  case OpKind::Constant:
  case OpKind::BatchSize: return false;

  case OpKind::Neg: unary("Neg"); return true;
  case OpKind::Exp: unary("Exp"); return true;
  case OpKind::Log: unary("Log"); return true;
  case OpKind::Sqrt: unary("Sqrt"); return true;
  case OpKind::Abs: unary("Abs"); return true;
  case OpKind::Relu: unary("Relu"); return true;
  case OpKind::Sigmoid: unary("Sigmoid"); return true;
  case OpKind::Tanh: unary("Tanh"); return true;
  case OpKind::Erf: unary("Erf"); return true;
  case OpKind::LeakyRelu: // the IR's defaults, not ONNX's (both 0.01 and 1.0 today)
    set_attr(e.add_node("LeakyRelu", {in(0)}, out), "alpha", a.get_float("alpha", 0.01));
    return true;
  case OpKind::Elu:
    set_attr(e.add_node("Elu", {in(0)}, out), "alpha", a.get_float("alpha", 1.0));
    return true;
  case OpKind::Add: binary("Add"); return true;
  case OpKind::Sub: binary("Sub"); return true;
  case OpKind::Mul: binary("Mul"); return true;
  case OpKind::Div: binary("Div"); return true;
  case OpKind::Pow: binary("Pow"); return true;
  case OpKind::Maximum: binary("Max"); return true;
  case OpKind::Minimum: binary("Min"); return true;
  case OpKind::Step: { // [x > 0] as 0/1 floats
    onnx::NodeProto& cast = e.add_node("Cast", {e.node("Greater", {in(0), e.scalar(0)})}, out);
    set_attr(cast, "to", int64_t{onnx::TensorProto::FLOAT});
    return true;
  }
  case OpKind::Gelu:
    emit_gelu(e, in(0), a.get_str("approximate", "none") == "tanh", out);
    return true;
  case OpKind::Relu6: e.node("Clip", {in(0), e.scalar(0), e.scalar(6)}, out); return true;
  case OpKind::HardSigmoid: { // max(0, min(1, x/6 + 1/2)) = relu6(x + 3) / 6
    onnx::NodeProto& h = e.add_node("HardSigmoid", {in(0)}, out);
    set_attr(h, "alpha", 1.0 / 6.0);
    set_attr(h, "beta", 0.5);
    return true;
  }
  case OpKind::HardSwish: unary("HardSwish"); return true;

  case OpKind::ReduceSum:
  case OpKind::ReduceMean:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin: {
    std::vector<int> axes = reduce_axes(a, in_type(0));
    std::vector<int64_t> axes64(axes.begin(), axes.end());
    int64_t keep = flag_attr(a, "keepdims") ? 1 : 0;
    // Opset 13 takes ReduceSum's axes as an input, the others' as an attribute.
    if (n.op == OpKind::ReduceSum) {
      set_attr(e.add_node("ReduceSum", {in(0), e.int64s(axes64)}, out), "keepdims", keep);
      return true;
    }
    const char* op = n.op == OpKind::ReduceMean  ? "ReduceMean"
                     : n.op == OpKind::ReduceMax ? "ReduceMax"
                                                 : "ReduceMin";
    onnx::NodeProto& r = e.add_node(op, {in(0)}, out);
    set_attr(r, "axes", axes64);
    set_attr(r, "keepdims", keep);
    return true;
  }

  case OpKind::Reshape:
    e.node("Reshape", {in(0), e.int64s(reshape_target(in_type(0).shape, a.get_ints("shape")))},
           out);
    return true;
  case OpKind::Transpose: {
    std::vector<int> perm = transpose_perm(a, in_type(0));
    set_attr(e.add_node("Transpose", {in(0)}, out), "perm",
             std::vector<int64_t>(perm.begin(), perm.end()));
    return true;
  }
  case OpKind::Concat: {
    std::vector<std::string> parts;
    for (size_t i = 0; i < n.inputs.size(); ++i) parts.push_back(in(i));
    set_attr(e.add_node("Concat", parts, out), "axis",
             int64_t{normalize_axis(a.get_int("axis"), n.type)});
    return true;
  }
  case OpKind::Slice: {
    SliceBounds s = slice_bounds(a, in_type(0));
    e.node("Slice", {in(0), e.int64s({s.start}), e.int64s({s.end}), e.int64s({s.axis})}, out);
    return true;
  }
  case OpKind::Broadcast: {
    // Expand broadcasts like numpy; a 1 in its shape keeps the input's extent,
    // which stands for the batch where the input has it.
    std::vector<int64_t> to = a.get_ints("shape");
    const Shape& from = in_type(0).shape;
    for (size_t i = 0; i < to.size(); ++i) {
      if (to[i] != kBatch) continue;
      int j = from.rank() - static_cast<int>(to.size() - i);
      if (j < 0 || from[j] != kBatch)
        throw ShapeError("a broadcast to the batch dimension of a value without one has no "
                         "static ONNX form");
      to[i] = 1;
    }
    e.node("Expand", {in(0), e.int64s(to)}, out);
    return true;
  }
  case OpKind::Pad: {
    int rank = n.type.shape.rank();
    int axis = normalize_axis(a.get_int("axis"), in_type(0));
    std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 0);
    pads[static_cast<size_t>(axis)] = a.get_int("before", 0);
    pads[static_cast<size_t>(rank + axis)] = a.get_int("after", 0);
    e.node("Pad", {in(0), e.int64s(pads)}, out);
    return true;
  }

  case OpKind::MatMul: {
    std::string x = in(0), y = in(1);
    if (flag_attr(a, "transpose_a")) x = swap_last_two(e, x, in_type(0).shape.rank());
    if (flag_attr(a, "transpose_b")) y = swap_last_two(e, y, in_type(1).shape.rank());
    e.node("MatMul", {x, y}, out);
    return true;
  }

  case OpKind::Conv2d: {
    Window w = conv_geometry::conv_window(a, in_type(1).shape);
    std::vector<std::string> ins{in(0), in(1)};
    if (n.inputs.size() > 2) ins.push_back(in(2));
    onnx::NodeProto& c = e.add_node("Conv", ins, out);
    set_attr(c, "kernel_shape", std::vector<int64_t>{w.kernel.h, w.kernel.w});
    set_attr(c, "strides", std::vector<int64_t>{w.stride.h, w.stride.w});
    set_attr(c, "pads", pads_of(w));
    set_attr(c, "dilations", std::vector<int64_t>{w.dilation.h, w.dilation.w});
    set_attr(c, "group", w.groups);
    return true;
  }
  case OpKind::Conv2dBackwardInput: { // the conv2d_transpose layer; same weight layout
    Window w = conv_geometry::conv_window(a, in_type(1).shape);
    onnx::NodeProto& c = e.add_node("ConvTranspose", {in(0), in(1)}, out);
    set_attr(c, "kernel_shape", std::vector<int64_t>{w.kernel.h, w.kernel.w});
    set_attr(c, "strides", std::vector<int64_t>{w.stride.h, w.stride.w});
    set_attr(c, "pads", pads_of(w));
    set_attr(c, "dilations", std::vector<int64_t>{w.dilation.h, w.dilation.w});
    set_attr(c, "group", w.groups);
    if (a.has("output_padding")) set_attr(c, "output_padding", a.get_ints("output_padding"));
    return true;
  }
  case OpKind::MaxPool:
  case OpKind::AvgPool: {
    // Padding is never selected by maxpool nor counted by avgpool unless
    // count_include_pad: ONNX's MaxPool and AveragePool semantics exactly.
    Window w = conv_geometry::pool_window(a);
    bool max = n.op == OpKind::MaxPool;
    onnx::NodeProto& p = e.add_node(max ? "MaxPool" : "AveragePool", {in(0)}, out);
    set_attr(p, "kernel_shape", std::vector<int64_t>{w.kernel.h, w.kernel.w});
    set_attr(p, "strides", std::vector<int64_t>{w.stride.h, w.stride.w});
    set_attr(p, "pads", pads_of(w));
    if (!max)
      set_attr(p, "count_include_pad", int64_t{conv_geometry::count_include_pad(a) ? 1 : 0});
    return true;
  }
  case OpKind::GlobalAvgPool: // [N,C,H,W] -> [N,C,1,1] -> [N,C]
    set_attr(e.add_node("Flatten", {e.node("GlobalAveragePool", {in(0)})}, out), "axis",
             int64_t{1});
    return true;

  case OpKind::Upsample: {
    // nearest: source row floor(o / s) (asymmetric, floor); bilinear: PyTorch's
    // align_corners=False, source (o + 1/2) / s - 1/2 (half_pixel).
    resize_geometry::Scale s = resize_geometry::scale_attr(a);
    bool bilinear = resize_geometry::resize_mode(a) == resize_geometry::Mode::bilinear;
    Tensor<float> scales(std::vector<int64_t>{4});
    scales.data = {1.0f, 1.0f, static_cast<float>(s.h), static_cast<float>(s.w)};
    onnx::NodeProto& r = e.add_node("Resize", {in(0), "", e.initializer("scales", scales)}, out);
    set_attr(r, "mode", std::string(bilinear ? "linear" : "nearest"));
    set_attr(r, "coordinate_transformation_mode",
             std::string(bilinear ? "half_pixel" : "asymmetric"));
    if (!bilinear) set_attr(r, "nearest_mode", std::string("floor"));
    return true;
  }

  case OpKind::BatchNorm: { // (x, gamma, beta, mean, var); inference form
    int64_t axis = a.get_int("axis", 1);
    if (axis != 1) throw ShapeError("ONNX's BatchNormalization normalizes axis 1 only");
    onnx::NodeProto& b = e.add_node("BatchNormalization", {in(0), in(1), in(2), in(3), in(4)}, out);
    set_attr(b, "epsilon", a.get_float("eps", 1e-5));
    return true;
  }
  case OpKind::Dropout: e.node("Identity", {in(0)}, out); return true; // inference: identity
  case OpKind::LayerNorm: {
    // Over the trailing axes: ONNX's axis is the first of them.
    std::vector<int64_t> axes = a.get_ints("axes");
    int first = n.type.shape.rank();
    for (int64_t ax : axes) first = std::min(first, normalize_axis(ax, n.type, "axes"));
    onnx::NodeProto& l = e.add_node("LayerNormalization", {in(0), in(1), in(2)}, out);
    set_attr(l, "axis", int64_t{first});
    set_attr(l, "epsilon", a.get_float("eps", 1e-5));
    return true;
  }
  case OpKind::Softmax:
  case OpKind::LogSoftmax: {
    onnx::NodeProto& s =
        e.add_node(n.op == OpKind::Softmax ? "Softmax" : "LogSoftmax", {in(0)}, out);
    set_attr(s, "axis", int64_t{normalize_axis(a.get_int("axis", -1), n.type)});
    return true;
  }

  case OpKind::Gather: // rows of the [V, D] table (axis 0) picked by the ids
    e.node("Gather", {in(0), in(1)}, out);
    return true;

  // Training-only ops: a loss is not part of the exported graph, and the
  // rest only appear in training steps.
  case OpKind::GatherBackward:
  case OpKind::Conv2dBackwardWeight:
  case OpKind::MaxPoolBackward:
  case OpKind::AvgPoolBackward:
  case OpKind::UpsampleBackward:
  case OpKind::DropoutMask:
  case OpKind::SoftmaxCrossEntropy:
  case OpKind::SigmoidCrossEntropy:
  case OpKind::Mse:
  case OpKind::OneHot: return false;
  // int8 inference graphs (passes/quantize.h) are not exported: export
  // writes the f32 model, which ONNX Runtime can quantize itself.
  case OpKind::Quantize:
  case OpKind::QuantizeWeight:
  case OpKind::WeightScale:
  case OpKind::WeightColsum:
  case OpKind::MatMulI8:
  case OpKind::Conv2dI8:
  case OpKind::Dequantize: return false;
  // Nor are prepacked weights (passes/prepack.h): export reads the parsed
  // graph, before any inference pass.
  case OpKind::PackConvWeight:
  case OpKind::Conv2dPacked: return false;
  }
  return false;
}

} // namespace netc::onnx_export
