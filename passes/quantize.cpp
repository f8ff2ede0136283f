#include "passes/quantize.h"

#include "ir/error.h"
#include "ir/interpreter.h"
#include "ir/op_traits.h"
#include "passes/cleanup.h"
#include "passes/rewrite.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace netc {

namespace {

std::string where(const Node& n) {
  return n.loc.line > 0 ? fmt::format("line {}: {}", n.loc.line, op_name(n.op))
                        : std::string(op_name(n.op));
}

// Why the matmul node v cannot be quantized, or "" when it can.
std::string refusal(const Graph& g, ValueId v, const std::vector<bool>& dep) {
  const Node& n = g.node(v);
  const TensorType &a = g.node(n.inputs[0]).type, &b = g.node(n.inputs[1]).type;
  if (n.attrs.get_int("transpose_a", 0) || n.attrs.get_int("transpose_b", 0))
    return "a transposed operand";
  if (a.shape.rank() != 2 || b.shape.rank() != 2) return "a batched (rank > 2) matmul";
  if (a.dtype != DType::f32 || b.dtype != DType::f32) return "not f32";
  if (dep[size_t(n.inputs[1])]) return "its right operand depends on the data (not a weight)";
  if (a.shape[1] == kBatch) return "the batch is the reduction";
  return "";
}

// conv2d's W [O,C,KH,KW] as the matrix M [KH G 4, O] of the taps of a kernel
// row, k = kw C + c padded with zero rows to G 4 = 4 ceil(KW C / 4) per row,
// quantized per column o (= per output channel) and packed, then viewed as
// conv2d_i8's weight [KH, G, O, 4]:
//   M = reshape(pad(reshape(transpose(W, [2,3,1,0]), [KH, KW C, O]), G 4 - KW C), [KH G 4, O])
} // namespace

QuantizedWeight quantize_conv_weight(GraphBuilder& b, ValueId w, SourceLoc loc) {
  const Shape& ws = b.graph().node(w).type.shape;
  int64_t O = ws[0], C = ws[1], KH = ws[2], KW = ws[3], G = (KW * C + 3) / 4;
  ValueId t = b.op(OpKind::Transpose, {w}, Attrs{{"perm", std::vector<int64_t>{2, 3, 1, 0}}}, loc);
  ValueId rows =
      b.op(OpKind::Reshape, {t}, Attrs{{"shape", std::vector<int64_t>{KH, KW * C, O}}}, loc);
  if (G * 4 != KW * C)
    rows =
        b.op(OpKind::Pad, {rows},
             Attrs{{"axis", int64_t(1)}, {"before", int64_t(0)}, {"after", G * 4 - KW * C}}, loc);
  ValueId m =
      b.op(OpKind::Reshape, {rows}, Attrs{{"shape", std::vector<int64_t>{KH * G * 4, O}}}, loc);
  ValueId wq = b.op(OpKind::QuantizeWeight, {m}, {}, loc);
  return {b.op(OpKind::Reshape, {wq}, Attrs{{"shape", std::vector<int64_t>{KH, G, O, 4}}}, loc),
          b.op(OpKind::WeightScale, {m}, {}, loc), b.op(OpKind::WeightColsum, {wq}, {}, loc)};
}

namespace {

// A conv's bias as [O, 1, 1], so that it broadcasts over the image. A
// weights-only bias goes through a sum over one element (exact): a
// reduction is an anchor, so the bias that the inference pipeline folded
// from batch norm (a sqrt and a division per channel) is computed by a
// prepare kernel once per checkpoint instead of inlined into the int8
// conv's epilogue, where the pool evaluated it per channel vector and tap.
ValueId conv_bias(GraphBuilder& b, ValueId bias, int64_t O, bool weights_only, SourceLoc loc) {
  if (!weights_only)
    return b.op(OpKind::Reshape, {bias}, Attrs{{"shape", std::vector<int64_t>{O, 1, 1}}}, loc);
  ValueId r =
      b.op(OpKind::Reshape, {bias}, Attrs{{"shape", std::vector<int64_t>{O, 1, 1, 1}}}, loc);
  return b.op(OpKind::ReduceSum, {r}, Attrs{{"axes", std::vector<int64_t>{3}}}, loc);
}

// conv2d(x, W[, b]) -> dequantize(conv2d_i8(q, wq), scale, colsum) [+ b], the
// bias already [O, 1, 1] (conv_bias) or -1.
ValueId rewrite_conv(GraphBuilder& b, const Node& n, const Shape& ws, ValueId bias, ValueId q,
                     const QuantizedWeight& p, const QuantParams& qp) {
  Attrs ca{{"kernel", std::vector<int64_t>{ws[2], ws[3]}}, {"zero_point", qp.zero_point}};
  for (const char* name : {"stride", "pad"})
    if (n.attrs.has(name)) ca.set(name, n.attrs.get_ints(name));
  ValueId acc = b.op(OpKind::Conv2dI8, {q, p.wq}, ca, n.loc);
  ValueId y =
      b.op(OpKind::Dequantize, {acc, p.scale, p.colsum},
           Attrs{{"scale", qp.scale}, {"zero_point", qp.zero_point}, {"axis", int64_t(1)}}, n.loc);
  if (bias < 0) return y;
  return b.op(OpKind::Add, {y, bias}, {}, n.loc);
}

// quantize(x) in the rewritten graph; when x is a reshape (the flatten
// between a conv's pool and a dense layer), reshape(quantize(src)) instead:
// the same u8 values, but the quantize can end the conv's kernel, so that
// the pooled activations reach memory as u8, and the reshape is a view.
ValueId quantize_input(GraphBuilder& b, const Graph& g, const std::vector<ValueId>& map, ValueId x,
                       const Attrs& a, SourceLoc loc) {
  const Node& n = g.node(x);
  if (n.op != OpKind::Reshape) return b.op(OpKind::Quantize, {map[size_t(x)]}, a, loc);
  ValueId q = b.op(OpKind::Quantize, {map[size_t(n.inputs[0])]}, a, loc);
  return b.op(OpKind::Reshape, {q}, n.attrs, loc);
}

// Why the conv2d node v cannot be quantized, or "" when it can.
std::string conv_refusal(const Graph& g, ValueId v, const std::vector<bool>& dep) {
  const Node& n = g.node(v);
  const TensorType &x = g.node(n.inputs[0]).type, &w = g.node(n.inputs[1]).type;
  // A depthwise conv has 1 input channel per group: 1 useful tap in 4 of
  // each vpdpbusd group, and too few FLOPs to matter in these models.
  if (n.attrs.get_int("groups", 1) != 1) return "a grouped (depthwise) convolution: no int8 kernel";
  if (n.attrs.has("dilation") && n.attrs.get_ints("dilation") != std::vector<int64_t>{1, 1})
    return "a dilated convolution: no int8 kernel";
  if (x.dtype != DType::f32 || w.dtype != DType::f32) return "not f32";
  if (dep[size_t(n.inputs[1])]) return "its weights depend on the data";
  return "";
}

} // namespace

QuantizableOps find_quantizable(const Graph& g) {
  QuantizableOps q;
  std::vector<bool> dep = data_dependent(g);
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    switch (op_traits(n.op).kernel) {
    case KernelKind::matmul:
      if (n.op != OpKind::MatMul) break;
      if (std::string why = refusal(g, v, dep); !why.empty())
        q.refused.push_back(fmt::format("{}: {} (stays f32)", where(n), why));
      else
        q.matmuls.push_back(v);
      break;
    case KernelKind::conv:
      if (n.op != OpKind::Conv2d) {
        q.refused.push_back(fmt::format("{}: no int8 kernel (stays f32)", where(n)));
      } else if (std::string why = conv_refusal(g, v, dep); !why.empty()) {
        q.refused.push_back(fmt::format("{}: {} (stays f32)", where(n), why));
      } else {
        q.convs.push_back(v);
      }
      break;
    default: break;
    }
  }
  return q;
}

Calibration calibrate(const Graph& g, const std::map<std::string, Tensor<float>>& weights,
                      const std::map<std::string, Tensor<float>>& inputs, int64_t chunk) {
  QuantizableOps q = find_quantizable(g);
  Calibration c;
  if (inputs.empty()) internal_error("calibrate: no inputs");
  int64_t n = inputs.begin()->second.dim(0);
  c.examples = n;
  for (int64_t start = 0; start < n; start += chunk) {
    int64_t count = std::min(chunk, n - start);
    std::map<std::string, Tensor<float>> values = weights;
    for (const auto& [name, t] : inputs) {
      std::vector<int64_t> shape = t.shape;
      shape[0] = count;
      Tensor<float> part(shape);
      int64_t row = t.size() / t.dim(0);
      std::copy_n(t.data.begin() + start * row, count * row, part.data.begin());
      values[name] = std::move(part);
    }
    // Inputs the ranges cannot depend on (labels, for a loss that the
    // inference graph still computes): zeros.
    for (ValueId v : g.leaves(OpKind::Input)) {
      const Node& leaf = g.node(v);
      const std::string& name = leaf.attrs.get_str("name");
      if (!values.count(name)) values[name] = Tensor<float>(leaf.type.shape.concrete(count));
    }
    RefContext<float> ctx;
    ctx.batch = count;
    ctx.values = &values;
    std::vector<Tensor<float>> out = interpret(g, ctx);
    std::vector<ValueId> ops = q.matmuls;
    ops.insert(ops.end(), q.convs.begin(), q.convs.end());
    for (ValueId mm : ops) {
      ValueId a = g.node(mm).inputs[0];
      const Tensor<float>& t = out[size_t(a)];
      auto [lo, hi] = std::minmax_element(t.data.begin(), t.data.end());
      auto [it, fresh] = c.ranges.try_emplace(a, ValueRange{*lo, *hi});
      if (!fresh) it->second = {std::min(it->second.lo, *lo), std::max(it->second.hi, *hi)};
    }
  }
  return c;
}

QuantParams quant_params(ValueRange r) {
  double lo = std::min<double>(r.lo, 0), hi = std::max<double>(r.hi, 0);
  if (!(hi > lo)) return {1.0, 0};
  double scale = (hi - lo) / 255.0;
  auto zp = static_cast<int64_t>(std::clamp(std::nearbyint(-lo / scale), 0.0, 255.0));
  return {scale, zp};
}

PassResult quantize_int8(const Graph& g, const Calibration& c) {
  QuantizableOps q = find_quantizable(g);
  if (q.matmuls.empty() && q.convs.empty()) return {g, false};
  std::vector<bool> dep = data_dependent(g);
  Graph out;
  out.name = g.name;
  out.source_file = g.source_file;
  out.train = g.train;
  GraphBuilder b(out);
  std::vector<ValueId> map(static_cast<size_t>(g.size()), -1);
  auto copy = [&](ValueId v) {
    Node n = g.node(v);
    for (ValueId& i : n.inputs) i = map[size_t(i)];
    map[size_t(v)] = copy_node(b, n);
  };
  // Weights first, then their quantized forms: the kernels that compute from
  // params alone must come before every data kernel to be the program's
  // prepare kernels (computed once per loaded checkpoint).
  for (ValueId v = 0; v < g.size(); ++v)
    if (!dep[size_t(v)]) copy(v);
  std::map<ValueId, QuantizedWeight> prepared;
  for (ValueId mm : q.matmuls) {
    const Node& n = g.node(mm);
    ValueId w = map[size_t(n.inputs[1])];
    ValueId wq = b.op(OpKind::QuantizeWeight, {w}, {}, n.loc);
    prepared[mm] = {wq, b.op(OpKind::WeightScale, {w}, {}, n.loc),
                    b.op(OpKind::WeightColsum, {wq}, {}, n.loc)};
  }
  std::map<ValueId, ValueId> biases;
  for (ValueId cv : q.convs) {
    const Node& n = g.node(cv);
    prepared[cv] = quantize_conv_weight(b, map[size_t(n.inputs[1])], n.loc);
    if (n.inputs.size() == 3 && !dep[size_t(n.inputs[2])])
      biases[cv] = conv_bias(b, map[size_t(n.inputs[2])], n.type.shape[1], true, n.loc);
  }
  for (ValueId v = 0; v < g.size(); ++v) {
    if (!dep[size_t(v)]) continue;
    auto p = prepared.find(v);
    if (p == prepared.end()) {
      copy(v);
      continue;
    }
    const Node& n = g.node(v);
    auto r = c.ranges.find(n.inputs[0]);
    if (r == c.ranges.end())
      internal_error(fmt::format("quantize_int8: no calibrated range for %{}", n.inputs[0]));
    QuantParams qp = quant_params(r->second);
    Attrs a{{"scale", qp.scale}, {"zero_point", qp.zero_point}};
    ValueId x = quantize_input(b, g, map, n.inputs[0], a, n.loc);
    if (n.op == OpKind::MatMul) {
      ValueId acc = b.op(OpKind::MatMulI8, {x, p->second.wq}, {}, n.loc);
      map[size_t(v)] = b.op(OpKind::Dequantize, {acc, p->second.scale, p->second.colsum}, a, n.loc);
      continue;
    }
    ValueId bias = -1;
    if (auto it = biases.find(v); it != biases.end())
      bias = it->second;
    else if (n.inputs.size() == 3)
      bias = conv_bias(b, map[size_t(n.inputs[2])], n.type.shape[1], false, n.loc);
    map[size_t(v)] = rewrite_conv(b, n, g.node(n.inputs[1]).type.shape, bias, x, p->second, qp);
  }
  auto remap = [&](NamedValue nv) {
    nv.value = map[size_t(nv.value)];
    return nv;
  };
  for (const NamedValue& o : g.outputs) out.outputs.push_back(remap(o));
  if (g.loss) out.loss = remap(*g.loss);
  for (const NamedValue& u : g.updates) out.updates.push_back(remap(u));
  // (The f32 values the rewrite bypassed, such as a flatten now applied to
  // the u8 values, would otherwise still count as uses in fusion.)
  return {eliminate_dead_code(out).graph, true};
}

} // namespace netc
