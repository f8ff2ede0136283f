// `netc onnx-test CASE_DIR...`: runs ONNX backend test cases (a model.onnx
// and test_data_set_N/{input,output}_K.pb, the layout of ONNX's node tests)
// through the importer, the reference interpreter and the JIT-compiled
// kernels of the inference program, and compares both with the expected
// outputs at ONNX's tolerance (|got - want| <= atol + rtol |want|, rtol 1e-3,
// atol 1e-7, as onnx.backend.test's runner uses). One JSON line per case:
//   {"case": NAME, "status": "passed" | "failed" | "unsupported", "detail": ...}
// A case is unsupported when the importer refuses it (the reasons are the
// detail), failed when a number is wrong or a stage throws. The exit status
// is 1 when any case failed. scripts/onnx-conformance drives it.
#include "codegen/jit.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/interpreter.h"
#include "passes/pipeline.h"
#include "tools/commands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace netc {

namespace {

namespace fs = std::filesystem;

struct DataSet {
  std::string name;
  std::vector<Tensor<double>> inputs, outputs;
  std::vector<std::string> input_names; // the ONNX names the tensors carry
  std::vector<DType> input_dtypes;
  std::vector<bool> input_is_bool;
};

std::vector<DataSet> read_data_sets(const fs::path& dir) {
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().starts_with("test_data_set_"))
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  std::vector<DataSet> out;
  for (const fs::path& s : sets) {
    DataSet d;
    d.name = s.filename().string();
    for (int k = 0; fs::exists(s / fmt::format("input_{}.pb", k)); ++k) {
      OnnxTensorFile t = read_onnx_tensor((s / fmt::format("input_{}.pb", k)).string());
      d.inputs.push_back(std::move(t.tensor));
      d.input_names.push_back(t.name);
      d.input_dtypes.push_back(t.dtype);
      d.input_is_bool.push_back(t.is_bool);
    }
    for (int k = 0; fs::exists(s / fmt::format("output_{}.pb", k)); ++k)
      d.outputs.push_back(read_onnx_tensor((s / fmt::format("output_{}.pb", k)).string()).tensor);
    out.push_back(std::move(d));
  }
  return out;
}

// The first element that misses the tolerance, described; "" when all match.
// NaN matches NaN, and infinities must be equal.
std::string compare(const std::string& what, const Tensor<float>& got, const Tensor<double>& want,
                    const OnnxConformanceTolerance& tol) {
  if (got.shape != want.shape)
    return fmt::format("{}: shape {} but the expected output is {}", what,
                       to_string(Shape(got.shape)), to_string(Shape(want.shape)));
  for (int64_t i = 0; i < want.size(); ++i) {
    double g = got[i], w = want[i];
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    if (!(std::abs(g - w) <= tol.atol + tol.rtol * std::abs(w)))
      return fmt::format("{}: element {} is {:.9g}, expected {:.9g} (rtol {}, atol {})", what, i, g,
                         w, tol.rtol, tol.atol);
  }
  return "";
}

// Runs the inference program kernel by kernel with the JIT: each fused
// kernel's inputs come from the leaves' values, reshaped views of stored
// values, or earlier kernels' outputs.
class JitRunner {
public:
  JitRunner(const PipelineState& state) : g_(state.graph), fusion_(*state.fusion) {
    for (const FusedKernel& k : fusion_.kernels) {
      codegen::KernelSpec spec = codegen::make_kernel_spec(g_, k.nodes, k.outputs, k.name);
      spec.kind = k.kind;
      kernels_.emplace_back(g_, spec, codegen::KernelOptions{.training = false});
    }
  }

  std::vector<Tensor<float>> run(const std::map<std::string, Tensor<float>>& leaves,
                                 int64_t batch) {
    values_.assign(size_t(g_.size()), {});
    computed_.assign(size_t(g_.size()), false);
    leaves_ = &leaves;
    batch_ = batch;
    for (codegen::JitKernel& k : kernels_) {
      std::vector<const Tensor<float>*> ins;
      for (ValueId v : k.spec().inputs) ins.push_back(&value(v));
      std::vector<Tensor<float>> outs = k.run(batch, ins);
      for (size_t i = 0; i < outs.size(); ++i) {
        ValueId v = k.spec().outputs[i];
        values_[size_t(v)] = std::move(outs[i]);
        computed_[size_t(v)] = true;
      }
    }
    std::vector<Tensor<float>> out;
    for (const NamedValue& o : g_.outputs) out.push_back(value(o.value));
    return out;
  }

private:
  const Tensor<float>& value(ValueId v) {
    if (computed_[size_t(v)]) return values_[size_t(v)];
    const Node& n = g_.node(v);
    Tensor<float> t(n.type.shape.concrete(batch_));
    if (n.op == OpKind::Input || n.op == OpKind::Param || n.op == OpKind::State) {
      t = leaves_->at(n.attrs.get_str("name"));
    } else if (n.op == OpKind::Hyper || n.op == OpKind::Constant) {
      std::fill(t.data.begin(), t.data.end(), static_cast<float>(n.attrs.get_float("value")));
    } else if (n.op == OpKind::BatchSize) {
      std::fill(t.data.begin(), t.data.end(), static_cast<float>(batch_));
    } else {
      auto view = std::find_if(fusion_.views.begin(), fusion_.views.end(),
                               [&](const FusionPlan::View& w) { return w.value == v; });
      if (view == fusion_.views.end())
        internal_error(fmt::format("value %{} ({}) is computed by no kernel", v, op_name(n.op)));
      t.data = value(view->source).data;
    }
    values_[size_t(v)] = std::move(t);
    computed_[size_t(v)] = true;
    return values_[size_t(v)];
  }

  const Graph& g_;
  const FusionPlan& fusion_;
  std::vector<codegen::JitKernel> kernels_;
  std::vector<Tensor<float>> values_;
  std::vector<bool> computed_;
  const std::map<std::string, Tensor<float>>* leaves_ = nullptr;
  int64_t batch_ = 1;
};

// Why the compiled kernels cannot run a graph, or "": netc compiles f32
// models (the runtime's buffers and the JIT's outputs are f32).
std::string not_compiled(const Graph& g) {
  for (ValueId v = 0; v < g.size(); ++v)
    if (g.node(v).type.dtype == DType::f64)
      return "f64 values: netc compiles f32 models (the reference interpreter runs f64, the "
             "kernels do not)";
  for (const NamedValue& out : g.outputs)
    if (g.node(out.value).type.dtype != DType::f32)
      return fmt::format("output '{}' is {}: compiled outputs are f32", out.name,
                         to_string(g.node(out.value).type));
  return "";
}

struct Verdict {
  std::string status, detail;
};

// Runs the case's data sets. Integer inputs (shapes, axes, indices) are
// bound as constants, so the model is imported once per data set that has
// any, and once for all of them otherwise.
Verdict run_case(const fs::path& dir, const OnnxTestOptions& o) {
  std::vector<DataSet> sets;
  try {
    sets = read_data_sets(dir);
  } catch (const UserError& e) { // strings, sequences, float16...: data netc has no type for
    return {"unsupported", fmt::format("the test data: {}", e.diagnostics().front().message)};
  }
  if (sets.empty()) return {"failed", "no test_data_set_N folder"};
  std::optional<ImportedModel> m;
  std::optional<PipelineState> state;
  std::optional<JitRunner> jit;
  std::vector<ValueId> inputs;
  const std::set<std::string> constant_floats = onnx_constant_inputs((dir / "model.onnx").string());
  for (const DataSet& d : sets) {
    OnnxImportOptions import_options;
    import_options.static_first_dim_is_batch = o.batch_axis;
    import_options.reference_dropout_masks = true; // the reference's numpy masks
    std::vector<size_t> fed; // the data set's inputs that the graph reads at run time
    for (size_t i = 0; i < d.inputs.size(); ++i) {
      // Integer tensors and scalars are what ONNX passes as inputs where
      // netc needs constants: shapes, axes, a dropout ratio, clip bounds;
      // so are a few float tensors (Resize's scales). Bool tensors are data
      // (masks, operands of And/Or/Where): the importer makes them f32
      // inputs of 0 and 1. --feed names integer inputs fed at run time
      // instead (class labels).
      bool data = is_float(d.input_dtypes[i]) || d.input_is_bool[i];
      bool feed = std::find(o.feed.begin(), o.feed.end(), d.input_names[i]) != o.feed.end();
      if ((data && d.inputs[i].rank() > 0 && !constant_floats.count(d.input_names[i])) || feed)
        fed.push_back(i);
      else
        import_options.constant_inputs[d.input_names[i]] = d.inputs[i];
    }
    if (!m || !import_options.constant_inputs.empty()) {
      jit.reset();
      try {
        m = import_onnx((dir / "model.onnx").string(), import_options);
      } catch (const UserError& e) {
        std::string reasons;
        for (const Diagnostic& diag : e.diagnostics())
          reasons += (reasons.empty() ? "" : "; ") + diag.message;
        return {"unsupported", reasons};
      }
      inputs = m->graph.leaves(OpKind::Input);
      if (std::string why = not_compiled(m->graph); !why.empty()) return {"unsupported", why};
      if (!o.reference_only) {
        state = run_pipeline(m->graph, Mode::infer, {.last = "fusion"});
        jit.emplace(*state);
      }
    }
    if (fed.size() != inputs.size() || d.outputs.size() != m->graph.outputs.size())
      return {"failed",
              fmt::format("{}: {} inputs and {} outputs, the model has {} and {}", d.name,
                          fed.size(), d.outputs.size(), inputs.size(), m->graph.outputs.size())};
    std::map<std::string, Tensor<float>> leaves = m->weights;
    int64_t batch = 1;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Node& n = m->graph.node(inputs[i]);
      const Tensor<double>& t = d.inputs[fed[i]];
      if (n.type.shape.has_batch() && t.rank() > 0) batch = t.dim(0);
      leaves[n.attrs.get_str("name")] = tensor_cast<float>(t);
    }
    RefContext<float> ctx;
    ctx.batch = batch;
    ctx.values = &leaves;
    std::vector<Tensor<float>> ref = interpret(m->graph, ctx);
    for (size_t k = 0; k < d.outputs.size(); ++k) {
      std::string diff = compare(fmt::format("{} output {} (reference)", d.name, k),
                                 ref[size_t(m->graph.outputs[k].value)], d.outputs[k], o.tolerance);
      if (!diff.empty()) return {"failed", diff};
    }
    if (!jit) continue;
    std::vector<Tensor<float>> got = jit->run(leaves, batch);
    for (size_t k = 0; k < d.outputs.size(); ++k) {
      std::string diff = compare(fmt::format("{} output {} (compiled)", d.name, k), got[k],
                                 d.outputs[k], o.tolerance);
      if (!diff.empty()) return {"failed", diff};
    }
  }
  return {"passed", fmt::format("{} data set{}", sets.size(), sets.size() == 1 ? "" : "s")};
}

} // namespace

int cmd_onnx_test(const OnnxTestOptions& o) {
  bool any_failed = false;
  for (const std::string& dir : o.cases) {
    auto t0 = std::chrono::steady_clock::now();
    Verdict v;
    try {
      v = run_case(dir, o);
    } catch (const UserError& e) {
      v = {"failed", e.what()};
    } catch (const std::exception& e) { // an internal error is a failure of netc
      v = {"failed", fmt::format("netc: {}", e.what())};
    }
    any_failed |= v.status == "failed";
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json line{{"case", fs::path(dir).filename().string()},
                        {"status", v.status},
                        {"detail", v.detail},
                        {"seconds", std::round(s * 1000) / 1000}};
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }
  return any_failed ? 1 : 0;
}

} // namespace netc
