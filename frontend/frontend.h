// The .nn frontend: model text -> forward graph (SPEC section 2; the language
// reference is docs/language.md). text -> tokens (lexer.h) -> syntax tree
// (parser.h) -> Graph (ir_builder.h).
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <map>
#include <string>
#include <string_view>

namespace netc {

// Reads and builds the model file at `path`. Throws UserError for a missing
// or unreadable file and for any error in the model, located in the file.
// The starting values of the parameters of imported ONNX networks (`import
// "model.onnx" as net`) go to `imported_weights` when given.
using ImportedWeights = std::map<std::string, Tensor<float>>;
Graph load_model(const std::string& path, ImportedWeights* imported_weights = nullptr);

// Builds a model from text; `filename` names it in errors and, without a
// `model NAME` statement, gives the model its name (the file's stem).
Graph parse_model(std::string_view text, const std::string& filename,
                  ImportedWeights* imported_weights = nullptr);

} // namespace netc
