#include "frontend/onnx/onnx_import.h"

#include "frontend/onnx/import_context.h"
#include "ir/user_input.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>

namespace netc {

namespace onnx_import {

namespace {

// protobuf refuses messages of 2 GiB and more.
constexpr uintmax_t kMaxModelBytes = (uintmax_t{1} << 31) - 1;

std::string read_file(const std::string& path, const char* what) {
  // Refuses a FIFO or a device instead of blocking on it (ir/user_input.h).
  FileRead r = read_regular_file(path, kMaxModelBytes);
  if (!r.bytes) throw UserError(path, {}, fmt::format("cannot open the {}: {}", what, r.why));
  return std::move(*r.bytes);
}

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

} // namespace

// ---- Importer -------------------------------------------------------------------

void Importer::run(const onnx::ModelProto& proto) {
  for (const auto& o : proto.opset_import()) {
    if (is_default_domain(o.domain())) opset_ = o.version();
    if (o.domain() == kTrainingDomain) training_opset_ = o.version();
  }
  if (opset_ == 0 && proto.opset_import_size() == 0) opset_ = 1; // ONNX's rule for old models
  // A graph of training ops only (ONNX's optimizer tests) imports no ai.onnx
  // opset; a default-domain node in it is reported by import_node.
  if (opset_ == 0 && training_opset_ == 0)
    throw UserError(file_, {},
                    fmt::format("the model imports no ai.onnx opset (only the domain '{}')",
                                proto.opset_import(0).domain()));
  if (training_opset_ != 0 && training_opset_ != 1)
    throw UserError(file_, {},
                    fmt::format("the model uses version {} of the domain {}; netc imports "
                                "version 1",
                                training_opset_, kTrainingDomain));
  if (opset_ != 0 && (opset_ < kMinOnnxOpset || opset_ > kMaxOnnxOpset))
    throw UserError(file_, {},
                    fmt::format("the model uses ONNX opset {}; netc imports opsets {} to {}",
                                opset_, kMinOnnxOpset, kMaxOnnxOpset));
  model_.opset = opset_;
  const onnx::GraphProto& g = proto.graph();
  import_inputs(g);
  keep_differentiated_unfolded(g);
  for (int i = 0; i < g.node_size(); ++i) import_node(g.node(i), i);
  import_outputs(g);
  if (!errors_.empty()) throw UserError(errors_);
}

void Importer::report(const std::string& message) {
  errors_.push_back({file_, {}, message, false});
}

std::string Importer::describe(const onnx::NodeProto& node, int index) const {
  bool training = node.domain() == kTrainingDomain;
  std::string domain = is_default_domain(node.domain()) ? "" : node.domain() + ".";
  return fmt::format("node '{}' (#{}, {}{}, opset {})", node.name(), index, domain, node.op_type(),
                     training ? training_opset_ : opset_);
}

void Importer::import_inputs(const onnx::GraphProto& g) {
  for (const onnx::TensorProto& t : g.initializer()) {
    OnnxValue v;
    v.is_initializer = true;
    try {
      v.folded = fold_tensor_proto(t);
    } catch (const std::exception& e) { // Unsupported or inconsistent data
      report(fmt::format("initializer '{}': {}", t.name(), e.what()));
      v.poisoned = true;
    }
    values_[t.name()] = std::move(v);
  }
  // A recurrent op's time-major X: its static first dimension is the
  // sequence, which the op unrolls, not the batch.
  std::set<std::string> sequence_first;
  for (const onnx::NodeProto& node : g.node())
    for (const std::string& in : node.input())
      if (reads_sequence_first(node, in)) sequence_first.insert(in);
  for (const onnx::ValueInfoProto& in : g.input()) {
    if (values_.count(in.name())) continue; // an initializer (IR version < 4 lists them here)
    std::string where = fmt::format("graph input '{}'", in.name());
    OnnxValue v;
    if (auto bound = options_.constant_inputs.find(in.name());
        bound != options_.constant_inputs.end()) {
      std::optional<DType> dtype = in.type().has_tensor_type()
                                       ? ir_dtype(in.type().tensor_type().elem_type())
                                       : std::nullopt;
      v.folded = Folded{dtype.value_or(DType::f32), bound->second.shape, bound->second.data};
      values_[in.name()] = std::move(v);
      continue;
    }
    if (!in.type().has_tensor_type()) {
      report(where + ": only tensor inputs are supported (not sequences, maps or optionals)");
      v.poisoned = true;
      values_[in.name()] = v;
      continue;
    }
    const auto& tt = in.type().tensor_type();
    std::optional<DType> dtype = ir_dtype(tt.elem_type());
    // netc has no boolean dtype: a bool input is an f32 tensor of 0 and 1,
    // what the comparison and logical ops compute (onnx_ops_logic.cpp).
    if (tt.elem_type() == onnx::TensorProto::BOOL) dtype = DType::f32;
    std::vector<int64_t> dims;
    std::string problem;
    if (!dtype)
      problem = fmt::format(
          "element type {} has no netc dtype",
          onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(tt.elem_type())));
    else if (!tt.has_shape())
      problem = "its shape is not given; netc needs static shapes";
    for (int d = 0; problem.empty() && d < tt.shape().dim_size(); ++d) {
      const auto& dim = tt.shape().dim(d);
      bool symbolic = !dim.has_dim_value();
      if (d == 0 &&
          (symbolic || (options_.static_first_dim_is_batch && !sequence_first.count(in.name()))))
        dims.push_back(kBatch);
      else if (symbolic)
        problem = fmt::format("dimension {} is symbolic ('{}'); only the first (batch) dimension "
                              "may be",
                              d, dim.dim_param());
      else if (dim.dim_value() <= 0)
        problem =
            fmt::format("dimension {} is {}; netc needs positive extents", d, dim.dim_value());
      else
        dims.push_back(dim.dim_value());
    }
    if (!problem.empty()) {
      report(fmt::format("{}: {}", where, problem));
      v.poisoned = true;
      values_[in.name()] = v;
      continue;
    }
    try {
      TensorType type{*dtype, checked_shape(dims)};
      v.ir = gb_.leaf(OpKind::Input, type, Attrs{{"name", leaf_name(in.name())}});
    } catch (const ShapeError& e) {
      report(fmt::format("{}: {}", where, e.what()));
      v.poisoned = true;
    }
    values_[in.name()] = v;
  }
}

// The xs of a Gradient node (training domain) are the variables it
// differentiates by: a graph input bound to a constant, or an initializer,
// named there becomes a leaf now instead of a folded value, so that the ops
// from it to y are IR ops the gradient rules can go back through.
void Importer::keep_differentiated_unfolded(const onnx::GraphProto& g) {
  std::set<std::string> xs;
  for (const onnx::NodeProto& n : g.node())
    if (n.domain() == kTrainingDomain && n.op_type() == "Gradient")
      for (const auto& a : n.attribute())
        if (a.name() == "xs") xs.insert(a.strings().begin(), a.strings().end());
  for (const std::string& name : xs) {
    auto it = values_.find(name);
    if (it == values_.end() || !it->second.folded || it->second.poisoned) continue;
    try {
      it->second.ir = leaf_from_folded(name, *it->second.folded, OpKind::Param);
      it->second.folded.reset();
    } catch (const std::exception& e) { // Unsupported (an integer tensor) or ShapeError
      report(fmt::format("'{}', differentiated by a Gradient node: {}", name, e.what()));
      it->second.poisoned = true;
    }
  }
}

void Importer::import_node(const onnx::NodeProto& node, int index) {
  std::string who = describe(node, index);
  std::vector<std::string> problems;
  const OpMapping* mapping = nullptr;
  bool training = node.domain() == kTrainingDomain;
  if (!is_default_domain(node.domain()) && !training)
    problems.push_back(fmt::format("the domain '{}' is not supported", node.domain()));
  else if (!training && opset_ == 0)
    problems.push_back("the model imports no ai.onnx opset for this node");
  else if (!(mapping = find_mapping(node.op_type(), node.domain())))
    problems.push_back("the op is not supported");
  if (mapping)
    for (const auto& a : node.attribute())
      if (std::find(mapping->attrs.begin(), mapping->attrs.end(), a.name()) == mapping->attrs.end())
        problems.push_back(fmt::format("attribute '{}' is not supported", a.name()));
  bool poisoned_input = false, all_folded = true;
  for (const std::string& in : node.input()) {
    if (in.empty()) continue;
    auto it = values_.find(in);
    if (it == values_.end()) {
      problems.push_back(
          fmt::format("input '{}' is not a graph input, an initializer or the output "
                      "of an earlier node (a missing initializer, or a cycle)",
                      in));
      continue;
    }
    poisoned_input |= it->second.poisoned;
    all_folded &= it->second.folded.has_value();
  }
  auto poison_outputs = [&] {
    for (const std::string& out : node.output())
      if (!out.empty()) values_[out].poisoned = true;
  };
  for (const std::string& p : problems) report(fmt::format("{}: {}", who, p));
  if (!problems.empty() || poisoned_input) return poison_outputs();

  NodeContext c(*this, node, index, training ? training_opset_ : opset_);
  try {
    if (all_folded && mapping->fold)
      mapping->fold(c);
    else
      mapping->map(c);
  } catch (const Unsupported& e) {
    report(fmt::format("{}: {}", who, e.what()));
    return poison_outputs();
  } catch (const UserError& e) { // an IR shape rule refused what the mapping built
    report(fmt::format("{}: {}", who, e.diagnostics().front().message));
    return poison_outputs();
  } catch (const ShapeError& e) {
    report(fmt::format("{}: {}", who, e.what()));
    return poison_outputs();
  }
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty() && !values_.count(node.output(i)))
      report(fmt::format("{}: output {} ('{}') is not supported", who, i, node.output(i)));
}

void Importer::import_outputs(const onnx::GraphProto& g) {
  for (const onnx::ValueInfoProto& out : g.output()) {
    auto it = values_.find(out.name());
    if (it == values_.end()) {
      report(fmt::format("graph output '{}' is not computed by any node", out.name()));
      continue;
    }
    if (it->second.poisoned) continue; // its node was reported
    try {
      ValueId v = materialize(out.name(), OpKind::Param);
      model_.graph.outputs.push_back({leaf_name(out.name()), v, {}});
    } catch (const Unsupported& e) {
      report(fmt::format("graph output '{}': {}", out.name(), e.what()));
    }
  }
  if (model_.graph.outputs.empty() && errors_.empty()) report("the graph has no outputs");
}

const OnnxValue& Importer::value(const std::string& name) const { return values_.at(name); }

const OnnxValue* Importer::find_value(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

void Importer::define(const std::string& name, OnnxValue v) { values_[name] = std::move(v); }

// Names of IR leaves and outputs keep [A-Za-z0-9_.]; anything else becomes
// '_' ("onnx::Conv_12" -> "onnx__Conv_12"), with a suffix if that collides.
std::string Importer::leaf_name(const std::string& onnx_name) {
  std::string s = onnx_name.empty() ? std::string("value") : onnx_name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.') ch = '_';
  int& uses = leaf_names_[s];
  return ++uses == 1 ? s : fmt::format("{}_{}", s, uses);
}

ValueId Importer::leaf_from_folded(const std::string& name, const Folded& f, OpKind leaf) {
  if (!is_float(f.dtype))
    throw Unsupported(fmt::format("the integer tensor '{}' is used as a tensor; netc reads integer "
                                  "constants only as attributes (shapes, axes)",
                                  name));
  std::string ir_name = leaf_name(name);
  TensorType type{f.dtype, checked_shape(f.dims)};
  Attrs attrs{{"name", ir_name}, {"init", std::string("zeros")}};
  if (leaf == OpKind::Param) {
    int64_t fan_in = f.dims.size() >= 2 ? f.dims[1] : f.dims.empty() ? 1 : f.dims[0];
    int64_t fan_out = f.dims.empty() ? 1 : f.dims[0];
    attrs.set("fan_in", fan_in);
    attrs.set("fan_out", fan_out);
    attrs.set("frozen", int64_t{values_.at(name).is_initializer ? 0 : 1});
  }
  Tensor<float> w(f.dims);
  for (size_t i = 0; i < f.data.size(); ++i) w.data[i] = static_cast<float>(f.data[i]);
  model_.weights[ir_name] = std::move(w);
  return gb_.leaf(leaf, type, attrs);
}

ValueId Importer::materialize(const std::string& name, OpKind leaf) {
  OnnxValue& v = values_.at(name);
  if (v.ir) return *v.ir;
  const Folded& f = *v.folded;
  if (f.has_batch())
    throw Unsupported(
        fmt::format("'{}' depends on the batch extent and is used as a tensor", name));
  bool uniform = !f.data.empty() && std::all_of(f.data.begin(), f.data.end(),
                                                [&](double x) { return x == f.data[0]; });
  // Batch-norm statistics stay state whatever their values: training updates them.
  if (v.is_initializer || !uniform || leaf == OpKind::State) {
    v.ir = leaf_from_folded(name, f, leaf);
  } else {
    // A constant of one value: a scalar, broadcast to its shape.
    ValueId s = gb_.constant(f.data[0], {}, f.dtype);
    v.ir = f.dims.empty() ? s : gb_.op(OpKind::Broadcast, {s}, Attrs{{"shape", f.dims}});
  }
  return *v.ir;
}

// ---- NodeContext ----------------------------------------------------------------

const OnnxValue& NodeContext::value(int i) const { return im_.value(node_.input(i)); }

ValueId NodeContext::tensor(int i, OpKind leaf) {
  if (!has_input(i)) unsupported(fmt::format("input {} is required", i));
  return im_.materialize(node_.input(i), leaf);
}

const TensorType& NodeContext::type(int i) { return type_of(tensor(i)); }

const Folded* NodeContext::folded(int i) const {
  if (!has_input(i)) return nullptr;
  const OnnxValue& v = value(i);
  return v.folded ? &*v.folded : nullptr;
}

const Folded& NodeContext::constant(int i, std::string_view what) const {
  // A node may omit any input (found by fuzzing: a Reshape without its shape).
  if (!has_input(i)) unsupported(fmt::format("{} (input {}) is required", what, i));
  const Folded* f = folded(i);
  if (!f)
    unsupported(fmt::format("{} (input {}) must be a constant known at import time", what, i));
  return *f;
}

// Found by fuzzing: an empty constant made `.data.at(0)` throw out_of_range.
double NodeContext::scalar(int i, std::string_view what) const {
  const Folded& f = constant(i, what);
  if (f.elements() != 1)
    unsupported(fmt::format("{} (input {}) must hold one value, not {}", what, i, f.elements()));
  return f.data[0];
}

const onnx::AttributeProto* NodeContext::find_attr(std::string_view name) const {
  for (const auto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t NodeContext::attr_int(std::string_view name, int64_t fallback) const {
  const auto* a = find_attr(name);
  return a ? a->i() : fallback;
}

double NodeContext::attr_float(std::string_view name, double fallback) const {
  const auto* a = find_attr(name);
  return a ? a->f() : fallback;
}

std::string NodeContext::attr_str(std::string_view name, const std::string& fallback) const {
  const auto* a = find_attr(name);
  return a ? a->s() : fallback;
}

std::vector<int64_t> NodeContext::attr_ints(std::string_view name) const {
  const auto* a = find_attr(name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

std::vector<double> NodeContext::attr_floats(std::string_view name) const {
  const auto* a = find_attr(name);
  if (!a) return {};
  return {a->floats().begin(), a->floats().end()};
}

Folded NodeContext::attr_tensor(std::string_view name) const {
  const auto* a = find_attr(name);
  if (!a || !a->has_t()) unsupported(fmt::format("attribute '{}' must hold a tensor", name));
  try {
    return fold_tensor_proto(a->t());
  } catch (const Unsupported&) {
    throw;
  } catch (const std::exception& e) {
    unsupported(e.what());
  }
}

void NodeContext::set_output(int i, ValueId v) {
  if (!wants_output(i)) return;
  OnnxValue out;
  out.ir = v;
  im_.define(node_.output(i), out);
}

void NodeContext::set_output(int i, Folded f) {
  if (!wants_output(i)) return;
  OnnxValue out;
  out.folded = std::move(f);
  im_.define(node_.output(i), out);
}

ValueId NodeContext::op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs) {
  return im_.builder().op(kind, std::move(inputs), std::move(attrs));
}

ValueId NodeContext::scalar(double value, DType dtype) {
  return im_.builder().constant(value, {}, dtype);
}

const TensorType& NodeContext::type_of(ValueId v) const { return im_.graph().node(v).type; }

ValueId NodeContext::reshape(ValueId x, std::vector<int64_t> dims) {
  if (type_of(x).shape.dims == dims) return x;
  return op(OpKind::Reshape, {x}, Attrs{{"shape", std::move(dims)}});
}

ValueId NodeContext::constant_leaf(const std::string& suffix, Folded f) {
  // (A node may have no outputs: found by fuzzing, output(0) aborts in protobuf.)
  std::string name = (node_.output_size() > 0 ? node_.output(0) : node_.name()) + suffix;
  OnnxValue v;
  v.folded = std::move(f);
  im_.define(name, v);
  return im_.materialize(name, OpKind::Param);
}

const OpMapping* find_mapping(std::string_view op_type, std::string_view domain) {
  // One table per onnx_ops_*.cpp, one line each (the comments keep them so).
  using Table = std::span<const OpMapping> (*)();
  static constexpr Table kTables[] = {
      math_mappings,      // onnx_ops_math.cpp
      nn_mappings,        // onnx_ops_nn.cpp
      shape_mappings,     // onnx_ops_shape.cpp
      recurrent_mappings, // onnx_ops_recurrent.cpp
      resize_mappings,    // onnx_ops_resize.cpp
      logic_mappings,     // onnx_ops_logic.cpp
      norm_mappings,      // onnx_ops_norm.cpp
      select_mappings,    // onnx_ops_select.cpp
      scatter_mappings,   // onnx_ops_scatter.cpp
      loss_mappings,      // onnx_ops_loss.cpp
  };
  auto find_in = [&](std::span<const OpMapping> table) -> const OpMapping* {
    for (const OpMapping& m : table)
      if (m.op_type == op_type) return &m;
    return nullptr;
  };
  // The training domain's nodes map only through its own table (onnx_ops_training.cpp).
  if (domain == kTrainingDomain) return find_in(training_mappings());
  if (!is_default_domain(std::string(domain))) return nullptr;
  for (Table table : kTables)
    if (const OpMapping* m = find_in(table())) return m;
  return nullptr;
}

} // namespace onnx_import

// ---- the public entry points -------------------------------------------------------

ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& filename,
                                const OnnxImportOptions& options) {
  onnx::ModelProto proto;
  if (bytes.size() > onnx_import::kMaxModelBytes ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw UserError(filename, {}, "not a valid ONNX model: the protobuf is malformed or truncated");
  if (!proto.has_graph()) throw UserError(filename, {}, "not a valid ONNX model: it has no graph");
  ImportedModel model;
  std::string stem = std::filesystem::path(filename).stem().string();
  model.graph.name = stem.empty() ? "model" : stem;
  model.graph.source_file = filename;
  onnx_import::Importer(model, filename, options).run(proto);
  return model;
}

ImportedModel import_onnx(const std::string& path, const OnnxImportOptions& options) {
  return import_onnx_bytes(onnx_import::read_file(path, "ONNX model"), path, options);
}

OnnxTensorFile read_onnx_tensor(const std::string& path) {
  std::string bytes = onnx_import::read_file(path, "tensor file");
  onnx::TensorProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw UserError(path, {}, "not a valid ONNX TensorProto: the protobuf is malformed");
  try {
    onnx_import::Folded f = onnx_import::fold_tensor_proto(proto);
    OnnxTensorFile out{proto.name(), f.dtype, Tensor<double>(f.dims),
                       proto.data_type() == onnx::TensorProto::BOOL};
    out.tensor.data = std::move(f.data);
    return out;
  } catch (const std::exception& e) {
    throw UserError(path, {}, e.what());
  }
}

std::set<std::string> onnx_constant_inputs(const std::string& path) {
  onnx::ModelProto proto;
  std::string bytes = onnx_import::read_file(path, "ONNX model");
  std::set<std::string> out;
  if (bytes.size() > onnx_import::kMaxModelBytes ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return out; // the import reports it
  std::set<std::string> graph_inputs;
  for (const auto& in : proto.graph().input()) graph_inputs.insert(in.name());
  for (const auto& node : proto.graph().node()) {
    const onnx_import::OpMapping* m = onnx_import::find_mapping(node.op_type(), node.domain());
    if (!m) continue;
    for (int i : m->constant_inputs)
      if (i < node.input_size() && graph_inputs.count(node.input(i))) out.insert(node.input(i));
  }
  return out;
}

bool is_onnx_path(std::string_view path) { return path.ends_with(".onnx"); }

} // namespace netc
