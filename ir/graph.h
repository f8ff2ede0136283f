// The graph IR: a list of SSA nodes in topological order. Node i defines value
// %i; its inputs always name earlier nodes. Nodes are immutable once added and
// are only created through GraphBuilder, which runs the op's shape rule (a
// verifying constructor, STYLE.md #4). Passes build new graphs.
#pragma once

#include "ir/attrs.h"
#include "ir/error.h"
#include "ir/op.h"
#include "ir/train_config.h"
#include "ir/types.h"

#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace netc {

using ValueId = int32_t;

struct Node {
  OpKind op;
  std::vector<ValueId> inputs;
  Attrs attrs;
  TensorType type;
  SourceLoc loc; // the model line that made this value
  friend bool operator==(const Node&, const Node&) = default;
};

struct NamedValue {
  std::string name;
  ValueId value;
  SourceLoc loc;
  friend bool operator==(const NamedValue&, const NamedValue&) = default;
};

struct Graph {
  std::string name;        // from `model NAME`
  std::string source_file; // for located errors in later stages
  std::vector<Node> nodes;
  std::vector<NamedValue> outputs; // `output NAME = expr`, in declaration order
  std::optional<NamedValue> loss;  // the total loss (a scalar), if the model has one
  // The state a training step writes: after the step, the Param or State leaf
  // named `name` holds `value` (updated weights, optimizer moments, running
  // statistics, the step counter). Empty for a forward graph.
  std::vector<NamedValue> updates;
  TrainConfig train; // the `train { }` block

  const Node& node(ValueId v) const { return nodes.at(static_cast<size_t>(v)); }
  int size() const { return static_cast<int>(nodes.size()); }
  // The leaf of the given kind with attribute name == `name`, if any.
  std::optional<ValueId> find_leaf(OpKind kind, const std::string& name) const;
  // All leaves of one kind, in order.
  std::vector<ValueId> leaves(OpKind kind) const;
  // A located user error pointing at the node's source line.
  [[noreturn]] void fail(ValueId v, const std::string& message) const;
  friend bool operator==(const Graph&, const Graph&) = default;
};

// The most nodes a frontend builds for one model. Recurrent layers unroll one
// cell per time step and blocks one body per call, so a few characters of
// input (a sequence length of 10^6) can ask for a graph that would take hours
// to compile; past this size the frontend says so instead.
inline constexpr int kMaxModelNodes = 100000;

class GraphBuilder {
public:
  // `max_nodes` bounds the graph: adding a node past it is a UserError at the
  // node's source line. Passes leave it unbounded; frontends use kMaxModelNodes.
  explicit GraphBuilder(Graph& g, int max_nodes = std::numeric_limits<int>::max())
      : g_(g), max_nodes_(max_nodes) {}

  // Adds an op after checking its arity and running its shape rule. A
  // ShapeError becomes a UserError at `loc` that names the op.
  ValueId op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs = {}, SourceLoc loc = {});
  // Adds a leaf with its declared type.
  ValueId leaf(OpKind kind, TensorType type, Attrs attrs, SourceLoc loc = {});
  // A scalar constant (f32 unless the graph computes in f64).
  ValueId constant(double value, SourceLoc loc = {}, DType dtype = DType::f32);

  Graph& graph() { return g_; }

private:
  void check_room(SourceLoc loc) const;

  Graph& g_;
  int max_nodes_;
};

} // namespace netc
