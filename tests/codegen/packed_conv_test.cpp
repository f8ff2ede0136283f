// The prepacked-weights ops against their references (ir/ops/packed_conv.cpp):
// pack_conv_weight in both layouts, and conv2d_packed on the Winograd and the
// NHWC kernel reading the packed buffer directly (the schedules' notes say
// so). The packed weights are random: any [4,4,C,O] is some U, any hwio
// tensor some W. Tolerances as conv_test's (sums reordered, FMA-contracted).
#include "cg_test_helpers.h"

#include <fmt/format.h>

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kDot{1e-5, 1e-5};
using Ints = std::vector<int64_t>;

Attrs layout(const char* name, Attrs a = {}) {
  a.set("layout", std::string(name));
  return a;
}

} // namespace

TEST_CASE("pack_conv_weight: hwio reorders, winograd transforms") {
  for (Shape w : {Shape{16, 8, 3, 3}, Shape{40, 12, 3, 3}, Shape{3, 5, 3, 3}}) {
    CAPTURE(to_string(w));
    check_op(OpKind::PackConvWeight, {{f32(w), uniform(-1, 1)}}, layout("winograd"), kDot,
             {.batches = {1}});
    check_op(OpKind::PackConvWeight, {{f32(w), uniform(-1, 1)}}, layout("hwio"), {0, 0},
             {.batches = {1}});
  }
  check_op(OpKind::PackConvWeight, {{f32({24, 16, 1, 1}), uniform(-1, 1)}}, layout("hwio"), {0, 0},
           {.batches = {1}});
}

// The Winograd kernel with U read from its input: odd outputs, channel
// counts that are not whole vectors, padding 0 and asymmetric, a bias or not.
TEST_CASE("conv2d_packed, winograd layout") {
  struct Case {
    int64_t c, o, h, w;
    Ints pad;
    bool bias;
  };
  for (Case c : {Case{32, 64, 14, 14, {1, 1}, true}, Case{8, 16, 13, 13, {1, 1}, false},
                 Case{20, 20, 9, 12, {1, 1}, true}, Case{12, 40, 8, 7, {0, 0}, false},
                 Case{16, 32, 10, 6, {0, 1}, true}, Case{16, 16, 28, 28, {1, 1}, false}}) {
    CAPTURE(fmt::format("{}->{} {}x{} pad {},{}", c.c, c.o, c.h, c.w, c.pad[0], c.pad[1]));
    std::vector<Operand> ops{{f32({B, c.c, c.h, c.w}), uniform(-1, 1)},
                             {f32({4, 4, c.c, c.o}), uniform(-1, 1)}};
    if (c.bias) ops.push_back({f32({c.o})});
    std::string notes = check_op(OpKind::Conv2dPacked, ops, layout("winograd", {{"pad", c.pad}}),
                                 kDot, {.batches = {1, 3, 8}});
    CHECK(notes.find("conv: Winograd") == 0);
    CHECK(notes.find("U prepacked") != std::string::npos);
  }
}

// The NHWC kernel with the weights read in place: strided, 1x1, and a 3x3
// whose output is too small for Winograd; a 1x1 stride-1 conv between NCHW
// values runs over flattened pixels, reading the same packed weights.
TEST_CASE("conv2d_packed, hwio layout") {
  struct Case {
    Shape x, p; // p: [KH, KW, C, O]
    Ints stride, pad;
  };
  for (Case c : {Case{{B, 16, 14, 14}, {3, 3, 16, 32}, {2, 2}, {1, 1}},
                 Case{{B, 24, 9, 9}, {1, 1, 24, 40}, {2, 2}, {0, 0}},
                 Case{{B, 64, 7, 7}, {1, 1, 64, 128}, {1, 1}, {0, 0}},
                 Case{{B, 8, 3, 3}, {3, 3, 8, 16}, {1, 1}, {1, 1}},
                 Case{{B, 12, 10, 7}, {1, 3, 12, 20}, {1, 1}, {0, 1}}}) {
    CAPTURE(to_string(c.x));
    CAPTURE(to_string(c.p));
    std::vector<Operand> ops{
        {f32(c.x), uniform(-1, 1)}, {f32(c.p), uniform(-1, 1)}, {f32({c.p[3]})}};
    std::string notes =
        check_op(OpKind::Conv2dPacked, ops, layout("hwio", {{"stride", c.stride}, {"pad", c.pad}}),
                 kDot, {.batches = {1, 3, 8}});
    bool flat = c.p[0] * c.p[1] == 1 && c.stride == Ints{1, 1};
    CHECK(notes.find(flat ? "conv: 1x1 over flattened pixels" : "conv: NHWC") == 0);
    CHECK(notes.find("weights prepacked") != std::string::npos);
  }
}
