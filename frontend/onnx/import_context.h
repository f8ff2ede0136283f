// Internal to the ONNX importer: the value of an ONNX name while a graph is
// imported (an IR value, or a constant folded at import time) and the context
// an op's mapping function reads its node through.
#pragma once

#include "frontend/onnx/onnx_import.h"
#include "ir/graph.h"

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace netc::onnx_import {

// In a folded shape vector, the batch extent: Shape(x) of a tensor with a
// batch dimension is known except for that entry, and Gather / Unsqueeze /
// Concat carry it along until Reshape turns it back into the batch dimension.
// Any arithmetic on it is refused (the value depends on the runtime batch).
inline constexpr double kFoldedBatch = -1099511627776.0; // -2^40

// A tensor known at import time: a Constant, an initializer, or the result of
// folding. Integer and boolean elements are exact in double.
struct Folded {
  DType dtype = DType::f32;
  std::vector<int64_t> dims;
  std::vector<double> data;

  int64_t elements() const { return static_cast<int64_t>(data.size()); }
  bool has_batch() const;
  std::vector<int64_t> ints() const; // the elements as integers (shape vectors)
};

// A node the importer cannot map (an op, an attribute, a value it cannot
// express): the reason, collected with the others and reported together.
class Unsupported : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A folded value as an integer (a shape entry, axis or index), saturated to
// int64's range. Throws Unsupported for NaN or a fraction.
int64_t folded_int(double v);

// What an ONNX name stands for. An initializer is both: its folded value for
// ops that need a constant (a Reshape's shape), and a Param leaf made when an
// op first reads it as a tensor.
struct OnnxValue {
  std::optional<ValueId> ir;
  std::optional<Folded> folded;
  bool is_initializer = false;
  bool poisoned = false; // made by a node that could not be mapped
};

class Importer;

// One node's view of the import: its inputs, attributes and outputs.
class NodeContext {
public:
  NodeContext(Importer& im, const onnx::NodeProto& node, int index, int64_t opset)
      : im_(im), node_(node), index_(index), opset_(opset) {}

  const onnx::NodeProto& node() const { return node_; }
  int64_t opset() const { return opset_; }

  // ---- inputs ----------------------------------------------------------------
  int num_inputs() const { return node_.input_size(); }
  // An optional input may be absent (missing or named "").
  bool has_input(int i) const { return i < node_.input_size() && !node_.input(i).empty(); }
  // The input as an IR tensor; a folded constant becomes a leaf. An
  // initializer becomes a leaf of kind `leaf` (Param, or State for batch-norm
  // statistics).
  ValueId tensor(int i, OpKind leaf = OpKind::Param);
  const TensorType& type(int i);
  // The input's folded value, or null when it is only known at run time.
  const Folded* folded(int i) const;
  // The folded value of an input that must be a constant (Reshape's shape).
  const Folded& constant(int i, std::string_view what) const;
  // The one value of a constant scalar input (Dropout's ratio, Pad's value).
  double scalar(int i, std::string_view what) const;

  // ---- attributes ------------------------------------------------------------
  bool has_attr(std::string_view name) const { return find_attr(name) != nullptr; }
  int64_t attr_int(std::string_view name, int64_t fallback) const;
  double attr_float(std::string_view name, double fallback) const;
  std::string attr_str(std::string_view name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(std::string_view name) const; // empty when absent
  std::vector<double> attr_floats(std::string_view name) const;
  // An attribute holding a tensor (Constant's value), folded.
  Folded attr_tensor(std::string_view name) const;

  // ---- outputs ---------------------------------------------------------------
  int num_outputs() const { return node_.output_size(); }
  // Whether output i is used (present and named).
  bool wants_output(int i) const { return i < node_.output_size() && !node_.output(i).empty(); }
  void set_output(int i, ValueId v);
  void set_output(int i, Folded f);

  // ---- building --------------------------------------------------------------
  ValueId op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs = {});
  ValueId scalar(double value, DType dtype = DType::f32);
  const TensorType& type_of(ValueId v) const;
  // A reshape, skipped when the shape is already `dims`.
  ValueId reshape(ValueId x, std::vector<int64_t> dims);
  // A constant made a frozen param leaf, named after the node's first output
  // and `suffix` (one-hot matrices, masks, index ranges of composed ops).
  ValueId constant_leaf(const std::string& suffix, Folded f);
  Importer& importer() { return im_; }

  [[noreturn]] void unsupported(const std::string& reason) const { throw Unsupported(reason); }

private:
  const onnx::AttributeProto* find_attr(std::string_view name) const;
  const OnnxValue& value(int i) const;

  Importer& im_;
  const onnx::NodeProto& node_;
  int index_;
  int64_t opset_;
};

// Maps one node: reads it through the context and sets its outputs.
using MapFn = void (*)(NodeContext& c);

struct OpMapping {
  std::string_view op_type;
  std::vector<std::string_view> attrs; // the attributes the mapping reads
  MapFn map;
  // Folds the node when every input is a constant (nullptr: never folded,
  // e.g. ops without an integer form).
  MapFn fold = nullptr;
  // The inputs the mapping reads as constants that ONNX allows to be float
  // tensors (Resize's scales): a graph input feeding one is bound at import
  // time by the conformance runner (onnx_constant_inputs).
  std::vector<int> constant_inputs = {};
};

// The mapping tables, one per onnx_ops_*.cpp.
std::span<const OpMapping> math_mappings();
std::span<const OpMapping> nn_mappings();
std::span<const OpMapping> shape_mappings();
std::span<const OpMapping> recurrent_mappings(); // RNN, GRU, LSTM
std::span<const OpMapping> resize_mappings();    // ConvTranspose, Resize, Upsample
std::span<const OpMapping> logic_mappings();
std::span<const OpMapping> norm_mappings();
std::span<const OpMapping> select_mappings();
std::span<const OpMapping> scatter_mappings();
std::span<const OpMapping> loss_mappings();
// The ops of the domain ai.onnx.preview.training (Adagrad, Momentum, Adam).
std::span<const OpMapping> training_mappings();

// The training domain, whose nodes map only through training_mappings().
inline constexpr std::string_view kTrainingDomain = "ai.onnx.preview.training";
// The mapping of an op of `domain` ("" or "ai.onnx": the default domain), or
// null when netc does not map it.
const OpMapping* find_mapping(std::string_view op_type, std::string_view domain = "");
// Whether `node` reads the value `name` as the X of an RNN, GRU or LSTM with
// layout=0, whose first dimension is the sequence, not the batch: a graph
// input read so keeps its static first dimension (onnx_ops_recurrent.cpp).
bool reads_sequence_first(const onnx::NodeProto& node, const std::string& name);

// Mappings that an op of another table hands a case to.
void map_batchnorm_training(NodeContext& c); // onnx_ops_norm.cpp
void map_gather_runtime(NodeContext& c);     // onnx_ops_select.cpp: Gather of a runtime tensor
// Window ops (onnx_ops_nn.cpp), shared with ConvTranspose and Resize: a
// per-axis attribute given for the ONNX spatial rank (1 or 2), widened to 2-D
// with `pad_1d` for the height of a 1-D image; and a 2-D window op's result
// back to [N,C,L] when the spatial rank is 1.
std::vector<int64_t> spatial_attr(NodeContext& c, std::string_view name, int rank, int64_t fallback,
                                  int64_t pad_1d);
ValueId from_image(NodeContext& c, ValueId y, int rank);
// x's elements along `axis` in the order of the constant indices idx (each
// in 0..extent-1), the axis' extent becoming idx.size() (onnx_ops_select.cpp).
ValueId select_along(NodeContext& c, ValueId x, int64_t axis, const std::vector<int64_t>& idx);
// The flat positions, over the data's first k axes, of the index tuples of
// constant indices [..., k] (GatherND, ScatterND); negative indices count
// from the end; Unsupported for scalar indices, k outside 1..rank or an index
// out of range (onnx_ops_select.cpp).
std::vector<int64_t> index_tuple_positions(const NodeContext& c, const Folded& indices,
                                           const std::vector<int64_t>& dims);
// An axis in [-rank, rank) made non-negative, and constant indices in
// [-extent, extent) made non-negative; Unsupported otherwise (onnx_ops_select.cpp).
int64_t normalize_axis(const NodeContext& c, int64_t axis, int64_t rank);
std::vector<int64_t> checked_indices(const NodeContext& c, const Folded& f, int64_t extent);

// TensorProto -> Folded (onnx_tensor.cpp). Throws Unsupported for a data
// type netc has no use for, and std::runtime_error for inconsistent data
// (sizes that contradict the dims, external data).
Folded fold_tensor_proto(const onnx::TensorProto& t);
// The IR dtype of an ONNX element type, if it has one.
std::optional<DType> ir_dtype(int32_t onnx_elem_type);

// A folded tensor of one integer per element (shape vectors).
Folded folded_ints(const std::vector<int64_t>& values, std::vector<int64_t> dims);

// The importer's state: the graph being built and the ONNX names' values.
class Importer {
public:
  Importer(ImportedModel& model, const std::string& file, const OnnxImportOptions& options)
      : model_(model), gb_(model.graph, kMaxModelNodes), file_(file), options_(options) {}

  void run(const onnx::ModelProto& proto);

  // ---- for NodeContext ---------------------------------------------------------
  const OnnxValue& value(const std::string& name) const;
  // The value of `name`, or null when no input, initializer or earlier node
  // defines it (a name read from an attribute: Gradient's xs and y).
  const OnnxValue* find_value(const std::string& name) const;
  void define(const std::string& name, OnnxValue v);
  ValueId materialize(const std::string& name, OpKind leaf);
  GraphBuilder& builder() { return gb_; }
  const OnnxImportOptions& options() const { return options_; }
  const Graph& graph() const { return model_.graph; }
  // The weights map: the values of Param and State leaves.
  std::map<std::string, Tensor<float>>& weights() { return model_.weights; }
  // Dropout ops count from 1, each with its own random stream (as in .nn).
  int64_t next_dropout_stream() { return ++dropout_streams_; }

private:
  void import_inputs(const onnx::GraphProto& g);
  void keep_differentiated_unfolded(const onnx::GraphProto& g);
  void import_node(const onnx::NodeProto& node, int index);
  void import_outputs(const onnx::GraphProto& g);
  // "node 'name' (#3, Conv, opset 13)"
  std::string describe(const onnx::NodeProto& node, int index) const;
  void report(const std::string& message);
  std::string leaf_name(const std::string& onnx_name);
  ValueId leaf_from_folded(const std::string& name, const Folded& f, OpKind leaf);

  ImportedModel& model_;
  GraphBuilder gb_;
  const std::string& file_;
  OnnxImportOptions options_;
  int64_t opset_ = 0;          // of the default domain; 0 when the model imports none
  int64_t training_opset_ = 0; // of kTrainingDomain
  int64_t dropout_streams_ = 0;
  std::map<std::string, OnnxValue> values_;
  std::map<std::string, int> leaf_names_; // sanitized name -> uses, to keep them unique
  std::vector<Diagnostic> errors_;
};

} // namespace netc::onnx_import
