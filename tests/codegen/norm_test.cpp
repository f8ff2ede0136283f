// Batch normalization (both modes, [N,C] and [N,C,H,W], other channel axes)
// and dropout (both modes; the training mask must equal the reference's bit
// for bit, so its tolerance is 0).
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

std::vector<Operand> bn_operands(const TensorType& x, int64_t c) {
  return {{x, uniform(-3, 5)},
          {f32({c}), uniform(0.5, 2)},
          {f32({c}), uniform(-1, 1)},
          {f32({c}), uniform(-1, 1), OpKind::State},
          {f32({c}), uniform(0.2, 3), OpKind::State}};
}

// Statistics in double as in the reference; the per-element math in float
// may contract into FMAs.
const Tol kNorm{1e-5, 1e-5};

} // namespace

TEST_CASE("batchnorm") {
  for (bool training : {false, true}) {
    RunOptions run{.kernel = {.training = training}};
    INFO("training " << training);
    check_op(OpKind::BatchNorm, bn_operands(f32({B, 20}), 20), {}, kNorm, run);
    check_op(OpKind::BatchNorm, bn_operands(f32({B, 3, 5, 6}), 3), Attrs{{"eps", 1e-3}}, kNorm,
             {.batches = {1, 7}, .kernel = {.training = training}});
    check_op(OpKind::BatchNorm, bn_operands(f32({B, 3, 5, 6}), 6), Attrs{{"axis", int64_t(-1)}},
             kNorm, {.batches = {2, 7}, .kernel = {.training = training}});
  }
}

TEST_CASE("dropout and its mask match the reference bit for bit") {
  for (double keep : {0.8, 0.5, 1.0}) {
    for (StepScalars s : {StepScalars{1, 0}, StepScalars{0x123456789abcdefULL, 77}}) {
      RunOptions run{.kernel = {.training = true}, .scalars = s, .hypers = {{"in1", keep}}};
      Operand x{f32({B, 37})}, p{f32({}), {}, OpKind::Hyper, 0.9};
      Attrs a{{"stream", int64_t(3)}};
      check_op(OpKind::Dropout, {x, p}, a, {0, 0}, run);
      check_op(OpKind::DropoutMask, {x, p}, a, {0, 0}, run);
      check_op(OpKind::Dropout, {{f32({B, 2, 3, 5})}, p}, Attrs{{"stream", int64_t(4000000000)}},
               {0, 0}, run);
    }
  }
  // Inference: the identity.
  check_op(OpKind::Dropout, {{f32({B, 9})}, {f32({}), {}, OpKind::Hyper, 0.5}},
           Attrs{{"stream", int64_t(0)}}, {0, 0});
}

TEST_CASE("layernorm kernel matches the reference") {
  using Axes = std::vector<int64_t>;
  Operand gamma{f32({7}), uniform(0.5, 2), OpKind::Param}, beta{f32({7}), {}, OpKind::Param};
  check_op(OpKind::LayerNorm, {{f32({B, 3, 7})}, gamma, beta}, Attrs{{"axes", Axes{2}}},
           {1e-5, 1e-5});
  Operand g2{f32({3, 7}), uniform(0.5, 2), OpKind::Param}, b2{f32({3, 7}), {}, OpKind::Param};
  check_op(OpKind::LayerNorm, {{f32({B, 3, 7})}, g2, b2}, Attrs{{"axes", Axes{1, 2}}},
           {1e-5, 1e-5});
}
