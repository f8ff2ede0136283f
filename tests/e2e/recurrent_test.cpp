// The recurrent layers end to end: `netc gradcheck` of backpropagation
// through time on small unrolled models, and compiled training steps against
// the reference interpreter.
#include "training_agreement.h"

#include <doctest/doctest.h>

using namespace netc::test;

namespace {

// T=5, F=3, H=4: small enough for central differences over every weight.
std::string sequence_model(const std::string& layers) {
  return "input x : f32[batch, 5, 3]\nlabel y : class(3)[batch]\n" + layers +
         "logits = dense(h, 3, init=xavier)\nloss softmax_cross_entropy(logits, y)\n";
}

void check_gradients(const std::string& name, const std::string& layers) {
  CAPTURE(name);
  auto model = scratch_dir() / (name + ".nn");
  write_file(model, sequence_model(layers));
  auto r = run_netc("gradcheck '" + model.string() + "' --batch 2");
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  CHECK(r.out.find("parameters pass") != std::string::npos);
}

} // namespace

TEST_CASE("gradcheck: backpropagation through time of lstm, gru and rnn") {
  check_gradients("grad_lstm", "h = lstm(x, 4)\n");
  check_gradients("grad_gru", "h = gru(x, 4)\n");
  check_gradients("grad_rnn", "h = rnn(x, 4)\n");
  check_gradients("grad_rnn_relu", "h = rnn(x, 4, activation=relu, reverse=true)\n");
}

TEST_CASE("gradcheck: bidirectional layers and return=sequence feeding another layer") {
  check_gradients("grad_bi_lstm", "h = lstm(x, 4, bidirectional=true)\n");
  check_gradients("grad_seq_gru",
                  "s = gru(x, 4, return=sequence, bidirectional=true)\nh = lstm(s, 4, "
                  "reverse=true)\n");
  check_gradients("grad_seq_rnn", "h = flatten(rnn(x, 4, return=sequence))\n");
}

TEST_CASE("20 compiled training steps of lstm and gru layers follow the reference") {
  check_training_agrees("sgd_lstm", R"(model sgd_lstm
input x : f32[batch, 3, 5]
label y : class(4)[batch]
h = lstm(x, 8, return=sequence)
h = gru(h, 6)
logits = dense(h, 4)
loss softmax_cross_entropy(logits, y)
train {
  optimizer = sgd(lr=0.5)
}
)",
                        7);
}
