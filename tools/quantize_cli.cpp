#include "tools/quantize_cli.h"

#include "ir/error.h"
#include "passes/pipeline.h"
#include "runtime/checkpoint.h"
#include "runtime/data/data.h"

#include <fmt/format.h>

namespace netc {

namespace {

UserError usage(const std::string& message) { return UserError("", {}, message); }

void check_options(const CompileOptions& o) {
  if (o.quantize.empty()) {
    if (!o.calibrate.empty())
      throw usage("--calibrate is for --quantize int8; without it the binary is f32");
    return;
  }
  if (o.quantize != "int8")
    throw usage(fmt::format("--quantize {}: the only scheme is int8", o.quantize));
  if (o.calibrate.empty())
    throw usage("--quantize int8 needs --calibrate DATA: examples to measure the activations' "
                "ranges on (e.g. --calibrate fashion-mnist, or npy:X.npy,Y.npy)");
  if (o.weights.empty())
    throw usage("--quantize int8 needs --weights CKPT: the activations' ranges depend on the "
                "trained weights (a checkpoint written by the model's `train --save`)");
  if (o.calibrate_count < 1) throw usage("--calibrate-count must be at least 1");
  if (o.mpi) throw usage("--quantize int8 makes an inference binary; it cannot be used with --mpi");
}

// The data layout of the model's inputs: the first data input, then the labels
// (the compiled binary's convention, runtime/train/model_io.h).
rt::DataLayout layout_of(const Graph& g) {
  rt::DataLayout layout;
  bool have_data = false;
  for (ValueId v : g.leaves(OpKind::Input)) {
    const Node& n = g.node(v);
    const std::string& name = n.attrs.get_str("name");
    if (n.attrs.get_str("role", "data") == "label") {
      rt::LabelField f{name, n.attrs.get_int("num_classes", 0), 1};
      if (f.classes == 0) f.width = std::max<int64_t>(1, n.type.shape.static_elements());
      layout.labels.push_back(f);
    } else if (!have_data) {
      layout.input_name = name;
      layout.example_shape.assign(n.type.shape.dims.begin() + 1, n.type.shape.dims.end());
      have_data = true;
    }
  }
  if (!have_data) throw usage("--quantize int8: the model has no data input to calibrate");
  return layout;
}

// `count` examples spread evenly over the data, normalized as the binary
// normalizes them with this checkpoint, as one [count, example...] tensor.
Tensor<float> calibration_examples(const CompileOptions& o, const Graph& parsed,
                                   const rt::SafetensorsFile& ckpt) {
  rt::DataLayout layout = layout_of(parsed);
  rt::LoadedData data;
  try {
    data = rt::load_data(o.calibrate, parsed.train.data_dir, layout);
  } catch (const std::exception& e) {
    throw usage(fmt::format("--calibrate {}: {}", o.calibrate, e.what()));
  }
  const rt::Dataset& d = *data.examples;
  int64_t count = std::min(o.calibrate_count, d.size);
  int64_t e = d.example_elements();
  std::vector<int64_t> shape{count};
  shape.insert(shape.end(), layout.example_shape.begin(), layout.example_shape.end());
  Tensor<float> x(shape);
  for (int64_t i = 0; i < count; ++i) {
    int64_t row = i * d.size / count;
    std::copy_n(d.example(row), e, x.data.begin() + i * e);
  }
  rt::Normalizer norm;
  if (ckpt.metadata.count("netc.normalize"))
    norm = rt::stored_normalizer(ckpt, layout.example_shape, o.weights);
  norm.apply(x.data.data(), x.data.data(), x.size());
  return x;
}

} // namespace

QuantizeSetup setup_quantization(const CompileOptions& o, const Graph& parsed) {
  check_options(o);
  QuantizeSetup s;
  if (o.quantize.empty()) return s;
  Graph inference = inference_graph(parsed);
  QuantizableOps ops = find_quantizable(inference);
  if (ops.matmuls.empty() && ops.convs.empty()) {
    std::string why;
    for (const std::string& r : ops.refused) why += "\n  " + r;
    throw usage(fmt::format("--quantize int8: {} has no op that can be quantized (dense "
                            "layers and ungrouped convolutions are){}",
                            o.model, why));
  }
  rt::SafetensorsFile ckpt;
  try {
    ckpt = rt::read_safetensors(o.weights);
  } catch (const std::exception& e) {
    throw UserError(o.weights, {}, e.what());
  }
  std::map<std::string, Tensor<float>> weights = checkpoint_weights(ckpt, inference, o.weights);
  std::map<std::string, Tensor<float>> inputs;
  inputs[layout_of(parsed).input_name] = calibration_examples(o, parsed, ckpt);
  auto cal = std::make_shared<Calibration>(calibrate(inference, weights, inputs));
  s.summary = fmt::format("int8: {} dense layer(s) and {} convolution(s) quantized, calibrated "
                          "(min/max) on {} examples of {}\n",
                          ops.matmuls.size(), ops.convs.size(), cal->examples, o.calibrate);
  for (const std::string& r : ops.refused) s.summary += "  f32: " + r + "\n";
  for (const auto& [v, r] : cal->ranges) s.key += fmt::format("{}:{:a}:{:a};", v, r.lo, r.hi);
  s.calibration = std::move(cal);
  return s;
}

} // namespace netc
