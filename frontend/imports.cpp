// `import "model.onnx" as net` and calls `net(x)`: an ONNX network becomes a
// part of a .nn model, which gives it what an ONNX file lacks for training
// (labels, a loss, a train block). The importer (frontend/onnx) turns the file
// into a forward graph once; each call copies that graph's ops into the model
// with the call's arguments in place of the graph inputs. The initializers
// become parameters named NAME.<initializer> (created by the first call and
// shared by later ones, like a layer reused with name=), and their values
// travel beside the graph as the parameters' starting values.
#include "frontend/model_builder.h"
#include "frontend/onnx/onnx_import.h"

#include <filesystem>
#include <fmt/format.h>

namespace netc {

namespace {

// "dropout1.keep" -> "net.dropout1.keep"; leaves and layer names get the
// import's prefix so two imports (or an import and the model's own layers)
// cannot collide.
std::string prefixed(const std::string& prefix, const std::string& name) {
  return prefix + "." + name;
}

std::string output_names(const Graph& net) {
  std::string names;
  for (const NamedValue& o : net.outputs) names += (names.empty() ? "" : ", ") + o.name;
  return names;
}

} // namespace

void ModelBuilder::statement(const ImportStmt& s) {
  if (in_block()) fail(s.loc, "an import cannot be inside a block; import at the top level");
  if (auto it = imports_.find(s.name); it != imports_.end())
    fail(s.loc, fmt::format("'{}' is already imported at line {}", s.name, it->second.loc.line));
  if (find_builtin(s.name) || find_def(s.name) || names_.count(s.name) ||
      leaf_names_.count(s.name) || is_reserved(s.name))
    fail(s.loc,
         fmt::format("'{}' is already a name in this model; import as another name", s.name));
  // A relative path is relative to the model file, as a user reads it.
  std::filesystem::path path = s.path;
  if (path.is_relative()) path = std::filesystem::path(file_).parent_path() / path;
  if (!is_onnx_path(path.string()))
    fail(s.path_loc, fmt::format("import reads ONNX models (.onnx), found \"{}\"", s.path));
  Import imp;
  imp.loc = s.loc;
  try {
    imp.model = import_onnx(path.string());
  } catch (const UserError& e) {
    fail(s.path_loc, fmt::format("cannot import \"{}\": {}", s.path, e.what()));
  }
  if (imp.model.graph.outputs.empty())
    fail(s.path_loc, fmt::format("\"{}\" has no outputs", s.path));
  imports_.emplace(s.name, std::move(imp));
}

const ModelBuilder::Import* ModelBuilder::find_import(std::string_view name) const {
  auto it = imports_.find(name);
  return it == imports_.end() ? nullptr : &it->second;
}

ValueId ModelBuilder::eval_import_call(const Expr& call, Import& imp) {
  const Graph& net = imp.model.graph;
  std::vector<ValueId> inputs = net.leaves(OpKind::Input);
  // net(x), or net(x, output="name") for one of several outputs.
  const NamedValue* result = &net.outputs.front();
  for (const KeywordArg& k : call.kwargs) {
    if (k.name != "output")
      fail(k.loc, fmt::format("{}(): unknown argument '{}' (an imported network takes its inputs "
                              "in order and, optionally, output=\"NAME\")",
                              call.text, k.name));
    if (k.value->kind != Expr::Kind::String)
      fail(k.value->loc, fmt::format("{}(): output= takes an output's name in quotes", call.text));
    result = nullptr;
    for (const NamedValue& o : net.outputs)
      if (o.name == k.value->text) result = &o;
    if (!result)
      fail(k.value->loc, fmt::format("{}() has no output '{}' (it has {})", call.text,
                                     k.value->text, output_names(net)));
  }
  if (net.outputs.size() > 1 && call.kwargs.empty())
    fail(call.loc, fmt::format("{}() has {} outputs ({}); pick one with output=\"NAME\"", call.text,
                               net.outputs.size(), output_names(net)));
  if (call.args.size() != inputs.size())
    fail(call.loc, fmt::format("{}() takes {} input{} ({}), found {}", call.text, inputs.size(),
                               inputs.size() == 1 ? "" : "s",
                               to_string(net.node(inputs.front()).type), call.args.size()));

  // The ONNX graph's values, as values of this model.
  std::vector<ValueId> map(net.nodes.size(), -1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    ValueId arg = eval(*call.args[i]);
    const TensorType& want = net.node(inputs[i]).type;
    if (!(type_of(arg) == want))
      fail(call.args[i]->loc, fmt::format("{}() input {} ('{}') is {}, found {}", call.text, i + 1,
                                          net.node(inputs[i]).attrs.get_str("name"),
                                          to_string(want), to_string(type_of(arg))));
    map[static_cast<size_t>(inputs[i])] = arg;
  }
  for (ValueId v = 0; v < net.size(); ++v) {
    const Node& n = net.node(v);
    if (map[static_cast<size_t>(v)] >= 0) continue;
    if (n.op == OpKind::Param || n.op == OpKind::State || n.op == OpKind::Hyper) {
      std::string name = prefixed(call.text, n.attrs.get_str("name"));
      auto it = imp.leaves.find(name);
      if (it == imp.leaves.end()) {
        check_new_leaf_name(name, call.loc);
        Attrs attrs = n.attrs;
        attrs.set("name", name);
        if (attrs.has("layer")) attrs.set("layer", prefixed(call.text, attrs.get_str("layer")));
        ValueId leaf = gb_.leaf(n.op, n.type, std::move(attrs), call.loc);
        leaf_names_[name] = {leaf, call.loc};
        if (auto w = imp.model.weights.find(n.attrs.get_str("name")); w != imp.model.weights.end())
          imported_weights_[name] = w->second;
        it = imp.leaves.emplace(name, leaf).first;
      }
      map[static_cast<size_t>(v)] = it->second;
      continue;
    }
    if (n.op == OpKind::Input) continue; // graph inputs are mapped above
    std::vector<ValueId> args;
    for (ValueId in : n.inputs) args.push_back(map.at(static_cast<size_t>(in)));
    Attrs attrs = n.attrs;
    // Each dropout of each call draws its own mask.
    if (n.op == OpKind::Dropout) attrs.set("stream", next_dropout_stream());
    std::string layer = attrs.has("layer") ? prefixed(call.text, attrs.get_str("layer")) : "";
    if (n.op == OpKind::Constant || n.op == OpKind::BatchSize)
      map[static_cast<size_t>(v)] = gb_.leaf(n.op, n.type, std::move(attrs), call.loc);
    else
      map[static_cast<size_t>(v)] = op(n.op, std::move(args), std::move(attrs), call.loc, layer);
  }
  return map.at(static_cast<size_t>(result->value));
}

} // namespace netc
