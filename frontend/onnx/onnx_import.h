// The ONNX frontend (docs/onnx.md): a ModelProto -> a forward Graph and the
// values of its initializers. Only frontend/onnx/ sees the ONNX headers; this
// header is free of them, so the tools include it like frontend/frontend.h.
//
//   ModelProto (protobuf, libonnx_proto)
//     -> graph inputs: Input leaves; initializers: Param leaves (batch-norm
//        statistics: State leaves) whose values travel beside the graph
//     -> nodes, in order: each maps to a few IR ops (onnx_ops_*.cpp), or
//        folds to a compile-time constant when all its inputs are constants
//        (Constant, Shape of a static tensor, Gather, Concat... the shape
//        arithmetic PyTorch exports around Reshape)
//     -> graph outputs: the Graph's outputs.
// Every unsupported op or attribute is collected, and all of them are
// reported together in one UserError naming each node.
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace netc {

// The ONNX opsets the importer reads (of the default domain, ai.onnx). Older
// models load when their ops carry only the attributes of later versions
// (consumed_inputs, is_test, broadcast... are refused by name), since an
// op's semantics at opset N are those of its latest version <= N; the
// conformance data labels many unchanged ops with opsets 1 and 6.
// Nodes of the training domain ai.onnx.preview.training (version 1) map
// through their own table (import_context.h, kTrainingDomain).
inline constexpr int64_t kMinOnnxOpset = 1;
inline constexpr int64_t kMaxOnnxOpset = 17;

struct OnnxImportOptions {
  // A graph input's first dimension becomes the batch dimension when it is
  // symbolic (a dim_param, as torch.onnx.export's dynamic_axes write it), and
  // also when it is a constant if this is set: a model exported at batch 1 or
  // N still serves any batch. The conformance runner clears it, since the
  // node tests' axis 0 is an ordinary axis (softmax over it, concat along it).
  bool static_first_dim_is_batch = true;
  // Graph inputs bound to values known at import time, by ONNX name: they
  // fold like initializers. The conformance runner binds the integer inputs
  // of a test case this way (a Reshape's shape, a Slice's starts), as a
  // static compiler specializes a model for its shapes.
  std::map<std::string, Tensor<double>> constant_inputs;
  // Training-mode Dropout with a seed draws its mask at import time as ONNX's
  // reference does (numpy's MT19937 seeded with the seed), a constant. Set
  // for a model netc runs (run, compile, onnx-test); clear for `import` in a
  // .nn model that netc trains, where each step needs a fresh mask.
  bool reference_dropout_masks = false;
};

// An ONNX model in netc's terms: the forward graph and the value of every
// Param and State leaf, by the leaf's name.
struct ImportedModel {
  Graph graph;
  std::map<std::string, Tensor<float>> weights;
  int64_t opset = 0;
};

// Reads and imports the .onnx file at `path`. Throws UserError naming the file
// for a missing, unreadable or malformed file, and for unsupported content
// (every unsupported node at once).
ImportedModel import_onnx(const std::string& path, const OnnxImportOptions& options = {});

// Imports a serialized ModelProto; `filename` names it in errors and gives the
// graph its name when the model has none.
ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& filename,
                                const OnnxImportOptions& options = {});

// A tensor stored as a serialized TensorProto (the conformance data's
// input_K.pb / output_K.pb). Integer and boolean tensors are held as exact
// values in double. Throws UserError naming the file.
struct OnnxTensorFile {
  std::string name;
  DType dtype = DType::f32;
  Tensor<double> tensor;
  bool is_bool = false; // an ONNX bool tensor (dtype i32, values 0 and 1)
};
OnnxTensorFile read_onnx_tensor(const std::string& path);

// The graph inputs of the model at `path` that a node reads where netc needs
// a value known at import time although ONNX allows a float tensor there
// (Resize's roi and scales, Upsample's scales). The conformance runner binds
// them as constants, as it binds integer inputs. Empty for a file that does
// not parse (the import reports it).
std::set<std::string> onnx_constant_inputs(const std::string& path);

// True for a path that names an ONNX model (by its extension, ".onnx").
bool is_onnx_path(std::string_view path);

} // namespace netc
