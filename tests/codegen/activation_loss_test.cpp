// softmax, log_softmax and the losses against the reference. The line sums
// of exponentials are reassociated by vectorization: rtol 1e-5. Losses are
// means over a batch: rtol 1e-5 (their sums over up to 128 rows likewise).
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {
const Tol kExpSum{1e-6, 1e-5};
} // namespace

TEST_CASE("softmax and log_softmax") {
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax}) {
    check_op(k, {{f32({B, 10}), uniform(-30, 30)}}, {}, kExpSum);
    check_op(k, {{f32({B, 100})}}, {}, kExpSum);
    check_op(k, {{f32({B, 4, 7})}}, Attrs{{"axis", int64_t(1)}}, kExpSum);
    check_op(k, {{f32({B, 6})}}, Attrs{{"axis", int64_t(0)}}, kExpSum); // over the batch
  }
}

TEST_CASE("softmax_cross_entropy") {
  check_op(OpKind::SoftmaxCrossEntropy, {{f32({B, 10}), uniform(-20, 20)}, {i32({B}), labels(10)}},
           {}, {1e-5, 1e-5});
  check_op(OpKind::SoftmaxCrossEntropy, {{f32({B, 37})}, {i32({B}), labels(37)}}, {}, {1e-5, 1e-5});
}

TEST_CASE("sigmoid_cross_entropy and mse") {
  check_op(OpKind::SigmoidCrossEntropy,
           {{f32({B, 7}), uniform(-30, 30)}, {f32({B, 7}), uniform(0, 1)}}, {}, {1e-5, 1e-5});
  check_op(OpKind::Mse, {{f32({B, 19})}, {f32({B, 19})}}, {}, {1e-5, 1e-5});
  check_op(OpKind::Mse, {{f32({4, 5})}, {f32({4, 5})}}, {}, {1e-6, 1e-6});
}

TEST_CASE("one_hot") {
  check_op(OpKind::OneHot, {{i32({B}), labels(10)}}, Attrs{{"num_classes", int64_t(10)}}, {0, 0});
}
