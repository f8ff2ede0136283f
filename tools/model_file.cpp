#include "tools/model_file.h"

#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"

namespace netc {

ModelFile read_model_file(const std::string& path) {
  if (!is_onnx_path(path)) return {load_model(path), {}};
  ImportedModel m = import_onnx(path);
  return {std::move(m.graph), std::move(m.weights)};
}

} // namespace netc
