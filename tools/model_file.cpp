#include "tools/model_file.h"

#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"

namespace netc {

ModelFile read_model_file(const std::string& path) {
  if (!is_onnx_path(path)) {
    ModelFile f;
    f.graph = load_model(path, &f.weights);
    return f;
  }
  ImportedModel m = import_onnx(path);
  return {std::move(m.graph), std::move(m.weights)};
}

} // namespace netc
