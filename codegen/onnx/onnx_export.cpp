// The driver of the ONNX backend (onnx_export.h): which nodes are exported,
// which are folded into initializers, the names of values, and the
// ModelProto around the nodes that onnx_export_ops.cpp writes.
#include "codegen/onnx/onnx_export.h"

#include "codegen/onnx/export_context.h"
#include "ir/interpreter.h"

#include <fmt/format.h>

namespace netc {

namespace onnx_export {

void Emitter::set_name(ValueId v, std::string name) {
  if (names_.size() <= static_cast<size_t>(v)) names_.resize(static_cast<size_t>(v) + 1);
  used_.insert(name);
  names_[static_cast<size_t>(v)] = std::move(name);
}

std::string Emitter::fresh(const std::string& stem) {
  std::string name = stem;
  for (int k = 1; used_.count(name); ++k) name = fmt::format("{}_{}", stem, k);
  used_.insert(name);
  return name;
}

onnx::NodeProto& Emitter::add_node(const std::string& op_type,
                                   const std::vector<std::string>& inputs,
                                   const std::string& output) {
  onnx::NodeProto* n = out_.add_node();
  n->set_op_type(op_type);
  n->set_name(fresh("node_" + op_type));
  for (const std::string& i : inputs) n->add_input(i);
  n->add_output(output.empty() ? fresh(op_type) : output);
  return *n;
}

std::string Emitter::node(const std::string& op_type, const std::vector<std::string>& inputs,
                          const std::string& output) {
  return add_node(op_type, inputs, output).output(0);
}

std::string Emitter::initializer(const std::string& stem, const Tensor<float>& t) {
  onnx::TensorProto* p = out_.add_initializer();
  p->set_name(fresh(stem));
  p->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : t.shape) p->add_dims(d);
  // raw_data is little-endian, as is every machine netc targets.
  p->set_raw_data(std::string(reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4));
  return p->name();
}

std::string Emitter::scalar(double value) {
  Tensor<float> t(std::vector<int64_t>{});
  t.data = {static_cast<float>(value)};
  return initializer("const", t);
}

std::string Emitter::int64s(const std::vector<int64_t>& values) {
  onnx::TensorProto* p = out_.add_initializer();
  p->set_name(fresh("shape"));
  p->set_data_type(onnx::TensorProto::INT64);
  p->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) p->add_int64_data(v);
  return p->name();
}

void set_attr(onnx::NodeProto& n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void set_attr(onnx::NodeProto& n, const std::string& name, double v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(v));
}
void set_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}
void set_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

} // namespace onnx_export

namespace {

using onnx_export::Emitter;

bool is_weight_leaf(OpKind op) {
  return op == OpKind::Param || op == OpKind::State || op == OpKind::Hyper ||
         op == OpKind::Constant;
}

void set_value_info(onnx::ValueInfoProto* info, const std::string& name, const Shape& shape) {
  info->set_name(name);
  onnx::TypeProto_Tensor* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* s = t->mutable_shape();
  for (int64_t d : shape.dims) {
    if (d == kBatch)
      s->add_dim()->set_dim_param("batch");
    else
      s->add_dim()->set_dim_value(d);
  }
}

// The analysis: which nodes the outputs need, and which of those depend on
// no input (foldable: computed here once from the weights).
struct Analysis {
  std::vector<bool> live, foldable;
};

Analysis analyze(const Graph& g) {
  Analysis a{std::vector<bool>(static_cast<size_t>(g.size())),
             std::vector<bool>(static_cast<size_t>(g.size()))};
  for (const NamedValue& o : g.outputs) a.live[static_cast<size_t>(o.value)] = true;
  for (ValueId v = g.size() - 1; v >= 0; --v)
    if (a.live[static_cast<size_t>(v)])
      for (ValueId i : g.node(v).inputs) a.live[static_cast<size_t>(i)] = true;
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    bool f = is_weight_leaf(n.op) ||
             (!n.inputs.empty() && n.op != OpKind::BatchSize && n.op != OpKind::Input);
    for (ValueId i : n.inputs) f = f && a.foldable[static_cast<size_t>(i)];
    a.foldable[static_cast<size_t>(v)] = f;
  }
  return a;
}

// The values of the foldable live nodes, by the reference interpreter (in
// double, rounded once to f32) on a graph of those nodes alone.
std::map<ValueId, Tensor<float>> fold(const Graph& g, const Analysis& a,
                                      const std::map<std::string, Tensor<float>>& weights) {
  Graph sub;
  sub.name = g.name;
  sub.source_file = g.source_file;
  std::vector<ValueId> to_sub(static_cast<size_t>(g.size()), -1), from_sub;
  for (ValueId v = 0; v < g.size(); ++v) {
    if (!a.live[static_cast<size_t>(v)] || !a.foldable[static_cast<size_t>(v)]) continue;
    Node n = g.node(v);
    for (ValueId& i : n.inputs) i = to_sub[static_cast<size_t>(i)];
    to_sub[static_cast<size_t>(v)] = sub.size();
    from_sub.push_back(v);
    sub.nodes.push_back(std::move(n));
  }
  std::map<std::string, Tensor<double>> values;
  for (const Node& n : sub.nodes) {
    if (n.op != OpKind::Param && n.op != OpKind::State) continue;
    const std::string& name = n.attrs.get_str("name");
    auto it = weights.find(name);
    std::vector<int64_t> dims = n.type.shape.dims;
    if (it == weights.end())
      throw UserError(g.source_file, n.loc, fmt::format("export: no value for '{}'", name));
    if (it->second.shape != dims)
      throw UserError(g.source_file, n.loc,
                      fmt::format("export: the value of '{}' is {}, the model's is {}", name,
                                  to_string(Shape(it->second.shape)), to_string(n.type.shape)));
    values[name] = tensor_cast<double>(it->second);
  }
  RefContext<double> ctx;
  ctx.values = &values;
  for (const auto& [name, t] : weights)
    if (t.data.size() == 1) ctx.hypers[name] = t.data[0]; // a hyper stored in a checkpoint
  std::vector<Tensor<double>> all = interpret(sub, ctx);
  std::map<ValueId, Tensor<float>> out;
  for (size_t i = 0; i < from_sub.size(); ++i) out[from_sub[i]] = tensor_cast<float>(all[i]);
  return out;
}

// The initializer name of folded value v: a weight leaf keeps its name; a
// computed value is named after the first param it reads ("conv1.W.folded").
std::string folded_name(const Graph& g, ValueId v) {
  const Node& n = g.node(v);
  if (n.op == OpKind::Param || n.op == OpKind::State || n.op == OpKind::Hyper)
    return n.attrs.get_str("name");
  if (n.op == OpKind::Constant) return "const";
  for (ValueId i : n.inputs) {
    std::string inner = folded_name(g, i);
    if (inner != "const") return inner.ends_with(".folded") ? inner : inner + ".folded";
  }
  return "const";
}

} // namespace

OnnxExport export_onnx(const Graph& g, const std::map<std::string, Tensor<float>>& weights,
                       const OnnxExportOptions& options) {
  OnnxExport result;
  if (g.outputs.empty())
    throw UserError(g.source_file, {}, "export: the model has no outputs to export");
  Analysis a = analyze(g);
  std::vector<Diagnostic> errors;
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    if (a.live[static_cast<size_t>(v)] && n.type.dtype != DType::f32)
      errors.push_back({g.source_file, n.loc,
                        fmt::format("export: {} computes {}; ONNX export writes f32 values only",
                                    op_name(n.op), to_string(n.type))});
  }
  if (!errors.empty()) throw UserError(errors);
  std::map<ValueId, Tensor<float>> folded = fold(g, a, weights);

  onnx::ModelProto model;
  model.set_ir_version(8); // the IR version of opset 17 (ONNX 1.12)
  model.set_producer_name("netc");
  model.set_producer_version("0.1");
  model.set_doc_string(options.doc);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxExportOpset);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(g.name);
  Emitter e(g, graph);

  // Names first: outputs, inputs, then intermediate values, so that an
  // output or input keeps its model name even if some op would take it.
  std::map<ValueId, std::string> output_name;
  for (const NamedValue& o : g.outputs) {
    const Node& n = g.node(o.value);
    bool own = !output_name.count(o.value) && n.op != OpKind::Input &&
               !a.foldable[static_cast<size_t>(o.value)];
    if (own) output_name[o.value] = o.name;
  }
  for (ValueId v : g.leaves(OpKind::Input)) {
    const Node& n = g.node(v);
    if (!a.live[static_cast<size_t>(v)]) continue;
    const std::string& name = n.attrs.get_str("name");
    set_value_info(graph.add_input(), name, n.type.shape);
    e.set_name(v, name);
    result.inputs.push_back(name);
  }
  for (const NamedValue& o : g.outputs) e.fresh(o.name); // reserved
  // A normalized input: the graph input keeps its name, the nodes read
  // (x - shift) * scale, as the compiled binary feeds them.
  for (const auto& norm : options.normalize) {
    std::optional<ValueId> v = g.find_leaf(OpKind::Input, norm.input);
    if (!v || !a.live[static_cast<size_t>(*v)]) continue;
    std::string shift = e.initializer(norm.input + ".norm_shift", norm.shift);
    std::string scale = e.initializer(norm.input + ".norm_scale", norm.scale);
    e.set_name(*v, e.node("Mul", {e.node("Sub", {e.name(*v), shift}), scale},
                          e.fresh(norm.input + ".normalized")));
  }

  // A folded value becomes an initializer where the exported nodes read it
  // (or it is an output); the folded values in between exist only here.
  std::vector<bool> read(static_cast<size_t>(g.size()));
  for (ValueId v = 0; v < g.size(); ++v)
    if (a.live[static_cast<size_t>(v)] && !a.foldable[static_cast<size_t>(v)])
      for (ValueId i : g.node(v).inputs) read[static_cast<size_t>(i)] = true;
  for (const NamedValue& o : g.outputs) read[static_cast<size_t>(o.value)] = true;
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    if (!a.live[static_cast<size_t>(v)] || n.op == OpKind::Input) continue;
    if (a.foldable[static_cast<size_t>(v)]) {
      if (read[static_cast<size_t>(v)])
        e.set_name(v, e.initializer(folded_name(g, v), folded.at(v)));
      continue;
    }
    auto named = output_name.find(v);
    std::string out = named != output_name.end() ? named->second
                                                 : e.fresh(fmt::format("{}_{}", op_name(n.op), v));
    if (n.op == OpKind::BatchSize) {
      // The runtime batch extent: dimension 0 of a batched input, as a scalar.
      std::optional<ValueId> src;
      for (ValueId i : g.leaves(OpKind::Input))
        if (a.live[static_cast<size_t>(i)] && g.node(i).type.shape.rank() &&
            g.node(i).type.shape[0] == kBatch)
          src = i;
      if (!src) {
        errors.push_back({g.source_file, n.loc, "export: batch_size needs a batched input"});
        continue;
      }
      onnx::NodeProto& shape = e.add_node("Shape", {e.name(*src)}, "");
      onnx_export::set_attr(shape, "end", int64_t{1});
      onnx::NodeProto& cast = e.add_node("Cast", {shape.output(0)}, "");
      onnx_export::set_attr(cast, "to", int64_t{onnx::TensorProto::FLOAT});
      e.node("Reshape", {cast.output(0), e.int64s({})}, out);
      e.set_name(v, out);
      continue;
    }
    e.set_name(v, out);
    try {
      if (!onnx_export::emit_op(e, v, out))
        errors.push_back({g.source_file, n.loc,
                          fmt::format("export: op '{}' has no ONNX mapping", op_name(n.op))});
    } catch (const ShapeError& err) {
      errors.push_back(
          {g.source_file, n.loc, fmt::format("export: {}: {}", op_name(n.op), err.what())});
    }
  }
  if (!errors.empty()) throw UserError(errors);

  for (const NamedValue& o : g.outputs) {
    std::string name = o.name;
    if (e.name(o.value) != o.name) // an input, a folded value, or a second name
      e.node("Identity", {e.name(o.value)}, o.name);
    set_value_info(graph.add_output(), name, g.node(o.value).type.shape);
    result.outputs.push_back(name);
  }
  result.bytes = model.SerializeAsString();
  return result;
}

std::string onnx_tensor_bytes(const std::string& name, const Tensor<float>& t) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : t.shape) p.add_dims(d);
  p.set_raw_data(std::string(reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4));
  return p.SerializeAsString();
}

} // namespace netc
