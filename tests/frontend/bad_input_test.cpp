// The bad-input corpus, part 1: syntax, unknown names, arity, shapes and
// definitions. Each case checks the first diagnostic's line, column and
// message (what was expected, what was found). Part 2 is bad_values_test.cpp.
#include "frontend_test_helpers.h"

using namespace netc;

namespace {

// Line 1 of every case; the statement under test is on line 2.
const std::string kX = "input x : f32[batch, 4]\n";

} // namespace

TEST_CASE("syntax errors") {
  // A missing ')' is reported where it belongs: at the end of its line.
  CHECK_USER_ERROR(kX + "h = relu(x\noutput h\n", 2, 11,
                   "expected ',' or ')' in the arguments of relu, found end of line");
  CHECK_USER_ERROR(kX + "output h = relu(x))\n", 2, 19,
                   "expected end of line after the statement, found ')'");
  CHECK_USER_ERROR(kX + "output h = x\ntrain {\n  batch 128\n}\n", 4, 9,
                   "expected '=' after 'batch' (write batch = VALUE), found '128'");
  CHECK_USER_ERROR(kX + "output h = x\ntrain {\n  data = \"csv:a\n}\n", 4, 10,
                   "unterminated string");
  CHECK_USER_ERROR(kX + "42\n", 2, 1, "expected a statement (model, input, label");
  CHECK_USER_ERROR(kX + "outptu h = x\n", 2, 8,
                   "expected '=' after 'outptu', found 'h'; did you mean 'output'?");
  CHECK_USER_ERROR(kX + "loss = x\n", 2, 1,
                   "'loss' starts a statement (loss EXPR) and cannot be assigned");
  CHECK_USER_ERROR(kX + "loss\n", 2, 5, "expected an expression after 'loss', found end of line");
  CHECK_USER_ERROR("input z : f32[batch, 4\noutput h = z\n", 1, 23,
                   "expected ',' or ']' in the shape, found end of line");
  CHECK_USER_ERROR(kX + "input z : f16[batch]\n", 2, 11, "unknown element type 'f16'");
  // class(N) declares integer inputs too (embedding ids), with N >= 2.
  CHECK_USER_ERROR(kX + "input z : class(1)[batch]\n", 2, 17, "needs at least 2 classes");
  CHECK_USER_ERROR(kX + "input z : f32\n", 2, 14, "expected '[' after the element type");
  CHECK_USER_ERROR(kX + "output h = dense(x, units=3, he)\n", 2, 30,
                   "a positional argument cannot follow keyword argument 'units'");
  CHECK_USER_ERROR(kX + "output h = dense(x, 3, bias=true, bias=false)\n", 2, 35,
                   "argument 'bias' is given twice");
  CHECK_USER_ERROR(kX + "output h = x +\n", 2, 15, "expected an expression, found end of line");
  CHECK_USER_ERROR(kX + "output h = ()\n", 2, 13, "expected an expression or a tuple");
  CHECK_USER_ERROR(kX + "param W : f32[4] = he froze\n", 2, 23,
                   "expected 'frozen' or end of line after the initializer, found 'froze'");
  CHECK_USER_ERROR(kX + "output h = x\ntrain {\n  batch = 1\n", 4, 12,
                   "expected '}' to close the train block, found end of file");
  CHECK_USER_ERROR(kX + "output h = x\ntrain batch = 1\n", 3, 7, "expected '{' after 'train'");
}

TEST_CASE("unknown functions, arguments and initializers get a did-you-mean") {
  CHECK_USER_ERROR(kX + "output h = rleu(x)\n", 2, 12,
                   "unknown function 'rleu'; did you mean 'relu'?");
  CHECK_USER_ERROR(kX + "output h = desne(x, 3)\n", 2, 12, "did you mean 'dense'?");
  CHECK_USER_ERROR(kX + "output h = dense(x, 3, initt=he)\n", 2, 24,
                   "dense has no argument 'initt'; did you mean 'init'?");
  CHECK_USER_ERROR(kX + "output h = relu(x, alpha=1)\n", 2, 20,
                   "relu has no argument 'alpha'; its arguments are: x");
  CHECK_USER_ERROR(kX + "output h = dense(x, 3, init=hee)\n", 2, 29,
                   "unknown initializer 'hee'; did you mean 'he'?");
  CHECK_USER_ERROR(kX + "output h = x\ntrain {\n  epoch = 3\n}\n", 4, 3,
                   "unknown train key 'epoch'; did you mean 'epochs'?");
  CHECK_USER_ERROR(kX + "output h = x\ntrain {\n  optimizer = adamm(lr=0.1)\n}\n", 4, 15,
                   "unknown optimizer 'adamm'; did you mean 'adam'?");
  CHECK_USER_ERROR(kX + "output h = x\ntrain {\n  lr_decay = stair(factor=0.5)\n}\n", 4, 14,
                   "unknown learning-rate schedule 'stair'");
}

TEST_CASE("wrong number of arguments") {
  CHECK_USER_ERROR(kX + "output h = relu(x, x)\n", 2, 20, "relu expects 1 argument, found 2");
  CHECK_USER_ERROR(kX + "output h = relu()\n", 2, 12, "relu expects 1 argument, found 0");
  CHECK_USER_ERROR(kX + "output h = matmul(x)\n", 2, 12, "matmul expects 2 arguments, found 1");
  CHECK_USER_ERROR(kX + "output h = dense(x)\n", 2, 12,
                   "dense expects at least 2 arguments, found 1 (missing 'units')");
  CHECK_USER_ERROR(kX + "output h = dense(x, 1, he, true, 5)\n", 2, 34,
                   "dense expects at most 4 positional arguments, found 5");
  CHECK_USER_ERROR(kX + "output h = concat(x, x)\n", 2, 12, "concat needs the argument axis=");
  CHECK_USER_ERROR(kX + "output h = concat(x, axis=1)\n", 2, 12,
                   "concat expects at least 2 tensors, found 1");
  CHECK_USER_ERROR(kX + "output h = dense(x, 3, init=he(2))\n", 2, 32,
                   "he expects 0 arguments, found 1");
  CHECK_USER_ERROR(kX + "loss mean(x) + l2()\n", 2, 16, "l2 expects 1 argument, found 0");
}

TEST_CASE("shape mismatches name both shapes") {
  CHECK_USER_ERROR(kX + "output h = dense(sum(x, axis=1), 10)\n", 2, 12,
                   "dense expects a [batch, features] or [batch, ..., features] input, found "
                   "f32[batch]");
  CHECK_USER_ERROR(kX + "input z : f32[batch, 5]\noutput h = x + z\n", 3, 14,
                   "add: cannot broadcast f32[batch,4] with f32[batch,5]");
  auto d = test::first_error(kX + "param W : f32[5, 3] = he\noutput h = matmul(x, W)\n");
  CHECK(d.loc == SourceLoc{3, 12});
  CHECK(d.message.find("[batch,4]") != std::string::npos);
  CHECK(d.message.find("[5,3]") != std::string::npos);
  CHECK_USER_ERROR(kX + "output h = conv2d(x, 3)\n", 2, 12,
                   "conv2d expects a [batch, channels, height, width] input, found f32[batch,4]");
  CHECK_USER_ERROR(kX + "output h = batchnorm(sum(x, axis=1))\n", 2, 12,
                   "batchnorm expects a [batch, features] or [batch, C, H, W] input, found "
                   "f32[batch]");
  CHECK_USER_ERROR(kX + "loss relu(x)\n", 2, 6,
                   "the loss must be a scalar, found f32[batch,4] (reduce it, e.g. with "
                   "mean(...))");
  CHECK_USER_ERROR(kX + "input z : f32[batch, 5]\na = dense(x, 3, name=enc)\n"
                        "b = dense(z, 3, name=enc)\noutput o = a\n",
                   4, 5,
                   "layer 'enc' is reused with a different shape: 'enc.W' is f32[4,3] (line 3), "
                   "here it would be f32[5,3]");
  CHECK_USER_ERROR(kX + "a = dense(x, 3, name=enc, bias=false)\nb = dense(x, 3, name=enc)\n"
                        "output o = a\n",
                   3, 5, "its first use (line 2) created no 'enc.b'");
  CHECK_USER_ERROR(kX + "output h = sum(x, axis=2)\n", 2, 24,
                   "sum: axis 2 is out of range for f32[batch,4] (expected -2..1)");
  CHECK_USER_ERROR(kX + "output h = reshape(x, (batch, 5))\n", 2, 12, "reshape");
  CHECK_USER_ERROR("input img : f32[batch, 4, 8, 8]\noutput h = conv2d(img, 6, groups=4)\n", 2, 34,
                   "groups=4 must divide both the input channels (4) and the filters (6)");
}

TEST_CASE("a class label's declared count must equal the width of the logits it is scored on") {
  // 7 logits against class(10): at run time labels 7..9 would index past each row.
  std::string model = kX + "label y : class(10)[batch]\nlogits = dense(x, 7)\n"
                           "output p = softmax(logits)\n"
                           "loss softmax_cross_entropy(logits, y)\n";
  CHECK_USER_ERROR(model, 5, 6,
                   "softmax_cross_entropy: the logits have 7 classes (f32[batch,7]), but label "
                   "'y' is declared class(10) (line 2); make the logits 10 wide or declare "
                   "class(7)");
  // Wider logits than classes are as wrong (a class that no label names), and the
  // loss may be any term of the sum.
  CHECK_USER_ERROR(kX + "label y : class(3)[batch]\n"
                        "loss mean(x) + 0.5 * softmax_cross_entropy(x, y)\n",
                   3, 22,
                   "the logits have 4 classes (f32[batch,4]), but label 'y' is declared "
                   "class(3)");
  // Through a reshape of the labels too.
  CHECK_USER_ERROR(kX + "label y : class(3)[batch]\n"
                        "loss softmax_cross_entropy(x, reshape(y, (batch)))\n",
                   3, 6, "label 'y' is declared class(3)");
  // Matching counts build.
  Graph g = test::build(kX + "label y : class(4)[batch]\nloss softmax_cross_entropy(x, y)\n");
  CHECK(g.loss);
}

TEST_CASE("undefined and redefined names") {
  CHECK_USER_ERROR(kX + "output h = relu(y)\n", 2, 17, "undefined name 'y'; did you mean 'x'?");
  CHECK_USER_ERROR(kX + "output h = relu(zzz)\n", 2, 17, "undefined name 'zzz'");
  CHECK_USER_ERROR(kX + "output h = dense9.W\n", 2, 12, "undefined name 'dense9.W'");
  CHECK_USER_ERROR(kX + "input x : f32[3]\n", 2, 7, "'x' is already defined as an input at line 1");
  CHECK_USER_ERROR(kX + "param W : f32[4] = he\nparam W : f32[4] = he\n", 3, 7,
                   "'W' is already defined as a param at line 2");
  CHECK_USER_ERROR(kX + "output h = x\noutput h = relu(x)\n", 3, 8,
                   "output 'h' is already defined at line 2");
  CHECK_USER_ERROR(kX + "h = x\noutput h\noutput h\n", 4, 8,
                   "output 'h' is already defined at line 3");
  CHECK_USER_ERROR(kX + "x = relu(x)\n", 2, 1, "'x' is already defined as an input at line 1");
  CHECK_USER_ERROR(kX + "output h = x\nh = relu(x)\n", 3, 1,
                   "'h' is already defined as an output at line 2");
  CHECK_USER_ERROR(kX + "loss mean(x)\nloss sum(x)\n", 3, 1,
                   "the loss is already defined at line 2");
  CHECK_USER_ERROR(kX + "model a\nmodel b\noutput h = x\n", 3, 7,
                   "the model is already named 'a' (line 2)");
  CHECK_USER_ERROR(kX + "output h = x\ntrain {\n}\ntrain {\n}\n", 5, 1,
                   "a model has one train block");
  CHECK_USER_ERROR(kX + "h = dense(x, 3, name=a)\noutput o = batchnorm(h, name=a)\n", 3, 30,
                   "layer name 'a' is already used by a dense layer (line 2)");
  CHECK_USER_ERROR(kX + "param dense1.W : f32[4, 2] = he\noutput h = x\n", 2, 7,
                   "names with '.' are reserved for layer parameters");
  CHECK_USER_ERROR(kX + "batch = relu(x)\n", 2, 1, "'batch' is reserved");
  CHECK_USER_ERROR(kX + "output h = x + l2(0.1)\n", 2, 16,
                   "l2() is a regularization term; it can only appear in 'loss'");
  CHECK_USER_ERROR(kX + "h = x\noutput o = h(x)\n", 3, 12, "'h' is a value, not a function");
  CHECK_USER_ERROR(kX + "output o = relu\n", 2, 12, "'relu' is a function; call it as relu(...)");
  CHECK_USER_ERROR(kX + "output o = relu(true)\n", 2, 17, "expected a tensor, found 'true'");
  CHECK_USER_ERROR(kX + "output o = relu((1, 2))\n", 2, 17, "expected a tensor, found a tuple");
  CHECK_USER_ERROR(kX + "output o = relu(\"x\")\n", 2, 17, "expected a tensor, found string");
}
