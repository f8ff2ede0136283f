// The recurrent layers: PyTorch-layout params and counts, the shape of the
// unrolled graph, and located errors for malformed uses.
#include "frontend_test_helpers.h"

using namespace netc;
using namespace netc::test;

namespace {

// Line 1 of every case; the statement under test is on line 2.
const std::string kSeq = "input x : f32[batch, 5, 3]\n";

// PyTorch's count for one direction of nn.RNN/LSTM/GRU(F, H): G*H*(F + H) + 2*G*H.
int64_t torch_count(int64_t gates, int64_t f, int64_t h) { return gates * h * (f + h + 2); }

} // namespace

TEST_CASE("lstm: W_ih [F, 4H], W_hh [H, 4H], two biases [4H], PyTorch's init and count") {
  Graph g = build(kSeq + "output y = lstm(x, 4)\n");
  const Node& w_ih = param(g, "lstm1.W_ih");
  CHECK(w_ih.type == TensorType{DType::f32, Shape{3, 16}});
  CHECK(w_ih.attrs.get_str("init") == "uniform");
  CHECK(w_ih.attrs.get_float("scale") == doctest::Approx(0.5)); // 1/sqrt(H)
  CHECK(w_ih.attrs.get_int("regularize") == 1);
  CHECK(w_ih.attrs.get_str("layer") == "lstm1");
  CHECK(param(g, "lstm1.W_hh").type.shape == Shape{4, 16});
  const Node& b_hh = param(g, "lstm1.b_hh");
  CHECK(b_hh.type.shape == Shape{16});
  CHECK(b_hh.attrs.get_str("init") == "uniform");
  CHECK(b_hh.attrs.get_int("regularize") == 0);
  CHECK(param(g, "lstm1.b_ih").type.shape == Shape{16});
  CHECK(trainable_parameters(g) == torch_count(4, 3, 4));
  // Two matmuls per step but the first (the state starts at zero), one
  // bias sum shared by all steps; the last state is the output.
  CHECK(count_ops(g, OpKind::MatMul) == 5 + 4);
  CHECK(count_ops(g, OpKind::Sigmoid) == 5 * 3);
  CHECK(g.node(g.outputs.at(0).value).type.shape == Shape{kBatch, 4});
}

TEST_CASE("gru and rnn: PyTorch's parameter counts - init= replaces the uniform default") {
  Graph g = build(kSeq + "h = gru(x, 6, init=xavier)\noutput y = rnn(x, 2, activation=relu)\n");
  CHECK(param(g, "gru1.W_ih").type.shape == Shape{3, 18});
  CHECK(param(g, "gru1.W_ih").attrs.get_str("init") == "xavier");
  CHECK(param(g, "rnn1.W_hh").type.shape == Shape{2, 2});
  CHECK(count_ops(g, OpKind::Relu) == 5);
  CHECK(count_ops(g, OpKind::Tanh) == 5); // gru's n gate only
  CHECK(trainable_parameters(g) == torch_count(3, 3, 6) + torch_count(1, 3, 2));
}

TEST_CASE("return=sequence stacks every step - bidirectional concatenates the directions") {
  Graph seq = build(kSeq + "output y = rnn(x, 4, return=sequence)\n");
  CHECK(seq.node(seq.outputs.at(0).value).type.shape == Shape{kBatch, 5, 4});
  Graph bi = build(kSeq + "output y = lstm(x, 4, bidirectional=true)\n");
  CHECK(bi.node(bi.outputs.at(0).value).type.shape == Shape{kBatch, 8});
  CHECK(param(bi, "lstm1.W_hh_reverse").type.shape == Shape{4, 16});
  CHECK(trainable_parameters(bi) == 2 * torch_count(4, 3, 4));
  Graph both = build(kSeq + "output y = gru(x, 4, bidirectional=true, return=sequence)\n");
  CHECK(both.node(both.outputs.at(0).value).type.shape == Shape{kBatch, 5, 8});
  // Stacked layers: the second reads the first's sequence.
  Graph stacked = build(kSeq + "h = lstm(x, 4, return=sequence)\noutput y = lstm(h, 2)\n");
  CHECK(param(stacked, "lstm2.W_ih").type.shape == Shape{4, 8});
}

TEST_CASE("a named recurrent layer used twice shares its weights") {
  Graph g = build(kSeq + "input z : f32[batch, 5, 3]\na = gru(x, 4, name=enc)\n"
                         "b = gru(z, 4, name=enc)\noutput y = a - b\n");
  CHECK(trainable_parameters(g) == torch_count(3, 3, 4));
}

TEST_CASE("malformed recurrent layers fail at the call, with the reason") {
  CHECK_USER_ERROR("input x : f32[batch, 28]\noutput y = lstm(x, 8)\n", 2, 12,
                   "lstm expects a [batch, time, features] input, found f32[batch,28]; reshape "
                   "it to (batch, T, F) first");
  CHECK_USER_ERROR(kSeq + "output y = gru(x, 0)\n", 2, 19,
                   "gru: 'units' must be at least 1, "
                   "found 0");
  CHECK_USER_ERROR(kSeq + "output y = lstm(x, 4, retrun=last)\n", 2, 23, "did you mean 'return'?");
  CHECK_USER_ERROR(kSeq + "output y = lstm(x, 4, return=all)\n", 2, 30, "return");
  CHECK_USER_ERROR(kSeq + "output y = lstm(x, 4, activation=relu)\n", 2, 23, "activation");
  CHECK_USER_ERROR(kSeq + "output y = rnn(x, 4, activation=sigmoid)\n", 2, 33, "tanh or relu");
  CHECK_USER_ERROR(kSeq + "output y = lstm(x, 4, reverse=true, bidirectional=true)\n", 2, 31,
                   "exclude each other");
  CHECK_USER_ERROR("input x : i32[batch, 5, 3]\noutput y = rnn(x, 4)\n", 2, 12,
                   "rnn expects a float input");
}

TEST_CASE("a recurrent layer too long to unroll is an error at the layer, not a hang") {
  // 10^5 steps unroll into about 1.7 million nodes; the frontend stops at
  // kMaxModelNodes (a fuzzer found the hang: 28 time steps mutated to 10^5).
  CHECK_USER_ERROR("input x : f32[batch, 100000, 2]\noutput y = lstm(x, 4)\n", 2, 12,
                   "the model expands into more than 100000 operations, more than netc compiles "
                   "(a recurrent layer unrolls one cell per time step");
  CHECK_NOTHROW(build("input x : f32[batch, 1000, 2]\noutput y = lstm(x, 4)\n"));
}

TEST_CASE("examples/lstm.nn: 28 rows of 28 pixels, torch.nn.LSTM(28, 128) + Linear(128, 10)") {
  Graph g = load_model(std::string(NETC_SOURCE_DIR) + "/examples/lstm.nn");
  CHECK(trainable_parameters(g) == torch_count(4, 28, 128) + 128 * 10 + 10); // 82,186
  CHECK(param(g, "lstm1.W_ih").type.shape == Shape{28, 512});
  CHECK(g.train.data == "fashion-mnist");
}
