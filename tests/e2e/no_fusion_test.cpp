// NETC_NO_FUSION=1 (passes/pipeline.cpp): every stored value gets a kernel
// of its own. The random-model differential test (docs/testing.md) runs
// unfused kernels in process; this runs them through `netc compile`, the
// launch plan and the memory plan (in-place optimizer updates, now one
// kernel per moment and weight), against the reference's losses.
#include "training_agreement.h"

using namespace netc::test;

namespace {

const char* kModel = R"(model nofusion
input x : f32[batch, 7]
label y : class(4)[batch]
h = relu(batchnorm(dense(x, 9)))
h = dropout(h, keep=0.8)
h = tanh(dense(h, 5, init=xavier))
logits = dense(h, 4)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y) + l2(1e-2)
train {
  optimizer = adam(lr=0.01)
}
)";

// Sets an environment variable for one scope.
struct ScopedEnv {
  explicit ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
  const char* name_;
};

} // namespace

TEST_CASE("NETC_NO_FUSION=1 leaves every kernel unfused") {
  auto model = scratch_dir() / "nofusion_dump.nn";
  write_file(model, kModel);
  auto fused = run_netc("dump '" + model.string() + "' --after fusion");
  REQUIRE(fused.status == 0);
  CHECK(fused.out.find("fusion off") == std::string::npos);
  ScopedEnv off("NETC_NO_FUSION", "1");
  auto unfused = run_netc("dump '" + model.string() + "' --after fusion");
  REQUIRE(unfused.status == 0);
  CHECK(unfused.out.find("fusion off") != std::string::npos);
  CHECK(unfused.out.find("(epilogue)") == std::string::npos);
}

TEST_CASE("NETC_NO_FUSION=1: the compiled training steps agree with the reference") {
  ScopedEnv off("NETC_NO_FUSION", "1");
  check_training_agrees("nofusion_adam", kModel, 5, 10);
}
