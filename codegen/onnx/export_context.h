// What the per-op mappings of the exporter (onnx_export_ops.cpp) share with
// its driver (onnx_export.cpp): the GraphProto under construction, the ONNX
// name of each IR value, and helpers that add nodes and constant initializers.
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace netc::onnx_export {

class Emitter {
public:
  Emitter(const Graph& g, onnx::GraphProto& out) : g_(g), out_(out) {}

  const Graph& graph() const { return g_; }
  // The ONNX name of IR value v (set by the driver before v is read).
  const std::string& name(ValueId v) const { return names_.at(static_cast<size_t>(v)); }
  void set_name(ValueId v, std::string name);
  // A name no other value has, from `stem`.
  std::string fresh(const std::string& stem);

  // Adds a node; its single output is named `output` (fresh from the op type
  // when empty). Returns the output's name.
  onnx::NodeProto& add_node(const std::string& op_type, const std::vector<std::string>& inputs,
                            const std::string& output);
  std::string node(const std::string& op_type, const std::vector<std::string>& inputs,
                   const std::string& output = "");

  // Initializers: a float tensor, a float scalar, an int64 vector.
  std::string initializer(const std::string& stem, const Tensor<float>& t);
  std::string scalar(double value);
  std::string int64s(const std::vector<int64_t>& values);

private:
  const Graph& g_;
  onnx::GraphProto& out_;
  std::vector<std::string> names_;
  std::set<std::string> used_;
};

// Attribute setters.
void set_attr(onnx::NodeProto& n, const std::string& name, int64_t v);
void set_attr(onnx::NodeProto& n, const std::string& name, double v);
void set_attr(onnx::NodeProto& n, const std::string& name, const std::string& v);
void set_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);

// Emits the ONNX nodes of IR node v (not a leaf), whose output is to be named
// `output`. Returns false when the op has no ONNX mapping; throws ShapeError
// for a mapped op whose attributes ONNX cannot express (the message says why).
bool emit_op(Emitter& e, ValueId v, const std::string& output);

} // namespace netc::onnx_export
