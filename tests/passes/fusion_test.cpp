// Fusion and the launch plan on the example models: structural invariants
// that every plan must satisfy, the fusions the issue asks for, and the cases
// where fusion must refuse. The memory plan has tests/passes/memplan_test.cpp.
#include "frontend/frontend.h"
#include "ir/text_parser.h"
#include "passes/pipeline.h"
#include "passes/plan.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

using namespace netc;

namespace {

Graph example(const std::string& name) {
  return load_model(std::string(NETC_SOURCE_DIR) + "/examples/" + name + ".nn");
}

bool is_leaf(const Graph& g, ValueId v) { return g.node(v).inputs.empty(); }

// Every computed value belongs to some kernel; every kernel input is a leaf or
// was written by an earlier kernel; every graph result is written.
void check_invariants(const Graph& g, const FusionPlan& plan) {
  std::set<ValueId> computed, written;
  std::map<ValueId, ValueId> views;
  for (const auto& v : plan.views) {
    CHECK(g.node(v.value).op == OpKind::Reshape);
    views[v.value] = v.source;
    computed.insert(v.value);
  }
  for (const FusedKernel& k : plan.kernels) {
    for (ValueId v : k.inputs) {
      CAPTURE(k.name);
      CAPTURE(v);
      ValueId buffer = views.count(v) ? views.at(v) : v;
      CHECK((is_leaf(g, buffer) || written.count(buffer)));
    }
    for (ValueId v : k.nodes) computed.insert(v);
    for (ValueId v : k.outputs) {
      CHECK(std::count(k.nodes.begin(), k.nodes.end(), v) == 1);
      written.insert(v);
    }
  }
  for (ValueId v = 0; v < g.size(); ++v)
    if (!is_leaf(g, v)) CHECK(computed.count(v));
  for (const auto& o : g.outputs) CHECK((is_leaf(g, o.value) || written.count(o.value)));
  for (const auto& u : g.updates) CHECK(written.count(u.value));
}

const FusedKernel* kernel_with(const Graph& g, const FusionPlan& plan, OpKind op) {
  for (const FusedKernel& k : plan.kernels)
    for (ValueId v : k.nodes)
      if (g.node(v).op == op) return &k;
  return nullptr;
}

} // namespace

TEST_CASE("every example's training and inference plans are well formed") {
  for (const char* name :
       {"fmnist_mlp", "fmnist_cnn", "multilabel", "siamese", "transfer", "multitask"}) {
    CAPTURE(std::string(name));
    Graph parsed = example(name);
    for (const Graph& g : {training_step(parsed), inference_graph(parsed)}) {
      FusionPlan plan = fuse(g);
      check_invariants(g, plan);
    }
  }
}

TEST_CASE("mlp inference: bias and relu are the matmul's epilogue, batch norm is folded") {
  Graph g = inference_graph(example("fmnist_mlp"));
  FusionPlan plan = fuse(g);
  int matmuls = 0;
  for (const FusedKernel& k : plan.kernels) {
    if (k.kind != KernelKind::matmul) continue;
    ++matmuls;
    std::multiset<OpKind> ops;
    for (ValueId v : k.nodes) ops.insert(g.node(v).op);
    CHECK(ops.count(OpKind::MatMul) == 1);
    CHECK(ops.count(OpKind::Add) >= 1); // the (folded) bias
  }
  CHECK(matmuls == 3);
  const FusedKernel* relu = kernel_with(g, plan, OpKind::Relu);
  REQUIRE(relu);
  CHECK(relu->kind == KernelKind::matmul);
}

TEST_CASE(
    "training: the softmax cross-entropy gradient is one kernel / dropout masks are recomputed") {
  Graph g = training_step(example("fmnist_mlp"));
  FusionPlan plan = fuse(g);
  const FusedKernel* onehot = kernel_with(g, plan, OpKind::OneHot);
  REQUIRE(onehot);
  std::set<OpKind> ops;
  for (ValueId v : onehot->nodes) ops.insert(g.node(v).op);
  CHECK(ops.count(OpKind::Softmax));
  CHECK(ops.count(OpKind::Sub));
  int with_mask = 0;
  for (const FusedKernel& k : plan.kernels) {
    for (ValueId v : k.nodes) with_mask += g.node(v).op == OpKind::DropoutMask;
    for (ValueId v : k.outputs) CHECK(g.node(v).op != OpKind::DropoutMask); // never stored
  }
  CHECK(with_mask == 2); // forward and backward each recompute it
}

TEST_CASE("the kernels writing updates come last") {
  // So that they may write over the values they update (passes/memplan.h).
  Graph g = training_step(example("fmnist_mlp"));
  FusionPlan plan = fuse(g);
  std::set<ValueId> updates;
  for (const auto& u : g.updates) updates.insert(u.value);
  bool seen_update_only = false;
  for (const FusedKernel& k : plan.kernels) {
    bool only_updates = std::all_of(k.outputs.begin(), k.outputs.end(),
                                    [&](ValueId v) { return updates.count(v) > 0; });
    if (seen_update_only) CHECK(only_updates);
    seen_update_only = seen_update_only || only_updates;
  }
}

TEST_CASE("an epilogue is refused, with its reason, when the anchor's value is used elsewhere") {
  Graph g = parse_graph_text(R"(
%0 = input() {name="x"} : f32[batch,8]
%1 = param() {name="W"} : f32[8,4]
%2 = matmul(%0, %1) : f32[batch,4]
%3 = relu(%2) : f32[batch,4]
%4 = exp(%2) : f32[batch,4]
output a = %3
output b = %4
)",
                             "reuse.ir");
  FusionPlan plan = fuse(g);
  REQUIRE(plan.kernels.size() == 2);
  CHECK(plan.kernels[0].outputs == std::vector<ValueId>{2});
  std::string notes;
  for (const auto& n : plan.kernels[1].notes) notes += n;
  CHECK(notes.find("also used elsewhere") != std::string::npos);
}

TEST_CASE("the launch plan names a slot for every kernel argument and survives JSON") {
  PlanBundle b = build_plan(example("fmnist_mlp"), 128);
  const rt::Plan& p = b.plan;
  CHECK(p.trainable_parameters == 235914);
  CHECK(p.train.kernels.size() == b.train.fusion.kernels.size());
  for (const rt::Program* prog : {&p.train, &p.infer})
    for (const auto& k : prog->kernels)
      for (int s : k.args) CHECK((s >= 0 && s < int(p.slots.size())));
  // Params are shared by name between the programs.
  std::set<std::string> names;
  for (const auto& s : p.slots)
    if (s.region == rt::Region::persistent) CHECK(names.insert(s.name).second);
  CHECK(names.count("dense1.W"));
  CHECK(names.count("lr"));
  rt::Plan back = rt::plan_from_json(rt::plan_to_json(p));
  CHECK(rt::plan_to_json(back) == rt::plan_to_json(p));
  CHECK(back.config == p.config);
}

TEST_CASE("batch norm's intermediate activations are recomputed, not stored") {
  // In the CNN's training step, the only tensors of conv1's output size that
  // reach memory are the conv's result, the pooling gradient and the conv's
  // input gradient: the centred, normalized and activated values and the
  // ReLU mask are recomputed by each kernel that reads them.
  Graph g = training_step(example("fmnist_cnn"));
  FusionPlan plan = fuse(g);
  check_invariants(g, plan);
  const Shape conv1_out({kBatch, 32, 28, 28});
  std::multiset<OpKind> stored;
  for (const FusedKernel& k : plan.kernels)
    for (ValueId v : k.outputs)
      if (g.node(v).type.shape == conv1_out) stored.insert(g.node(v).op);
  CHECK(stored.size() == 3);
  CHECK(stored.count(OpKind::Conv2d) == 1);
  for (OpKind op : {OpKind::Sub, OpKind::Relu, OpKind::Step, OpKind::Broadcast})
    CHECK(stored.count(op) == 0);
  // Matmul and conv operands are stored: the input gradient of conv1 feeds
  // its weight gradient.
  const FusedKernel* dw = nullptr;
  for (const FusedKernel& k : plan.kernels)
    for (ValueId v : k.nodes)
      if (g.node(v).op == OpKind::Conv2dBackwardWeight &&
          g.node(v).type.shape == Shape({32, 1, 3, 3}))
        dw = &k;
  REQUIRE(dw);
  for (ValueId v : dw->nodes)
    if (g.node(v).op != OpKind::Conv2dBackwardWeight) CHECK(g.node(v).inputs.empty());
}

TEST_CASE("a recomputed value is computed in each kernel that reads it") {
  Graph g = parse_graph_text(R"(
%0 = input() {name="x"} : f32[batch,64]
%1 = param() {name="v"} : f32[64,64]
%2 = param() {name="w"} : f32[64,8]
%3 = matmul(%0, %1) : f32[batch,64]
%4 = exp(%3) : f32[batch,64]
%5 = reduce_sum(%4) {axes=[1], keepdims=0} : f32[batch]
%6 = reduce_max(%4) {axes=[1], keepdims=0} : f32[batch]
%7 = relu(%4) : f32[batch,64]
%8 = matmul(%7, %2) : f32[batch,8]
output s = %5
output m = %6
output y = %8
output z = %3
)",
                             "recompute.ir");
  FusionPlan plan = fuse(g);
  check_invariants(g, plan);
  int with_exp = 0;
  for (const FusedKernel& k : plan.kernels) {
    with_exp += std::count(k.nodes.begin(), k.nodes.end(), 4);
    CHECK(std::count(k.outputs.begin(), k.outputs.end(), 4) == 0); // exp is never stored
  }
  CHECK(with_exp == 3); // both reductions and the relu
  // relu feeds a matmul, which reads its operand from memory.
  const FusedKernel* relu = kernel_with(g, plan, OpKind::Relu);
  REQUIRE(relu);
  CHECK(std::count(relu->outputs.begin(), relu->outputs.end(), 7) == 1);
}

// An lstm step's i g = sigmoid(.) tanh(.) costs two polynomial evaluations
// per element: recomputing it in every reader (the next step's kernel, the
// backward) cost more than storing it. One such op (e^x above) is still
// recomputed.
TEST_CASE("a value with two transcendentals in its cone is stored, not recomputed") {
  Graph g = parse_graph_text(R"(
%0 = input() {name="x"} : f32[batch,32]
%1 = param() {name="v"} : f32[32,64]
%2 = param() {name="w"} : f32[32,64]
%3 = matmul(%0, %1) : f32[batch,64]
%4 = matmul(%0, %2) : f32[batch,64]
%5 = sigmoid(%3) : f32[batch,64]
%6 = tanh(%4) : f32[batch,64]
%7 = mul(%5, %6) : f32[batch,64]
%8 = reduce_sum(%7) {axes=[1], keepdims=0} : f32[batch]
%9 = reduce_max(%7) {axes=[1], keepdims=0} : f32[batch]
%10 = mul(%5, %4) : f32[batch,64]
%11 = reduce_sum(%10) {axes=[1], keepdims=0} : f32[batch]
%12 = reduce_max(%10) {axes=[1], keepdims=0} : f32[batch]
output s = %8
output m = %9
output t = %11
output u = %12
output p = %3
output q = %4
)",
                             "transcendentals.ir");
  FusionPlan plan = fuse(g);
  check_invariants(g, plan);
  int stores_ig = 0, computes_ig = 0, stores_one = 0, computes_one = 0;
  for (const FusedKernel& k : plan.kernels) {
    stores_ig += int(std::count(k.outputs.begin(), k.outputs.end(), 7));
    computes_ig += int(std::count(k.nodes.begin(), k.nodes.end(), 7));
    stores_one += int(std::count(k.outputs.begin(), k.outputs.end(), 10));
    computes_one += int(std::count(k.nodes.begin(), k.nodes.end(), 10));
  }
  CHECK(stores_ig == 1);
  CHECK(computes_ig == 1);
  // sigmoid(.) b: one transcendental, recomputed by each kernel that reads it.
  CHECK(stores_one == 0);
  CHECK(computes_one >= 1);
}

TEST_CASE("inference computes batch norm folded into the weights first, and keeps it") {
  Graph g = inference_graph(example("fmnist_mlp"));
  FusionPlan plan = fuse(g);
  // dense1's and dense2's folded weights: from params and running statistics alone.
  REQUIRE(plan.kernels.size() >= 3);
  CHECK(plan.kernels[0].weights_only);
  CHECK(plan.kernels[1].weights_only);
  for (size_t k = 2; k < plan.kernels.size(); ++k) CHECK_FALSE(plan.kernels[k].weights_only);
  PlanBundle bundle = build_plan(example("fmnist_mlp"), 64);
  CHECK(bundle.plan.infer.prepare == 2);
  CHECK(bundle.plan.train.prepare == 0); // a training step recomputes everything
}

TEST_CASE("flatten of a stored value is a view: no kernel computes it") {
  Graph g = inference_graph(example("fmnist_cnn"));
  FusionPlan plan = fuse(g);
  check_invariants(g, plan);
  REQUIRE(plan.views.size() == 1);
  ValueId view = plan.views[0].value, source = plan.views[0].source;
  CHECK(g.node(view).op == OpKind::Reshape);
  CHECK(g.node(source).op == OpKind::MaxPool);
  for (const FusedKernel& k : plan.kernels)
    CHECK(std::count(k.nodes.begin(), k.nodes.end(), view) == 0); // no kernel computes it
  // Its buffer: tests/passes/memplan_test.cpp.
}

TEST_CASE("sibling sums over the same axes share one kernel") {
  // Batch norm's backward takes the sums of dy, dy * xhat and dy * (x - mean)
  // over (N, H, W): one kernel, one pass over the images.
  Graph g = training_step(example("fmnist_cnn"));
  FusionPlan plan = fuse(g);
  check_invariants(g, plan);
  int most = 0;
  for (const FusedKernel& k : plan.kernels) {
    int sums = 0;
    for (ValueId v : k.nodes)
      sums += g.node(v).op == OpKind::ReduceSum &&
              g.node(g.node(v).inputs[0]).type.shape == Shape({kBatch, 32, 28, 28});
    most = std::max(most, sums);
    if (sums > 1) CHECK(k.outputs.size() == size_t(sums));
  }
  CHECK(most == 3);
}
