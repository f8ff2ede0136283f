// Kernels whose buffers are stored channels-last (KernelSpec::channels_last,
// passes/layout.h) against the reference: the depthwise and the
// single-input-channel convs on the direct channels-last schedule, the NHWC
// and Winograd kernels reading and writing channels-last values, each with
// its epilogue (bias, ReLU; a residual read in it), and the global average
// pool reading one. The JIT copies the row-major test tensors into
// channels-last buffers and back (codegen/jit.cpp), so these also check that
// the kernel's declared strides are the executor's. Sums of KH KW products
// (direct) or of C KH KW (NHWC): conv_test's tolerances.
#include "cg_test_helpers.h"

#include <fmt/format.h>

using namespace netc;
using namespace netc::cg_test;

namespace {

using Ints = std::vector<int64_t>;
const Tol kDot{1e-5, 1e-5};
const std::vector<int64_t> kBatchesCL = {1, 3, 8};
// conv_test's data: Winograd's transforms reorder sums of C KH KW products of
// values in [-1, 1) to about 1e-5.
const std::map<std::string, Fill> kFills = {
    {"x", uniform(-1, 1)}, {"w", uniform(-1, 1)}, {"b", uniform(-1, 1)}, {"h", uniform(-1, 1)}};

enum Which { in_only = 1, out_only = 2, both = 3 };

struct ConvCase {
  Shape x; // [B, C, H, W]
  Shape w; // [O, Cg, KH, KW]
  Ints stride, pad;
  int64_t groups = 1;
};

// relu(conv2d(x, w, b)) as one kernel, its input and/or output channels-last.
std::string conv_relu(const ConvCase& c, Which which) {
  Builder m;
  ValueId x = m.input("x", f32(c.x));
  ValueId w = m.input("w", f32(c.w));
  ValueId b = m.input("b", f32({c.w[0]}));
  Attrs a{{"stride", c.stride}, {"pad", c.pad}};
  if (c.groups > 1) a.set("groups", c.groups);
  ValueId conv = m.op(OpKind::Conv2d, {x, w, b}, a);
  ValueId y = m.op(OpKind::Relu, {conv});
  KernelSpec spec = codegen::make_kernel_spec(m.g, {conv, y}, {y});
  spec.kind = KernelKind::conv;
  if (which & in_only) spec.channels_last.push_back(x);
  if (which & out_only) spec.channels_last.push_back(y);
  return check_kernel(m.g, spec, kFills, kDot, {.batches = kBatchesCL});
}

} // namespace

TEST_CASE("channels-last: depthwise convs on the direct schedule") {
  // MobileNet's layers (stride 1 and 2), a 5x5 kernel, no padding, and
  // channel counts that are not whole vectors (24, 40) or a single one (16).
  for (ConvCase c : {ConvCase{{B, 32, 28, 28}, {32, 1, 3, 3}, {1, 1}, {1, 1}, 32},
                     ConvCase{{B, 64, 28, 28}, {64, 1, 3, 3}, {2, 2}, {1, 1}, 64},
                     ConvCase{{B, 24, 9, 11}, {24, 1, 5, 5}, {1, 1}, {2, 2}, 24},
                     ConvCase{{B, 40, 7, 7}, {40, 1, 3, 3}, {2, 1}, {0, 1}, 40},
                     ConvCase{{B, 16, 5, 6}, {16, 1, 3, 3}, {1, 1}, {0, 0}, 16}}) {
    for (Which which : {in_only, out_only, both}) {
      CAPTURE(to_string(c.x));
      CAPTURE(to_string(c.w));
      CAPTURE(int(which));
      std::string notes = conv_relu(c, which);
      CHECK(notes.find("conv: channels-last direct") == 0);
    }
  }
}

TEST_CASE("channels-last: a single input channel (the MobileNet stem)") {
  for (ConvCase c : {ConvCase{{B, 1, 28, 28}, {32, 1, 3, 3}, {1, 1}, {1, 1}},
                     ConvCase{{B, 1, 13, 10}, {20, 1, 3, 3}, {2, 2}, {1, 1}}}) {
    CAPTURE(to_string(c.x));
    std::string notes = conv_relu(c, out_only);
    CHECK(notes.find("conv: channels-last direct") == 0);
  }
}

TEST_CASE("channels-last: the Winograd kernel's input and output") {
  for (ConvCase c : {ConvCase{{B, 16, 14, 14}, {32, 16, 3, 3}, {1, 1}, {1, 1}},
                     ConvCase{{B, 24, 7, 9}, {24, 24, 3, 3}, {1, 1}, {1, 1}}}) {
    for (Which which : {in_only, out_only, both}) {
      CAPTURE(to_string(c.x));
      CAPTURE(int(which));
      std::string notes = conv_relu(c, which);
      CHECK(notes.find("conv: Winograd") == 0);
      CHECK((notes.find("channels-last output") != std::string::npos) == bool(which & out_only));
    }
  }
}

// A ResNet block's second conv: relu(conv(h) + x), x read in the epilogue;
// NHWC (1x1) and Winograd (3x3), every value channels-last.
TEST_CASE("channels-last: a residual read in the epilogue") {
  for (int64_t k : {1, 3}) {
    CAPTURE(k);
    Builder m;
    ValueId x = m.input("x", f32({B, 32, 7, 7}));
    ValueId h = m.input("h", f32({B, 32, 7, 7}));
    ValueId w = m.input("w", f32({32, 32, k, k}));
    ValueId conv = m.op(OpKind::Conv2d, {h, w}, {{"pad", Ints{k / 2, k / 2}}});
    ValueId sum = m.op(OpKind::Add, {conv, x});
    ValueId y = m.op(OpKind::Relu, {sum});
    KernelSpec spec = codegen::make_kernel_spec(m.g, {conv, sum, y}, {y});
    spec.channels_last = {x, h, y};
    std::string notes = check_kernel(m.g, spec, kFills, kDot, {.batches = kBatchesCL});
    CHECK(notes.find("channels-last output") != std::string::npos);
  }
}

// The pool at the end of ResNet and MobileNet, summing channel vectors.
TEST_CASE("channels-last: global_avgpool of a channels-last value") {
  for (Shape x : {Shape{B, 256, 7, 7}, Shape{B, 40, 8, 16}, Shape{B, 16, 1, 3}}) {
    CAPTURE(to_string(x));
    Builder m;
    ValueId in = m.input("x", f32(x));
    ValueId gap = m.op(OpKind::GlobalAvgPool, {in});
    KernelSpec spec = codegen::make_kernel_spec(m.g, {gap}, {gap});
    spec.channels_last = {in};
    check_kernel(m.g, spec, {}, {1e-5, 1e-5}, {.batches = kBatchesCL});
  }
}

TEST_CASE("channels-last: the NHWC kernel's dense input and output") {
  for (ConvCase c : {ConvCase{{B, 32, 14, 14}, {64, 32, 1, 1}, {1, 1}, {0, 0}},
                     ConvCase{{B, 16, 9, 9}, {32, 16, 3, 3}, {2, 2}, {1, 1}},
                     ConvCase{{B, 24, 7, 7}, {40, 24, 1, 1}, {1, 1}, {0, 0}}}) {
    for (Which which : {in_only, out_only, both}) {
      CAPTURE(to_string(c.x));
      CAPTURE(to_string(c.w));
      CAPTURE(int(which));
      std::string notes = conv_relu(c, which);
      CHECK(notes.find("conv: NHWC") == 0);
      CHECK((notes.find("channels-last output") != std::string::npos) == bool(which & out_only));
    }
  }
}

TEST_CASE("channels-last: the NHWC kernel's 1x1 weights reordered by register-transposed blocks") {
  // Mobilenet's 256 -> 256 at 7x7; 136 -> 136 channels (both blocks shift
  // inwards); fewer than 128 x 128 weights keep the plain reorder. (Between
  // NCHW values a 1x1 conv runs over flattened pixels: conv_test.)
  for (ConvCase c : {ConvCase{{B, 256, 7, 7}, {256, 256, 1, 1}, {1, 1}, {0, 0}},
                     ConvCase{{B, 136, 9, 10}, {136, 136, 1, 1}, {1, 1}, {0, 0}},
                     ConvCase{{B, 64, 14, 14}, {128, 64, 1, 1}, {1, 1}, {0, 0}}}) {
    CAPTURE(to_string(c.x));
    std::string notes = conv_relu(c, both);
    CHECK(notes.find("conv: NHWC") == 0);
    CHECK((notes.find("weights transposed by register blocks") != std::string::npos) ==
          (c.w[0] * c.w[1] >= 128 * 128));
  }
}
