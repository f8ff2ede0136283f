// The layout pass (passes/layout.h): which stored values become
// channels-last, and which stay NCHW and why: a reader that is not a
// channels-last convolution (a pool kernel), an epilogue's residual add in a
// kernel that writes NCHW, a model output, a view. Then the inference pipeline on a
// MobileNet-like chain, and the training pipeline, which has no such stage.
#include "ir/text_parser.h"
#include "passes/fusion.h"
#include "passes/layout.h"
#include "passes/pipeline.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace netc;

namespace {

// %3: stem (one input channel) -> depthwise: channels-last.
// %5: depthwise -> 1x1 (NHWC): channels-last.
// %7: 1x1 -> depthwise + maxpool (a pool kernel): NCHW.
// %12: 1x1 -> 1x1 whose epilogue adds %12 back (a residual): channels-last,
//   because that kernel's output %15 is too (a Winograd conv reads it).
// %17: a model output: NCHW.
// kStem is the chain's MobileNet-like start (stem -> depthwise -> 1x1).
const std::string kStem = R"(
%0 = input() {name="x"} : f32[batch,1,8,8]
%1 = param() {name="w0"} : f32[16,1,3,3]
%2 = conv2d(%0, %1) {pad=[1,1]} : f32[batch,16,8,8]
%3 = relu(%2) : f32[batch,16,8,8]
%4 = param() {name="w1"} : f32[16,1,3,3]
%5 = conv2d(%3, %4) {pad=[1,1], groups=16} : f32[batch,16,8,8]
%6 = param() {name="w2"} : f32[32,16,1,1]
%7 = conv2d(%5, %6) : f32[batch,32,8,8]
)";

const std::string kChain = kStem + R"(%8 = param() {name="w3"} : f32[32,1,3,3]
%9 = conv2d(%7, %8) {pad=[1,1], groups=32} : f32[batch,32,8,8]
%10 = maxpool(%9) {kernel=[2,2]} : f32[batch,32,4,4]
%11 = param() {name="w4"} : f32[32,32,1,1]
%12 = conv2d(%10, %11) : f32[batch,32,4,4]
%13 = param() {name="w5"} : f32[32,32,1,1]
%14 = conv2d(%12, %13) : f32[batch,32,4,4]
%15 = add(%14, %12) : f32[batch,32,4,4]
%16 = param() {name="w6"} : f32[32,32,3,3]
%17 = conv2d(%15, %16) {pad=[1,1]} : f32[batch,32,4,4]
output y = %17
)";

std::vector<ValueId> channels_last_of(const std::string& text) {
  Graph g = parse_graph_text(text, "chain.ir");
  return store_channels_last(g, fuse(g)).channels_last;
}

} // namespace

TEST_CASE("layout: values between channels-last convolutions only") {
  Graph g = parse_graph_text(kChain, "chain.ir");
  FusionPlan plan = store_channels_last(g, fuse(g));
  CHECK(plan.channels_last == std::vector<ValueId>{3, 5, 12, 15});
  // The kernels say which values they store and read channels-last.
  std::string text = print_fusion(g, plan);
  CHECK(text.find("stores %3 channels-last") != std::string::npos);
  CHECK(text.find("reads %5 channels-last") != std::string::npos);
  CHECK(text.find("%5 (channels-last)") != std::string::npos);
  // Each kernel's kind, as the pass sees it.
  std::vector<ChannelsLastConv> kinds;
  for (const FusedKernel& k : plan.kernels)
    if (k.kind == KernelKind::conv) kinds.push_back(channels_last_conv(g, k));
  CHECK(std::count(kinds.begin(), kinds.end(), ChannelsLastConv::direct) == 2); // stem, depthwise
  CHECK(std::count(kinds.begin(), kinds.end(), ChannelsLastConv::nhwc) == 4);   // 1x1s, Winograd
  CHECK(std::count(kinds.begin(), kinds.end(), ChannelsLastConv::none) == 1);   // the pooled one
}

TEST_CASE("layout: a residual read in an epilogue needs a channels-last output there") {
  // As kChain's tail, but the residual sum %15 is a model output: its kernel
  // writes NCHW, so the %12 its epilogue reads stays NCHW too, and with it
  // nothing else is left.
  const std::string residual = R"(
%0 = input() {name="x"} : f32[batch,32,4,4]
%1 = param() {name="w4"} : f32[32,32,1,1]
%2 = conv2d(%0, %1) : f32[batch,32,4,4]
%3 = param() {name="w5"} : f32[32,32,1,1]
%4 = conv2d(%2, %3) : f32[batch,32,4,4]
%5 = add(%4, %2) : f32[batch,32,4,4]
)";
  CHECK(channels_last_of(residual + "output y = %5\n").empty());
  // With a global average pool after it instead, both are channels-last.
  std::string pooled = residual + "%6 = global_avgpool(%5) : f32[batch,32]\noutput y = %6\n";
  CHECK(channels_last_of(pooled) == std::vector<ValueId>{2, 5});
}

TEST_CASE("layout: a model output and a view's source stay NCHW") {
  // %3 is a model output; %5 is read by the 1x1 conv but also flattened (a
  // view of its buffer).
  std::string text = kStem + R"(%8 = reshape(%5) {shape=[-1,1024]} : f32[batch,1024]
output a = %3
output b = %7
output c = %8
)";
  CHECK(channels_last_of(text).empty());
}

TEST_CASE("layout: the inference pipeline has the stage, training does not") {
  std::vector<std::string> infer = pipeline_stages(Mode::infer);
  std::vector<std::string> train = pipeline_stages(Mode::train);
  CHECK(std::find(infer.begin(), infer.end(), "layout") != infer.end());
  CHECK(std::find(train.begin(), train.end(), "layout") == train.end());
  Graph g = parse_graph_text(kChain, "chain.ir");
  PipelineState s = run_pipeline(g, Mode::infer);
  REQUIRE(s.fusion);
  // prepack rewrote the 1x1 and 3x3 convs (conv2d_packed); the chain is the same.
  CHECK(s.fusion->channels_last.size() == 4);
}
