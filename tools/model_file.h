// The model file a command names: a .nn model, or an ONNX model (docs/onnx.md)
// whose initializers carry their trained values.
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <map>
#include <string>

namespace netc {

struct ModelFile {
  Graph graph;
  // The values of the Param and State leaves an ONNX model brings, by name;
  // for a .nn model those of its imported ONNX networks (the rest are drawn
  // by their initializers).
  std::map<std::string, Tensor<float>> weights;
};

// Reads MODEL.onnx through the ONNX importer and anything else as .nn.
ModelFile read_model_file(const std::string& path);

// The graph alone, for the commands that draw or train their own weights.
inline Graph load_any_model(const std::string& path) { return read_model_file(path).graph; }

} // namespace netc
