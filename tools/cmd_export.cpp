// `netc export MODEL -o OUT.onnx`: the model's inference graph as ONNX
// (codegen/onnx/onnx_export.h), with the weights of a checkpoint written by
// the compiled binary's `train --save`, drawn ones (--random-init), or an
// ONNX model's own. With --test-data DIR it also writes a test case in the
// layout of ONNX's backend tests (input_K.pb, output_K.pb, and .npy twins),
// whose outputs come from the reference interpreter on the model itself
// (not on the exported graph): `netc onnx-test` and ONNX Runtime check the
// export against it.
#include "codegen/onnx/onnx_export.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/init.h"
#include "ir/interpreter.h"
#include "passes/pipeline.h"
#include "runtime/checkpoint.h"
#include "runtime/error.h"
#include "runtime/npy.h"
#include "tools/commands.h"
#include "tools/model_file.h"
#include "tools/quantize_cli.h"
#include "tools/reference_session.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

namespace netc {

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw UserError(path, {}, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

// The first batched f32 input: the one the compiled binary normalizes
// (runtime/train/model_io.cpp, model_data_layout).
std::optional<ValueId> data_input(const Graph& g) {
  std::vector<ValueId> inputs = g.leaves(OpKind::Input);
  if (inputs.empty()) return std::nullopt;
  return inputs.front();
}

// The checkpoint's normalization as (x - shift) * scale per value of one
// example, as rt::Normalizer::apply computes it.
std::optional<OnnxInputNormalization>
checkpoint_normalization(const rt::SafetensorsFile& f, const Graph& g, const std::string& path) {
  std::optional<ValueId> x = data_input(g);
  if (!x || !f.metadata.count("netc.normalize")) return std::nullopt;
  const Shape& shape = g.node(*x).type.shape;
  std::vector<int64_t> example(shape.dims.begin() + 1, shape.dims.end());
  rt::Normalizer norm = rt::stored_normalizer(f, example, path);
  if (norm.mode() == rt::NormMode::none) return std::nullopt;
  int64_t e = Tensor<float>::count(example);
  int64_t per_group = norm.mode() == rt::NormMode::global        ? e
                      : norm.mode() == rt::NormMode::per_feature ? 1
                                                                 : e / example.at(0);
  OnnxInputNormalization out{g.node(*x).attrs.get_str("name"), Tensor<float>(example),
                             Tensor<float>(example)};
  for (int64_t j = 0; j < e; ++j) {
    auto k = static_cast<size_t>(j / per_group);
    out.shift[j] = norm.mean()[k];
    out.scale[j] = 1.0f / norm.stddev()[k];
  }
  return out;
}

// The test case: random inputs (raw, as a user would feed them), and the
// reference interpreter's outputs on the model as parsed (batch norm not
// folded, inputs normalized as the binary does).
void write_test_data(const ExportOptions& o, const Graph& parsed, const OnnxExport& exported,
                     const std::map<std::string, Tensor<float>>& weights,
                     const std::optional<OnnxInputNormalization>& norm) {
  Graph g = run_pipeline(parsed, Mode::infer, {.last = "parse"}).graph;
  Values values;
  for (const auto& [name, w] : weights) values[name] = tensor_cast<double>(w);
  // Given inputs replace the drawn ones, in the graph's input order.
  if (o.inputs.size() > exported.inputs.size())
    throw UserError("", {},
                    fmt::format("--inputs: {} files for the {} inputs of the model",
                                o.inputs.size(), exported.inputs.size()));
  std::map<std::string, Tensor<double>> given;
  for (size_t k = 0; k < o.inputs.size(); ++k) {
    NpyArray a;
    try {
      a = read_npy(o.inputs[k]);
    } catch (const NpyError& e) {
      throw UserError(o.inputs[k], {}, e.what());
    }
    const Node& leaf = g.node(*g.find_leaf(OpKind::Input, exported.inputs[k]));
    const Shape& want = leaf.type.shape;
    bool fits = a.shape.size() == want.dims.size() && !a.shape.empty();
    for (size_t i = 1; fits && i < a.shape.size(); ++i) fits = a.shape[i] == want.dims[i];
    if (!fits)
      throw UserError(o.inputs[k], {},
                      fmt::format("--inputs: {} is {}, input '{}' is {}", o.inputs[k],
                                  to_string(Shape(a.shape)), exported.inputs[k], to_string(want)));
    Tensor<double> t(a.shape);
    t.data = std::move(a.data);
    given[exported.inputs[k]] = std::move(t);
  }
  int64_t rows = given.empty() ? o.batch : given.begin()->second.dim(0);
  Values batch = random_batch(g, rows, o.seed);
  for (auto& [name, t] : given) batch[name] = std::move(t);
  std::filesystem::create_directories(o.test_data);
  for (size_t k = 0; k < exported.inputs.size(); ++k) {
    const std::string& name = exported.inputs[k];
    Tensor<float> raw = tensor_cast<float>(batch.at(name));
    if (raw.rank() == 0 || raw.dim(0) != rows)
      throw UserError("", {}, fmt::format("--inputs: every input needs {} rows", rows));
    write_file(fmt::format("{}/input_{}.pb", o.test_data, k), onnx_tensor_bytes(name, raw));
    write_npy(fmt::format("{}/input_{}.npy", o.test_data, k), raw.shape,
              std::vector<double>(raw.data.begin(), raw.data.end()));
    Tensor<double> fed = tensor_cast<double>(raw);
    if (norm && norm->input == name) {
      auto e = static_cast<int64_t>(norm->shift.data.size());
      for (int64_t i = 0; i < fed.size(); ++i) // in f32, as rt::Normalizer::apply
        fed[i] = (raw[i] - norm->shift[i % e]) * norm->scale[i % e];
    }
    values[name] = std::move(fed);
  }
  for (auto& [name, t] : batch) values.emplace(name, t); // labels, unused by the outputs
  RefContext<double> ctx;
  ctx.batch = rows;
  ctx.seed = o.seed;
  ctx.values = &values;
  std::vector<Tensor<double>> result = interpret(g, ctx);
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const Tensor<double>& t = result[static_cast<size_t>(g.outputs[k].value)];
    write_file(fmt::format("{}/output_{}.pb", o.test_data, k),
               onnx_tensor_bytes(g.outputs[k].name, tensor_cast<float>(t)));
    write_npy(fmt::format("{}/output_{}.npy", o.test_data, k), t.shape, t.data, true);
  }
}

} // namespace

// Every Param and State leaf's value (and stored hypers) from a checkpoint.
std::map<std::string, Tensor<float>> checkpoint_weights(const rt::SafetensorsFile& f,
                                                        const Graph& g, const std::string& path) {
  std::map<std::string, Tensor<float>> out;
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::Param && n.op != OpKind::State && n.op != OpKind::Hyper) continue;
    const std::string& name = n.attrs.get_str("name");
    const rt::StoredTensor* t = f.find(name);
    if (!t) {
      if (n.op == OpKind::Hyper) continue; // keeps its default
      throw UserError(path, {}, fmt::format("checkpoint {} lacks tensor {}", path, name));
    }
    if (t->dtype != "F32")
      throw UserError(path, {},
                      fmt::format("checkpoint {}: tensor {} is {}, not F32", path, name, t->dtype));
    Tensor<float> v(t->shape);
    if (t->data.size() != v.data.size() * 4)
      throw UserError(path, {},
                      fmt::format("checkpoint {}: tensor {} has the wrong size", path, name));
    std::memcpy(v.data.data(), t->data.data(), t->data.size());
    out[name] = std::move(v);
  }
  return out;
}

int cmd_export(const ExportOptions& o) {
  ModelFile file = read_model_file(o.model);
  Graph parsed = file.graph;
  Graph inference = inference_graph(std::move(file.graph));
  std::map<std::string, Tensor<float>> weights;
  std::optional<OnnxInputNormalization> norm;
  std::string doc;
  if (!o.weights.empty()) {
    try {
      rt::SafetensorsFile f = rt::read_safetensors(o.weights);
      weights = checkpoint_weights(f, inference, o.weights);
      norm = checkpoint_normalization(f, parsed, o.weights);
    } catch (const rt::Error& e) {
      throw UserError(o.weights, {}, e.what());
    }
    doc = fmt::format("netc export of {} with the weights of {}", o.model, o.weights);
  } else if (o.random_init) {
    weights = initial_values<float>(inference, o.seed);
    doc = fmt::format("netc export of {} with weights drawn from seed {}", o.model, o.seed);
  } else if (is_onnx_path(o.model)) {
    weights = std::move(file.weights);
    doc = fmt::format("netc export of {} with its own weights", o.model);
  } else {
    throw UserError(o.model, {},
                    "export needs --weights CKPT (a checkpoint written by the compiled model's "
                    "`train --save`) or --random-init");
  }
  OnnxExportOptions options;
  options.doc = doc;
  if (norm) options.normalize.push_back(*norm);
  OnnxExport exported = export_onnx(inference, weights, options);
  write_file(o.output, exported.bytes);
  if (!o.test_data.empty()) write_test_data(o, parsed, exported, weights, norm);
  std::printf("exported %s -> %s (ONNX opset %lld, %zu bytes%s)\n", o.model.c_str(),
              o.output.c_str(), static_cast<long long>(kOnnxExportOpset), exported.bytes.size(),
              norm ? ", input normalization included" : "");
  return 0;
}

} // namespace netc
