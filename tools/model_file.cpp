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
  // A model run or compiled from its .onnx is ONNX's computation as written,
  // training-mode Dropout's seeded reference masks included.
  OnnxImportOptions options;
  options.reference_dropout_masks = true;
  ImportedModel m = import_onnx(path, options);
  return {std::move(m.graph), std::move(m.weights)};
}

} // namespace netc
