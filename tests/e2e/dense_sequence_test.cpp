// dense on inputs of rank >= 3 (torch.nn.Linear semantics: the last axis,
// weights shared over the leading ones) end to end: `netc gradcheck` of the
// batched matmul's gradient, whose dW sums over batch and T, and compiled
// training steps against the reference interpreter.
#include "training_agreement.h"

#include <doctest/doctest.h>

using namespace netc::test;

namespace {

void check_gradients(const std::string& name, const std::string& source) {
  CAPTURE(name);
  auto model = scratch_dir() / (name + ".nn");
  write_file(model, source);
  // batch 1 and an odd batch: the sum over the leading axes must not depend
  // on the batch being even or more than one.
  for (const char* batch : {"1", "3"}) {
    CAPTURE(batch);
    auto r = run_netc("gradcheck '" + model.string() + "' --batch " + batch);
    CHECK_MESSAGE(r.status == 0, r.out, r.err);
    CHECK(r.out.find("parameters pass") != std::string::npos);
  }
}

// T=5, F=3: two dense layers over every step, a mean over T, a rank-2 head.
const char* kSequence = R"(model dense_seq
input x : f32[batch, 5, 3]
label y : class(3)[batch]
h = gelu(dense(x, 7))
h = dense(h, 3, bias=false) + x          # a residual over every step
logits = dense(mean(h, axis=1), 3, init=xavier)
loss softmax_cross_entropy(logits, y)
train {
  optimizer = adam(lr=0.01)
}
)";

} // namespace

TEST_CASE("gradcheck: dense over [batch, T, F] and [batch, A, B, F]") {
  check_gradients("grad_dense_seq", kSequence);
  check_gradients("grad_dense_rank4", R"(model dense_rank4
input x : f32[batch, 2, 3, 5]
label y : class(3)[batch]
h = tanh(dense(x, 4))
logits = dense(flatten(h), 3)
loss softmax_cross_entropy(logits, y)
)");
}

TEST_CASE("20 compiled training steps of dense over [batch, T, F] follow the reference") {
  check_training_agrees("train_dense_seq", kSequence, 7);
}
