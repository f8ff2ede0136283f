// softmax, log_softmax and the losses against the reference. The line sums
// of exponentials are reassociated by vectorization: rtol 1e-5. Losses are
// means over a batch: rtol 1e-5 (their sums over up to 128 rows likewise),
// also with softmax_cross_entropy's label smoothing and class weights.
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

namespace {

// w[c] = 0.25 + (c mod 5) / 2, with one zero weight.
std::vector<double> class_weights(int64_t classes) {
  std::vector<double> w;
  for (int64_t c = 0; c < classes; ++c) w.push_back(c == 1 ? 0 : 0.25 + double(c % 5) / 2);
  return w;
}

} // namespace

TEST_CASE("softmax_cross_entropy with label smoothing and class weights") {
  for (int64_t classes : {10, 37}) {
    CAPTURE(classes);
    std::vector<Operand> in = {{f32({B, classes}), uniform(-20, 20)}, {i32({B}), labels(classes)}};
    check_op(OpKind::SoftmaxCrossEntropy, in, Attrs{{"label_smoothing", 0.1}}, {1e-5, 1e-5});
    check_op(OpKind::SoftmaxCrossEntropy, in, Attrs{{"weights", class_weights(classes)}},
             {1e-5, 1e-5});
    check_op(OpKind::SoftmaxCrossEntropy, in,
             Attrs{{"label_smoothing", 0.35}, {"weights", class_weights(classes)}}, {1e-5, 1e-5});
  }
  // Static rows and one class: the loss is 0 but the table has one entry.
  check_op(OpKind::SoftmaxCrossEntropy, {{f32({5, 1})}, {i32({5}), labels(1)}},
           Attrs{{"label_smoothing", 0.5}, {"weights", std::vector<double>{2}}}, {1e-6, 1e-6});
}

TEST_CASE("sigmoid_cross_entropy and mse") {
  check_op(OpKind::SigmoidCrossEntropy,
           {{f32({B, 7}), uniform(-30, 30)}, {f32({B, 7}), uniform(0, 1)}}, {}, {1e-5, 1e-5});
  check_op(OpKind::Mse, {{f32({B, 19})}, {f32({B, 19})}}, {}, {1e-5, 1e-5});
  check_op(OpKind::Mse, {{f32({4, 5})}, {f32({4, 5})}}, {}, {1e-6, 1e-6});
}

TEST_CASE("one_hot") {
  check_op(OpKind::OneHot, {{i32({B}), labels(10)}}, Attrs{{"num_classes", int64_t(10)}}, {0, 0});
  // The target rows of the loss options: the reference's operations in its
  // order, up to the contraction of a multiply-add.
  const Tol kTarget{1e-7, 1e-6};
  check_op(OpKind::OneHot, {{i32({B}), labels(37)}},
           Attrs{{"num_classes", int64_t(37)}, {"label_smoothing", 0.2}}, kTarget);
  check_op(OpKind::OneHot, {{i32({B}), labels(37)}},
           Attrs{{"num_classes", int64_t(37)}, {"weights", class_weights(37)}}, kTarget);
  check_op(
      OpKind::OneHot, {{i32({B}), labels(19)}},
      Attrs{{"num_classes", int64_t(19)}, {"label_smoothing", 0.3}, {"weights", class_weights(19)}},
      kTarget);
}
