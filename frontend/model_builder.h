// Internal to the frontend: the state of turning one Module into a Graph, and
// the function tables (layers.cpp, primitives.cpp) that the builder
// dispatches calls to. Each builtin is one row: its name, its parameters and
// a function that reads its arguments and emits IR.
#pragma once

#include "frontend/ast.h"
#include "frontend/call_args.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/graph.h"

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace netc {

class ModelBuilder;

// An initializer as written: he, xavier, normal(0.02), constant(0.5).
struct InitSpec {
  std::string scheme;
  std::optional<double> scale; // normal, uniform, constant
};
InitSpec read_init(const Expr& e, const std::string& file);

// The attributes of a Param leaf: init (and scale), fan_in, fan_out, regularize.
Attrs param_attrs(const InitSpec& init, int64_t fan_in, int64_t fan_out, bool regularize);

using BuiltinFn = ValueId (*)(ModelBuilder& b, const CallArgs& args);

struct Builtin {
  std::string_view name;
  std::vector<ArgSpec> spec;
  BuiltinFn fn;
  bool variadic = false; // extra positional arguments land in CallArgs::rest()
};

std::span<const Builtin> layer_builtins();
// The recurrent layers (recurrent.cpp), rows of the layer table.
ValueId rnn_layer(ModelBuilder& b, const CallArgs& a);
ValueId lstm_layer(ModelBuilder& b, const CallArgs& a);
ValueId gru_layer(ModelBuilder& b, const CallArgs& a);
std::span<const Builtin> primitive_builtins();
// The layer or function called `name`, or null (l1/l2 are the loss's own).
const Builtin* find_builtin(std::string_view name);
// Names that mean something inside arguments (reshape's batch, bias=false).
bool is_reserved(std::string_view name);

// A layer instance: created by its first call, reused by a later call with the
// same name= (shared weights).
struct Layer {
  std::string name;
  std::string kind;
  bool reused = false;
  bool frozen = false;
  SourceLoc loc; // the call
};

class ModelBuilder {
public:
  ModelBuilder(Graph& g, const std::string& file) : g_(g), gb_(g, kMaxModelNodes), file_(file) {}

  // Runs every statement; throws UserError at the first problem.
  void build(const Module& m);
  // The starting values of the parameters that imports brought, by name.
  std::map<std::string, Tensor<float>>& imported_weights() { return imported_weights_; }

  // ---- for the builtin tables ----------------------------------------------
  [[noreturn]] void fail(SourceLoc loc, const std::string& message) const;
  const std::string& file() const { return file_; }
  const Graph& graph() const { return g_; }
  const TensorType& type_of(ValueId v) const { return g_.node(v).type; }

  // The tensor value of an expression; a number becomes a scalar constant of
  // dtype `like` (so 2 * x works for an f64 x).
  ValueId eval(const Expr& e, DType like = DType::f32);
  ValueId tensor(const CallArgs& a, std::string_view name) { return eval(a.required(name)); }
  // Two operands of a binary op; a number on either side takes the other's dtype.
  std::pair<ValueId, ValueId> eval_pair(const Expr& lhs, const Expr& rhs);
  // A checked type; an overflowing or non-positive shape fails at `loc`.
  TensorType make_type(DType dtype, std::vector<int64_t> dims, SourceLoc loc) const;

  // An op located at `loc`; a non-empty `layer` is recorded as attribute `layer`.
  ValueId op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs, SourceLoc loc,
             const std::string& layer = "");
  ValueId constant(double value, DType dtype, SourceLoc loc);

  // Resolves a layer call's name (name= or KIND + counter) and frozen flag;
  // a name seen before reuses that layer, which must be of the same kind.
  Layer begin_layer(std::string_view kind, std::string_view prefix, const CallArgs& a);
  // The leaf LAYER.SUFFIX of a layer: created on the first call, looked up
  // (and its type compared) on reuse. `attrs` gets name, layer and, for
  // params, frozen added.
  ValueId layer_leaf(const Layer& layer, OpKind kind, const std::string& suffix, TensorType type,
                     Attrs attrs);
  // Dropout ops count from 1, each with its own random stream.
  int64_t next_dropout_stream() { return ++dropout_streams_; }

private:
  struct Binding {
    enum class Kind { Variable, Input, Label, Param, Output };
    ValueId value;
    Kind kind;
    SourceLoc loc;
  };
  struct LayerRecord {
    std::string kind;
    bool frozen;
    SourceLoc loc;
  };
  struct LeafRecord {
    ValueId value;
    SourceLoc loc;
  };

  void statement(const ModelStmt& s);
  void statement(const InputStmt& s);
  void statement(const ParamStmt& s);
  void statement(const AssignStmt& s);
  void statement(const OutputStmt& s);
  void statement(const LossStmt& s);
  void statement(const TrainStmt& s);
  void statement(const DefStmt&) {} // collected ahead by collect_defs
  void statement(const ImportStmt& s);

  // ---- imports (imports.cpp) ---------------------------------------------------
  struct Import {
    ImportedModel model;
    SourceLoc loc;
    std::map<std::string, ValueId, std::less<>> leaves; // its params, made by the first call
  };
  const Import* find_import(std::string_view name) const;
  ValueId eval_import_call(const Expr& call, Import& imp);

  // ---- blocks (blocks.cpp) -----------------------------------------------------
  // Where layer names are made: the model's top level, or one block call
  // whose prefix ("basic1", "stage2.block1") leads every name made inside.
  struct Scope {
    std::string prefix;
    std::map<std::string, int, std::less<>> counters; // conv -> 2 after conv1, conv2
    std::set<std::string, std::less<>> taken;         // local names used in this scope
  };
  // Checks every def (names, parameters, no recursion) before any statement
  // runs, so a block may be called above its definition.
  void collect_defs(const Module& m);
  const DefStmt* find_def(std::string_view name) const;
  bool in_block() const { return scopes_.size() > 1; }
  // The next default local name KIND1, KIND2... of the current scope, skipping
  // the ones an explicit name= took.
  std::string next_local_name(std::string_view kind);
  // "basic1" -> "stage1.basic1" inside a call with prefix "stage1".
  std::string scoped(const std::string& local) const;
  ValueId eval_block_call(const Expr& call, const DefStmt& def);
  ValueId run_block(const DefStmt& def,
                    const std::map<std::string, const Expr*, std::less<>>& constants);
  bool passes_as_tensor(const Expr& arg) const;

  void define(const std::string& name, SourceLoc loc, ValueId v, Binding::Kind kind);
  void check_new_leaf_name(const std::string& name, SourceLoc loc) const;
  ValueId lookup(const Expr& name);
  ValueId eval_call(const Expr& call);
  ValueId eval_binary(const Expr& e);
  void evaluate_unregularized(const Expr& loss);
  ValueId regularization(const CallArgs& a, bool l1);
  void check_regularized_params() const;

  Graph& g_;
  GraphBuilder gb_;
  const std::string& file_;
  std::map<std::string, Binding, std::less<>> names_;
  std::map<std::string, LeafRecord, std::less<>> leaf_names_; // params, state, hypers
  std::map<std::string, LayerRecord, std::less<>> layers_;
  std::map<std::string, const DefStmt*, std::less<>> defs_;
  std::map<std::string, Import, std::less<>> imports_;
  std::map<std::string, Tensor<float>> imported_weights_;
  std::vector<Scope> scopes_ = std::vector<Scope>(1);                    // [0] is the top level
  std::vector<std::map<std::string, Binding, std::less<>>> outer_names_; // of enclosing scopes
  std::vector<const DefStmt*> running_defs_; // the blocks being expanded, outermost first
  int block_calls_ = 0;
  int dropout_streams_ = 0;
  SourceLoc model_loc_, loss_loc_, train_loc_;
  bool in_loss_ = false;
  std::map<std::string, SourceLoc, std::less<>> regularizers_; // "l2" -> where it was used
  size_t regularized_params_ = 0;                              // params an l1/l2 term summed over
  std::optional<ValueId> batch_size_;
  // Parts of the loss evaluated ahead of its l1()/l2() terms (evaluate_unregularized).
  std::map<const Expr*, ValueId> evaluated_;
};

} // namespace netc
