// What `netc compile --quantize int8` adds to a compile (docs/quantization.md):
// the options checked, the checkpoint's weights and the calibration examples
// loaded, and the activation ranges measured on them (passes/quantize.h).
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"
#include "passes/quantize.h"
#include "tools/commands.h"

#include <map>
#include <memory>
#include <string>

namespace netc {

namespace rt {
struct SafetensorsFile;
}

// Every Param and State leaf's value (and stored hypers) of `g` from a
// checkpoint (tools/cmd_export.cpp); a missing or mistyped tensor is a UserError.
std::map<std::string, Tensor<float>> checkpoint_weights(const rt::SafetensorsFile& f,
                                                        const Graph& g, const std::string& path);

struct QuantizeSetup {
  std::shared_ptr<const Calibration> calibration; // null: no --quantize
  std::string summary; // for the user: what was quantized, what stays f32, on how many examples
  std::string key;     // the ranges as text, for the compile cache's key
};

// Checks the quantization options (UserError on a bad combination), then
// calibrates. Without --quantize, returns an empty setup.
QuantizeSetup setup_quantization(const CompileOptions& o, const Graph& parsed);

} // namespace netc
