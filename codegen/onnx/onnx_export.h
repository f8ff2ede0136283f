// The ONNX backend (docs/onnx.md, "Export"): the optimized inference graph
// (after specialize and cleanup: no dropout, batch norm already folded into
// the layer before it or into a scale and shift) and the values of its
// params -> a serialized ModelProto, opset 17, that ONNX Runtime runs.
//
//   every subgraph that reads only params, state, hypers and constants is
//   evaluated here, once, by the reference interpreter (so the batch-norm
//   folds arrive as plain initializers: conv1.W.folded, not Sqrt/Div nodes);
//   the values it feeds to the rest become initializers;
//   every other op maps to one or a few ONNX nodes (onnx_export_ops.cpp);
//   Input leaves become graph inputs (the batch dimension a dim_param
//   "batch"), the graph's outputs keep their names; the loss and whatever
//   only it reads (labels) are left out.
//
// This header is free of protobuf, as frontend/onnx/onnx_import.h is.
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace netc {

// The opset the exporter writes: 17 has LayerNormalization; Gelu (opset 20)
// is written as its Erf or Tanh formula.
inline constexpr int64_t kOnnxExportOpset = 17;

// Normalization that the compiled binary applies to an input before the
// graph (a checkpoint's "normalize" statistics): x' = (x - shift) * scale,
// shift and scale broadcasting against the input (per channel: [C,1,1]).
struct OnnxInputNormalization {
  std::string input;
  Tensor<float> shift, scale;
};

struct OnnxExportOptions {
  std::vector<OnnxInputNormalization> normalize;
  std::string doc; // the model's doc_string (where the weights came from)
};

struct OnnxExport {
  std::string bytes;                        // the serialized ModelProto
  std::vector<std::string> inputs, outputs; // the graph's, in order
};

// The ModelProto of `inference`, serialized. `weights` holds the value of
// every Param and State leaf by name (a Hyper leaf absent from it keeps its
// default). Throws UserError, located at the model's source lines, for an op
// without an ONNX mapping (every such op at once), a missing or misshapen
// weight, and a value that is not f32.
OnnxExport export_onnx(const Graph& inference, const std::map<std::string, Tensor<float>>& weights,
                       const OnnxExportOptions& options = {});

// A float tensor as a serialized TensorProto, the format of the ONNX backend
// tests' input_K.pb / output_K.pb (what `netc onnx-test` reads).
std::string onnx_tensor_bytes(const std::string& name, const Tensor<float>& t);

} // namespace netc
