// The kernels of real models: every example's training step (and inference
// graph) goes through the pipeline and the fusion pass, and each fused kernel
// is compiled and run on the reference interpreter's own values for its
// inputs, so that every kernel is compared with the reference in isolation
// (errors do not accumulate from kernel to kernel). Tolerance: atol 1e-5,
// rtol 1e-4 (a kernel may sum hundreds of products, and batch-norm gradients
// divide by small variances). The kernels are built as release kernels
// (no_asserts), which halves their JIT time; the op tests keep the bounds
// assertions on the same lowerings and schedules.
#include "cg_test_helpers.h"

#include "codegen/kernel.h"
#include "frontend/frontend.h"
#include "ir/text_parser.h"
#include "passes/fusion.h"
#include "passes/pipeline.h"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <random>
#include <sstream>

using namespace netc;
using namespace netc::cg_test;

namespace {

Graph load_golden(const std::string& model) {
  std::string path = std::string(NETC_SOURCE_DIR) + "/tests/golden/" + model + ".ir";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_graph_text(text.str(), path);
}

// Random data for the graph's Input leaves (class indices for labels), the
// initial values of its params and state.
std::map<std::string, Tensor<float>> step_values(const Graph& g, int64_t batch) {
  std::map<std::string, Tensor<float>> values = initial_values<float>(g, 7, batch);
  std::mt19937_64 rng(11);
  for (ValueId v : g.leaves(OpKind::Input)) {
    const Node& n = g.node(v);
    Tensor<float> t(n.type.shape.concrete(batch));
    int64_t classes = n.attrs.get_int("num_classes", 0);
    if (classes > 0 || !is_float(n.type.dtype)) {
      std::uniform_int_distribution<int64_t> d(0, std::max<int64_t>(classes, 2) - 1);
      for (auto& x : t.data) x = static_cast<float>(d(rng));
    } else {
      std::uniform_real_distribution<float> d(-1, 1);
      for (auto& x : t.data) x = d(rng);
    }
    values[n.attrs.get_str("name")] = std::move(t);
  }
  return values;
}

// Compiles every kernel of the fusion plan of g and compares its outputs
// with the reference at each batch extent; returns the kernels' schedule notes.
std::vector<std::string> check_plan(const Graph& g, bool training,
                                    const std::vector<int64_t>& batches) {
  FusionPlan plan = fuse(g);
  REQUIRE(!plan.kernels.empty());
  std::vector<codegen::JitKernel> kernels;
  for (const FusedKernel& fk : plan.kernels)
    kernels.emplace_back(g, KernelSpec{fk.name, fk.nodes, fk.inputs, fk.outputs},
                         KernelOptions{.training = training, .no_asserts = true});
  StepScalars scalars{.seed = 5, .step = 3};
  for (int64_t batch : batches) {
    std::map<std::string, Tensor<float>> values = step_values(g, batch);
    RefContext<float> ctx;
    ctx.training = training;
    ctx.batch = batch;
    ctx.seed = scalars.seed;
    ctx.step = scalars.step;
    ctx.values = &values;
    std::vector<Tensor<float>> want = interpret(g, ctx);
    for (size_t i = 0; i < kernels.size(); ++i) {
      const KernelSpec& spec = kernels[i].spec();
      std::vector<const Tensor<float>*> ins;
      for (ValueId v : spec.inputs) ins.push_back(&want[size_t(v)]);
      std::vector<Tensor<float>> got = kernels[i].run(batch, ins, scalars);
      for (size_t o = 0; o < spec.outputs.size(); ++o) {
        const Tensor<float>& w = want[size_t(spec.outputs[o])];
        int64_t bad = 0, worst = 0;
        double worst_err = 0;
        for (int64_t e = 0; e < w.size(); ++e) {
          double err = std::abs(double(got[o][e]) - w[e]);
          if (!(err <= 1e-5 + 1e-4 * std::abs(double(w[e])))) {
            if (!bad || err > worst_err) worst = e, worst_err = err;
            ++bad;
          }
        }
        INFO(fmt::format("kernel {} ({}; {}), output %{} {}, batch {}: {} of {} off, worst at {}: "
                         "got {} want {}",
                         spec.name, kernel_kind_name(kernels[i].kind()),
                         kernels[i].schedule_notes(), spec.outputs[o],
                         to_string(g.node(spec.outputs[o]).type), batch, bad, w.size(), worst,
                         bad ? got[o][worst] : 0.f, bad ? w[worst] : 0.f));
        CHECK(bad == 0);
      }
    }
  }
  std::vector<std::string> notes;
  for (const codegen::JitKernel& k : kernels) notes.push_back(k.schedule_notes());
  return notes;
}

} // namespace

TEST_CASE("the fused kernels of the MLP's training step and inference graph") {
  Graph parsed = load_golden("fmnist_mlp");
  check_plan(training_step(parsed), true, {1, 37});
  check_plan(inference_graph(parsed), false, {1, 37});
}

TEST_CASE("the fused kernels of the CNN's training step and inference graph") {
  Graph parsed = load_golden("fmnist_cnn");
  check_plan(training_step(parsed), true, {3});
  check_plan(inference_graph(parsed), false, {3});
}

TEST_CASE("the fused kernels of the other examples' training steps") {
  for (const char* model : {"multilabel", "multitask", "siamese", "transfer"}) {
    INFO(model);
    check_plan(training_step(load_golden(model)), true, {5});
  }
}

// The loss options of issue 17 in whole training steps, so that the fused
// forward and backward kernels (softmax cross-entropy with its smoothed,
// weighted targets and their normalizers; avgpool with count_include_pad and
// its backward) are compiled as fusion forms them, at odd sizes.
TEST_CASE("the fused kernels of training steps with the loss and pool options") {
  const std::string dense = R"(model ce_options
%0 = input() {name="x", role="data"} : f32[batch,19]
%1 = input() {name="y", num_classes=7, role="label"} : i32[batch]
%2 = param() {fan_in=19, fan_out=7, frozen=0, init="he", layer="dense1", name="dense1.W", regularize=1} : f32[19,7]
%3 = matmul(%0, %2) {layer="dense1"} : f32[batch,7]
%4 = param() {fan_in=19, fan_out=7, frozen=0, init="zeros", layer="dense1", name="dense1.b", regularize=0} : f32[7]
%5 = add(%3, %4) {layer="dense1"} : f32[batch,7]
%6 = softmax_cross_entropy(%5, %1) {label_smoothing=0.15, weights=[0.5,2.0,1.0,0.0,3.0,1.5,0.75]} : f32[]
output logits = %5
loss loss = %6
)";
  const std::string pooled = R"(model pool_options
%0 = input() {name="x", role="data"} : f32[batch,3,9,7]
%1 = input() {name="y", num_classes=5, role="label"} : i32[batch]
%2 = param() {fan_in=27, fan_out=36, frozen=0, init="he", layer="conv1", name="conv1.W", regularize=1} : f32[4,3,3,3]
%3 = conv2d(%0, %2) {dilation=[1,1], groups=1, layer="conv1", pad=[1,1], stride=[1,1]} : f32[batch,4,9,7]
%4 = avgpool(%3) {count_include_pad=1, kernel=[3,3], layer="avgpool1", pad=[1,1], stride=[2,2]} : f32[batch,4,5,4]
%5 = avgpool(%3) {kernel=[3,2], layer="avgpool2", pad=[1,1], stride=[2,1]} : f32[batch,4,5,8]
%6 = reshape(%4) {shape=[-1,80]} : f32[batch,80]
%7 = reshape(%5) {shape=[-1,160]} : f32[batch,160]
%8 = concat(%6, %7) {axis=1} : f32[batch,240]
%9 = param() {fan_in=240, fan_out=5, frozen=0, init="he", layer="dense1", name="dense1.W", regularize=1} : f32[240,5]
%10 = matmul(%8, %9) {layer="dense1"} : f32[batch,5]
%11 = softmax_cross_entropy(%10, %1) {weights=[1.0,0.5,2.0,1.0,0.25]} : f32[]
output logits = %10
loss loss = %11
)";
  for (const std::string& text : {dense, pooled}) {
    Graph parsed = parse_graph_text(text, "options.ir");
    INFO(parsed.name);
    check_plan(training_step(parsed), true, {1, 5, 37});
    check_plan(inference_graph(parsed), false, {5});
  }
}

// Depthwise separable blocks (examples/mobilenet.nn's) at odd sizes, with
// 16 and 32 channels, stride 1 and 2: every fused kernel of the training
// step and of the inference graph against the reference, the depthwise
// conv2d, dx and dW inside the kernels that fusion forms around them.
TEST_CASE("the fused kernels of a depthwise separable network") {
  const char* text = R"(model separable
input x : f32[batch, 3, 13, 13]
label y : class(5)[batch]
def separable(x, cin, cout, stride=1) {
  h = relu(batchnorm(conv2d(x, cin, kernel=3, stride=stride, pad=1, groups=cin, bias=false)))
  return relu(batchnorm(conv2d(h, cout, kernel=1, bias=false)))
}
h = relu(batchnorm(conv2d(x, 16, kernel=3, pad=1, bias=false)))
h = separable(h, 16, 32)
h = separable(h, 32, 32, stride=2)
logits = dense(global_avgpool(h), 5)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
)";
  Graph parsed = parse_model(text, "separable.nn");
  // (The depthwise dW's path is checked by depthwise_test.cpp on single-op
  // kernels: here the kernels are built without fusion's kernel kind, so
  // they take the generic schedules.)
  check_plan(training_step(parsed), true, {1, 3});
  check_plan(inference_graph(parsed), false, {3});
}
